"""The two seams an engine plugs into the interpreter: who runs a leaf step, and who waits.

The interpreter (`engines.core.interpreter`) decides everything else. An engine that runs steps
elsewhere, or that cannot keep a coroutine waiting for an hour, supplies its own step runner or
wait hook; either may answer "handed off", and the interpreter then records the run as still
running, commits and returns (see the interpreter's module docstring).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from engines.core.context import CancelToken, RunEnv
    from engines.core.outcome import Attempted, Scope
    from engines.core.recorder import Recorder
    from engines.core.step import Step

WaitReason = Literal["sleep", "retry"]


class Waited(enum.Enum):
    """How a wait ended."""

    ELAPSED = "elapsed"
    CANCELED = "canceled"
    HANDED_OFF = "handed_off"
    """The wait continues outside this execution (a durable timer, a scheduled event): the
    interpreter commits the run as it is (a waiting sleep, a running step between attempts)
    and returns; a later execution of the run picks it up."""


class WaitHook(Protocol):
    """Waits for sleeps and retry delays."""

    async def wait(self, until: float, path: tuple[str, ...], reason: WaitReason) -> Waited:
        """Wait until the clock reads `until` for the step at `path`."""
        ...


class TimerWaits:
    """The default wait hook: an asyncio timer in this process, cut short by a cancel."""

    __slots__ = ("cancel", "clock")

    def __init__(self, cancel: CancelToken, clock: Callable[[], float]) -> None:
        self.cancel = cancel
        self.clock = clock

    async def wait(self, until: float, path: tuple[str, ...], reason: WaitReason) -> Waited:
        if await self.cancel.wait(max(0.0, until - self.clock())):
            return Waited.CANCELED
        return Waited.ELAPSED


class StepRunner(Protocol):
    """Runs a leaf step's attempts (the retry loop) and says how they ended."""

    async def attempts(
        self,
        scope: Scope,
        step: Step,
        path: tuple[str, ...],
        input_data: Any,
        resume_data: Any = None,
        suspend_data: Any = None,
        iteration: int | None = None,
        item: int | None = None,
        first_attempt: int = 0,
    ) -> Attempted:
        """Run the step up to 1 + retries times; `item` is the index of a foreach item,
        `first_attempt` the number of attempts an earlier execution already made."""
        ...


StepRunnerFactory = Callable[["Recorder", "RunEnv", WaitHook], StepRunner]
"""Builds an execution's step runner from its recorder, run environment and wait hook."""
