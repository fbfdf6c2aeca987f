"""`foreach`: one body run per item of the input list, `concurrency` at a time.

`ForeachRun` is one execution of a foreach entry: which items run (fresh, resumed, or again
after an interruption), in batches of `concurrency` by position, and each item's record. An
item's record goes into the foreach's record as soon as the item finishes; the recorder stores
it with its next write, so a process that dies mid-foreach loses only the items that were
running, and a restart runs just those.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, NamedTuple

from engines.core import events as ev
from engines.core import payloads
from engines.core.calls import call_quick
from engines.core.eager import gather_eager, run_eager
from engines.core.errors import WorkflowError
from engines.core.graph import ForeachEntry, StepLike
from engines.core.nested import failed, nested_attempted
from engines.core.outcome import (
    CANCELED,
    HANDED_OFF_STATUS,
    PAUSED,
    SUSPENDED,
    Attempted,
    Outcome,
    Scope,
    finished_record,
)
from engines.core.replay import Replay, replay
from engines.core.results import StepResult
from engines.core.schema import validate_json
from engines.core.snapshot import path_key
from engines.core.workflow import Workflow

if TYPE_CHECKING:
    from engines.core.interpreter import Interpreter


class ItemLaunch(NamedTuple):
    """How an item runs: fresh, or resumed with `resume_data` (and its earlier suspend data),
    or again after `first_attempt` attempts (a retry delay handed off)."""

    resumed: bool = False
    resume_data: Any = None
    suspend_data: Any = None
    first_attempt: int = 0


FRESH = ItemLaunch()  # shared: most items start fresh, and a foreach may have many


async def run_foreach(
    interp: Interpreter, scope: Scope, entry: ForeachEntry, input_data: Any
) -> Outcome:
    """Run a foreach entry as the replay rule says for its record."""
    step = entry.step
    path = (*scope.prefix, step.id)
    key = path_key(path)
    rec = interp.snap.steps.get(key)
    action = replay(rec, interp.targets(scope), path)
    if rec is not None:
        if action is Replay.REUSE:
            return Outcome("success", rec.output)
        if action is Replay.FAIL:
            return Outcome("failed", error=rec.error)
        if action is Replay.CANCEL:
            return CANCELED
        if action is Replay.STAY_SUSPENDED:
            return SUSPENDED
        input_data = rec.payload
    resuming = action is Replay.RESUME
    nested_items = isinstance(step, Workflow)
    fresh = rec is None or rec.started_at is None
    # A foreach of a nested workflow, once started, leaves pausing to its items' steps.
    if (fresh or not nested_items) and interp.pause_before(path, fresh, not nested_items):
        return PAUSED
    if interp.cancel.is_set:
        return CANCELED
    now = interp.clock()
    resume_value = interp.resume_data(scope) if resuming else None
    if resuming and rec is not None:
        running = rec.evolve(
            status="running", resumed_at=now, resume_payload=resume_value, ended_at=None
        )
        interp.recorder.emit(ev.STEP_RESUMED, path, payloads.step_resumed(input_data, resume_value))
    else:
        # Its items carry their own resume data, if they were resumed.
        running = (
            # A record prepared by time travel has no start yet: the re-execution starts now.
            rec.evolve(status="running", started_at=rec.started_at or now)
            if rec is not None
            else StepResult("running", payload=input_data, started_at=now)
        )
        interp.recorder.emit(ev.STEP_STARTED, path, payloads.step_started(input_data))
    if not isinstance(input_data, list):
        exc = WorkflowError(
            f"foreach step {step.id!r} needs a list as input, got {type(input_data).__name__}"
        )
        interp.snap.steps[key] = running
        return interp.end_step(key, path, running, failed(exc))
    target_index = (
        interp.resume.for_each_index
        if (resuming and interp.resume is not None and scope.forced_resume is None)
        else None
    )
    run = ForeachRun(interp, scope, entry, path, running, input_data)
    return await run.run(run.launches(resuming, target_index, resume_value))


class ForeachRun:
    """One execution of a foreach: its item records, the items it runs, how it ends."""

    def __init__(
        self,
        interp: Interpreter,
        scope: Scope,
        entry: ForeachEntry,
        path: tuple[str, ...],
        running: StepResult,
        items: list[Any],
    ) -> None:
        self.interp = interp
        self.scope = scope
        self.entry = entry
        self.step: StepLike = entry.step
        self.path = path
        self.key = path_key(path)
        self.items = items
        self.total = len(items)
        self.states: list[StepResult | None] = list(running.items or [None] * len(items))
        self.running = running.evolve(items=tuple(self.states))
        self.completed = sum(1 for s in self.states if s is not None and s.status == "success")
        self.stop = False
        self.handed_off = False
        self.paused = False
        self.bailed: list[Any] = []
        self._changed = False
        self._clean_until = 0

    # -- which items run ------------------------------------------------------------------------

    def launches(
        self, resuming: bool, target_index: int | None, resume_value: Any
    ) -> list[tuple[int, ItemLaunch]]:
        """The items this execution runs, by position: those that never finished (an item
        interrupted while resumed keeps its resume data) and, on a resume, the suspended ones
        it targets."""
        out: list[tuple[int, ItemLaunch]] = []
        for index, state in enumerate(self.states):
            if state is None:
                out.append((index, FRESH))
            elif state.status in ("running", "waiting", "paused"):
                if state.resumed_at is not None:
                    out.append(
                        (index, ItemLaunch(True, state.resume_payload, state.suspend_payload))
                    )
                else:
                    out.append((index, FRESH))
            elif state.status == "suspended" and resuming and target_index in (None, index):
                out.append((index, ItemLaunch(True, resume_value, state.suspend_payload)))
        return out

    def current(self) -> StepResult | None:
        """The foreach's record with the items finished so far; None if unchanged since the
        last call (the recorder asks at each write)."""
        if not self._changed:
            return None
        self._changed = False
        self.running = self.running.evolve(items=tuple(self.states))
        return self.running

    # -- running ----------------------------------------------------------------------------

    async def run(self, launches: list[tuple[int, ItemLaunch]]) -> Outcome:
        interp = self.interp
        recorder = interp.recorder
        interp.snap.steps[self.key] = self.running
        await recorder.commit()
        concurrency = await self._concurrency()
        recorder.live[self.key] = self.current
        try:
            # Items run in batches of `concurrency` by position; an item before the next batch
            # that did not succeed (a suspended one this resume leaves alone included) stops
            # the loop.
            for _, group in itertools.groupby(launches, key=lambda t: t[0] // concurrency):
                batch = list(group)
                first = batch[0][0]
                if self.stop or interp.cancel.is_set or self._blocked(first - first % concurrency):
                    break
                if len(batch) == 1:
                    await self._run_item(*batch[0])
                else:
                    await gather_eager(
                        [self._run_item(i, launch) for i, launch in batch], recorder.commit_pending
                    )
        finally:
            del recorder.live[self.key]
        return self._end()

    def _blocked(self, upto: int) -> bool:
        for state in self.states[self._clean_until : upto]:
            if state is None or state.status != "success":
                return True
        self._clean_until = max(self._clean_until, upto)
        return False

    async def _concurrency(self) -> int:
        value: Any = self.entry.concurrency
        if callable(value):
            ctx = self.interp.plain_context(self.scope, self.items, None)
            value = await run_eager(call_quick(value, ctx), self.interp.recorder.commit_pending)
        if not isinstance(value, (int, float)) or value != value or value < 1:
            return 1
        return int(value)

    async def _run_item(self, index: int, launch: ItemLaunch) -> None:
        interp = self.interp
        previous = self.states[index]
        now = interp.clock()
        started = previous.started_at if previous is not None and previous.started_at else now
        base = StepResult(
            "running",
            payload=self.items[index],
            started_at=started,
            resume_payload=(
                launch.resume_data
                if launch.resumed or previous is None
                else previous.resume_payload
            ),
            resumed_at=now if launch.resumed else None,
        )
        if launch.resumed:
            # Stored as running with its resume data, so a restart resumes it the same way.
            self.states[index] = base
            self._changed = True
        step = self.step
        if isinstance(step, Workflow):
            done = await self._run_nested_item(step, index, launch)
        else:
            done = await interp.leaf.attempts(
                self.scope,
                step,
                self.path,
                self.items[index],
                launch.resume_data if launch.resumed else None,
                launch.suspend_data if launch.resumed else None,
                None,
                index,
                launch.first_attempt,
            )
        record = finished_record(base, done, interp.clock())
        if done.status == HANDED_OFF_STATUS:
            # The item runs elsewhere: it stays running, and so does the foreach.
            self.states[index] = record
            self._changed = True
            self.handed_off = self.stop = True
            return
        if done.status == "paused":
            # The item's steps paused: it runs on when the run continues; no new items start.
            self.states[index] = record
            self._changed = True
            self.paused = self.stop = True
            return
        self._finished(index, record, done.status == "bailed")

    def _finished(self, index: int, record: StepResult, bailed: bool) -> None:
        if bailed:
            # A bail ends the workflow; the item itself is recorded as succeeded.
            self.bailed.append(record.output)
            self.stop = True
        self.states[index] = record
        self._changed = True
        if record.status == "success":
            self.completed += 1
        else:
            # The first item that does not succeed stops new items; running ones finish.
            self.stop = True
        payload = payloads.foreach_progress(
            self.completed,
            self.total,
            index,
            record.status,
            record.output,
            record.state_delta,
        )
        self.interp.recorder.emit(ev.STEP_PROGRESS, self.path, payload)

    async def _run_nested_item(self, wf: Workflow, index: int, launch: ItemLaunch) -> Attempted:
        interp = self.interp
        item = self.items[index]
        item_prefix = (*self.scope.prefix, f"{wf.id}[{index}]")
        try:
            nested_input = validate_json(wf.input_schema, item, f"input of workflow {wf.id!r}")
        except Exception as exc:
            return failed(exc)
        forced = (launch.resume_data,) if launch.resumed else None
        inner = Scope(wf, item_prefix, nested_input, forced)
        outcome = await interp.run_flow(inner, nested_input)
        return nested_attempted(interp, wf, item_prefix, outcome)

    # -- the end ----------------------------------------------------------------------------

    def _end(self) -> Outcome:
        interp = self.interp
        key, path = self.key, self.path
        running = self.running.evolve(items=tuple(self.states))
        interp.snap.steps[key] = running
        states = self.states
        statuses = [s.status if s is not None else None for s in states]
        if "failed" in statuses:
            failed = next(s for s in states if s is not None and s.status == "failed")
            done = Attempted("failed", error=failed.error, traceback=failed.traceback, attempts=1)
        elif self.bailed:
            done = Attempted("bailed", output=self.bailed[0], attempts=1)
        elif interp.cancel.is_set or "canceled" in statuses:
            done = Attempted("canceled", attempts=1)
        elif self.handed_off:
            done = Attempted(HANDED_OFF_STATUS)
        elif self.paused and "suspended" not in statuses:
            interp.snap.steps[key] = running.evolve(status="paused")
            return PAUSED
        elif "suspended" in statuses or None in statuses or "paused" in statuses:
            # Item labels stay on the item records, where resume_labels() finds their index.
            first = next((s for s in states if s is not None and s.status == "suspended"), None)
            done = Attempted(
                "suspended", suspend_payload=first.suspend_payload if first else None, attempts=1
            )
        else:
            output = [s.output if s is not None else None for s in states]
            done = Attempted("success", output=output, attempts=1)
        return interp.end_step(key, path, running, done)
