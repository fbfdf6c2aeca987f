"""Whether a run bundle holds together: one story told by the run's status, its engine record
(`head`), its snapshots, its event log, its step records and its human tasks.

A bundle that contradicts itself would be stored as it says and then misbehave: a run marked
`running` whose log ends in success can never be restarted or canceled. Each rule below names
the field that breaks it and why, so the author of the bundle knows what to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engines.core import events as ev

if TYPE_CHECKING:
    from workflows_app.bundles import Bundle

Problems = list[dict[str, str]]

ACTIVE = frozenset({"pending", "running", "waiting"})
# `interrupted` is the app's own: an active engine record whose process died.
INTERRUPTED = "interrupted"
FINISHED = frozenset({"success", "failed", "canceled"})
STATUS_AFTER = {event: status for status, event in ev.RUN_STATUS_EVENTS.items()}
UNDER_WAY = frozenset({"running", "waiting", "suspended"})


def problems(bundle: Bundle) -> Problems:
    """Everything that does not hold together in `bundle`, each as `{"path", "message"}`."""
    found: Problems = []
    for check in (_event_log, _status_and_log, _head, _snapshots, _step_records, _tasks):
        found.extend(check(bundle))
    return found


def _problem(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def _engine_status(bundle: Bundle) -> str:
    """The status the engine's record should hold for the bundle's run status."""
    return str(bundle.run.head.get("status", ""))


def _event_log(bundle: Bundle) -> Problems:
    found = [
        _problem(
            f"events.{index}.seq",
            f"events must be numbered 1, 2, ... without gaps; expected {index + 1}, "
            f"found {event.seq}",
        )
        for index, event in enumerate(bundle.events)
        if event.seq != index + 1
    ]
    last = bundle.events[-1].seq if bundle.events else 0
    if bundle.run.seq != last:
        found.append(_problem("run.seq", f"must be the last event's seq ({last})"))
    return found


def _head(bundle: Bundle) -> Problems:
    run, head = bundle.run, bundle.run.head
    found: Problems = []
    status = _engine_status(bundle)
    if run.status == INTERRUPTED:
        if status not in ACTIVE:
            found.append(
                _problem(
                    "run.head.status",
                    f"is {status!r} but the run is 'interrupted', which an engine record "
                    "under way (pending, running or waiting) becomes",
                )
            )
    elif status != run.status:
        found.append(_problem("run.head.status", f"is {status!r} but the run is {run.status!r}"))
    for name, expected in (("run_id", run.run_id), ("workflow_id", run.workflow_id)):
        if head.get(name) != expected:
            found.append(
                _problem(f"run.head.{name}", f"is {head.get(name)!r} but the run is {expected!r}")
            )
    if head.get("seq") != run.seq:
        found.append(
            _problem(
                "run.head.seq", f"is {head.get('seq')!r} but the run's last event is {run.seq}"
            )
        )
    if run.status == "suspended" and not head.get("suspended"):
        found.append(
            _problem(
                "run.head.suspended", "names no step, but a suspended run waits on at least one"
            )
        )
    return found


def _status_and_log(bundle: Bundle) -> Problems:
    run_events = [event.type for event in bundle.events if event.type.startswith("run.")]
    status = bundle.run.status
    if not run_events:
        if status in ("pending", INTERRUPTED):
            return []
        return [
            _problem("run.status", f"is {status!r} but the event log is empty: the run never began")
        ]
    last = run_events[-1]
    if last == ev.RUN_STARTED:
        if status in ACTIVE or status == INTERRUPTED:
            return []
        return [
            _problem(
                "run.status",
                f"is {status!r} but the event log ends under way (its last run event is "
                f"{last}), so the run is pending, running, waiting or interrupted",
            )
        ]
    after = STATUS_AFTER.get(last)
    if after is not None and status != after:
        return [
            _problem(
                "run.status",
                f"is {status!r} but the event log ends with {last}, which leaves a run {after!r}",
            )
        ]
    return []


def _snapshots(bundle: Bundle) -> Problems:
    found: Problems = []
    seen: set[int] = set()
    for index, snap in enumerate(bundle.snapshots):
        if snap.seq in seen or snap.seq > bundle.run.seq:
            found.append(
                _problem(
                    f"snapshots.{index}.seq",
                    "snapshot seqs must be distinct and at most the run's seq",
                )
            )
        seen.add(snap.seq)
    if not bundle.snapshots:
        return found
    if not bundle.snapshots[0].full:
        found.append(
            _problem(
                "snapshots.0.full",
                "must be true: the first snapshot holds every step, the others build on it",
            )
        )
    last = bundle.snapshots[-1]
    if last.seq != bundle.run.seq:
        found.append(
            _problem(
                "snapshots",
                f"the last snapshot must be at the run's last event ({bundle.run.seq})",
            )
        )
    else:
        status = last.data.get("head", {}).get("status")
        if status != _engine_status(bundle):
            index = len(bundle.snapshots) - 1
            found.append(
                _problem(
                    f"snapshots.{index}.data.head.status",
                    f"is {status!r} but the run is {_engine_status(bundle)!r} (the last "
                    "snapshot is the run as it is)",
                )
            )
    return found


def _step_records(bundle: Bundle) -> Problems:
    found: Problems = []
    current: dict[str, tuple[int, int, str]] = {}
    keys: set[tuple[str, int]] = set()
    for index, rec in enumerate(bundle.step_records):
        if (rec.path, rec.attempt) in keys:
            found.append(_problem(f"step_records.{index}", "path and attempt are repeated"))
        keys.add((rec.path, rec.attempt))
        if rec.seq > bundle.run.seq:
            found.append(
                _problem(
                    f"step_records.{index}.seq",
                    f"is after the run's last event ({bundle.run.seq})",
                )
            )
        held = current.get(rec.path)
        if held is None or (rec.seq, rec.attempt) > held[:2]:
            current[rec.path] = (rec.seq, rec.attempt, rec.status)
        if bundle.run.status == "success" and rec.status in UNDER_WAY:
            found.append(
                _problem(
                    f"step_records.{index}.status",
                    f"is {rec.status!r} but the run is 'success': no step of a finished run "
                    "is still under way",
                )
            )
    if bundle.run.status == "suspended":
        for index, path in enumerate(bundle.run.head.get("suspended") or []):
            key = ".".join(str(part) for part in path) if isinstance(path, list) else str(path)
            held = current.get(key)
            if held is None or held[2] != "suspended":
                found.append(
                    _problem(
                        f"run.head.suspended.{index}",
                        f"names {key!r}, which has no suspended step record",
                    )
                )
    return found


def _tasks(bundle: Bundle) -> Problems:
    if bundle.run.status not in FINISHED:
        return []
    return [
        _problem(
            f"human_tasks.{index}.status",
            f"is 'open' but the run is {bundle.run.status!r}: nobody can answer a finished run",
        )
        for index, task in enumerate(bundle.human_tasks)
        if task.status == "open"
    ]
