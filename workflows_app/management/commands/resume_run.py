"""`manage.py resume_run <run_id> --data JSON`: answer a suspended step."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflows_app import services
from workflows_app.management.commands._common import describe, json_argument, run_here


class Command(BaseCommand):
    """Resume a suspended run (or continue a paused one) here, to its next stop."""

    help = "Resume a suspended run with data (validated against the step's resume schema)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id")
        parser.add_argument("--data", help="The resume data as JSON")
        parser.add_argument("--step", help="Dotted path of the suspended step (when several)")
        parser.add_argument("--label", help="A resume label instead of the step")
        parser.add_argument("--item", type=int, help="The foreach item index to resume")
        parser.add_argument("--user", help="Username recorded as who answered")

    def handle(self, *args: Any, **options: Any) -> None:
        data = json_argument(options["data"], "data")
        user = None
        if options["user"]:
            users = get_user_model()
            try:
                user = users._default_manager.get_by_natural_key(options["user"])
            except users.DoesNotExist:
                raise CommandError(f"No user {options['user']!r}") from None
        run = run_here(
            lambda: services.resume_run(
                options["run_id"],
                data,
                step=options["step"],
                label=options["label"],
                for_each_index=options["item"],
                user=user,
            )
        )
        self.stdout.write(describe(run))
