"""Nested workflows as steps: the inner flow runs under the outer step's path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engines.core import events as ev
from engines.core import payloads
from engines.core.error_codec import format_traceback
from engines.core.errors import ValidationError
from engines.core.outcome import (
    CANCELED,
    HANDED_OFF_STATUS,
    PAUSED,
    Attempted,
    Outcome,
    Scope,
)
from engines.core.replay import Replay
from engines.core.results import StepResult
from engines.core.schema import validate_json
from engines.core.snapshot import path_key
from engines.core.workflow import Workflow

if TYPE_CHECKING:
    from engines.core.interpreter import Interpreter


async def run_nested(
    interp: Interpreter,
    scope: Scope,
    wf: Workflow,
    path: tuple[str, ...],
    key: str,
    rec: StepResult | None,
    input_data: Any,
    action: Replay,
    iteration: int | None,
) -> Outcome:
    """Run nested workflow `wf` as the step at `path`; `action` is what the replay rule said
    for its record `rec` (RUN, RESUME, RERUN or RESUME_AGAIN)."""
    if interp.cancel.is_set:
        return CANCELED
    now = interp.clock()
    if rec is not None:
        # Resumed, restarted or continued: the recorded input was validated already.
        # A record prepared by time travel has no start yet: the re-execution starts now.
        running = rec.evolve(
            status="running", ended_at=None, iteration=iteration, started_at=rec.started_at or now
        )
        if action is Replay.RESUME:
            running = running.evolve(resumed_at=now, resume_payload=interp.resume_data(scope))
            interp.recorder.emit(
                ev.STEP_RESUMED, path, payloads.step_resumed(input_data, running.resume_payload)
            )
        else:
            # Its inner steps carry their own resume data, if they were resumed.
            interp.recorder.emit(
                ev.STEP_STARTED, path, payloads.step_started(input_data, iteration)
            )
        nested_input = rec.payload
    else:
        running = StepResult("running", payload=input_data, started_at=now, iteration=iteration)
        interp.recorder.emit(ev.STEP_STARTED, path, payloads.step_started(input_data, iteration))
        try:
            nested_input = validate_json(
                wf.input_schema, input_data, f"input of workflow {wf.id!r}"
            )
        except ValidationError as exc:
            interp.snap.steps[key] = running
            return interp.end_step(key, path, running, failed(exc))
        running = running.evolve(payload=nested_input)
    interp.snap.steps[key] = running
    inner = Scope(wf, path, nested_input, scope.forced_resume)
    outcome = await interp.run_flow(inner, nested_input)
    if outcome.status == "paused":
        interp.snap.steps[key] = running.evolve(status="paused")
        return PAUSED
    done = nested_attempted(interp, wf, path, outcome)
    result = interp.end_step(key, path, running, done)
    # A bail ends the nested workflow, not its parent.
    return Outcome("success", result.output) if result.status == "bailed" else result


def failed(exc: BaseException) -> Attempted:
    """A single failed attempt with `exc`."""
    return Attempted("failed", error=exc, traceback=format_traceback(exc), attempts=1)


def nested_attempted(
    interp: Interpreter, wf: Workflow, path: tuple[str, ...], outcome: Outcome
) -> Attempted:
    """How a nested workflow at `path` ended, as the attempt of the step it is."""
    if outcome.status in ("success", "bailed"):
        try:
            output = validate_json(
                wf.output_schema, outcome.output, f"output of workflow {wf.id!r}"
            )
        except ValidationError as exc:
            return failed(exc)
        return Attempted("success", output=output, attempts=1)
    if outcome.status == "failed":
        err = outcome.error
        return Attempted(
            "failed", error=err, traceback=format_traceback(err) if err else None, attempts=1
        )
    if outcome.status == "suspended":
        prefix = path_key(path) + "."
        payload = next(
            (
                r.suspend_payload
                for k, r in interp.snap.steps.items()
                if k.startswith(prefix) and r.status == "suspended"
            ),
            None,
        )
        return Attempted("suspended", suspend_payload=payload, attempts=1)
    if outcome.status == HANDED_OFF_STATUS:
        return Attempted(HANDED_OFF_STATUS)
    if outcome.status == "paused":
        return Attempted("paused")  # a foreach item stopped at a breakpoint or per-step pause
    return Attempted("canceled", attempts=1)
