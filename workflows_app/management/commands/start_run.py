"""`manage.py start_run <workflow> --input JSON`: start a run of a registered workflow."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflows_app import services
from workflows_app.management.commands._common import describe, json_argument, outcome, run_here


class Command(BaseCommand):
    """Start a run; it executes in this process up to its next stop (end or suspension)."""

    help = "Start a run of a registered workflow (it runs here to its end or first suspension)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workflow", help="A registered workflow id")
        parser.add_argument("--input", help="The workflow input as JSON")
        parser.add_argument("--state", help="The initial state as a JSON object")
        parser.add_argument("--context", help="The runtime context as a JSON object")
        parser.add_argument("--resource-id", help="The resource the run is for")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Print the outcome as JSON (result, error, or what the run waits for) and "
            "exit with status 1 if the run failed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        input_data = json_argument(options["input"], "input")
        state = json_argument(options["state"], "state")
        context = json_argument(options["context"], "context")
        run = run_here(
            lambda: services.start_run(
                options["workflow"],
                input_data,
                initial_state=state,
                context=context,
                resource_id=options["resource_id"],
            )
        )
        self.stdout.write(describe(run))
        if options["wait"]:
            self.stdout.write(json.dumps(outcome(run), indent=2))
            if run.status == "failed":
                raise CommandError(f"Run {run.run_id} failed")
