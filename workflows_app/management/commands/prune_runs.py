"""`manage.py prune_runs --older-than 30d [--status ...] [--dry-run]`: delete old runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from workflows_app import retention


class Command(BaseCommand):
    """Delete old runs with their events, snapshots, step records and human tasks."""

    help = (
        "Delete runs that ended (or, when suspended or paused, last changed) longer ago than "
        "--older-than, in batches. Executing runs are never deleted, nor the parents of forks "
        "that are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than", required=True, help="age such as 30d, 12h, 90m or 2w (required)"
        )
        parser.add_argument(
            "--status",
            action="append",
            help="prune runs with this status (repeatable; default: success, failed, canceled)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
        )
        parser.add_argument("--batch-size", type=int, default=500, help="runs per transaction")
        parser.add_argument("--database", default="default", help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            age = retention.parse_age(options["older_than"])
            statuses = retention.check_statuses(options["status"] or list(retention.ENDED))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        cutoff = timezone.now() - age
        report = retention.prune_runs(
            cutoff,
            statuses,
            dry_run=options["dry_run"],
            batch_size=options["batch_size"],
            using=options["database"],
        )
        verb = "Would delete" if report.dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {report.runs} runs ({report.events} events, {report.snapshots} snapshots, "
            f"{report.step_records} step records) with status {', '.join(statuses)} "
            f"older than {options['older_than']} (before {cutoff.isoformat()})."
        )
        if report.kept_for_forks:
            shown = ", ".join(report.kept_for_forks[:10])
            more = len(report.kept_for_forks) - 10
            self.stdout.write(
                f"Kept {len(report.kept_for_forks)} old runs because a fork of theirs is kept "
                f"(a fork keeps its parent): {shown}" + (f" and {more} more" if more > 0 else "")
            )
