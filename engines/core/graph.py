"""The entries of a workflow's flow: one per builder call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from engines.core.step import Step
    from engines.core.workflow import Workflow

StepLike = Union["Step", "Workflow"]
Condition = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class StepEntry:
    """`.then(step)` or `.map(...)`: one step."""

    step: StepLike


@dataclass(frozen=True, slots=True)
class ParallelEntry:
    """`.parallel([...])`: every step runs at once on the same input."""

    steps: tuple[StepLike, ...]


@dataclass(frozen=True, slots=True)
class BranchEntry:
    """`.branch([(cond, step), ...])`: every arm whose condition holds runs."""

    arms: tuple[tuple[Condition, StepLike], ...]

    @property
    def steps(self) -> tuple[StepLike, ...]:
        return tuple(s for _, s in self.arms)


@dataclass(frozen=True, slots=True)
class LoopEntry:
    """`.dowhile` / `.dountil`: the step runs, then the condition decides another iteration."""

    step: StepLike
    condition: Condition
    until: bool


@dataclass(frozen=True, slots=True)
class ForeachEntry:
    """`.foreach(step, concurrency)`: the step runs once per item of the input list."""

    step: StepLike
    concurrency: int | Callable[..., Any]


@dataclass(frozen=True, slots=True)
class SleepEntry:
    """`.sleep(seconds)` or `.sleep_until(moment)`: waits, passing its input through."""

    id: str
    seconds: float | Callable[..., Any] | None = None
    until: datetime | float | Callable[..., Any] | None = None


Entry = StepEntry | ParallelEntry | BranchEntry | LoopEntry | ForeachEntry | SleepEntry


def entry_steps(entry: Entry) -> tuple[StepLike, ...]:
    """The steps an entry holds (none for a sleep)."""
    if isinstance(entry, (StepEntry, LoopEntry, ForeachEntry)):
        return (entry.step,)
    if isinstance(entry, (ParallelEntry, BranchEntry)):
        return entry.steps
    return ()


def entry_ids(entry: Entry) -> tuple[str, ...]:
    """The ids under which an entry records results."""
    if isinstance(entry, SleepEntry):
        return (entry.id,)
    return tuple(s.id for s in entry_steps(entry))


def callable_name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def describe_entry(entry: Entry) -> dict[str, Any]:
    """JSON form of one entry for `Workflow.graph()`."""
    if isinstance(entry, StepEntry):
        return {"kind": "step", "step": entry.step.describe()}
    if isinstance(entry, ParallelEntry):
        return {"kind": "parallel", "steps": [s.describe() for s in entry.steps]}
    if isinstance(entry, BranchEntry):
        return {
            "kind": "branch",
            "arms": [{"condition": callable_name(c), "step": s.describe()} for c, s in entry.arms],
        }
    if isinstance(entry, LoopEntry):
        return {
            "kind": "loop",
            "loop_type": "dountil" if entry.until else "dowhile",
            "condition": callable_name(entry.condition),
            "step": entry.step.describe(),
        }
    if isinstance(entry, ForeachEntry):
        conc = entry.concurrency
        return {
            "kind": "foreach",
            "concurrency": conc if isinstance(conc, int) else callable_name(conc),
            "step": entry.step.describe(),
        }
    if entry.until is not None:
        until = entry.until
        shown = (
            until.isoformat()
            if isinstance(until, datetime)
            else (until if isinstance(until, (int, float)) else callable_name(until))
        )
        return {"kind": "sleep_until", "id": entry.id, "until": shown}
    secs = entry.seconds
    return {
        "kind": "sleep",
        "id": entry.id,
        "seconds": secs if isinstance(secs, (int, float)) else callable_name(secs),
    }
