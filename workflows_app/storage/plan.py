"""Planning one save: everything it writes, read from the engine's snapshot and encoded.

A save is planned on the caller's event loop into a `WritePlan` of plain values (the engine
keeps changing its working snapshot after the save returns, and a write may run on another
thread). The plan is a delta when the snapshot's records were last synced with this storage's
`RunCache` for the run; otherwise every record is written.

Which records changed is read in one place, `_changes`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engines.core import events as ev
from engines.core.events import Event
from engines.core.results import StepResult
from engines.core.snapshot import RunSnapshot, StepRecords
from engines.storage.base import check_append
from workflows_app import snapshots
from workflows_app.snapshots import TaskChanges, dumps, join_object
from workflows_app.storage.cache import GraphMemo, RunCache, level_of, next_version

__all__ = ["GraphMemo", "RunCache", "WritePlan", "plan_save", "unsync"]


@dataclass(slots=True)
class WritePlan:
    """Everything one save writes, as plain values (see `workflows_app.storage.sql`)."""

    run_id: str
    status: str
    expected_seq: int  # the stored seq the write must find
    seq: int
    delta: bool  # False: every record is written and rows of other paths are deleted
    run: dict[str, Any]  # column -> value of the run row (datetimes as epoch seconds)
    run_update: tuple[str, ...]  # the columns a delta save sets (those that changed)
    graph: tuple[str, str] | None  # (key, JSON) of the graph when it may need storing
    events: Sequence[Event]
    event_rows: list[tuple[Any, ...]]  # (seq, type, path, ts, payload JSON)
    steps: list[list[Any]]  # STEP_COLUMNS values; attempt 0: the path's latest stored attempt
    removed: list[str]
    snapshot_full: bool
    snapshot_level: int
    snapshot_base: int
    snapshot_data: str
    tasks: TaskChanges
    cache: RunCache


def _changes(
    records: dict[str, StepResult], cache: RunCache | None
) -> tuple[list[str], list[str]] | None:
    """The keys changed and removed since `cache` was written, or None when that is unknown
    (the records are not the working records this storage saved last): write everything."""
    if (
        cache is None
        or not isinstance(records, StepRecords)
        or not records.delta_from(cache.version)
        or records.changed is None
    ):
        return None
    return list(records.changed), [k for k in records.removed if k in cache.positions]


def _mark_synced(records: dict[str, StepResult], cache: RunCache) -> None:
    cache.version = next_version()
    if isinstance(records, StepRecords):
        # Changes the engine makes while this save is written go to the next one.
        records.mark_synced(cache.version)


def unsync(records: dict[str, StepResult], cache: RunCache) -> None:
    """A write planned against `cache` failed: the records' next save writes everything."""
    if isinstance(records, StepRecords) and records.synced_version == cache.version:
        records.mark_unknown()


def plan_save(
    snapshot: RunSnapshot,
    events: Sequence[Event],
    cache: RunCache | None,
    engine_name: str,
    graphs: GraphMemo,
) -> WritePlan:
    """Plan saving `snapshot` with `events`, as a delta against `cache` when the snapshot's
    records are synced with it. Marks the records synced with the plan's cache."""
    run_id = snapshot.run_id
    if events:
        # Gaps inside `events`, or a snapshot behind them, are refused before anything.
        check_append(run_id, events[0].seq - 1, snapshot.seq, events)
    records = snapshot.steps
    head = snapshots.head_parts(snapshot)
    found = _changes(records, cache)
    if found is not None and cache is not None and events and head.cold == cache.cold:
        delta = True
        changed, removed = found
        for key in removed:
            cache.forget(key)
    else:
        # A full write: the first of this storage for the run, a write without events (it
        # replaces the row at its seq), or one that changes a head field outside `HOT_HEAD`.
        delta = False
        number = cache.number if cache is not None else None
        cache = RunCache()
        cache.number = number
        changed, removed = list(records), []
        for key in changed:
            cache.place(key)
    _mark_synced(records, cache)

    retried = _retries(events)
    listed = set(changed)
    changed.extend(k for k in retried if k in records and k not in listed)
    steps = _step_rows(snapshot, cache, changed, retried, delta)

    graph: tuple[str, str] | None = None
    graph_key: str | None = cache.run_values.get("stored_graph_id")
    if not delta or cache.graph_hash != snapshot.definition_hash:
        graph_key, graph_text = graphs.key_and_text(snapshot)
        graph = None if graph_key is None else (graph_key, graph_text)
        cache.graph_hash = snapshot.definition_hash
    columns = head.columns
    run = {
        "workflow_id": snapshot.workflow_id,
        "definition_hash": snapshot.definition_hash,
        "engine": engine_name,
        "status": snapshot.status,
        "input": columns["input"],
        "result": columns["result"],
        "error": columns["error"],
        "traceback": snapshot.traceback,
        "state": columns["state"],
        "context": columns["context"],
        "resource_id": snapshot.resource_id,
        "parent_run_id": snapshot.parent_run_id,
        "fork_step": snapshot.fork_step,
        "seq": snapshot.seq,
        "step_counts": dumps(cache.counts),
        "stored_graph_id": graph_key,
        "head": head.text,
        "created_at": snapshot.created_at,
        "updated_at": snapshot.updated_at,
        "started_at": snapshot.started_at,
        "finished_at": snapshot.finished_at,
    }
    written = cache.run_values
    run_update = tuple(name for name in run if name not in written or written[name] != run[name])
    cache.run_values = run

    level = 0
    deleted = removed
    if delta:
        cache.note_changes(changed, removed)
        level = level_of(cache.seq, snapshot.seq)
        if level:
            changed, removed = cache.take_level(level)
        row_head = head.hot
    else:
        cache.reset_levels()
        cache.base = snapshot.seq
        row_head = head.text
    cache.seq = snapshot.seq
    cache.cold = head.cold
    return WritePlan(
        run_id=run_id,
        status=snapshot.status,
        expected_seq=events[0].seq - 1 if events else snapshot.seq,
        seq=snapshot.seq,
        delta=delta,
        run=run,
        run_update=run_update,
        graph=graph,
        events=events,
        event_rows=[(e.seq, e.type, ".".join(e.path), e.ts, dumps(e.payload)) for e in events],
        steps=steps,
        removed=deleted,
        snapshot_full=not delta,
        snapshot_level=level,
        snapshot_base=cache.base,
        snapshot_data=_snapshot_data(row_head, records, cache, changed, removed),
        tasks=snapshots.task_changes(snapshot, events),
        cache=cache,
    )


def _retries(events: Sequence[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    for event in events:
        if event.type == ev.STEP_RETRYING:
            out.setdefault(".".join(event.path), []).append(event)
    return out


def _json(value: Any) -> str | None:
    """A JSON column's parameter: SQL NULL for an absent value."""
    return None if value is None else dumps(value)


def _step_rows(
    snapshot: RunSnapshot,
    cache: RunCache,
    changed: list[str],
    retried: dict[str, list[Event]],
    delta: bool,
) -> list[list[Any]]:
    """Rows for the changed records, and for the failed attempts their retries left behind;
    one per (path, attempt), the current record winning."""
    rows: dict[tuple[str, int], list[Any]] = {}
    records = snapshot.steps
    seq = snapshot.seq
    for key in changed:
        record = records.get(key)
        if record is None:
            continue
        position = cache.place(key)
        data = record.to_dict()
        status, columns, extra = snapshots.split_record(data)
        texts = _column_texts(columns)
        extra_text = dumps(extra)
        cache.texts[key] = (record, _fragment(key, status, texts, extra_text))
        cache.set_status(key, status)
        attempt = record.attempts
        for event in retried.get(key, ()):
            number = int(event.payload.get("attempt") or 1)
            rows[(key, number)] = _failed_attempt_row(key, number, data, event, position)
            if record.attempts == 0:
                # The running record is the attempt that follows the failed one.
                attempt = max(attempt, number + 1)
        if attempt == 0:
            # A running record: the attempt its row already has, if this storage wrote it;
            # a full write looks it up among the stored rows (0 = resolve there).
            attempt = cache.attempts.get(key, 1 if delta else 0)
        if attempt:
            cache.attempts[key] = attempt
        error = columns[2]
        rows[(key, attempt)] = [
            key, attempt, status, texts[0], texts[1], texts[2], error["type"] if error else "",
            columns[3], columns[4], columns[5], extra_text, seq, position,
        ]  # fmt: skip
    return list(rows.values())


def _column_texts(columns: list[Any]) -> list[str | None]:
    """The JSON of a record's column values (None where absent); timestamps as `repr`, which
    is what `json` writes for a finite float, without its per-call cost."""
    return [
        value.__repr__() if type(value) is float and math.isfinite(value) else _json(value)
        for value in columns
    ]


def _fragment(key: str, status: str, texts: list[str | None], extra: str) -> str:
    """`["key",{record}]` as JSON, the record assembled from its already-encoded columns."""
    parts = ["[", dumps(key), ',{"status":"', status, '"']  # statuses are plain words
    for name, text in zip(snapshots.RECORD_COLUMNS, texts, strict=True):
        if text is not None:
            parts.append(f',"{name}":{text}')
    if extra != "{}":
        parts.append("," + extra[1:-1])
    parts.append("}]")
    return "".join(parts)


def _failed_attempt_row(
    key: str, number: int, data: dict[str, Any], event: Event, position: int
) -> list[Any]:
    """The row of an attempt that failed and was retried (its error, start and the time the
    next attempt is due from the event; events written before they carried a start have the
    step's start for the first attempt only)."""
    payload = event.payload
    error = payload.get("error")
    started = payload.get("started_at")
    if started is None and number == 1:
        started = data.get("started_at")
    extra: dict[str, Any] = {"attempts": number}
    if payload.get("retry_at") is not None:
        extra["retry_at"] = payload["retry_at"]
    return [
        key, number, "failed", _json(data.get("payload")), None, _json(error),
        error.get("type", "") if isinstance(error, dict) else "", None,
        started, event.ts, dumps(extra), event.seq, position,
    ]  # fmt: skip


def _snapshot_data(
    head: str,
    records: dict[str, StepResult],
    cache: RunCache,
    keys: list[str],
    removed: list[str],
) -> str:
    """A snapshot row's JSON (format 2): the records at `keys`, in snapshot order."""
    texts = cache.texts
    positions = cache.positions
    present = sorted((k for k in keys if k in records), key=positions.__getitem__)
    fragments: list[str] = []
    for key in present:
        record = records[key]
        held = texts.get(key)
        if held is None or held[0] is not record:
            status, columns, extra = snapshots.split_record(record.to_dict())
            fragment = _fragment(key, status, _column_texts(columns), dumps(extra))
            held = texts[key] = (record, fragment)
        fragments.append(held[1])
    pieces = [("v", "2"), ("head", head), ("steps", "[" + ",".join(fragments) + "]")]
    if removed:
        pieces.append(("removed", dumps(removed)))
    return join_object(pieces)
