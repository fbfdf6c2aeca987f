"""`dowhile` and `dountil`: the body runs, then the condition decides another iteration.

A loop keeps one record for its body, replaced at each iteration (with `iteration`), and marks
it `loop_done` when the condition ends the loop, so a later walk reuses the loop's output
instead of asking the condition again. A run paused before the next iteration asks the
condition again when it continues (the body's record is still the previous iteration's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engines.core import events as ev
from engines.core import payloads
from engines.core.error_codec import format_traceback
from engines.core.graph import LoopEntry
from engines.core.outcome import CANCELED, PAUSED, Outcome
from engines.core.snapshot import key_path, path_key
from engines.core.workflow import Workflow

if TYPE_CHECKING:
    from engines.core.interpreter import Interpreter
    from engines.core.outcome import Scope


async def run_loop(interp: Interpreter, scope: Scope, entry: LoopEntry, input_data: Any) -> Outcome:
    """Run a loop entry from where its record says it is."""
    step = entry.step
    key = path_key((*scope.prefix, step.id))
    steps = interp.snap.steps
    rec = steps.get(key)
    iteration = (rec.iteration or 1) if rec is not None else 1
    if rec is not None and rec.status == "success":
        if rec.loop_done:
            return Outcome("success", rec.output)
        outcome = Outcome("success", rec.output)
    else:
        outcome = await interp.run_node(scope, step, input_data, iteration)
    while True:
        if outcome.status != "success":
            return outcome
        try:
            verdict = await interp.condition(
                scope, entry.condition, outcome.output, iteration, swallow=False
            )
        except Exception as exc:
            if interp.cancel.is_set:
                return CANCELED  # the condition raised on the cancel: the cancel wins
            return _fail(interp, key, exc)
        if interp.cancel.is_set:
            return CANCELED
        again = not verdict if entry.until else verdict
        if not again:
            steps[key] = steps[key].evolve(loop_done=True)
            return outcome
        # Asked before the previous iteration is forgotten: a run paused here keeps that
        # iteration's record (and output), so continuing it runs the next one from there.
        path = (*scope.prefix, step.id)
        if interp.pause_before(path, True, not isinstance(step, Workflow)):
            return PAUSED
        iteration += 1
        _forget(interp, key)
        outcome = await interp.run_node(scope, step, outcome.output, iteration, True)


def _forget(interp: Interpreter, key: str) -> None:
    """Drop the body's record and its nested records before the next iteration."""
    steps = interp.snap.steps
    steps.pop(key, None)
    prefix = key + "."
    for k in [k for k in steps if k.startswith(prefix)]:
        del steps[k]


def _fail(interp: Interpreter, key: str, exc: BaseException) -> Outcome:
    """A condition that raised fails the loop's body record, and the loop."""
    steps = interp.snap.steps
    steps[key] = steps[key].evolve(
        status="failed", error=exc, traceback=format_traceback(exc), output=None
    )
    interp.recorder.emit(ev.STEP_FAILED, key_path(key), payloads.step_failed(exc))
    return Outcome("failed", error=exc)
