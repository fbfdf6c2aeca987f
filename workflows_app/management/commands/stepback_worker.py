"""`manage.py stepback_worker --engine NAME`: a worker process executing runs for the web app.

Each engine that executes runs in worker processes adds one line to `WORKERS`: its name and the
function that serves (its own module). The function gets the command's options and runs until
SIGTERM or SIGINT.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _evented(options: dict[str, Any]) -> None:
    from workflows_app.workers.evented import serve

    serve(concurrency=options["concurrency"])


def _durable(options: dict[str, Any]) -> None:
    from workflows_app.workers.durable import run

    run(options)


WORKERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "evented": _evented,
    "durable": _durable,
}


class Command(BaseCommand):
    help = "Run a worker process that executes runs of the given engine (until SIGTERM)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--engine", required=True, help=f"one of: {', '.join(WORKERS)}")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=32,
            help="events (evented) or run segments (durable) handled at the same time",
        )
        parser.add_argument(
            "--executor-id", help="a stable id for this worker (durable: recovery finds by it)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        serve = WORKERS.get(options["engine"])
        if serve is None:
            raise CommandError(
                f"--engine {options['engine']!r} has no worker; choose one of {', '.join(WORKERS)}"
            )
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        serve(options)
