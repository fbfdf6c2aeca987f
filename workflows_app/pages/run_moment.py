"""The run page's side panel as the run was at one seq (the scrubber's `?at=<seq>`).

The stored snapshot at or before the seq (`workflows_app.history`: a few queries, whatever the
run's length) gives the run's head and every step's record as they were; this module turns them
into the rows `run_panel` and `step_panel` read, so the panel of a moment is the same template
as the live one. Earlier attempts of a step come from their `StepRecord` rows, which no longer
change once a later attempt has begun.
"""

from __future__ import annotations

from typing import Any

from workflows_app import history, payloads, snapshots
from workflows_app.models import Run, StepRecord, path_of

# The head fields a moment replaces in `payloads.run_head` (the rest do not change in a run).
MOMENT_HEAD = ("status", "state", "result", "error", "traceback", "finished_at", "updated_at")


class NoMoment(LookupError):
    """Nothing was stored at or before the seq asked for."""


def parse_at(raw: str | None, run: Run) -> int | None:
    """The seq of `?at=`: None for the live run (absent, empty, `now`, or at or after the run's
    last seq); `ValueError` for anything but a positive integer."""
    if raw is None or raw.strip() in ("", "now"):
        return None
    text = raw.strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"at must be a positive event seq or 'now', not {raw!r}")
    seq = int(text)
    return None if seq >= run.seq else seq


def folded(run: Run, seq: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The head and step records (JSON) of `run` at `seq`."""
    try:
        return history.fold_at(run.number, seq, run._state.db or "default")
    except LookupError as error:
        raise NoMoment(f"Run {run.run_id!r} has nothing stored at or before seq {seq}.") from error


def head_at(run: Run, head: dict[str, Any]) -> dict[str, Any]:
    """`payloads.run_head(run)` with the fields a run changes as it goes taken from `head`."""
    live = payloads.run_head(run)
    moment = {name: head.get(name) for name in MOMENT_HEAD}
    if moment["error"] is not None and not isinstance(moment["error"], dict):
        moment["error"] = None
    return {**live, **moment, "seq": head.get("seq"), "state": head.get("state") or {}}


def record_of(records: dict[str, Any], key: str) -> dict[str, Any] | None:
    """Step `key`'s record among a moment's `records`; a foreach item's (`step[3]`) from its
    foreach's items."""
    record = records.get(key)
    if record is not None or not key.endswith("]"):
        return record
    parent, _, index = key.rpartition("[")
    holder = records.get(parent) or {}
    items = holder.get("items") or []
    number = int(index[:-1]) if index[:-1].isdigit() else -1
    return items[number] if 0 <= number < len(items) else None


def step_at(run: Run, key: str, record: dict[str, Any] | None, seq: int) -> dict[str, Any] | None:
    """The `payloads.step_of` row of step `key` from its record at `seq` (None: not reached)."""
    if record is None:
        return None
    status, columns, extra = snapshots.split_record(record)
    payload, output, error, traceback, started_at, ended_at = columns
    attempt = int(extra.get("attempts") or 1)
    current = {
        "attempt": attempt,
        "status": status,
        "payload": payload,
        "output": output,
        "error": error,
        "error_type": (error or {}).get("type") if isinstance(error, dict) else None,
        "traceback": traceback,
        "started_at": started_at,
        "ended_at": ended_at,
        "duration": None,
        "extra": extra,
        "seq": seq,
    }
    earlier = StepRecord.objects.filter(run=run, path=key, attempt__lt=attempt).order_by("attempt")
    tries = [payloads._attempt(row) for row in earlier] + [current]
    return {**current, "key": key, "path": path_of(key), "attempts": tries}
