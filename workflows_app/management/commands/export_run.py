"""`manage.py export_run <run_id> [-o file]`: a run as a JSON bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflows_app import services
from workflows_app.management.commands._common import service_errors


class Command(BaseCommand):
    """Write the run's bundle (run, events, snapshots, step records, human tasks)."""

    help = "Export a run as a versioned JSON bundle (to stdout, or to a file with -o)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id")
        parser.add_argument("-o", "--output", help="File to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors():
            bundle = services.export_run(options["run_id"])
        text = json.dumps(bundle, indent=2, sort_keys=True)
        if not options["output"]:
            self.stdout.write(text)
            return
        try:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot write {options['output']}: {exc}") from None
        self.stderr.write(f"Exported run {options['run_id']} to {options['output']}")
