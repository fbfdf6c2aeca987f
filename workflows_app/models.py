"""What every run leaves behind: the run row, its event log, snapshots, step records and the
human tasks it opened.

The exact engine form of a run lives in `Run.head` (every snapshot field but the steps and the
graph), `StepRecord` rows and the run's `WorkflowGraph`; the other columns are denormalized
copies for lists, filters and cross-run queries. `workflows_app.storage.DjangoStorage` is the
only writer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

from engines.core.events import Event as EngineEvent
from engines.core.snapshot import RunSnapshot
from engines.storage.base import RunSummary
from workflows_app import snapshots
from workflows_app.json_columns import JSONText
from workflows_app.queries import LISTING_FIELDS, SUMMARY_FIELDS, RunQuerySet, iso, to_datetime

__all__ = [
    "LISTING_FIELDS",
    "SEQ_BITS",
    "SUMMARY_FIELDS",
    "Event",
    "ExecutorProcess",
    "HumanTask",
    "Run",
    "RunAction",
    "RunQuerySet",
    "Snapshot",
    "StepRecord",
    "WorkflowGraph",
    "iso",
    "row_key",
    "to_datetime",
]

RUN_STATUSES = [
    (s, s)
    for s in (
        "pending",
        "running",
        "waiting",
        "suspended",
        "success",
        "failed",
        "canceled",
        "paused",
        # Not an engine status: left active by a process that died (`workflows_app.recovery`).
        "interrupted",
    )
]


def _duration(
    started: datetime | None, finished: datetime | None, updated: datetime
) -> float | None:
    if started is None:
        return None
    return max(((finished or updated) - started).total_seconds(), 0.0)


SEQ_BITS = 32
"""An event or snapshot row's key is `run.number << SEQ_BITS | seq` (see `row_key`)."""
_MAX_SEQ = (1 << SEQ_BITS) - 1
_MAX_NUMBER = (1 << 30) - 1


def row_key(number: int, seq: int) -> int:
    """The primary key of a run's event or snapshot row at `seq`.

    One integer orders every row of a run by seq and keeps the runs apart, so the table itself
    (SQLite keeps a table in the order of an integer primary key) is the only index those rows
    need: a write touches one B-tree per table instead of a table and a unique (run, seq) index,
    and reading a run's rows is a range of keys.
    """
    if not 0 < number <= _MAX_NUMBER:
        raise ValueError(f"run number {number} is out of range")
    if not 0 <= seq <= _MAX_SEQ:
        raise ValueError(f"seq {seq} is out of range (a run holds at most {_MAX_SEQ} events)")
    return (number << SEQ_BITS) | seq


class RunSeqKey(models.BigIntegerField):
    """The primary key of `Event` and `Snapshot`: `row_key(run.number, seq)`, filled in from
    the row's run and seq when it is inserted (also by `bulk_create`).

    SQLite makes a column the table's own key (its rowid) only when it is declared exactly
    `integer primary key`; any other type name would add a separate index.
    """

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "sqlite":
            return "integer"
        return super().db_type(connection)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None:
            number = model_instance.run.assign_number()
            value = row_key(number, model_instance.seq)
            setattr(model_instance, self.attname, value)
        return value


class Counter(models.Model):
    """Named counters that only go up (`run` numbers the runs)."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"

    @staticmethod
    def next_sql(vendor: str) -> str:
        """The statement that takes the next value of counter `%s` (one row back: the value)."""
        table = Counter._meta.db_table
        return f'UPDATE "{table}" SET "value" = "value" + 1 WHERE "name" = %s RETURNING "value"'

    @classmethod
    def take(cls, name: str, *, using: str) -> int:
        """The next value of counter `name` (created at 1)."""
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(cls.next_sql(connection.vendor), [name])
            row = cursor.fetchone()
            if row is not None:
                return int(row[0])
        cls.objects.using(using).get_or_create(name=name, defaults={"value": 0})
        return cls.take(name, using=using)


def path_of(key: str) -> list[str]:
    """A dotted step key as a path list (`"outer.inner"` -> `["outer", "inner"]`)."""
    return key.split(".") if key else []


class WorkflowGraph(models.Model):
    """A workflow definition's graph (`Workflow.graph()`), stored once per distinct content and
    shared by the runs of that definition.

    Graphs are large and never change during a run, while a run's row is written at every step
    boundary: SQLite rewrites a whole row on any update, so a graph inside it would be rewritten
    at every step (and copied into every run).
    """

    key = models.CharField(max_length=64, primary_key=True, help_text="sha256 of the JSON")
    workflow_id = models.CharField(max_length=200, blank=True, default="")
    graph = JSONText(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.workflow_id} graph {self.key[:12]}"

    @staticmethod
    def key_of(text: str) -> str:
        """The key of a graph from its JSON text."""
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def store(cls, graph: dict[str, Any], workflow_id: str, *, using: str | None) -> WorkflowGraph:
        """The stored row holding `graph`, created if no run used that graph before."""
        key = cls.key_of(snapshots.dumps(graph))
        stored, _ = cls.objects.using(using).get_or_create(
            key=key, defaults={"workflow_id": workflow_id, "graph": graph}
        )
        return stored


class Run(models.Model):
    """One run of a workflow: its latest state, lineage and a step count by status.

    `graph` reads (and, assigned before `save()`, writes) the run's `WorkflowGraph`.
    """

    run_id = models.CharField(max_length=64, primary_key=True)
    workflow_id = models.CharField(max_length=200)
    definition_hash = models.CharField(max_length=64, blank=True, default="")
    engine = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=16, choices=RUN_STATUSES, default="pending")
    input = JSONText(null=True, blank=True)
    result = JSONText(null=True, blank=True)
    error = JSONText(null=True, blank=True)
    traceback = models.TextField(null=True, blank=True)
    state = JSONText(default=dict, blank=True)
    context = JSONText(default=dict, blank=True)
    resource_id = models.CharField(max_length=200, null=True, blank=True)
    # Plain ids rather than a foreign key: an imported fork may arrive before (or without) its
    # parent, and deleting a parent must not rewrite its forks' history.
    parent_run_id = models.CharField(max_length=64, null=True, blank=True)
    fork_step = models.CharField(max_length=500, null=True, blank=True)
    seq = models.IntegerField(default=0, help_text="seq of the last stored event")
    # Numbers the run's event and snapshot rows (`row_key`); given at the run's first write.
    number = models.BigIntegerField(unique=True, null=True, blank=True, editable=False)
    step_counts = JSONText(default=dict, blank=True, help_text="steps by status")
    # The `ExecutorProcess` that took the run last; never written by the storage's saves.
    executed_by = models.CharField(max_length=32, null=True, blank=True)
    stored_graph = models.ForeignKey(
        WorkflowGraph, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    head = JSONText(default=dict, blank=True, help_text="the snapshot without steps")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-run_id"]
        indexes = [
            models.Index(fields=["-created_at", "-run_id"], name="run_newest"),
            models.Index(fields=["workflow_id", "-created_at"], name="run_workflow_newest"),
            models.Index(fields=["status", "-created_at"], name="run_status_newest"),
            models.Index(fields=["resource_id", "-created_at"], name="run_resource_newest"),
            models.Index(fields=["parent_run_id"], name="run_parent"),
            models.Index(fields=["finished_at", "run_id"], name="run_finished"),
            # Read backwards, these serve `ordering=-workflow_id` and `-status` (the column,
            # then newest first), which the indexes above cannot without sorting every run.
            models.Index(
                fields=["workflow_id", "created_at", "run_id"], name="run_workflow_oldest"
            ),
            models.Index(fields=["status", "created_at", "run_id"], name="run_status_oldest"),
        ]
        permissions = [
            ("operate_run", "Can start, resume, cancel, restart, time-travel and import runs"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.run_id} ({self.status})"

    @property
    def graph(self) -> dict[str, Any]:
        """The run's workflow graph (`Workflow.graph()`); `{}` when none was stored."""
        pending: dict[str, Any] | None = self.__dict__.get("_pending_graph")
        if pending is not None:
            return pending
        if self.stored_graph_id is None:
            return {}
        graph: dict[str, Any] = self.stored_graph.graph
        return graph

    @graph.setter
    def graph(self, value: dict[str, Any] | None) -> None:
        self.__dict__["_pending_graph"] = dict(value or {})

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save the row, storing an assigned `graph` first and numbering a new run."""
        using = kwargs.get("using") or self._state.db or router.db_for_write(Run, instance=self)
        pending = self.__dict__.pop("_pending_graph", None)
        if pending is not None:
            self.stored_graph = (
                WorkflowGraph.store(pending, self.workflow_id, using=using) if pending else None
            )
        if self.number is None:
            self.number = Counter.take("run", using=using)
        super().save(*args, **kwargs)

    def assign_number(self) -> int:
        """The run's number, taking (and storing) one if it has none yet."""
        if self.number is None:
            using = self._state.db or router.db_for_write(Run, instance=self)
            self.number = Counter.take("run", using=using)
            if self._state.adding is False:
                Run.objects.using(using).filter(pk=self.pk).update(number=self.number)
        return self.number

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Delete the run with its events, snapshots, step records and tasks."""
        using = kwargs.get("using") or self._state.db
        return Run.objects.using(using).filter(pk=self.pk).delete()

    @property
    def events(self) -> models.QuerySet[Event]:
        """The run's events (a range of keys; oldest first by `order_by("seq")`)."""
        return Event.objects.using(self._state.db).of_run(self.number)

    @property
    def snapshots(self) -> models.QuerySet[Snapshot]:
        """The run's snapshot rows (a range of keys)."""
        return Snapshot.objects.using(self._state.db).of_run(self.number)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (or to the last write while it runs)."""
        return _duration(self.started_at, self.finished_at, self.updated_at)

    def summary(self) -> dict[str, Any]:
        """The run as one row of the runs list: the API's list item and the live `runs` feed."""
        return Run.summary_of({name: getattr(self, name) for name in SUMMARY_FIELDS})

    @staticmethod
    def summary_of(values: dict[str, Any]) -> dict[str, Any]:
        """`summary()` from the values of `SUMMARY_FIELDS` (for a row not loaded as a model)."""
        started, finished, updated = (
            values["started_at"],
            values["finished_at"],
            values["updated_at"],
        )
        return {
            "run_id": values["run_id"],
            "workflow_id": values["workflow_id"],
            "status": values["status"],
            "engine": values["engine"],
            "resource_id": values["resource_id"],
            "parent_run_id": values["parent_run_id"],
            "fork_step": values["fork_step"],
            "seq": values["seq"],
            "step_counts": values["step_counts"],
            "created_at": iso(values["created_at"]),
            "updated_at": iso(updated),
            "started_at": iso(started),
            "finished_at": iso(finished),
            "duration": _duration(started, finished, updated),
        }

    def run_summary(self) -> RunSummary:
        """The engine's listing row for this run (exact timestamps, from `head`)."""
        head = self.head
        return RunSummary(
            run_id=self.run_id,
            workflow_id=self.workflow_id,
            status=self.status,
            resource_id=self.resource_id,
            parent_run_id=self.parent_run_id,
            fork_step=self.fork_step,
            created_at=float(head.get("created_at", 0.0)),
            updated_at=float(head.get("updated_at", 0.0)),
            started_at=head.get("started_at"),
            finished_at=head.get("finished_at"),
            definition_hash=self.definition_hash,
        )

    def node_at(self, path: Sequence[str]) -> dict[str, Any] | None:
        """The graph description of the step at `path` (descending into nested workflows):
        id, kind, schemas (`resume_schema`, ...) and, for a nested workflow, its `graph`."""
        return snapshots.node_at(self.graph, path)

    def to_snapshot(self) -> RunSnapshot:
        """The run as the engine saved it last: the head with the current record of each step.

        The head and the step rows are two reads; if a write lands between them (the run's seq
        or update time moved), they are read again, so the snapshot is never half old.
        """
        db = self._state.db
        for _ in range(5):
            rows = StepRecord.objects.using(db).filter(run_id=self.run_id)
            current = snapshots.pick_current(
                (path, seq, attempt, snapshots.join_record(status, columns, extra or {}))
                for path, seq, attempt, status, *columns, extra in rows.order_by(
                    "position", "seq", "attempt"
                ).values_list(*StepRecord.RECORD_FIELDS)
            )
            stamp = (
                Run.objects.using(db).filter(pk=self.pk).values_list("seq", "updated_at").first()
            )
            if stamp is None or stamp == (self.seq, self.updated_at):
                break
            self.refresh_from_db(using=db)
        return RunSnapshot.from_dict(snapshots.snapshot_dict(self.head, current, self.graph))

    def snapshot_at(self, seq: int) -> RunSnapshot | None:
        """The run as stored at `seq`: the greatest stored snapshot at or before it, or None
        when nothing was stored that early (see `workflows_app.history`)."""
        from workflows_app import history

        try:
            head, steps = history.fold_at(self.number, seq, self._state.db or "default")
        except LookupError:
            return None
        return RunSnapshot.from_dict(snapshots.snapshot_dict(head, steps, self.graph))

    def events_after(self, after_seq: int = 0, limit: int | None = None) -> list[EngineEvent]:
        """The run's events with seq > `after_seq`, in order, as engine `Event`s."""
        return Event.read(self.run_id, after_seq, limit, using=self._state.db)


class ExecutorProcess(models.Model):
    """A process that executes runs (a server, a command), and how to tell it is alive: its
    pid on its machine, and a heartbeat for other machines (`workflows_app.processes`)."""

    id = models.CharField(max_length=32, primary_key=True)
    host = models.CharField(max_length=255)
    machine = models.CharField(
        max_length=255, help_text="host, boot and pid namespace: where the pid means something"
    )
    pid = models.IntegerField()
    pid_started = models.BigIntegerField(
        null=True, blank=True, help_text="the process's start time on its machine (clock ticks)"
    )
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.host} pid {self.pid}"


class RunRowQuerySet(models.QuerySet[Any]):
    """Rows keyed by `row_key`: a run's rows are a range of primary keys."""

    def of_run(
        self, number: int | None, after_seq: int | None = None, upto_seq: int | None = None
    ) -> Any:
        """The rows of the run numbered `number` with `after_seq < seq <= upto_seq` (every
        row, seq 0 included, without bounds)."""
        if number is None:
            return self.none()
        high = row_key(number, _MAX_SEQ if upto_seq is None else max(min(upto_seq, _MAX_SEQ), 0))
        if after_seq is None or after_seq < 0:
            return self.filter(pk__gte=row_key(number, 0), pk__lte=high)
        return self.filter(pk__gt=row_key(number, min(after_seq, _MAX_SEQ)), pk__lte=high)

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        """`QuerySet.bulk_create`, keying each row first (Django only fills in keys it
        generates itself for a row without one)."""
        rows = list(objs)
        for row in rows:
            if row.pk is None:
                row.pk = row_key(row.run.assign_number(), row.seq)
        return super().bulk_create(rows, *args, **kwargs)

    def of_runs(self, numbers: Iterable[int]) -> Any:
        """The rows of every run numbered in `numbers`."""
        ranges = models.Q()
        for number in numbers:
            ranges |= models.Q(pk__gte=row_key(number, 0), pk__lte=row_key(number, _MAX_SEQ))
        return self.filter(ranges) if ranges else self.none()


class Event(models.Model):
    """One event of a run's append-only log. Never updated.

    Keyed by `row_key(run.number, seq)`, which also makes (run, seq) unique. `run` is a plain
    column (no index, no database constraint): rows are found by key range, and a run's rows
    are deleted with it by `RunQuerySet.delete`.
    """

    id = RunSeqKey(primary_key=True, editable=False)
    run = models.ForeignKey(
        Run,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    seq = models.IntegerField()
    type = models.CharField(max_length=32)
    path = models.CharField(max_length=500, blank=True, default="", help_text="dotted step path")
    ts = models.FloatField(help_text="seconds since the epoch")
    payload = JSONText(default=dict, blank=True)

    objects = RunRowQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.type} {self.path}"

    @staticmethod
    def read(
        run_id: str, after_seq: int = 0, limit: int | None = None, *, using: str | None = None
    ) -> list[EngineEvent]:
        """The events of `run_id` with seq > `after_seq` (at most `limit`), in order."""
        if limit is not None and limit <= 0:
            return []
        number = Run.objects.using(using).filter(pk=run_id).values_list("number", flat=True)
        found = number.first()
        qs = Event.objects.using(using).of_run(found, max(after_seq, 0))
        rows = qs.order_by("id").values_list("type", "seq", "ts", "path", "payload")
        if limit is not None:
            rows = rows[:limit]
        return [
            EngineEvent(kind, run_id, seq, ts, tuple(path_of(path)), payload or {})
            for kind, seq, ts, path, payload in rows
        ]

    def as_dict(self) -> dict[str, Any]:
        """The engine's JSON form of the event."""
        return {
            "type": self.type,
            "run_id": self.run_id,
            "seq": self.seq,
            "ts": self.ts,
            "path": path_of(self.path),
            "payload": self.payload,
        }


class Snapshot(models.Model):
    """The run as of one stored write (`seq`: the last event it includes).

    `data` holds what that write changed (see `workflows_app.snapshots`): the run's head and
    the step records it changed. A `full` row holds every record and the whole head, and a
    row of `level` L > 0 also holds every record changed since the previous row of level L or
    more, so the run at any seq is the last full row folded with a few dozen rows at most
    (`workflows_app.history`), while a step boundary still costs only what it changed.
    `base` is the seq of the last full row at or before this one.
    """

    id = RunSeqKey(primary_key=True, editable=False)
    run = models.ForeignKey(
        Run,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    seq = models.IntegerField()
    full = models.BooleanField(default=False)
    level = models.SmallIntegerField(default=0)
    base = models.IntegerField(default=0, help_text="seq of the last full row at or before")
    data = JSONText()

    objects = RunRowQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.run_id}@{self.seq}{' (full)' if self.full else ''}"


class StepRecord(models.Model):
    """One step (dotted path) and attempt of a run, as last recorded."""

    # No index of its own: the unique constraint's index starts with the run.
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="step_records", db_index=False
    )
    path = models.CharField(max_length=500)
    attempt = models.IntegerField(default=1)
    status = models.CharField(max_length=16)
    payload = JSONText(null=True, blank=True)
    output = JSONText(null=True, blank=True)
    error = JSONText(null=True, blank=True)
    error_type = models.CharField(max_length=200, blank=True, default="")
    traceback = models.TextField(null=True, blank=True)
    started_at = models.FloatField(null=True, blank=True)
    ended_at = models.FloatField(null=True, blank=True)
    # The rest of the engine's record (suspend/resume payloads, labels, loop and foreach detail).
    extra = JSONText(default=dict, blank=True)
    seq = models.IntegerField(help_text="seq of the write that last changed this row")
    # The step's place among the snapshot's records: their order matters to the engine.
    position = models.IntegerField(default=0)

    # What `record()` reads.
    RECORD_FIELDS = ("path", "seq", "attempt", "status", *snapshots.RECORD_COLUMNS, "extra")

    class Meta:
        ordering = ["run", "seq", "path"]
        constraints = [
            models.UniqueConstraint(fields=["run", "path", "attempt"], name="steprecord_attempt")
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.path} #{self.attempt} ({self.status})"

    @property
    def duration(self) -> float | None:
        """Seconds the attempt ran, once it ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        return max(self.ended_at - self.started_at, 0.0)

    def record(self) -> dict[str, Any]:
        """The engine's JSON form of the step record this row holds."""
        columns = [getattr(self, name) for name in snapshots.RECORD_COLUMNS]
        return snapshots.join_record(self.status, columns, self.extra or {})


class HumanTask(models.Model):
    """A suspended step awaiting a person; closed with who resumed it, when and with what."""

    OPEN = "open"
    RESUMED = "resumed"
    CANCELED = "canceled"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="human_tasks")
    path = models.CharField(max_length=500, help_text="dotted step path")
    label = models.CharField(max_length=200, null=True, blank=True)
    for_each_index = models.IntegerField(null=True, blank=True)
    suspend_payload = models.JSONField(null=True, blank=True)
    resume_schema = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=16,
        choices=[(s, s) for s in (OPEN, RESUMED, CANCELED)],
        default=OPEN,
    )
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resumed_tasks",
    )
    resume_data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="humantask_inbox")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.path} ({self.status})"


class RunAction(models.Model):
    """Who did what to a run, and when: the audit of every operate call.

    A run's creation is recorded on the run created (`start`, `time_travel` on the fork with the
    source in `detail`, `import`); `resume`, `cancel` and `restart` on the run they act on.
    `username` outlives the user row; it is empty when no one was signed in (a command, the
    demo seed without a user).
    """

    START = "start"
    RESUME = "resume"
    CANCEL = "cancel"
    RESTART = "restart"
    TIME_TRAVEL = "time_travel"
    IMPORT = "import"
    KINDS = (START, RESUME, CANCEL, RESTART, TIME_TRAVEL, IMPORT)
    CREATIONS = (START, TIME_TRAVEL, IMPORT)

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=16, choices=[(k, k) for k in KINDS])
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="run_actions",
    )
    username = models.CharField(max_length=150, blank=True, default="")
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "at", "id"]
        indexes = [models.Index(fields=["run", "at"], name="runaction_run_at")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.action} by {self.username or 'nobody'}"
