"""The run page's side panel as the run was at one seq (the scrubber's `?at=<seq>`).

The stored snapshot at or before the seq (`workflows_app.history`: a few queries, whatever the
run's length) gives the run's head and every step's record as they were; this module turns them
into the rows `run_panel` and `step_panel` read, so the panel of a moment is the same template
as the live one. Earlier attempts of a step come from their `StepRecord` rows, which no longer
change once a later attempt has begun.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflows_app import history, payloads, snapshots
from workflows_app.models import Run, StepRecord, path_of

if TYPE_CHECKING:
    from engines.core.events import Event

# The head fields a moment replaces in `payloads.run_head` (the rest do not change in a run).
MOMENT_HEAD = ("status", "state", "result", "error", "traceback", "finished_at", "updated_at")


# Events replayed after the stored snapshot at most (snapshots are stored at every write).
MAX_CATCH_UP = 5000
RUN_STATUS = {
    "run.started": "running",
    "run.succeeded": "success",
    "run.failed": "failed",
    "run.canceled": "canceled",
    "run.suspended": "suspended",
    "run.paused": "paused",
}
STEP_STATUS = {
    "step.started": "running",
    "step.succeeded": "success",
    "step.failed": "failed",
    "step.canceled": "canceled",
    "step.suspended": "suspended",
    "step.resumed": "running",
    "step.waiting": "waiting",
    "step.retrying": "running",
}


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
    """The head and step records (JSON) of `run` at `seq`: the stored snapshot at or before
    it, moved on by the events after it (a write may store several events at once)."""
    try:
        head, records = history.fold_at(run.number, seq, run._state.db or "default")
    except LookupError:
        head, records = {"status": "pending", "state": {}, "seq": 0}, {}
    stored = int(head.get("seq") or 0)
    if stored < seq:
        if seq - stored > MAX_CATCH_UP:
            raise NoMoment(f"Run {run.run_id!r} has no snapshot near seq {seq}.")
        advance(head, records, run.events_after(stored, seq - stored))
        head["seq"] = seq
    return head, records


def advance(head: dict[str, Any], records: dict[str, Any], events: list[Event]) -> None:
    """Move a moment's head and step records on by `events` (in seq order), in place: the
    statuses, inputs, outputs, errors and times those events carry."""
    for event in events:
        payload = event.payload or {}
        status = RUN_STATUS.get(event.type)
        if status is not None:
            head["status"] = status
            head["updated_at"] = event.ts
            if event.type == "run.succeeded":
                head["result"] = payload.get("result")
            elif event.type == "run.failed":
                head["error"] = payload.get("error")
            if status in ("success", "failed", "canceled"):
                head["finished_at"] = event.ts
            continue
        step = STEP_STATUS.get(event.type)
        if step is None or not event.path:
            continue
        key = ".".join(event.path)
        record = dict(records.get(key) or {"status": "pending"})
        record["status"] = step
        if event.type == "step.started":
            record = {"status": step, "payload": payload.get("input"), "started_at": event.ts}
            record["attempts"] = 1
            if payload.get("iteration") is not None:
                record["iteration"] = payload["iteration"]
        elif event.type in ("step.succeeded", "step.failed", "step.canceled"):
            record["ended_at"] = event.ts
            if "output" in payload:
                record["output"] = payload["output"]
            if payload.get("error") is not None:
                record["error"] = payload["error"]
            if payload.get("state_delta"):
                record["state_delta"] = payload["state_delta"]
                head["state"] = {**(head.get("state") or {}), **payload["state_delta"]}
        elif event.type == "step.retrying":
            record["attempts"] = int(payload.get("attempt") or 1)
            record["error"] = payload.get("error")
        elif event.type == "step.suspended":
            record["suspend_payload"] = payload.get("suspend_payload")
            record["labels"] = payload.get("labels") or []
            record["suspended_at"] = event.ts
        elif event.type == "step.resumed":
            record["resume_payload"] = payload.get("resume_payload")
            record["resumed_at"] = event.ts
        elif event.type == "step.waiting":
            record["wake_at"] = payload.get("wake_at")
        records[key] = record


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
