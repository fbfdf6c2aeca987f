"""The default step runner: validation, the retry loop, signals, state changes, cancellation.

One leaf step's attempts, as every engine runs them unless it supplies its own `StepRunner`
(`engines.core.hooks`). A step that raises while its run is being cancelled ends canceled,
neither failed nor retried: the error most likely answers the cancel.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engines.core import payloads
from engines.core.calls import call_user
from engines.core.context import RunEnv, StepContext
from engines.core.eager import run_eager
from engines.core.error_codec import format_traceback
from engines.core.errors import BailSignal, NonRetryableError, SuspendSignal
from engines.core.events import STEP_RETRYING
from engines.core.hooks import Waited, WaitHook
from engines.core.mapping import evaluate_map
from engines.core.outcome import HANDED_OFF_STATUS, Attempted
from engines.core.schema import copy_json, to_json_value
from engines.core.step import Step
from engines.core.workflow import MapStep

if TYPE_CHECKING:
    from engines.core.outcome import Scope
    from engines.core.recorder import Recorder

log = logging.getLogger("engines.step")


def item_path(path: tuple[str, ...], index: int) -> tuple[str, ...]:
    """The path of item `index` of the foreach at `path` (`step[index]`)."""
    return (*path[:-1], f"{path[-1]}[{index}]")


class LeafRunner:
    """The default step runner: runs a leaf step's attempts in this process.

    Engines that only wrap each call (journal it, time it) subclass it and override
    `make_context`, `prepare`, `call` or `output`; retry delays go through the wait hook.
    """

    def __init__(self, recorder: Recorder, env: RunEnv, waits: WaitHook) -> None:
        self.recorder = recorder
        self.env = env
        self.waits = waits
        self.cancel = env.cancel
        self.run_state = env.state
        cls = type(self)
        # With no hook overridden, the common case runs inlined in `attempts`.
        self._plain = (
            cls.prepare is LeafRunner.prepare
            and cls.call is LeafRunner.call
            and cls.output is LeafRunner.output
        )

    def make_context(
        self,
        scope: Scope,
        step: Step,
        path: tuple[str, ...],
        input_data: Any,
        resume_data: Any,
        suspend_data: Any,
        attempt: int,
        iteration: int | None,
    ) -> StepContext:
        return StepContext(
            self.env, scope.flow.id, scope.prefix, path, input_data, scope.init, resume_data,
            suspend_data, attempt, iteration, step.state_schema, step.suspend_schema,
        )  # fmt: skip

    def prepare(self, step: Step, ctx: StepContext, raw_input: Any, raw_resume: Any) -> None:
        """Validate the input (and resume data) into the context before `execute` runs."""
        if step.input_schema is not None:
            ctx.input_data = step.input_schema.validate(raw_input, "step input")
        else:
            ctx.input_data = copy_json(raw_input)
        if raw_resume is not None and step.resume_schema is not None:
            ctx.resume_data = step.resume_schema.validate(raw_resume, "resume data")

    async def call(self, step: Step, ctx: StepContext) -> Any:
        """Run `execute` (or a map's sources); engines override this to wrap each call."""
        if step.is_async:
            return await run_eager(step.execute(ctx), self.recorder.commit_pending)
        if isinstance(step, MapStep):
            return await run_eager(evaluate_map(step, ctx), self.recorder.commit_pending)
        await self.recorder.commit_pending()  # a sync step runs in a thread, for a while
        return await call_user(step.execute, ctx)

    def output(self, step: Step, value: Any) -> Any:
        """The step's return value as JSON, checked against its output schema."""
        if step.output_schema is not None:
            return step.output_schema.coerce(value, f"output of step {step.id!r}")
        return to_json_value(value)

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
        """Run `execute` up to 1 + retries times; signals and cancellation end it early.

        `item` is the index of the foreach item being run: its retries are announced on the
        item's path (`step[index]`). `first_attempt` counts attempts an earlier execution made
        (a retry delay handed off).
        """
        retries = step.retries if step.retries is not None else scope.flow.retries
        delay = scope.flow.retry_delay
        attempt = first_attempt
        while True:
            began = self.recorder.clock()  # this attempt's start, for its retry event
            ctx = self.make_context(
                scope, step, path, input_data, resume_data, suspend_data, attempt, iteration
            )
            try:
                if (
                    self._plain
                    and step.is_async
                    and step.input_schema is None
                    and step.output_schema is None
                    and resume_data is None
                ):
                    # prepare / call / output inlined for the plainest step: once per step.
                    ctx.input_data = copy_json(input_data)
                    value = await run_eager(step.execute(ctx), self.recorder.commit_pending)
                    output = to_json_value(value)
                else:
                    self.prepare(step, ctx, input_data, resume_data)
                    output = self.output(step, await self.call(step, ctx))
                done = Attempted("success", output=output)
            except SuspendSignal as signal:
                done = Attempted("suspended", suspend_payload=signal.payload, labels=signal.labels)
            except BailSignal as signal:
                done = Attempted("bailed", output=signal.value)
            except Exception as exc:
                if self.cancel.is_set:
                    # The error most likely answers the cancel (a step watching cancel_event
                    # raises): the cancel wins, and the step is neither failed nor retried.
                    return Attempted("canceled", attempts=attempt + 1)
                final = isinstance(exc, NonRetryableError) or attempt >= retries
                if not final:
                    retry_at = self.recorder.clock() + delay
                    retry = payloads.step_retrying(attempt + 1, exc, item, began, retry_at)
                    where = path if item is None else item_path(path, item)
                    self.recorder.emit(STEP_RETRYING, where, retry)
                    await self.recorder.commit()
                    waited = await self.waits.wait(retry_at, where, "retry")
                    if waited is not Waited.ELAPSED:
                        status = "canceled" if waited is Waited.CANCELED else HANDED_OFF_STATUS
                        return Attempted(status, attempts=attempt + 1)
                    attempt += 1
                    continue
                log.error("step %s failed: %s", ".".join(path), exc)
                done = Attempted("failed", error=exc, traceback=format_traceback(exc))
            done.attempts = attempt + 1
            if self.cancel.is_set and done.status != "failed":
                return Attempted("canceled", attempts=done.attempts)
            if done.status != "failed":
                delta = ctx.state_delta
                if delta:
                    self.run_state.update(delta)
                    done.state_delta = delta
            return done
