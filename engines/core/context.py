"""`StepContext`: what a step's `execute`, a condition or a map function receives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from engines.core.errors import BailSignal, SuspendSignal, ValidationError
from engines.core.schema import Schema, copy_json, to_json_value


class RunEnv:
    """What every context of one execution shares, built once per execution."""

    __slots__ = ("cancel", "context", "emit", "lookup", "resource_id", "run_id", "state")

    def __init__(
        self,
        run_id: str,
        resource_id: str | None,
        state: dict[str, Any],
        context: dict[str, Any],
        cancel: CancelToken,
        lookup: Callable[[tuple[str, ...], str], Any],
        emit: Callable[[tuple[str, ...], Any], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.resource_id = resource_id
        self.state = state
        self.context = context
        self.cancel = cancel
        self.lookup = lookup
        self.emit = emit


class StepContext:
    """The single argument of `execute(ctx)`.

    `suspend` and `bail` end the step at once by raising a signal that `except Exception` does
    not catch. `set_state` changes are merged into the run's state when the step returns,
    suspends or bails, and discarded when it raises.
    """

    __slots__ = (
        "_env",
        "_init_data",
        "_path",
        "_pending_state",
        "_prefix",
        "_state_schema",
        "_suspend_schema",
        "input_data",
        "iteration",
        "resume_data",
        "retry_count",
        "suspend_data",
        "workflow_id",
    )

    def __init__(
        self,
        env: RunEnv,
        workflow_id: str,
        prefix: tuple[str, ...],
        path: tuple[str, ...],
        input_data: Any,
        init_data: Any,
        resume_data: Any = None,
        suspend_data: Any = None,
        retry_count: int = 0,
        iteration: int | None = None,
        state_schema: Schema | None = None,
        suspend_schema: Schema | None = None,
    ) -> None:
        self._env = env
        self.workflow_id = workflow_id
        self._prefix = prefix
        self._path = path
        self.input_data = input_data
        self._init_data = init_data
        self.resume_data = resume_data
        self.suspend_data = suspend_data
        self.retry_count = retry_count
        self.iteration = iteration
        self._state_schema = state_schema
        self._suspend_schema = suspend_schema
        self._pending_state: dict[str, Any] | None = None

    @property
    def run_id(self) -> str:
        """The id of the run."""
        return self._env.run_id

    @property
    def resource_id(self) -> str | None:
        """The resource the run was created for, if any."""
        return self._env.resource_id

    @property
    def context(self) -> dict[str, Any]:
        """The run's runtime context (changes are kept with the run)."""
        return self._env.context

    @property
    def run_count(self) -> int:
        """Alias of `retry_count`: the 0-based attempt number."""
        return self.retry_count

    @property
    def state(self) -> dict[str, Any]:
        """The run's state, including this attempt's `set_state` changes."""
        merged = (
            self._env.state
            if self._pending_state is None
            else {**self._env.state, **self._pending_state}
        )
        state: dict[str, Any] = copy_json(merged)  # nested values too: change state via set_state
        return state

    def set_state(self, value: Any) -> None:
        """Merge `value` (a dict or model) into the state when the step ends well."""
        data = to_json_value(value)
        if not isinstance(data, dict):
            raise ValidationError(
                "Invalid state data:", [{"path": "", "message": "state must be an object"}]
            )
        merged = {**(self._pending_state or {}), **data}
        if self._state_schema is not None:
            self._state_schema.validate({**self._env.state, **merged}, "state data")
        self._pending_state = merged

    @property
    def state_delta(self) -> dict[str, Any] | None:
        """The changes `set_state` made in this attempt, if any."""
        return self._pending_state

    def get_init_data(self) -> Any:
        """The input of the (possibly nested) workflow this step belongs to."""
        return self._init_data

    def get_step_result(self, step: Any) -> Any:
        """The output of a step in this workflow, or `None` when it did not succeed."""
        sid = step if isinstance(step, str) else getattr(step, "id", None)
        if not isinstance(sid, str):
            return None
        return self._env.lookup(self._prefix, sid)

    def suspend(self, payload: Any = None, *, label: str | list[str] | None = None) -> None:
        """End the step suspended; it runs again from the top with `resume_data` on resume."""
        data = to_json_value(payload)
        if self._suspend_schema is not None:
            data = self._suspend_schema.coerce(data, "suspend data")
        labels: tuple[str, ...] = ()
        if isinstance(label, str):
            labels = (label,)
        elif label:
            labels = tuple(label)
        raise SuspendSignal(data, labels)

    def bail(self, value: Any = None) -> None:
        """End the step and its workflow successfully, with `value` as the result."""
        raise BailSignal(to_json_value(value))

    def emit(self, payload: Any) -> None:
        """Publish a custom `step.progress` event for this step."""
        if self._env.emit is not None:
            self._env.emit(self._path, to_json_value(payload))

    def cancel(self) -> None:
        """Cancel the whole run: no further step starts; the run ends `canceled`."""
        self._env.cancel.cancel()

    @property
    def is_cancelled(self) -> bool:
        """True once the run has been cancelled."""
        return self._env.cancel.is_set

    @property
    def cancel_event(self) -> asyncio.Event:
        """An event set when the run is cancelled (await `ctx.cancel_event.wait()`)."""
        return self._env.cancel.event


class CancelToken:
    """A cancellation flag readable from any thread, with an asyncio event for awaiting."""

    __slots__ = ("_event", "_loop", "is_set")

    def __init__(self) -> None:
        self.is_set = False
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def event(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
            if self.is_set:
                self._event.set()
        return self._event

    def cancel(self) -> None:
        if self.is_set:
            return
        self.is_set = True
        if self._event is None:
            return
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            loop.call_soon_threadsafe(self._event.set)
        else:
            self._event.set()

    async def wait(self, seconds: float | None) -> bool:
        """Sleep up to `seconds`; return True if cancelled meanwhile."""
        if self.is_set:
            return True
        if seconds is not None and seconds <= 0:
            return False
        try:
            await asyncio.wait_for(self.event.wait(), seconds)
        except TimeoutError:
            return False
        return True
