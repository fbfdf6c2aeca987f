"""Who did what: the record of each operate call on a run (`RunAction`), written by `services`."""

from __future__ import annotations

from typing import Any

from workflows_app.models import RunAction, to_datetime


def signed_in(user: Any) -> Any:
    """`user` when it is a signed-in user, else None (anonymous, or a command without one)."""
    return user if getattr(user, "is_authenticated", False) else None


def record(run_id: str, action: str, user: Any, at: float, **detail: Any) -> RunAction:
    """Store that `user` did `action` to the run at `at` (engine seconds since the epoch);
    `detail` says on what (a step, the source run of a fork)."""
    who = signed_in(user)
    return RunAction.objects.create(
        run_id=run_id,
        action=action,
        user=who,
        username=who.get_username() if who is not None else "",
        at=to_datetime(at),
        detail={key: value for key, value in detail.items() if value is not None},
    )
