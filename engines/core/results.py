"""What a run reports: `StepResult` per step and `RunResult` for the whole run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from engines.core.error_codec import error_from_dict, error_to_dict

RunStatus = Literal[
    "pending", "running", "waiting", "suspended", "success", "failed", "canceled", "paused"
]
StepStatus = Literal[
    "success", "failed", "suspended", "running", "waiting", "paused", "canceled", "skipped"
]
TERMINAL_RUN_STATUSES = frozenset({"success", "failed", "canceled"})
ACTIVE_RUN_STATUSES = frozenset({"pending", "running", "waiting"})


@dataclass(slots=True)
class StepResult:
    """The record of one step (or foreach item) in a run. `payload` is the step's input.

    Treat records as immutable: engines replace a record with `evolve()`, never change one in
    place, so snapshots and storages can share them. (Not `frozen=True` only because frozen
    construction costs several times more on the hot path of every step.)
    """

    status: StepStatus
    payload: Any = None
    output: Any = None
    error: BaseException | None = None
    traceback: str | None = None
    suspend_payload: Any = None
    resume_payload: Any = None
    started_at: float | None = None
    ended_at: float | None = None
    suspended_at: float | None = None
    resumed_at: float | None = None
    attempts: int = 0
    labels: tuple[str, ...] = ()
    state_delta: dict[str, Any] | None = None
    iteration: int | None = None
    loop_done: bool = False
    items: tuple[StepResult | None, ...] | None = None
    wake_at: float | None = None

    def evolve(self, **changes: Any) -> StepResult:
        """A copy with `changes` applied (the way to "change" a record)."""
        new = StepResult(
            self.status, self.payload, self.output, self.error, self.traceback,
            self.suspend_payload, self.resume_payload, self.started_at, self.ended_at,
            self.suspended_at, self.resumed_at, self.attempts, self.labels, self.state_delta,
            self.iteration, self.loop_done, self.items, self.wake_at,
        )  # fmt: skip
        for name, value in changes.items():
            setattr(new, name, value)
        return new

    def to_dict(self) -> dict[str, Any]:
        """JSON form; the error is serialized and the traceback kept in its own field."""
        out: dict[str, Any] = {"status": self.status}
        for f in _OPTIONAL_FIELDS:
            value = getattr(self, f)
            if value is None or value == () or (f in _FLAGS and not value):
                continue
            if f == "error":
                value = error_to_dict(value)
            elif f == "items":
                value = [None if i is None else i.to_dict() for i in value]
            elif f == "labels":
                value = list(value)
            out[f] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        kwargs = dict(data)
        if isinstance(kwargs.get("error"), dict):
            kwargs["error"] = error_from_dict(kwargs["error"])
        if kwargs.get("items") is not None:
            kwargs["items"] = tuple(
                None if i is None else cls.from_dict(i) for i in kwargs["items"]
            )
        if "labels" in kwargs:
            kwargs["labels"] = tuple(kwargs["labels"])
        return cls(**{k: v for k, v in kwargs.items() if k in _ALL_FIELDS})


_ALL_FIELDS = frozenset(f.name for f in fields(StepResult))
# Left out of the JSON form when false or zero; every other field keeps a falsy value (an
# output or resume data of False, 0 or "" is data).
_FLAGS = frozenset({"attempts", "loop_done"})
_OPTIONAL_FIELDS = tuple(f.name for f in fields(StepResult) if f.name != "status")

_log = logging.getLogger("engines.workflow")


@dataclass(slots=True)
class RunResult:
    """The outcome of one `start`, `resume`, `restart` or `time_travel` call."""

    run_id: str
    workflow_id: str
    status: RunStatus
    result: Any = None
    error: BaseException | None = None
    steps: dict[str, StepResult] = field(default_factory=dict)
    suspended: list[list[str]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    input: Any = None
    parent_run_id: str | None = None
    fork_step: str | None = None
    resource_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    resume_labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    paused_at: list[list[str]] = field(default_factory=list)
    """Where a `paused` run stopped: the paths of the steps it paused before."""

    def get_init_data(self) -> Any:
        """The workflow input of the run (as lifecycle callbacks expect)."""
        return self.input

    @property
    def logger(self) -> logging.Logger:
        """A logger for lifecycle callbacks."""
        return _log.getChild(self.workflow_id)
