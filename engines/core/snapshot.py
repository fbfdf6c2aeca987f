"""`RunSnapshot`: everything needed to resume, restart or time-travel a run, as versioned JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines.core.error_codec import error_from_dict, error_to_dict
from engines.core.results import RunResult, RunStatus, StepResult
from engines.core.schema import copy_json

SNAPSHOT_VERSION = 1


def path_key(path: tuple[str, ...] | list[str]) -> str:
    """The key of a step path in `RunSnapshot.steps`: its segments joined by dots."""
    return ".".join(path)


def key_path(key: str) -> tuple[str, ...]:
    return tuple(key.split("."))


@dataclass(slots=True)
class RunSnapshot:
    """The state of one run. `steps` is keyed by dotted path (`outer.inner`), top level first."""

    run_id: str
    workflow_id: str
    status: RunStatus = "pending"
    input: Any = None
    initial_state: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepResult] = field(default_factory=dict)
    result: Any = None
    error: BaseException | None = None
    traceback: str | None = None
    suspended: list[list[str]] = field(default_factory=list)
    resume_labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    graph: dict[str, Any] = field(default_factory=dict)
    definition_hash: str = ""
    resource_id: str | None = None
    parent_run_id: str | None = None
    fork_step: str | None = None
    seq: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    # The debugger's settings of the run's current (or last) execution, and where its walk
    # stopped at a breakpoint or a per-step pause (exact keys' segments, `item[2]` included).
    breakpoints: list[str] = field(default_factory=list)
    per_step: bool = False
    paused_at: list[list[str]] = field(default_factory=list)
    version: int = SNAPSHOT_VERSION

    def __post_init__(self) -> None:
        if type(self.steps) is not StepRecords:
            self.steps = StepRecords(self.steps)

    def copy(self, with_steps: bool = True) -> RunSnapshot:
        """A copy that later changes to this snapshot do not reach: JSON values are copied,
        step records shared (records are immutable). `with_steps=False` leaves them out."""
        return RunSnapshot(
            run_id=self.run_id,
            workflow_id=self.workflow_id,
            status=self.status,
            input=copy_json(self.input),
            initial_state=copy_json(self.initial_state),
            state=copy_json(self.state),
            context=copy_json(self.context),
            steps=StepRecords(self.steps) if with_steps else StepRecords(),
            result=copy_json(self.result),
            error=self.error,
            traceback=self.traceback,
            suspended=[list(p) for p in self.suspended],
            resume_labels={k: dict(v) for k, v in self.resume_labels.items()},
            graph=self.graph,
            definition_hash=self.definition_hash,
            resource_id=self.resource_id,
            parent_run_id=self.parent_run_id,
            fork_step=self.fork_step,
            seq=self.seq,
            created_at=self.created_at,
            updated_at=self.updated_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            breakpoints=list(self.breakpoints),
            per_step=self.per_step,
            paused_at=[list(p) for p in self.paused_at],
            version=self.version,
        )

    @property
    def records(self) -> StepRecords:
        """`steps`, typed as the change-tracking mapping it always is."""
        steps = self.steps
        assert isinstance(steps, StepRecords)
        return steps

    @property
    def has_history(self) -> bool:
        """True once any step has been recorded."""
        return bool(self.steps)

    @property
    def active_paths(self) -> list[list[str]]:
        """Paths of the steps recorded as running or waiting."""
        return [
            list(key_path(k)) for k, r in self.steps.items() if r.status in ("running", "waiting")
        ]

    def to_result(self) -> RunResult:
        """The `RunResult` this snapshot describes (top-level steps only)."""
        return RunResult(
            run_id=self.run_id,
            workflow_id=self.workflow_id,
            status=self.status,
            result=self.result if self.status == "success" else None,
            error=self.error,
            steps={k: r for k, r in self.steps.items() if "." not in k},
            suspended=[list(p) for p in self.suspended],
            state=dict(self.state),
            input=self.input,
            parent_run_id=self.parent_run_id,
            fork_step=self.fork_step,
            resource_id=self.resource_id,
            context=dict(self.context),
            resume_labels={k: dict(v) for k, v in self.resume_labels.items()},
            paused_at=[list(p) for p in self.paused_at],
        )

    def view(self, fields: list[str] | None = None, nested: bool = True) -> dict[str, Any]:
        """A JSON-ready description of the run, restricted to `fields` when given.

        With `nested=False` the steps of nested workflows (dotted keys) are left out.
        """
        data = self.to_dict()
        if not nested:
            data["steps"] = {k: v for k, v in data["steps"].items() if "." not in k}
        if fields is not None:
            keep = set(fields) | {"run_id", "workflow_id"}
            data = {k: v for k, v in data.items() if k in keep}
        return data

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON form stored by every storage."""
        return {
            "version": self.version,
            "run_id": self.run_id,
            "workflow_id": self.workflow_id,
            "status": self.status,
            "input": self.input,
            "initial_state": self.initial_state,
            "state": self.state,
            "context": self.context,
            "steps": {k: r.to_dict() for k, r in self.steps.items()},
            "result": self.result,
            "error": error_to_dict(self.error) if self.error is not None else None,
            "traceback": self.traceback,
            "suspended": self.suspended,
            "resume_labels": self.resume_labels,
            "graph": self.graph,
            "definition_hash": self.definition_hash,
            "resource_id": self.resource_id,
            "parent_run_id": self.parent_run_id,
            "fork_step": self.fork_step,
            "seq": self.seq,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "breakpoints": self.breakpoints,
            "per_step": self.per_step,
            "paused_at": self.paused_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSnapshot:
        version = int(data.get("version", SNAPSHOT_VERSION))
        if version > SNAPSHOT_VERSION:
            raise ValueError(
                f"snapshot version {version} is newer than this library ({SNAPSHOT_VERSION})"
            )
        error = data.get("error")
        return cls(
            run_id=data["run_id"],
            workflow_id=data["workflow_id"],
            status=data.get("status", "pending"),
            input=data.get("input"),
            initial_state=dict(data.get("initial_state") or {}),
            state=dict(data.get("state") or {}),
            context=dict(data.get("context") or {}),
            steps={k: StepResult.from_dict(v) for k, v in (data.get("steps") or {}).items()},
            result=data.get("result"),
            error=error_from_dict(error) if isinstance(error, dict) else None,
            traceback=data.get("traceback"),
            suspended=[list(p) for p in data.get("suspended") or []],
            resume_labels={k: dict(v) for k, v in (data.get("resume_labels") or {}).items()},
            graph=data.get("graph") or {},
            definition_hash=data.get("definition_hash", ""),
            resource_id=data.get("resource_id"),
            parent_run_id=data.get("parent_run_id"),
            fork_step=data.get("fork_step"),
            seq=int(data.get("seq", 0)),
            created_at=float(data.get("created_at", 0.0)),
            updated_at=float(data.get("updated_at", 0.0)),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            breakpoints=[str(b) for b in data.get("breakpoints") or []],
            per_step=bool(data.get("per_step", False)),
            paused_at=[list(p) for p in data.get("paused_at") or []],
            version=version,
        )


def _plain_segment(segment: str) -> str:
    # A foreach item of a nested workflow records its inner steps under "step[3]".
    return segment.split("[", 1)[0]


def suspended_paths(steps: dict[str, StepResult]) -> list[list[str]]:
    """Paths of the innermost suspended steps, in the order their top-level step started."""
    suspended = [k for k, r in steps.items() if r.status == "suspended"]
    order = {k: i for i, k in enumerate(steps)}
    leaves = [k for k in suspended if not any(o.startswith(k + ".") for o in suspended)]
    leaves.sort(key=lambda k: order.get(k.split(".", 1)[0], order[k]))
    out: list[list[str]] = []
    for key in leaves:
        path = [_plain_segment(s) for s in key.split(".")]
        if path not in out:
            out.append(path)
    return out


def resume_labels(steps: dict[str, StepResult]) -> dict[str, dict[str, Any]]:
    """Each resume label of a suspended step (or foreach item) mapped to its path and index."""
    labels: dict[str, dict[str, Any]] = {}
    for key, rec in steps.items():
        if rec.status != "suspended":
            continue
        path = [_plain_segment(s) for s in key.split(".")]
        for label in rec.labels:
            labels[label] = {"path": path, "for_each_index": None}
        for index, item in enumerate(rec.items or ()):
            if item is not None and item.status == "suspended":
                for label in item.labels:
                    labels[label] = {"path": path, "for_each_index": index}
    return labels


class StepRecords(dict[str, StepResult]):
    """A snapshot's step records, tracking which keys changed since they were last in step
    with storage, so that a storage can write only those.

    `synced_version` names the stored state these records last equalled: the storage gives
    every write of a run a new version, and marks the records of a snapshot it saves or loads
    with it. `changed` and `removed` are the keys set and deleted since; `changed is None`
    means unknown (never synced, or changed in bulk): the next save writes every record. A
    storage writes a delta only when the run's stored version is still `synced_version`.
    """

    __slots__ = ("changed", "removed", "synced_version")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed: dict[str, None] | None = None
        self.removed: set[str] = set()
        self.synced_version: int | None = None

    def __setitem__(self, key: str, value: StepResult) -> None:
        super().__setitem__(key, value)
        changed = self.changed
        if changed is not None:
            changed[key] = None

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        if self.changed is not None:
            self.changed.pop(key, None)
            self.removed.add(key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            value = super().pop(key)
            if self.changed is not None:
                self.changed.pop(key, None)
                self.removed.add(key)
            return value
        return super().pop(key, *default)

    def _unknown(self) -> None:
        self.changed = None  # a bulk change: the next save writes everything

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._unknown()

    def clear(self) -> None:
        super().clear()
        self._unknown()

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._unknown()
        return super().setdefault(key, default)

    def popitem(self) -> tuple[str, StepResult]:
        self._unknown()
        return super().popitem()

    def __ior__(self, other: Any) -> StepRecords:  # type: ignore[override,misc]
        self.update(other)
        return self

    def mark_synced(self, version: int) -> None:
        """Storage holds exactly these records as its `version` of the run: track changes
        from here."""
        self.changed = {}
        self.removed = set()
        self.synced_version = version

    def mark_unknown(self) -> None:
        """A save that marked these records failed: the next save writes everything."""
        self.changed = None

    def delta_from(self, version: int | None) -> bool:
        """True when the changes tracked here are relative to the stored `version` of the
        run (so writing just them brings storage up to date)."""
        return self.changed is not None and version is not None and self.synced_version == version
