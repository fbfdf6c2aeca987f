"""`sleep` and `sleep_until`: wait, then pass the input through."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from engines.core import events as ev
from engines.core.calls import call_quick
from engines.core.eager import run_eager
from engines.core.error_codec import format_traceback
from engines.core.graph import SleepEntry
from engines.core.results import StepResult
from engines.core.snapshot import path_key
from engines.default.leaf import Attempted
from engines.default.outcome import CANCELED, PAUSED, Outcome, Scope

if TYPE_CHECKING:
    from engines.default.interpreter import Interpreter


async def run_sleep(
    interp: Interpreter, scope: Scope, entry: SleepEntry, input_data: Any
) -> Outcome:
    path = (*scope.prefix, entry.id)
    key = path_key(path)
    rec = interp.snap.steps.get(key)
    if rec is not None and rec.status in ("success", "skipped"):
        return Outcome("success", rec.output)
    if not interp._take_budget():
        return PAUSED
    if interp.cancel.is_set:
        return CANCELED
    if rec is not None and rec.status == "waiting" and rec.wake_at is not None:
        waiting = rec
    else:
        now = interp.clock()
        try:
            wake_at = await _wake_at(interp, scope, entry, input_data, now)
        except Exception as exc:
            if interp.cancel.is_set:
                return CANCELED  # the sleep function raised on the cancel: the cancel wins
            running = StepResult("running", payload=input_data, started_at=now)
            interp.snap.steps[key] = running
            interp.recorder.emit(ev.STEP_STARTED, path, {"input": input_data})
            return interp._end_leaf(
                key,
                path,
                running,
                Attempted("failed", error=exc, traceback=format_traceback(exc), attempts=1),
            )
        waiting = StepResult("waiting", payload=input_data, started_at=now, wake_at=wake_at)
        interp.snap.steps[key] = waiting
        interp.recorder.emit(ev.STEP_WAITING, path, {"input": input_data, "wake_at": wake_at})
        await interp.recorder.commit()
    assert waiting.wake_at is not None
    cancelled = await interp.sleep_until(waiting.wake_at)
    if cancelled:
        return interp._end_leaf(key, path, waiting, Attempted("canceled", attempts=1))
    return interp._end_leaf(
        key, path, waiting, Attempted("success", output=waiting.payload, attempts=1)
    )


async def _wake_at(
    interp: Interpreter, scope: Scope, entry: SleepEntry, input_data: Any, now: float
) -> float:
    if entry.until is not None:
        moment: Any = entry.until
        if callable(moment):
            moment = await run_eager(
                call_quick(moment, interp._plain_context(scope, input_data, None)),
                interp.recorder.commit_pending,
            )
        if isinstance(moment, datetime):
            return moment.timestamp()
        return float(moment)
    seconds: Any = entry.seconds
    if callable(seconds):
        seconds = await run_eager(
            call_quick(seconds, interp._plain_context(scope, input_data, None)),
            interp.recorder.commit_pending,
        )
    return now + max(0.0, float(seconds or 0))
