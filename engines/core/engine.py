"""The `Engine` protocol every engine implements, and what the core hands it."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from engines.core.listeners import Listener

if TYPE_CHECKING:
    from engines.core.payloads import ForkOrigin
    from engines.core.results import RunResult
    from engines.core.snapshot import RunSnapshot
    from engines.core.workflow import Workflow
    from engines.storage.base import Storage

__all__ = ["Engine", "Execution", "ExecutionMode", "Listener", "ResumeTarget"]


class ExecutionMode(enum.StrEnum):
    """Why an execution of a run begins (recorded as `run.started`'s `mode`)."""

    START = "start"
    RESUME = "resume"
    """A suspended step is resumed with data."""
    CONTINUE = "continue"
    """A paused run goes on, or an engine re-walks a run after a step it handed off ended."""
    RESTART = "restart"
    """A run interrupted by a stopped process runs again from its records."""
    TIME_TRAVEL = "time_travel"


@dataclass(frozen=True, slots=True)
class ResumeTarget:
    """Which suspended step to resume, with what (validated, JSON) data."""

    path: tuple[str, ...]
    data: Any
    for_each_index: int | None = None
    # Time travel answering a step that was suspended after the fork point: the step at `path`
    # has no record; the first time the walk reaches it, it runs with `data` as resume data.
    downstream: bool = False


@dataclass(frozen=True, slots=True)
class Execution:
    """One execution segment: the prepared snapshot and how to continue it.

    The core prepares every mode as a snapshot whose step records say what is already done;
    an engine walks the graph over them (`engines.core.interpreter`). A time travel's
    `fork_origin` (its source, the steps it reuses) goes into `run.started`.
    """

    snapshot: RunSnapshot
    mode: ExecutionMode
    resume: ResumeTarget | None = None
    per_step: bool = False
    fork_origin: ForkOrigin | None = None


@runtime_checkable
class Engine(Protocol):
    """Runs prepared executions of workflows and reports their events."""

    name: str
    storage: Storage
    clock: Callable[[], float]
    """The engine's clock (seconds since the epoch): every recorded time comes from it."""

    async def execute(self, workflow: Workflow, execution: Execution) -> RunResult:
        """Run `execution` to its next stop (success, failure, suspension, cancel, pause), or
        until it is handed off (the result's status is then `running`)."""
        ...

    async def cancel(self, workflow: Workflow, run_id: str) -> bool:
        """Ask a run to stop; True when it was running or suspended and is now canceling."""
        ...

    def is_active(self, run_id: str) -> bool:
        """True while this engine, in this process, executes the run.

        A guard for this process only: it cannot see executions elsewhere. Across processes the
        storage's seq compare-and-set is the guard (the second writer is refused).
        """
        ...

    def subscribe(self, run_id: str, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` for each new event of the run; returns an unsubscribe."""
        ...

    async def aclose(self) -> None:
        """Release what the engine holds (connections, workers)."""
        ...
