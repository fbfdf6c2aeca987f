"""`manage.py stepback_worker --engine <name>`: a worker process for an engine that runs
executions outside the web process. Each engine's worker lives in `workflows_app.workers`."""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

# Engine name -> the module whose `run(options)` is that engine's worker.
WORKERS = {"durable": "workflows_app.workers.durable"}


class Command(BaseCommand):
    """Run a worker until it is stopped (SIGTERM or Ctrl-C)."""

    help = "Run a worker process for the given engine."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--engine", required=True, help=f"One of: {', '.join(WORKERS)}")
        parser.add_argument(
            "--executor-id", help="A stable id for this worker (durable: recovery finds by it)"
        )
        parser.add_argument(
            "--concurrency", type=int, default=16, help="Segments run at once in this worker"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        module = WORKERS.get(options["engine"])
        if module is None:
            raise CommandError(
                f"No worker for engine {options['engine']!r}; workers: {', '.join(WORKERS)}"
            )
        importlib.import_module(module).run(options)
