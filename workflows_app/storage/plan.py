"""Planning one save: everything it writes, read from the engine's snapshot and encoded.

The engine keeps changing its working snapshot while a save is written on another thread, so a
save is planned first, on the event loop, into a `WritePlan` of plain values. The plan is a
delta when the snapshot's records are in step with this storage's `RunCache` for the run (the
same version); otherwise every record is written.
"""

from __future__ import annotations

import itertools
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
from workflows_app.models import WorkflowGraph
from workflows_app.snapshots import TaskChanges, dumps, join_object

# A save writes a full snapshot row at least this often, so rebuilding any moment of a run
# folds at most this many rows.
FULL_SNAPSHOT_EVERY = 50


# Run columns that are indexed: a save sets them only when they change, so that their index
# pages stay clean (`updated_at` and the like are not indexed).
INDEXED_RUN_COLUMNS = (
    "workflow_id", "status", "resource_id", "parent_run_id", "created_at", "stored_graph_id",
)  # fmt: skip


class GraphMemo:
    """The storage key and JSON of each workflow graph seen lately, by definition hash.

    Runs of one workflow share its graph object, so a graph is encoded (and hashed) once per
    process rather than at every run's first save.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._held: dict[str, tuple[object, str, str]] = {}

    def key_and_text(self, snapshot: RunSnapshot) -> tuple[str | None, str]:
        """The graph's key (None for an empty graph) and JSON text."""
        graph = snapshot.graph
        if not graph:
            return None, "{}"
        held = self._held.get(snapshot.definition_hash)
        if held is not None and held[0] is graph:
            return held[1], held[2]
        text = dumps(graph)
        key = WorkflowGraph.key_of(text)
        self._held.pop(snapshot.definition_hash, None)
        self._held[snapshot.definition_hash] = (graph, key, text)
        if len(self._held) > self.size:
            del self._held[next(iter(self._held))]
        return key, text


_versions = itertools.count(1)


class RunCache:
    """What a storage wrote for one run, so the next save of a snapshot whose records are in
    step with it writes only what changed. `version` names the stored state it describes
    (`StepRecords.synced_version`); `seq` is the run's stored seq."""

    __slots__ = ("attempts", "counts", "graph_hash", "indexed", "next_position", "positions",
                 "saves", "seq", "statuses", "texts", "version")  # fmt: skip

    def __init__(self) -> None:
        self.version = next(_versions)
        self.seq = 0
        self.positions: dict[str, int] = {}
        self.next_position = 0
        self.statuses: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        # The attempt of each step's current row (running records say attempts=0).
        self.attempts: dict[str, int] = {}
        # Each record's JSON text, reused by full snapshot rows while the record is unchanged.
        self.texts: dict[str, tuple[StepResult, str]] = {}
        self.saves = 0  # saves since the last full snapshot row
        self.graph_hash: str | None = None
        # The indexed run columns as last written.
        self.indexed: dict[str, Any] = {}

    def forget(self, key: str) -> None:
        """The record at `key` was removed from the snapshot."""
        self.positions.pop(key, None)
        self.attempts.pop(key, None)
        self.texts.pop(key, None)
        status = self.statuses.pop(key, None)
        if status is not None:
            self._count(status, -1)

    def place(self, key: str) -> int:
        """The key's position among the records (a new key goes last)."""
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = self.next_position
            self.next_position += 1
        return position

    def set_status(self, key: str, status: str) -> None:
        old = self.statuses.get(key)
        if old != status:
            if old is not None:
                self._count(old, -1)
            self.statuses[key] = status
            self._count(status, 1)

    def _count(self, status: str, change: int) -> None:
        value = self.counts.get(status, 0) + change
        if value:
            self.counts[status] = value
        else:
            self.counts.pop(status, None)


@dataclass(slots=True)
class WritePlan:
    """Everything one save writes, as plain values (see `workflows_app.storage.sql`)."""

    run_id: str
    status: str
    expected_seq: int  # the stored seq the write must find
    seq: int
    delta: bool  # False: every record is written and rows of other paths are deleted
    run: dict[str, Any]  # column -> value of the run row (datetimes as epoch seconds)
    run_update: tuple[str, ...]  # the columns a delta save sets (indexed ones when changed)
    graph: tuple[str, str] | None  # (key, JSON) of the graph when it may need storing
    events: Sequence[Event]
    event_rows: list[tuple[Any, ...]]
    steps: list[list[Any]]  # STEP_COLUMNS values; attempt 0: the path's latest stored attempt
    removed: list[str]
    snapshot_full: bool
    snapshot_data: str
    tasks: TaskChanges
    cache: RunCache


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
    delta = False
    removed: list[str] = []
    if (
        cache is not None
        and isinstance(records, StepRecords)
        and records.delta_from(cache.version)
        and records.changed is not None
    ):
        delta = True
        changed = list(records.changed)
        removed = [k for k in records.removed if k in cache.positions]
        for key in removed:
            cache.forget(key)
    else:
        cache = RunCache()
        changed = list(records)
        for key in changed:
            cache.place(key)
    cache.version = next(_versions)
    cache.seq = snapshot.seq
    if isinstance(records, StepRecords):
        # Changes the engine makes while this save is written go to the next one.
        records.mark_synced(cache.version)

    retried = _retries(events)
    listed = set(changed)
    changed.extend(k for k in retried if k in records and k not in listed)
    steps = _step_rows(snapshot, cache, changed, retried, delta)

    head_text, head = snapshots.head_parts(snapshot)
    graph: tuple[str, str] | None = None
    graph_key: str | None = cache.indexed.get("stored_graph_id")
    if not delta or cache.graph_hash != snapshot.definition_hash:
        graph_key, graph_text = graphs.key_and_text(snapshot)
        graph = None if graph_key is None else (graph_key, graph_text)
        cache.graph_hash = snapshot.definition_hash
    run = {
        "workflow_id": snapshot.workflow_id,
        "definition_hash": snapshot.definition_hash,
        "engine": engine_name,
        "status": snapshot.status,
        "input": head["input"],
        "result": head["result"],
        "error": head["error"],
        "traceback": snapshot.traceback,
        "state": head["state"],
        "context": head["context"],
        "resource_id": snapshot.resource_id,
        "parent_run_id": snapshot.parent_run_id,
        "fork_step": snapshot.fork_step,
        "seq": snapshot.seq,
        "step_counts": dumps(cache.counts),
        "stored_graph_id": graph_key,
        "head": head_text,
        "created_at": snapshot.created_at,
        "updated_at": snapshot.updated_at,
        "started_at": snapshot.started_at,
        "finished_at": snapshot.finished_at,
    }
    indexed = cache.indexed
    run_update = tuple(name for name in run if name not in indexed or indexed[name] != run[name])
    cache.indexed = {name: run[name] for name in INDEXED_RUN_COLUMNS}
    cache.saves += 1
    full = not delta or not events or cache.saves >= FULL_SNAPSHOT_EVERY
    if full:
        cache.saves = 0
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
        event_rows=[
            (run_id, e.seq, e.type, ".".join(e.path), e.ts, dumps(e.payload)) for e in events
        ],
        steps=steps,
        removed=removed,
        snapshot_full=full,
        snapshot_data=_snapshot_data(head_text, records, cache, None if full else changed, removed),
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
    """`"key":{record}` as JSON, the record assembled from its already-encoded columns."""
    parts = [dumps(key), ':{"status":"', status, '"']  # statuses are plain words
    for name, text in zip(snapshots.RECORD_COLUMNS, texts, strict=True):
        if text is not None:
            parts.append(f',"{name}":{text}')
    if extra != "{}":
        parts.append("," + extra[1:-1])
    parts.append("}")
    return "".join(parts)


def _failed_attempt_row(
    key: str, number: int, data: dict[str, Any], event: Event, position: int
) -> list[Any]:
    """The row of an attempt that failed and was retried (its error from the event)."""
    error = event.payload.get("error")
    return [
        key, number, "failed", _json(data.get("payload")), None, _json(error),
        error.get("type", "") if isinstance(error, dict) else "", None,
        data.get("started_at") if number == 1 else None, event.ts, dumps({"attempts": number}),
        event.seq, position,
    ]  # fmt: skip


def _snapshot_data(
    head: str,
    records: dict[str, StepResult],
    cache: RunCache,
    changed: list[str] | None,
    removed: list[str],
) -> str:
    """A snapshot row's JSON: every record (`changed` None) or a delta of the changed ones."""
    texts = cache.texts
    keys = list(records) if changed is None else [k for k in changed if k in records]
    fragments: list[str] = []
    for key in keys:
        record = records[key]
        held = texts.get(key)
        if held is None or held[0] is not record:
            status, columns, extra = snapshots.split_record(record.to_dict())
            fragment = _fragment(key, status, _column_texts(columns), dumps(extra))
            held = texts[key] = (record, fragment)
        fragments.append(held[1])
    steps = "{" + ",".join(fragments) + "}"
    pieces = [("head", head), ("steps", steps), ("order", dumps(keys))]
    if changed is not None:
        pieces.append(("removed", dumps(removed)))
    return join_object(pieces)
