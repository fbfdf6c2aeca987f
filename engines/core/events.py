"""The typed events every engine emits, numbered by a gap-free per-run `seq`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NamedTuple

RUN_STARTED: Final = "run.started"
RUN_SUSPENDED: Final = "run.suspended"
RUN_SUCCEEDED: Final = "run.succeeded"
RUN_FAILED: Final = "run.failed"
RUN_CANCELED: Final = "run.canceled"
RUN_PAUSED: Final = "run.paused"
STEP_STARTED: Final = "step.started"
STEP_SUCCEEDED: Final = "step.succeeded"
STEP_FAILED: Final = "step.failed"
STEP_RETRYING: Final = "step.retrying"
STEP_SUSPENDED: Final = "step.suspended"
STEP_RESUMED: Final = "step.resumed"
STEP_WAITING: Final = "step.waiting"
STEP_PROGRESS: Final = "step.progress"
STEP_CANCELED: Final = "step.canceled"

EVENT_TYPES: Final = frozenset(
    {
        RUN_STARTED,
        RUN_SUSPENDED,
        RUN_SUCCEEDED,
        RUN_FAILED,
        RUN_CANCELED,
        RUN_PAUSED,
        STEP_STARTED,
        STEP_SUCCEEDED,
        STEP_FAILED,
        STEP_RETRYING,
        STEP_SUSPENDED,
        STEP_RESUMED,
        STEP_WAITING,
        STEP_PROGRESS,
        STEP_CANCELED,
    }
)
TERMINAL_EVENT_TYPES: Final = frozenset(
    {RUN_SUSPENDED, RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELED, RUN_PAUSED}
)
RUN_STATUS_EVENTS: Final = {
    "success": RUN_SUCCEEDED,
    "failed": RUN_FAILED,
    "suspended": RUN_SUSPENDED,
    "canceled": RUN_CANCELED,
    "paused": RUN_PAUSED,
}


class Event(NamedTuple):
    """One thing that happened in a run (immutable). `path` is empty for run events.

    A named tuple rather than a dataclass: events are built on every step boundary, and a
    tuple is the cheapest immutable record Python has.
    """

    type: str
    run_id: str
    seq: int
    ts: float
    path: tuple[str, ...]
    payload: Mapping[str, Any]  # built by `engines.core.payloads`, one builder per type

    @property
    def is_terminal(self) -> bool:
        """True for the event that ends an execution (success, failure, suspension, ...)."""
        return self.type in TERMINAL_EVENT_TYPES

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "run_id": self.run_id,
            "seq": self.seq,
            "ts": self.ts,
            "path": list(self.path),
            "payload": self.payload,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(
            type=data["type"],
            run_id=data["run_id"],
            seq=int(data["seq"]),
            ts=float(data["ts"]),
            path=tuple(data.get("path") or ()),
            payload=dict(data.get("payload") or {}),
        )
