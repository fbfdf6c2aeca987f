"""Running one leaf step: validation, the retry loop, signals, state changes and cancellation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engines.core.calls import call_quick, call_user
from engines.core.context import CancelToken, StepContext
from engines.core.eager import run_eager
from engines.core.error_codec import error_to_dict, format_traceback
from engines.core.errors import BailSignal, NonRetryableError, SuspendSignal
from engines.core.events import STEP_RETRYING
from engines.core.mapping import Compute, Const, FromContext, FromInit, FromStep, walk_path
from engines.core.schema import to_json_value
from engines.core.step import Step
from engines.core.workflow import MapStep

if TYPE_CHECKING:
    from engines.core.recorder import Recorder
    from engines.default.outcome import Scope

log = logging.getLogger("engines.step")


@dataclass(slots=True)
class Attempted:
    """The end of a leaf step's attempts."""

    status: str  # success, failed, suspended, bailed, canceled
    output: Any = None
    error: BaseException | None = None
    traceback: str | None = None
    suspend_payload: Any = None
    labels: tuple[str, ...] = ()
    attempts: int = 0
    state_delta: dict[str, Any] | None = None


async def evaluate_map(step: MapStep, ctx: StepContext) -> Any:
    """The output of a `.map()` step, source by source in insertion order."""
    if callable(step.sources):
        return await call_quick(step.sources, ctx)
    out: dict[str, Any] = {}
    for key, src in step.sources.items():
        if isinstance(src, Const):
            out[key] = src.value
        elif isinstance(src, Compute):
            out[key] = await call_quick(src.fn, ctx)
        elif isinstance(src, FromContext):
            out[key] = ctx.context.get(src.key)
        elif isinstance(src, FromInit):
            out[key] = walk_path(ctx.get_init_data(), src.path, "the workflow input")
        elif isinstance(src, FromStep):
            value = None
            for sid in src.steps:
                value = ctx.get_step_result(sid)
                if value is not None:
                    out[key] = walk_path(value, src.path, f"step {sid}")
                    break
            else:
                out[key] = None
    return out


def _copy_json(value: Any) -> Any:
    # Steps get their own copy, so a step mutating its input cannot change the record.
    if type(value) is dict:
        return {k: _copy_json(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy_json(v) for v in value]
    return value


class LeafRunner:
    """Runs a leaf step's attempts for an interpreter; engines may override `invoke`."""

    def __init__(
        self,
        recorder: Recorder,
        cancel: CancelToken,
        run_state: dict[str, Any],
        context: dict[str, Any],
        run_id: str,
        resource_id: str | None,
        lookup: Callable[[tuple[str, ...], str], Any],
    ) -> None:
        self.recorder = recorder
        self.cancel = cancel
        self.run_state = run_state
        self.context = context
        self.run_id = run_id
        self.resource_id = resource_id
        self.lookup = lookup

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
        prefix = scope.prefix
        recorder = self.recorder
        return StepContext(
            run_id=self.run_id,
            workflow_id=scope.flow.id,
            resource_id=self.resource_id,
            input_data=input_data,
            run_state=self.run_state,
            context=self.context,
            init_data=scope.init,
            lookup=lambda sid: self.lookup(prefix, sid),
            cancel=self.cancel,
            emit=lambda data: recorder.emit_threadsafe(
                "step.progress", path, {"kind": "custom", "data": data}
            ),
            resume_data=resume_data,
            suspend_data=suspend_data,
            retry_count=attempt,
            iteration=iteration,
            state_schema=step.state_schema,
            suspend_schema=step.suspend_schema,
        )

    async def invoke(self, step: Step, ctx: StepContext, raw_input: Any, raw_resume: Any) -> Any:
        """Validate input and resume data, run `execute`, and return the output as JSON."""
        if step.input_schema is not None:
            ctx.input_data = step.input_schema.validate(raw_input, "step input")
        else:
            ctx.input_data = _copy_json(raw_input)
        if raw_resume is not None and step.resume_schema is not None:
            ctx.resume_data = step.resume_schema.validate(raw_resume, "resume data")
        commit = self.recorder.commit_pending
        if isinstance(step, MapStep):
            value = await run_eager(evaluate_map(step, ctx), commit)
        elif step.is_async:
            value = await run_eager(step.execute(ctx), commit)
        else:
            await commit()  # a sync step runs in a worker thread: it is running for a while
            value = await call_user(step.execute, ctx)
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
        emit_retries: bool = True,
    ) -> Attempted:
        """Run `execute` up to 1 + retries times; signals and cancellation end it early."""
        retries = step.retries if step.retries is not None else scope.flow.retries
        delay = scope.flow.retry_delay
        attempt = 0
        while True:
            ctx = self.make_context(
                scope, step, path, input_data, resume_data, suspend_data, attempt, iteration
            )
            try:
                output = await self.invoke(step, ctx, input_data, resume_data)
                done = Attempted("success", output=output)
            except SuspendSignal as signal:
                done = Attempted("suspended", suspend_payload=signal.payload, labels=signal.labels)
            except BailSignal as signal:
                done = Attempted("bailed", output=signal.value)
            except Exception as exc:
                final = (
                    isinstance(exc, NonRetryableError) or attempt >= retries or self.cancel.is_set
                )
                if not final:
                    if emit_retries:
                        self.recorder.emit(
                            STEP_RETRYING,
                            path,
                            {"attempt": attempt + 1, "error": error_to_dict(exc)},
                        )
                        await self.recorder.commit()
                    if await self.cancel.wait(delay):
                        return Attempted("canceled", attempts=attempt + 1)
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
