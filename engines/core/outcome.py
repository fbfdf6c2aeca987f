"""What running one part of a graph produced: a step's `Attempted`, a block's `Outcome`.

`finished_record` turns an attempt into the step's record; `combine` folds the outcomes of a
parallel or branch block. `Scope` says where a flow runs. All of it is the same for every
engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from engines.core.results import StepResult

if TYPE_CHECKING:
    from engines.core.workflow import Workflow

HANDED_OFF_STATUS = "handed_off"

# Worst first: a failure beats a cancel beats a bail; a step handed off to another executor
# keeps the run running, which beats a suspension or a pause elsewhere in the block.
_PRECEDENCE = ("failed", "canceled", "bailed", HANDED_OFF_STATUS, "suspended", "paused")


class Outcome(NamedTuple):
    """How a step, entry or flow ended: `status` is success, failed, suspended, canceled,
    paused, bailed, or handed_off (the run goes on elsewhere: commit and return)."""

    status: str
    output: Any = None
    error: BaseException | None = None


SUSPENDED = Outcome("suspended")
CANCELED = Outcome("canceled")
PAUSED = Outcome("paused")
HANDED_OFF = Outcome(HANDED_OFF_STATUS)


def combine(ids: Sequence[str], outcomes: Sequence[Outcome]) -> Outcome:
    """The outcome of a parallel or branch block: `{id: output}` when every child succeeded."""
    for status in _PRECEDENCE:
        for outcome in outcomes:
            if outcome.status == status:
                return outcome
    return Outcome("success", {i: o.output for i, o in zip(ids, outcomes, strict=True)})


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a flow runs: its workflow, the path prefix of its steps and its input."""

    flow: Workflow
    prefix: tuple[str, ...]
    init: Any
    # Inside a resumed foreach item of a nested workflow every suspended step is resumed.
    forced_resume: tuple[Any, ...] | None = None


@dataclass(slots=True)
class Attempted:
    """The end of a leaf step's attempts (or of a foreach or nested workflow as a step).

    `status` is success, failed, suspended, bailed, canceled, or handed_off (a step runner
    gave the step to another executor; its record stays running, `attempts` of them done),
    or paused (a foreach item of a nested workflow whose steps paused).
    """

    status: str
    output: Any = None
    error: BaseException | None = None
    traceback: str | None = None
    suspend_payload: Any = None
    labels: tuple[str, ...] = ()
    attempts: int = 0
    state_delta: dict[str, Any] | None = None


def finished_record(running: StepResult, done: Attempted, now: float) -> StepResult:
    """The record of a step (or foreach item) that ended as `done` says; a bail is recorded
    as a success whose output is the bail value."""
    status = done.status
    if status in ("success", "bailed"):
        if (
            running.resumed_at is None
            and running.suspend_payload is None
            and running.resume_payload is None
        ):
            # The common case, built directly: this runs once per step.
            return StepResult(
                "success", running.payload, done.output, started_at=running.started_at,
                ended_at=now, attempts=done.attempts, state_delta=done.state_delta,
                iteration=running.iteration, items=running.items,
            )  # fmt: skip
        return running.evolve(
            status="success", output=done.output, ended_at=now, attempts=done.attempts,
            state_delta=done.state_delta,
        )  # fmt: skip
    if status == "suspended":
        return running.evolve(
            status="suspended", suspend_payload=done.suspend_payload, suspended_at=now,
            labels=done.labels, attempts=done.attempts, state_delta=done.state_delta,
        )  # fmt: skip
    if status == "failed":
        return running.evolve(
            status="failed", error=done.error, traceback=done.traceback, ended_at=now,
            attempts=done.attempts,
        )  # fmt: skip
    if status == HANDED_OFF_STATUS:
        return running.evolve(attempts=done.attempts)
    if status == "paused":
        return running.evolve(status="paused")  # a foreach item whose steps paused
    return running.evolve(status="canceled", ended_at=now, attempts=done.attempts)
