"""The replay rule: what a step's record makes the walk do when it reaches the step.

Every execution (start, resume, restart, time travel, and each re-walk of an evented or durable
engine) walks the graph from the top over the run's records. This one pure function decides,
for a step, a foreach, a sleep or a nested workflow, what its record means; the interpreter, its
foreach, nested and sleep helpers and the time-travel plan preview all ask it.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from engines.core.results import StepResult


class Replay(enum.Enum):
    """What the walk does with a step, given its record."""

    RUN = "run"
    """No record: run it with the input the flow hands it."""
    REUSE = "reuse"
    """Succeeded (or a branch arm not taken): nothing runs, its recorded output flows on."""
    FAIL = "fail"
    """Failed: the walk fails here again with the recorded error."""
    CANCEL = "cancel"
    """Canceled: the walk ends canceled here."""
    STAY_SUSPENDED = "stay_suspended"
    """Suspended and not what this execution resumes: it stays suspended."""
    RESUME = "resume"
    """Suspended and resumed now: it runs again from its recorded input, with the resume data
    of this execution."""
    RERUN = "rerun"
    """Running, waiting or paused (the execution that ran it stopped: a crash, a hand-off, a
    pause): it runs again from its recorded input (a sleep goes on waiting until its recorded
    wake time)."""
    RESUME_AGAIN = "resume_again"
    """Like RERUN, for a step that was resumed when it stopped: it runs again with the resume
    data its record holds."""

    @property
    def runs(self) -> bool:
        """True when the step executes (again); every one of these but RUN starts from the
        step's recorded input."""
        return self in _RUNS


_RUNS = frozenset({Replay.RUN, Replay.RESUME, Replay.RERUN, Replay.RESUME_AGAIN})

# Which suspended steps this execution resumes: those on one path (and the steps enclosing
# it), every one ("all", inside a resumed foreach item of a nested workflow), or none.
Targets = tuple[str, ...] | Literal["all"] | None


def targeted(targets: Targets, path: tuple[str, ...]) -> bool:
    """True when `path` is, or encloses, a step this execution resumes."""
    if targets is None:
        return False
    if targets == "all":
        return True
    return targets[: len(path)] == path


def replay(record: StepResult | None, targets: Targets, path: tuple[str, ...]) -> Replay:
    """What the walk does with the step at `path` whose record is `record`."""
    if record is None:
        return Replay.RUN
    status = record.status
    if status == "success" or status == "skipped":
        return Replay.REUSE
    if status == "failed":
        return Replay.FAIL
    if status == "canceled":
        return Replay.CANCEL
    if status == "suspended":
        return Replay.RESUME if targeted(targets, path) else Replay.STAY_SUSPENDED
    if record.resumed_at is not None:
        return Replay.RESUME_AGAIN
    return Replay.RERUN
