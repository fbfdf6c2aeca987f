"""What every run leaves behind: the run row, its event log, snapshots, step records and the
human tasks it opened.

The exact engine form of a run lives in `Run.head` (every snapshot field but the steps and the
graph) and `StepRecord` rows; the other columns are denormalized copies for lists, filters and
cross-run queries. `workflows_app.storage.DjangoStorage` is the only writer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import models

RUN_STATUSES = [
    (s, s)
    for s in ("pending", "running", "waiting", "suspended", "success", "failed", "canceled", "paused")
]


def to_datetime(ts: float | None) -> datetime | None:
    """An engine timestamp (seconds since the epoch) as an aware datetime."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def path_of(key: str) -> list[str]:
    """A dotted step key as a path list (`"outer.inner"` -> `["outer", "inner"]`)."""
    return key.split(".") if key else []


class Run(models.Model):
    """One run of a workflow: its latest state, lineage and a step count by status."""

    run_id = models.CharField(max_length=64, primary_key=True)
    workflow_id = models.CharField(max_length=200)
    definition_hash = models.CharField(max_length=64, blank=True, default="")
    engine = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=16, choices=RUN_STATUSES, default="pending")
    input = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    traceback = models.TextField(null=True, blank=True)
    state = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    resource_id = models.CharField(max_length=200, null=True, blank=True)
    # Plain ids rather than a foreign key: an imported fork may arrive before (or without) its
    # parent, and deleting a parent must not rewrite its forks' history.
    parent_run_id = models.CharField(max_length=64, null=True, blank=True)
    fork_step = models.CharField(max_length=500, null=True, blank=True)
    seq = models.IntegerField(default=0, help_text="seq of the last stored event")
    step_counts = models.JSONField(default=dict, blank=True, help_text="steps by status")
    graph = models.JSONField(default=dict, blank=True)
    head = models.JSONField(default=dict, blank=True, help_text="the snapshot without steps")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-run_id"]
        indexes = [
            models.Index(fields=["-created_at", "-run_id"], name="run_newest"),
            models.Index(fields=["workflow_id", "-created_at"], name="run_workflow_newest"),
            models.Index(fields=["status", "-created_at"], name="run_status_newest"),
            models.Index(fields=["resource_id", "-created_at"], name="run_resource_newest"),
            models.Index(fields=["parent_run_id"], name="run_parent"),
        ]
        permissions = [
            ("operate_run", "Can start, resume, cancel, restart, time-travel and import runs"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.run_id} ({self.status})"

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (or to the last write while it runs)."""
        if self.started_at is None:
            return None
        end = self.finished_at or self.updated_at
        return max((end - self.started_at).total_seconds(), 0.0)

    def summary(self) -> dict[str, Any]:
        """The run as one row of the runs list: the API's list item and the live `runs` feed."""
        return {
            "run_id": self.run_id,
            "workflow_id": self.workflow_id,
            "status": self.status,
            "engine": self.engine,
            "resource_id": self.resource_id,
            "parent_run_id": self.parent_run_id,
            "fork_step": self.fork_step,
            "seq": self.seq,
            "step_counts": self.step_counts,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration": self.duration,
        }

    def node_at(self, path: list[str]) -> dict[str, Any] | None:
        """The graph node of the step at `path` (descending into nested workflows)."""
        graph: dict[str, Any] | None = self.graph
        node: dict[str, Any] | None = None
        for segment in path:
            if graph is None:
                return None
            node = next((n for n in graph.get("nodes", []) if n.get("id") == segment), None)
            if node is None:
                return None
            graph = node.get("graph")
        return node


class Event(models.Model):
    """One event of a run's append-only log. Never updated."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    seq = models.IntegerField()
    type = models.CharField(max_length=32)
    path = models.CharField(max_length=500, blank=True, default="", help_text="dotted step path")
    ts = models.FloatField(help_text="seconds since the epoch")
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="event_run_seq")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.type} {self.path}"

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

    A `full` snapshot holds every step record; the others hold only the records that write
    changed (`data["steps"]`) and the keys it removed, so a long run costs O(changes), not
    O(steps x writes). The run at any moment is the last full snapshot at or before it with the
    later deltas applied (`DjangoStorage.snapshot_at`).
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="snapshots")
    seq = models.IntegerField()
    full = models.BooleanField(default=False)
    data = models.JSONField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="snapshot_run_seq")]

    def __str__(self) -> str:
        return f"{self.run_id}@{self.seq}{' (full)' if self.full else ''}"


class StepRecord(models.Model):
    """One step (dotted path) and attempt of a run, as last recorded."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="step_records")
    path = models.CharField(max_length=500)
    attempt = models.IntegerField(default=1)
    status = models.CharField(max_length=16)
    payload = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    error_type = models.CharField(max_length=200, blank=True, default="")
    traceback = models.TextField(null=True, blank=True)
    started_at = models.FloatField(null=True, blank=True)
    ended_at = models.FloatField(null=True, blank=True)
    # The rest of the engine's record (suspend/resume payloads, labels, loop and foreach detail).
    extra = models.JSONField(default=dict, blank=True)
    seq = models.IntegerField(help_text="seq of the write that last changed this row")

    class Meta:
        ordering = ["run", "seq", "path"]
        constraints = [
            models.UniqueConstraint(fields=["run", "path", "attempt"], name="steprecord_attempt")
        ]
        indexes = [models.Index(fields=["status", "path"], name="steprecord_status_path")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.path} #{self.attempt} ({self.status})"

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(self.ended_at - self.started_at, 0.0)


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
