"""The `Engine` protocol every engine implements, and what the core hands it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engines.core.events import Event
    from engines.core.results import RunResult
    from engines.core.snapshot import RunSnapshot
    from engines.core.workflow import Workflow
    from engines.storage.base import Storage

Listener = Callable[["Event"], Any]


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

    The core prepares every mode (start, resume, restart, time travel) as a snapshot whose step
    records say what is already done; an engine runs the graph, skipping what succeeded.
    `expected_seq` is the stored seq the first write must find (None: the run is new).
    """

    snapshot: RunSnapshot
    mode: str
    resume: ResumeTarget | None = None
    per_step: bool = False
    expected_seq: int | None = None
    started_payload: dict[str, Any] | None = None


@runtime_checkable
class Engine(Protocol):
    """Runs prepared executions of workflows and reports their events."""

    name: str
    storage: Storage
    clock: Callable[[], float]

    async def execute(self, workflow: Workflow, execution: Execution) -> RunResult:
        """Run `execution` to its next stop (success, failure, suspension, cancel, pause)."""
        ...

    async def cancel(self, workflow: Workflow, run_id: str) -> bool:
        """Ask a run to stop; True when it was running or suspended and is now canceling."""
        ...

    def is_active(self, run_id: str) -> bool:
        """True while this engine is executing the run."""
        ...

    def subscribe(self, run_id: str, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` for each new event of the run; returns an unsubscribe."""
        ...

    async def aclose(self) -> None:
        """Release what the engine holds (connections, workers)."""
        ...
