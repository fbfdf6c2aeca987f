"""`manage.py import_run <file|->`: store a run exported by `export_run`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflows_app import json_input, services
from workflows_app.management.commands._common import describe, service_errors


class Command(BaseCommand):
    """Read a bundle and recreate its rows."""

    help = "Import a run bundle from a file ('-' reads stdin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The bundle file, or - for stdin")
        parser.add_argument(
            "--new-id", action="store_true", help="Give the run a new id (keeps both copies)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["file"]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {source}: {exc}") from None
        try:
            bundle = json_input.loads(text, depth_allowance=json_input.BUNDLE_DEPTH_ALLOWANCE)
        except json_input.JSONInputError as exc:
            problems = "; ".join(
                f"{e['path'] + ': ' if e['path'] else ''}{e['message']}" for e in exc.errors
            )
            raise CommandError(f"{source} is refused: {problems}") from None
        with service_errors():
            run = services.import_run(bundle, new_id=options["new_id"])
        self.stdout.write(f"Imported {describe(run)}")
