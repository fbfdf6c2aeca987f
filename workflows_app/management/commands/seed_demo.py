"""`manage.py seed_demo`: demo users and a few recorded runs of every demo workflow."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Permission, User
from django.core.management.base import BaseCommand, CommandParser

from workflows_app import services
from workflows_app.management.commands._common import run_here
from workflows_app.models import Run

DEMO = "demo"  # the resource id of every seeded run: how a second seed knows the first
ORDER = {
    "order_id": "SO-1001",
    "customer": "Grace Hopper",
    "lines": [
        {"sku": "keyboard", "quantity": 1, "unit_price": 79.0},
        {"sku": "cable", "quantity": 2, "unit_price": 6.5},
    ],
}
ANSWER = {"approved": True, "comment": "conference travel is budgeted", "approver": "Maria"}


class Command(BaseCommand):
    """Create the demo users and record the demo runs (once: a second seed adds nothing)."""

    help = (
        "Create users 'demo' (operator) and 'viewer', and record demo runs of every demo "
        "workflow: approvals (one waiting for a manager), pipelines, orders, a fork."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            help="Password of both users (default: a new random one when a user is created; "
            "existing users keep theirs unless this is given)",
        )
        parser.add_argument(
            "--again", action="store_true", help="Record another set of runs even if seeded"
        )
        parser.add_argument(
            "--remember",
            metavar="FILE",
            help="Keep the demo login in FILE (readable by you only) so it can be shown again; "
            "when FILE is missing the users get new passwords",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        remember = Path(options["remember"]) if options["remember"] else None
        if remember is not None and not remember.exists() and not password:
            password = secrets.token_urlsafe(9)  # the old one cannot be shown: set a new one
        operator = self._user(
            "demo", ["view_run", "operate_run"], password, "operates: start, resume, ..."
        )
        viewer = self._user("viewer", ["view_run"], password, "views only")
        if remember is not None and "unchanged" not in operator + viewer:
            remember.write_text(f"{operator}\n{viewer}\n")
            remember.chmod(0o600)
        if Run.objects.filter(resource_id=DEMO).exists() and not options["again"]:
            self.stdout.write("Demo runs already recorded (use --again to record more).")
            return
        self.stdout.write("Recorded demo runs:")
        self._runs(User.objects.get(username="demo"))

    def _user(self, name: str, codenames: list[str], password: str | None, role: str) -> str:
        """Create or update the user; the line that says how to sign in as it."""
        user, created = User.objects.get_or_create(
            username=name, defaults={"email": f"{name}@example.com"}
        )
        if created or password:
            password = password or secrets.token_urlsafe(9)
            user.set_password(password)
            user.save()
            shown = f"password {password}"
        else:
            shown = "password unchanged"
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="workflows_app", codename__in=codenames
            )
        )
        line = f"User {name!r} ({role}): {shown}"
        self.stdout.write(line)
        return line

    def _runs(self, demo: User) -> None:
        recorded: list[tuple[str, str]] = []

        def record(note: str, call: Callable[[], Run]) -> Run:
            run = run_here(call)
            recorded.append((run.run_id, note))
            return run

        def begin(workflow_id: str, data: dict[str, Any]) -> Callable[[], Run]:
            return lambda: services.start_run(workflow_id, data, resource_id=DEMO, user=demo)

        def claim(employee: str, amount: float, what: str) -> Callable[[], Run]:
            expense = {"employee": employee, "amount": amount, "description": what}
            return begin("expense-approval", expense)

        record("small expense, approved automatically", claim("Ada", 42.5, "taxi"))
        record("waits for a manager (see the inbox)", claim("Alan", 1250, "conference"))
        answered = record("answered by the manager 'demo'", claim("Edsger", 380, "train"))
        run_here(lambda: services.resume_run(answered.run_id, ANSWER, user=demo))
        abandoned = record("canceled while waiting", claim("Barbara", 900, "laptop"))
        run_here(lambda: services.cancel_run(abandoned.run_id, user=demo))

        record("record 3 failed once, then its retry", begin("data-pipeline", {"count": 6}))
        broken = record(
            "record 4 arrives without a value",
            begin("data-pipeline", {"count": 5, "broken_ids": [4]}),
        )
        fixed = [
            {**item, "value": 6.0} if item["value"] is None else item
            for item in broken.step_records.get(path="fetch_records").output
        ]
        record(
            "time travel of the above: record 4 repaired",
            lambda: services.time_travel(
                broken.run_id, "process_record", input_data=fixed, user=demo
            ),
        )

        record("nested payment workflow", begin("order-fulfilment", ORDER))
        record("card declined in the payment", begin("order-fulfilment", {**ORDER, "card": "0000"}))
        record(
            "paused at a breakpoint before payment.capture (continue it on its page)",
            lambda: services.start_run(
                "order-fulfilment",
                ORDER,
                resource_id=DEMO,
                user=demo,
                breakpoints=["payment.capture"],
            ),
        )
        quick = {"ticks": 3, "tick_seconds": 0.05, "pause_seconds": 0.1}
        record("sleeps and a loop with progress", begin("slow-countdown", quick))

        rows = Run.objects.in_bulk([run_id for run_id, _ in recorded])
        for run_id, note in recorded:
            run = rows[run_id]
            self.stdout.write(f"  {run_id}  {run.workflow_id:<17} {run.status:<9} {note}")
