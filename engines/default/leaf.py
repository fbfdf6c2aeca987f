"""Running one leaf step: validation, the retry loop, signals, state changes and cancellation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engines.core.calls import call_quick, call_user
from engines.core.context import RunEnv, StepContext
from engines.core.eager import run_eager
from engines.core.error_codec import error_to_dict, format_traceback
from engines.core.errors import BailSignal, NonRetryableError, SuspendSignal
from engines.core.events import STEP_RETRYING
from engines.core.mapping import (
    MISSING,
    Compute,
    Const,
    FromContext,
    FromInit,
    FromStep,
    walk_path,
)
from engines.core.results import StepResult
from engines.core.schema import copy_json, to_json_value
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
    """The output of a `.map()` step, source by source in insertion order.

    A source that finds nothing (a path or context key that is not there, no step of a
    `from_step` list that succeeded) leaves its key out, so the next step's defaults apply.
    """
    if callable(step.sources):
        return await call_quick(step.sources, ctx)
    out: dict[str, Any] = {}
    for key, src in step.sources.items():
        value: Any = MISSING
        if isinstance(src, Const):
            value = src.value
        elif isinstance(src, Compute):
            value = await call_quick(src.fn, ctx)
        elif isinstance(src, FromContext):
            value = ctx.context.get(src.key, MISSING)
        elif isinstance(src, FromInit):
            value = walk_path(ctx.get_init_data(), src.path, "the workflow input")
        elif isinstance(src, FromStep):
            for sid in src.steps:
                found = ctx.get_step_result(sid)
                if found is not None:
                    value = walk_path(found, src.path, f"step {sid}")
                    break
        if value is not MISSING:
            out[key] = value
    return out


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
    return running.evolve(status="canceled", ended_at=now, attempts=done.attempts)


def item_path(path: tuple[str, ...], index: int) -> tuple[str, ...]:
    """The path of item `index` of the foreach at `path` (`step[index]`)."""
    return (*path[:-1], f"{path[-1]}[{index}]")


class LeafRunner:
    """Runs a leaf step's attempts for an interpreter; engines wrap steps by overriding
    `make_context`, `prepare`, `call` or `output`."""

    def __init__(self, recorder: Recorder, env: RunEnv) -> None:
        self.recorder = recorder
        self.env = env
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
    ) -> Attempted:
        """Run `execute` up to 1 + retries times; signals and cancellation end it early.

        `item` is the index of the foreach item being run: its retries are announced on the
        item's path (`step[index]`).
        """
        retries = step.retries if step.retries is not None else scope.flow.retries
        delay = scope.flow.retry_delay
        attempt = 0
        while True:
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
                    retry: dict[str, Any] = {"attempt": attempt + 1, "error": error_to_dict(exc)}
                    if item is None:
                        self.recorder.emit(STEP_RETRYING, path, retry)
                    else:
                        retry["for_each_index"] = item
                        self.recorder.emit(STEP_RETRYING, item_path(path, item), retry)
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
