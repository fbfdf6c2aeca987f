"""How a run's snapshot is split into rows and put back together, without touching the database.

`DjangoStorage` writes a run as a head (every snapshot field but the steps and the graph), one
`StepRecord` row per step attempt, and per write one `Snapshot` row: a full copy of the step
records, or a delta of the records that write changed. This module holds the pure parts of that
mapping, so the storage, the models and the tests share one definition of each format.

Snapshot row data (`Snapshot.data`), format 2::

    {"v": 2, "head": {...}, "steps": [[key, record], ...], "removed": [key, ...]}

A full row's head is the whole head; any other row's head holds only the `HOT_HEAD` fields
(those a step boundary changes; a field at its default is left out), since a change of any
other head field makes the write a full row. `steps` lists records in snapshot order (a list:
PostgreSQL's jsonb does not keep the key order of objects, and the engine depends on it);
`removed` lists the keys removed (or removed and put back, which moves them last) before them.

Format 1 rows (no `"v"`) hold the whole head in every row, `steps` as an object and its key
order in `order`; `fold` still reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from engines.core import events as ev
from engines.core.error_codec import error_to_dict

if TYPE_CHECKING:
    from engines.core.events import Event
    from engines.core.results import StepResult
    from engines.core.snapshot import RunSnapshot

# The record fields that have a column of their own in `StepRecord`; the rest go to `extra`.
RECORD_COLUMNS = ("payload", "output", "error", "traceback", "started_at", "ended_at")
ACTIVE_STATUSES = frozenset({"pending", "running", "waiting"})
RUN_END_EVENTS = frozenset({ev.RUN_SUCCEEDED, ev.RUN_FAILED, ev.RUN_CANCELED})
_STEP_END_EVENTS = frozenset(
    {ev.STEP_SUSPENDED, ev.STEP_SUCCEEDED, ev.STEP_FAILED, ev.STEP_CANCELED}
)
_TASK_EVENTS = RUN_END_EVENTS | _STEP_END_EVENTS | {ev.STEP_RESUMED}


_ENCODER = json.JSONEncoder(separators=(",", ":"))
# orjson encodes the small values of a save several times faster than the stdlib. What it would
# encode that `json` refuses (datetimes, dataclasses) is passed through to no default, so it is
# refused alike; what it cannot encode (an int over 64 bits) goes to the stdlib.
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_orjson_dumps = orjson.dumps


def dumps(value: Any) -> str:
    """Compact JSON text, as stored in every JSON column."""
    try:
        return _orjson_dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return _ENCODER.encode(value)


def loads(text: str | bytes) -> Any:
    """JSON text (or bytes) back to values; the stdlib reads what orjson refuses (an unpaired
    surrogate, which a run stored before the input checks may hold)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def join_object(parts: Iterable[tuple[str, str]]) -> str:
    """A JSON object from keys and already-encoded values (each value is encoded only once even
    when it is stored twice, as a column and inside `head`)."""
    return "{" + ",".join([f"{dumps(key)}:{text}" for key, text in parts]) + "}"


# The head fields that are also columns of `Run`, encoded on their own so each is encoded once.
HEAD_COLUMNS = ("input", "state", "context", "result", "error")

# The head fields a step boundary may change, with their defaults (left out of a row's head).
# A change of any other head field (input, context, started_at, ...) makes a write full.
HOT_HEAD: dict[str, Any] = {
    "status": "pending",
    "state": {},
    "result": None,
    "error": None,
    "traceback": None,
    "suspended": [],
    "resume_labels": {},
    "paused_at": [],
    "updated_at": 0.0,
    "finished_at": None,
}
_HOT_TEXTS = {"state": "{}", "suspended": "[]", "resume_labels": "{}", "paused_at": "[]"}


@dataclass(frozen=True, slots=True)
class HeadParts:
    """A snapshot's head as JSON: `text` the whole head (every field but the steps and the
    graph), `hot` the `HOT_HEAD` fields not at their default, `cold` every other field, and
    `columns` the JSON of the `HEAD_COLUMNS` (None for a null value)."""

    text: str
    hot: str
    cold: str
    columns: dict[str, str | None]


def head_parts(snapshot: RunSnapshot) -> HeadParts:
    """`snapshot`'s head encoded (see `HeadParts`), without serializing any step record."""
    error = error_to_dict(snapshot.error) if snapshot.error is not None else None
    columns: dict[str, str | None] = {
        "input": None if snapshot.input is None else dumps(snapshot.input),
        "state": dumps(snapshot.state),
        "context": dumps(snapshot.context),
        "result": None if snapshot.result is None else dumps(snapshot.result),
        "error": None if error is None else dumps(error),
    }
    hot_texts = {
        "status": f'"{snapshot.status}"',  # statuses are plain words
        "state": columns["state"],
        "result": columns["result"],
        "error": columns["error"],
        "traceback": None if snapshot.traceback is None else dumps(snapshot.traceback),
        "suspended": dumps(snapshot.suspended),
        "resume_labels": dumps(snapshot.resume_labels),
        "paused_at": dumps(snapshot.paused_at),
        "updated_at": repr(float(snapshot.updated_at)),
        "finished_at": None if snapshot.finished_at is None else repr(snapshot.finished_at),
    }
    hot = join_object(
        (name, text)
        for name, text in hot_texts.items()
        if text is not None and text != _HOT_TEXTS.get(name)
    )
    cold = dumps(
        {
            "version": snapshot.version,
            "run_id": snapshot.run_id,
            "workflow_id": snapshot.workflow_id,
            "initial_state": snapshot.initial_state,
            "definition_hash": snapshot.definition_hash,
            "resource_id": snapshot.resource_id,
            "parent_run_id": snapshot.parent_run_id,
            "fork_step": snapshot.fork_step,
            "created_at": snapshot.created_at,
            "started_at": snapshot.started_at,
            "breakpoints": snapshot.breakpoints,
            "per_step": snapshot.per_step,
        }
    )
    cold = cold[:-1] + f',"input":{columns["input"] or "null"},"context":{columns["context"]}}}'
    rest = "".join([f',"{name}":{text or "null"}' for name, text in hot_texts.items()])
    text = cold[:-1] + rest + f',"seq":{snapshot.seq}}}'
    return HeadParts(text=text, hot=hot, cold=cold, columns=columns)


def snapshot_dict(head: Mapping[str, Any], steps: Mapping[str, Any], graph: Any) -> dict[str, Any]:
    """The `RunSnapshot.to_dict()` form from a head, ordered step records and the graph."""
    data = dict(head)
    data["steps"] = dict(steps)
    data["graph"] = graph or {}
    return data


# -- step records as rows ---------------------------------------------------------------------


def split_record(record: dict[str, Any]) -> tuple[str, list[Any], dict[str, Any]]:
    """A record's JSON form as (status, [values of RECORD_COLUMNS], extra)."""
    extra = dict(record)
    status = extra.pop("status")
    return status, [extra.pop(name, None) for name in RECORD_COLUMNS], extra


def join_record(status: str, columns: Sequence[Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """The record's JSON form back from its row (absent fields stay absent, as in to_dict)."""
    record: dict[str, Any] = {"status": status}
    for name, value in zip(RECORD_COLUMNS, columns, strict=True):
        if value is not None:
            record[name] = value
    record.update(extra)
    return record


def pick_current(rows: Iterable[tuple[str, int, int, dict[str, Any]]]) -> dict[str, Any]:
    """Per path, the record of its current row: the highest seq, then the highest attempt.

    `rows` are (path, seq, attempt, record) in position order; the result keeps that order.
    """
    best: dict[str, tuple[int, int, dict[str, Any]]] = {}
    for path, seq, attempt, record in rows:
        held = best.get(path)
        if held is None or (seq, attempt) > (held[0], held[1]):
            best[path] = (seq, attempt, record)
    return {path: held[2] for path, held in best.items()}


def count_statuses(statuses: Iterable[str]) -> dict[str, int]:
    """Step records by status, for `Run.step_counts`."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


# -- snapshot rows ----------------------------------------------------------------------------


def fold(
    rows: Iterable[tuple[int, bool, Mapping[str, Any]]],
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The head and ordered step records after applying snapshot rows `(seq, full, data)` in
    seq order; the first must be full (a format 1 row is full when it has no `removed`).

    Each row drops its removed keys, then puts its records (a key already present keeps its
    place, a new one goes last, as in a dict). A format 2 row that is not full brings the hot
    head fields; the others stay as the last full row had them.
    """
    head: dict[str, Any] | None = None
    steps: dict[str, Any] = {}
    last_seq = 0
    for seq, full, data in rows:
        last_seq = seq
        if data.get("v") == 2:
            if full:
                head, steps = dict(data["head"]), {}
            elif head is None:
                raise ValueError("snapshot rows must start with a full snapshot")
            else:
                head = {**head, **HOT_HEAD, **data["head"]}
            pairs: Iterable[Any] = data.get("steps") or ()
        else:
            if head is None and "removed" in data:
                raise ValueError("snapshot rows must start with a full snapshot")
            head = dict(data["head"])
            if "removed" not in data:
                steps = {}
            records = data.get("steps") or {}
            pairs = [(key, records[key]) for key in data.get("order") or records]
        for key in data.get("removed") or ():
            steps.pop(key, None)
        for key, record in pairs:
            steps[key] = record
    if head is None:
        return None
    head["seq"] = last_seq
    return head, steps


# -- the graph --------------------------------------------------------------------------------


def node_at(graph: Mapping[str, Any] | None, path: Sequence[str]) -> dict[str, Any] | None:
    """The node of the step at `path` in a `Workflow.graph()` (kind, block, description, JSON
    Schemas), from its flat path-keyed nodes. Foreach item segments (`step[3]`) name their step."""
    key = ".".join(raw.split("[", 1)[0] for raw in path)
    if not key or graph is None:
        return None
    return next((n for n in graph.get("nodes") or () if n.get("key") == key), None)


# -- human tasks ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskOpen:
    """A suspended step (or foreach item) that needs a person."""

    path: str
    for_each_index: int | None
    label: str | None
    suspend_payload: Any
    resume_schema: Any
    ts: float


@dataclass(frozen=True, slots=True)
class TaskClose:
    """A suspended step (or item) that is no longer waiting: it was resumed with `data`."""

    path: str
    for_each_index: int | None
    data: Any
    ts: float


@dataclass(slots=True)
class TaskChanges:
    """What one write does to a run's human tasks, in event order."""

    changes: list[TaskOpen | TaskClose] = field(default_factory=list)
    ended_at: float | None = None  # the run ended: every task still open is canceled

    def __bool__(self) -> bool:
        return bool(self.changes) or self.ended_at is not None


def _first(labels: Sequence[str]) -> str | None:
    return labels[0] if labels else None


def _resume_schema(snapshot: RunSnapshot, path: Sequence[str]) -> Any:
    return (node_at(snapshot.graph, path) or {}).get("resume_schema")


def _is_leaf(steps: Mapping[str, StepResult], key: str) -> bool:
    prefix = key + "."
    return not any(k.startswith(prefix) and r.status == "suspended" for k, r in steps.items())


def task_changes(snapshot: RunSnapshot, events: Sequence[Event]) -> TaskChanges:
    """The human tasks a write opens and closes, from its events and the snapshot it stores.

    A suspended leaf step opens a task; a foreach opens one per suspended item. Steps inside
    a foreach item (`step[3].inner`) are reached through their foreach's items, since that is
    how they are resumed. A `step.resumed` closes the step's task; a foreach's items are
    reconciled whenever the foreach stops.
    """
    out = TaskChanges()
    steps = snapshot.steps
    for event in events:
        kind = event.type
        if kind not in _TASK_EVENTS:
            continue
        if kind in RUN_END_EVENTS:
            out.ended_at = event.ts
            continue
        key = ".".join(event.path)
        if "[" in key:
            continue
        if kind == ev.STEP_RESUMED:
            out.changes.append(TaskClose(key, None, event.payload.get("resume_payload"), event.ts))
            continue
        record = steps.get(key)
        if record is None:
            continue
        if record.items is not None:
            schema = _resume_schema(snapshot, event.path)
            for index, item in enumerate(record.items):
                if item is None:
                    continue
                if item.status == "suspended":
                    out.changes.append(
                        TaskOpen(
                            key, index, _first(item.labels), item.suspend_payload, schema, event.ts
                        )
                    )
                else:
                    out.changes.append(TaskClose(key, index, item.resume_payload, event.ts))
        elif kind == ev.STEP_SUSPENDED and record.status == "suspended" and _is_leaf(steps, key):
            schema = _resume_schema(snapshot, event.path)
            out.changes.append(
                TaskOpen(key, None, _first(record.labels), record.suspend_payload, schema, event.ts)
            )
    return out
