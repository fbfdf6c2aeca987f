"""Run bundles: one run with everything it left behind, as versioned JSON, and back.

A bundle holds the exact rows (run, events, snapshots, step records, human tasks), so an
imported run reads, replays and forks like the original. Users are named by username (ids
differ between databases). No engine is involved: this is row copying, validated with pydantic.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

import orjson
import pydantic
from django.contrib.auth import get_user_model
from django.db import transaction

from engines import InvalidRunStateError, ValidationError
from engines.core.schema import field_errors
from workflows_app import bundle_checks, registry
from workflows_app.models import Event, HumanTask, Run, Snapshot, StepRecord, iso

FORMAT = "stepback.run"
VERSION = 1

RunStatus = Literal[
    "pending",
    "running",
    "waiting",
    "suspended",
    "success",
    "failed",
    "canceled",
    "paused",
    "interrupted",
]
TaskStatus = Literal["open", "resumed", "canceled"]


class BundleError(ValidationError):
    """Raised when a bundle is not a valid Stepback run bundle; `errors` names each field."""


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=False)


class RunRow(_Strict):
    """The run row."""

    run_id: str = pydantic.Field(min_length=1, max_length=64)
    workflow_id: str = pydantic.Field(min_length=1, max_length=200)
    definition_hash: str = ""
    engine: str = ""
    status: RunStatus
    input: Any = None
    result: Any = None
    error: dict[str, Any] | None = None
    traceback: str | None = None
    state: dict[str, Any] = {}
    context: dict[str, Any] = {}
    resource_id: str | None = None
    parent_run_id: str | None = None
    fork_step: str | None = None
    seq: int = pydantic.Field(0, ge=0)
    step_counts: dict[str, int] = {}
    graph: dict[str, Any] = {}
    head: dict[str, Any] = {}
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class EventRow(_Strict):
    """One event of the log."""

    seq: int = pydantic.Field(ge=1)
    type: str = pydantic.Field(min_length=1, max_length=32)
    path: str = ""
    ts: float
    payload: dict[str, Any] = {}


class SnapshotRow(_Strict):
    """One stored snapshot (full, or the delta of one write)."""

    seq: int = pydantic.Field(ge=0)
    full: bool = False
    data: dict[str, Any]


class StepRecordRow(_Strict):
    """One step path and attempt."""

    path: str = pydantic.Field(min_length=1)
    attempt: int = pydantic.Field(1, ge=1)
    status: str
    payload: Any = None
    output: Any = None
    error: dict[str, Any] | None = None
    error_type: str = ""
    traceback: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    extra: dict[str, Any] = {}
    seq: int = pydantic.Field(ge=0)
    position: int = pydantic.Field(0, ge=0)


class HumanTaskRow(_Strict):
    """One human task with its audit."""

    path: str = pydantic.Field(min_length=1)
    label: str | None = None
    for_each_index: int | None = None
    suspend_payload: Any = None
    resume_schema: Any = None
    status: TaskStatus = "open"
    created_at: datetime
    closed_at: datetime | None = None
    resumed_by: str | None = None
    resume_data: Any = None


class Bundle(_Strict):
    """A whole bundle."""

    format: Literal["stepback.run"]
    version: int = pydantic.Field(ge=1, le=VERSION)
    run: RunRow
    events: list[EventRow] = []
    snapshots: list[SnapshotRow] = []
    step_records: list[StepRecordRow] = []
    human_tasks: list[HumanTaskRow] = []


# -- export -------------------------------------------------------------------------------------


def _row(
    instance: Any, fields: type[_Strict], skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields.model_fields:
        if name in skip:
            continue
        value = getattr(instance, name)
        out[name] = iso(value) if isinstance(value, datetime) else value
    return out


def export_bundle(run: Run) -> dict[str, Any]:
    """The bundle of a stored run (rows in a stable order, so two exports compare equal)."""
    head = export_bundle_head(run)
    return {
        "format": FORMAT,
        "version": VERSION,
        "run": head["run"],
        "events": [_row(e, EventRow) for e in run.events.order_by("seq")],
        "snapshots": [_row(s, SnapshotRow) for s in run.snapshots.order_by("seq")],
        "step_records": [
            _row(r, StepRecordRow) for r in run.step_records.order_by("path", "attempt")
        ],
        "human_tasks": head["human_tasks"],
    }


def _iso_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


_STREAM_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_STREAM_BATCH = 1000


def export_stream(run: Run) -> Iterator[bytes]:
    """`export_bundle(run)` as JSON bytes, written piece by piece: the event, snapshot and step
    rows are read in batches and encoded as they come, so a run of any length is exported in
    the memory of one batch (the bytes equal the bundle's, parsed)."""

    def dumps(value: Any) -> bytes:
        try:
            return orjson.dumps(value, default=_iso_default, option=_STREAM_OPTIONS)
        except TypeError:  # an unpaired surrogate (stored before the input checks): escaped
            return json.dumps(value, default=_iso_default, separators=(",", ":")).encode()

    bundle = export_bundle_head(run)
    tasks = bundle.pop("human_tasks")
    yield dumps(bundle)[:-1]
    lists: tuple[tuple[str, Any, type[_Strict]], ...] = (
        ("events", run.events.order_by("id"), EventRow),
        ("snapshots", run.snapshots.order_by("id"), SnapshotRow),
        ("step_records", run.step_records.order_by("path", "attempt"), StepRecordRow),
    )
    for name, rows, fields in lists:
        names = list(fields.model_fields)
        yield f',"{name}":['.encode()
        batch: list[bytes] = []
        separator = b""
        for values in rows.values_list(*names).iterator(chunk_size=_STREAM_BATCH):
            batch.append(dumps(dict(zip(names, values, strict=True))))
            if len(batch) == _STREAM_BATCH:
                yield separator + b",".join(batch)
                separator, batch = b",", []
        if batch:
            yield separator + b",".join(batch)
        yield b"]"
    yield b',"human_tasks":' + dumps(tasks) + b"}"


def export_bundle_head(run: Run) -> dict[str, Any]:
    """The bundle's format, version, run row and human tasks (its small parts)."""
    tasks = []
    for task in run.human_tasks.select_related("resumed_by").order_by("created_at", "id"):
        row = _row(task, HumanTaskRow, frozenset({"resumed_by"}))
        row["resumed_by"] = task.resumed_by.get_username() if task.resumed_by else None
        tasks.append(row)
    return {"format": FORMAT, "version": VERSION, "run": _row(run, RunRow), "human_tasks": tasks}


# -- import -------------------------------------------------------------------------------------


def parse_bundle(data: Any) -> Bundle:
    """Validate a bundle's structure and consistency (`bundle_checks`) and that its workflow is
    registered here; `BundleError` lists every problem."""
    if not isinstance(data, dict):
        raise BundleError("Invalid run bundle:", [{"path": "", "message": "must be an object"}])
    version = data.get("version")
    if data.get("format") == FORMAT and isinstance(version, int) and version > VERSION:
        raise BundleError(
            "Invalid run bundle:",
            [
                {
                    "path": "version",
                    "message": f"version {data['version']} is newer than this Stepback "
                    f"reads ({VERSION})",
                }
            ],
        )
    try:
        bundle = Bundle.model_validate(data)
    except pydantic.ValidationError as exc:
        raise BundleError("Invalid run bundle:", field_errors(exc)) from None
    problems = bundle_checks.problems(bundle)
    if bundle.run.workflow_id not in registry.workflows():
        known = ", ".join(sorted(registry.workflows())) or "none"
        problems.insert(
            0,
            {
                "path": "run.workflow_id",
                "message": f"no workflow {bundle.run.workflow_id!r} is registered here "
                f"(registered: {known})",
            },
        )
    if problems:
        raise BundleError("Inconsistent run bundle:", problems)
    return bundle


def _with_run_id(data: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    # Snapshots and the run head carry the run id; the fork's parent id stays what it was.
    if data.get("run_id") == old:
        return {**data, "run_id": new}
    return data


def import_bundle(data: Any, *, new_id: bool = False) -> Run:
    """Store the rows of a bundle; refuses a run id that exists unless `new_id` asks for a fresh
    one (every copy of the id in the rows is rewritten). A run the bundle shows under way is
    stored `interrupted`: no process here executes it, and `restart` continues it."""
    bundle = parse_bundle(data)
    source = bundle.run
    run_id = uuid.uuid4().hex if new_id else source.run_id
    users = get_user_model()
    names = {t.resumed_by for t in bundle.human_tasks if t.resumed_by}
    known = {u.get_username(): u for u in users._default_manager.filter(username__in=names)}
    with transaction.atomic():
        if Run.objects.select_for_update().filter(pk=run_id).exists():
            raise InvalidRunStateError(
                f"Run {run_id!r} already exists; import it with a new id to keep both"
            )
        values = source.model_dump()
        values["run_id"] = run_id
        if values["status"] in bundle_checks.ACTIVE:
            # Nobody here executes it: it stopped where the bundle left it.
            values["status"] = bundle_checks.INTERRUPTED
        values["head"] = _with_run_id(source.head, source.run_id, run_id)
        run = Run.objects.create(**values)
        Event.objects.bulk_create(Event(run=run, **e.model_dump()) for e in bundle.events)
        Snapshot.objects.bulk_create(
            Snapshot(
                run=run, seq=s.seq, full=s.full, data=_with_run_id(s.data, source.run_id, run_id)
            )
            for s in bundle.snapshots
        )
        StepRecord.objects.bulk_create(
            StepRecord(run=run, **r.model_dump()) for r in bundle.step_records
        )
        HumanTask.objects.bulk_create(
            HumanTask(
                run=run,
                **t.model_dump(exclude={"resumed_by"}),
                resumed_by=known.get(t.resumed_by) if t.resumed_by else None,
            )
            for t in bundle.human_tasks
        )
    return run
