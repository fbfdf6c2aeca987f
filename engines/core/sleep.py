"""`sleep` and `sleep_until`: wait through the wait hook, then pass the input through."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from engines.core import events as ev
from engines.core import payloads
from engines.core.calls import call_quick
from engines.core.eager import run_eager
from engines.core.graph import SleepEntry
from engines.core.hooks import Waited
from engines.core.nested import failed
from engines.core.outcome import CANCELED, HANDED_OFF, PAUSED, SUSPENDED, Attempted, Outcome
from engines.core.replay import Replay, replay
from engines.core.results import StepResult
from engines.core.snapshot import path_key

if TYPE_CHECKING:
    from engines.core.interpreter import Interpreter
    from engines.core.outcome import Scope


async def run_sleep(
    interp: Interpreter, scope: Scope, entry: SleepEntry, input_data: Any
) -> Outcome:
    """Run a sleep entry as the replay rule says for its record: a waiting sleep that was
    interrupted goes on waiting until its recorded wake time."""
    path = (*scope.prefix, entry.id)
    key = path_key(path)
    rec = interp.snap.steps.get(key)
    action = replay(rec, interp.targets(scope), path)
    if action is Replay.REUSE:
        assert rec is not None
        return Outcome("success", rec.output)
    if action is Replay.FAIL:
        assert rec is not None
        return Outcome("failed", error=rec.error)
    if action is Replay.CANCEL:
        return CANCELED
    if action is Replay.STAY_SUSPENDED:
        return SUSPENDED
    if rec is not None:
        input_data = rec.payload
    if interp.pause_before(path, rec is None or rec.started_at is None):
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
            interp.recorder.emit(ev.STEP_STARTED, path, payloads.step_started(input_data))
            return interp.end_step(key, path, running, failed(exc))
        waiting = StepResult("waiting", payload=input_data, started_at=now, wake_at=wake_at)
        interp.snap.steps[key] = waiting
        interp.recorder.emit(ev.STEP_WAITING, path, payloads.step_waiting(input_data, wake_at))
        await interp.recorder.commit()
    assert waiting.wake_at is not None
    waited = await interp.waits.wait(waiting.wake_at, path, "sleep")
    if waited is Waited.HANDED_OFF:
        return HANDED_OFF  # the record stays waiting; the run goes on when the timer fires
    if waited is Waited.CANCELED:
        return interp.end_step(key, path, waiting, Attempted("canceled", attempts=1))
    return interp.end_step(
        key, path, waiting, Attempted("success", output=waiting.payload, attempts=1)
    )


async def _wake_at(
    interp: Interpreter, scope: Scope, entry: SleepEntry, input_data: Any, now: float
) -> float:
    if entry.until is not None:
        moment: Any = entry.until
        if callable(moment):
            moment = await run_eager(
                call_quick(moment, interp.plain_context(scope, input_data, None)),
                interp.recorder.commit_pending,
            )
        if isinstance(moment, datetime):
            return moment.timestamp()
        return float(moment)
    seconds: Any = entry.seconds
    if callable(seconds):
        seconds = await run_eager(
            call_quick(seconds, interp.plain_context(scope, input_data, None)),
            interp.recorder.commit_pending,
        )
    return now + max(0.0, float(seconds or 0))
