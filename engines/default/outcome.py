"""What running one part of a graph produced, and how siblings' outcomes combine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from engines.core.workflow import Workflow

# Worst first: a failure beats a cancel beats a bail beats a suspension beats a pause.
_PRECEDENCE = ("failed", "canceled", "bailed", "suspended", "paused")


class Outcome(NamedTuple):
    """`status` is success, failed, suspended, canceled, paused or bailed."""

    status: str
    output: Any = None
    error: BaseException | None = None


SUSPENDED = Outcome("suspended")
CANCELED = Outcome("canceled")
PAUSED = Outcome("paused")


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


def start_payload(input_data: Any, iteration: int | None) -> dict[str, Any]:
    """The payload of a `step.started` event."""
    if iteration is None:
        return {"input": input_data}
    return {"input": input_data, "iteration": iteration}
