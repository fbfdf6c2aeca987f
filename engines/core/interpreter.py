"""The interpreter: one walk of a workflow's graph over a run's records, for every engine.

Every execution mode (start, resume, continue, restart, time travel) arrives as a prepared
`Execution`: a snapshot whose step records say what is already done. The walk starts at the
first entry every time, and for each step it meets asks the replay rule (`engines.core.replay`)
what the record means: a success is reused without running, a failure or cancel ends the walk
there, a suspended step stays suspended unless this execution resumes it, and a step left
running, waiting or paused (its execution stopped) runs again. Resume, crash recovery, time
travel and an engine re-walking the graph after each event are therefore one mechanism.

How an engine plugs in
----------------------
An engine builds one `Interpreter` per execution with

- a `Recorder` (`engines.core.recorder`): the working snapshot, its storage and how stored
  events reach listeners. The recorder writes before the run next waits and at every stop;
  each write continues the stored `seq`, the compare-and-set that refuses a second writer.
- a `CancelToken` that its `cancel()` sets;
- a step runner (`engines.core.hooks.StepRunner`, built by `step_runner`; default
  `engines.core.leaf.LeafRunner`): runs a leaf step's attempts. An engine that executes steps
  elsewhere (a worker reached over a queue) returns `Attempted("handed_off")`; one that only
  wraps each call (a durable journal) subclasses `LeafRunner`;
- a wait hook (`engines.core.hooks.WaitHook`, default `TimerWaits`): every sleep and retry
  delay goes through it. A durable or evented engine answers `Waited.HANDED_OFF` and fires a
  timer of its own instead.

"Handed off" is the third way an execution stops, beside finishing and suspending: the step's
record stays `running` (a sleep's `waiting`), no terminal event is written, the run's status
stays `running`, the recorder commits and `run()` returns a result whose status is `running`.
Siblings that can still run do; the handed-off outcome beats a suspension in a parallel block.
Later the engine writes the step's result into the stored snapshot (`finished_record` of the
`Attempted` the worker produced, with its end event) and starts a new execution of the run
(`ExecutionMode.CONTINUE`, `engines.core.prepare.prepare_continue`): the walk reuses what
succeeded and goes on from there. An evented engine does this once per step result; a durable
one once per recovered segment. Neither re-implements a rule: there is only this walk.

The surface helpers use
-----------------------
`foreach`, `loops`, `nested` and `sleep` (the modules running those entries) use only: `snap`,
`recorder`, `cancel`, `clock`, `leaf`, `waits`, `resume`, `run_flow()`, `run_node()`,
`targets()`,
`resume_data()`, `pause_before()`, `end_step()`, `plain_context()`
and `condition()`.

Pauses (breakpoints and per-step mode)
--------------------------------------
Before it starts a step (a leaf, a nested workflow, a foreach, a sleep) the walk asks
`pause_before()`: a step a breakpoint names (`engines.core.breakpoints`) that has not started
yet, or any step once per-step mode has run its one step, is not started; its path goes into
`paused_at` and the walk's outcome there is `paused` (siblings in a parallel block, and other
items of a foreach batch, still run to their own stop). A paused step leaves no record: the
walk that continues the run reaches it again the same way (a branch keeps the arms it chose,
a loop its iteration: a loop pauses before forgetting the previous iteration's body). The
continuing execution runs the steps of the stored `paused_at` without pausing on them again,
once each, then stops at the next breakpoint (or, in per-step mode, after one more step).
"""

from __future__ import annotations

import logging
from typing import Any

from engines.core import events as ev
from engines.core import foreach, loops, nested, payloads, sleep
from engines.core.breakpoints import Breakpoints
from engines.core.calls import call_quick
from engines.core.context import CancelToken, RunEnv, StepContext
from engines.core.eager import gather_eager, run_eager
from engines.core.engine import Execution, ExecutionMode
from engines.core.error_codec import format_traceback
from engines.core.errors import ValidationError
from engines.core.graph import (
    BranchEntry,
    Entry,
    ForeachEntry,
    LoopEntry,
    ParallelEntry,
    StepEntry,
    StepLike,
)
from engines.core.hooks import StepRunner, StepRunnerFactory, TimerWaits, WaitHook
from engines.core.leaf import LeafRunner
from engines.core.outcome import (
    CANCELED,
    HANDED_OFF,
    HANDED_OFF_STATUS,
    PAUSED,
    SUSPENDED,
    Attempted,
    Outcome,
    Scope,
    combine,
    finished_record,
)
from engines.core.recorder import Recorder
from engines.core.replay import Replay, Targets, replay
from engines.core.results import RunResult, StepResult
from engines.core.schema import copy_json, validate_json
from engines.core.snapshot import path_key, resume_labels, suspended_paths
from engines.core.workflow import Workflow

log = logging.getLogger("engines.interpreter")

_STEP_END_EVENTS = {
    "success": ev.STEP_SUCCEEDED,
    "failed": ev.STEP_FAILED,
    "suspended": ev.STEP_SUSPENDED,
    "canceled": ev.STEP_CANCELED,
}


class Interpreter:
    """Runs one execution of a workflow to its next stop (see the module docstring)."""

    def __init__(
        self,
        workflow: Workflow,
        execution: Execution,
        recorder: Recorder,
        cancel: CancelToken,
        *,
        step_runner: StepRunnerFactory = LeafRunner,
        waits: WaitHook | None = None,
    ) -> None:
        self.workflow = workflow
        self.execution = execution
        self.snap = execution.snapshot
        self.recorder = recorder
        self.cancel = cancel
        self.clock = recorder.clock
        self.resume = execution.resume
        # Resume data that answers a step downstream of a time-travel target, once.
        self.answer = execution.resume if execution.resume and execution.resume.downstream else None
        self.budget: int | None = 1 if execution.per_step else None
        self.breakpoints = Breakpoints(self.snap.breakpoints)
        # The steps the previous execution paused before: this one runs them, once each.
        self.skip: set[str] = {path_key(p) for p in self.snap.paused_at}
        self.paused_at: list[list[str]] = []
        # False for a plain execution: nothing can pause it, and the walk need not ask.
        self.pausing = bool(self.breakpoints) or bool(self.skip) or self.budget is not None
        self.env = RunEnv(
            self.snap.run_id,
            self.snap.resource_id,
            self.snap.state,
            self.snap.context,
            cancel,
            self._lookup,
            self._emit_custom,
        )
        self.waits: WaitHook = waits if waits is not None else TimerWaits(cancel, self.clock)
        self.leaf: StepRunner = step_runner(recorder, self.env, self.waits)

    def _emit_custom(self, path: tuple[str, ...], data: Any) -> None:
        self.recorder.emit_threadsafe(ev.STEP_PROGRESS, path, payloads.custom_progress(data))

    # -- the run ------------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Walk the graph to the next stop, record it, and return the run's result."""
        snap = self.snap
        execution = self.execution
        self.recorder.bind()
        now = self.clock()
        snap.status = "running"
        snap.started_at = snap.started_at or now
        snap.finished_at = None
        snap.per_step = execution.per_step
        snap.paused_at = []
        resume = self.resume
        payload = payloads.run_started(
            execution.mode,
            start=(
                (snap.input, copy_json(snap.state), copy_json(snap.context), snap.resource_id)
                if execution.mode is ExecutionMode.START
                else None
            ),
            resume=(
                payloads.resume_info(resume.path, resume.data, resume.for_each_index)
                if resume is not None
                else None
            ),
            fork=execution.fork_origin,
        )
        self.recorder.emit(ev.RUN_STARTED, (), payload)
        await self.recorder.commit()

        scope = Scope(self.workflow, (), snap.input)
        outcome = await self.run_flow(scope, snap.input)
        await self.finish(outcome)
        return snap.to_result()

    async def finish(self, outcome: Outcome) -> None:
        """Record how the execution stopped, with the run's terminal event, and commit."""
        snap = self.snap
        status = outcome.status
        if status == HANDED_OFF_STATUS:
            # The run goes on elsewhere: it stays running, with no terminal event.
            await self.recorder.commit()
            return
        snap.result = None
        snap.error = None
        snap.traceback = None
        if status == "success" and self.execution.per_step and self.budget == 0:
            # Per-step mode pauses after its one step, even the last one (like a breakpoint);
            # the next resume finds nothing left and finishes the run.
            status = "paused"
        if status in ("success", "bailed"):
            try:
                snap.result = validate_json(
                    self.workflow.output_schema, outcome.output, "workflow output"
                )
                status = "success"
            except ValidationError as exc:
                status, outcome = "failed", Outcome("failed", error=exc)
        if self.cancel.is_set and status != "paused":
            # A cancelled run ends canceled, whatever its code did on the way out (an error the
            # cancel caused, a step that suspended meanwhile, the last entry finishing).
            status = "canceled"
        if status == "failed":
            snap.error = outcome.error
            snap.traceback = format_traceback(outcome.error) if outcome.error else None
        snap.status = status  # type: ignore[assignment]
        snap.suspended = suspended_paths(snap.steps) if status == "suspended" else []
        snap.resume_labels = resume_labels(snap.steps) if status == "suspended" else {}
        # A suspended run keeps its pauses too: the resume runs those steps without pausing.
        snap.paused_at = self.paused_at if status in ("paused", "suspended") else []
        if status in ("success", "failed", "canceled"):
            snap.finished_at = self.clock()
        end: Any
        if status == "success":
            end = payloads.run_succeeded(snap.result)
        elif status == "failed":
            end = payloads.run_failed(snap.error)
        elif status == "suspended":
            end = payloads.run_suspended(snap.suspended, snap.resume_labels)
        elif status == "canceled":
            end = payloads.run_canceled()
        else:
            end = payloads.run_paused(snap.paused_at)
        self.recorder.emit(ev.RUN_STATUS_EVENTS[status], (), end)
        await self.recorder.commit()

    # -- flows and entries --------------------------------------------------------------------

    async def run_flow(self, scope: Scope, input_data: Any) -> Outcome:
        """Run a flow's entries in order on `input_data`; the first that does not succeed
        ends it."""
        prev = input_data
        for entry in scope.flow.entries:
            if self.cancel.is_set:
                return CANCELED
            outcome = await self.run_entry(scope, entry, prev)
            if outcome.status != "success":
                return outcome
            prev = outcome.output
        return Outcome("success", prev)

    async def run_entry(self, scope: Scope, entry: Entry, input_data: Any) -> Outcome:
        if isinstance(entry, StepEntry):
            return await self.run_node(scope, entry.step, input_data)
        if isinstance(entry, ParallelEntry):
            return await self.run_many(scope, entry.steps, input_data)
        if isinstance(entry, BranchEntry):
            return await self.run_branch(scope, entry, input_data)
        if isinstance(entry, LoopEntry):
            return await loops.run_loop(self, scope, entry, input_data)
        if isinstance(entry, ForeachEntry):
            return await foreach.run_foreach(self, scope, entry, input_data)
        return await sleep.run_sleep(self, scope, entry, input_data)

    async def run_many(
        self, scope: Scope, steps: tuple[StepLike, ...] | list[StepLike], input_data: Any
    ) -> Outcome:
        if len(steps) == 1:
            outcomes = [await self.run_node(scope, steps[0], input_data)]
        else:
            outcomes = list(
                await gather_eager(
                    [self.run_node(scope, s, input_data) for s in steps],
                    self.recorder.commit_pending,
                )
            )
        return combine([s.id for s in steps], outcomes)

    async def run_branch(self, scope: Scope, entry: BranchEntry, input_data: Any) -> Outcome:
        # Arms that paused before they started (no record yet) were chosen too.
        skip = self.skip
        recorded = [
            s
            for s in entry.steps
            if (
                (r := self.snap.steps.get(key := self._key(scope, s.id))) is not None
                and r.status != "skipped"
            )
            or key in skip
        ]
        if recorded:
            # Arms chosen before a suspension or crash stay chosen; conditions are not re-run.
            selected = recorded
        else:
            verdicts = await gather_eager(
                [
                    self.condition(scope, cond, input_data, None, swallow=True)
                    for cond, _ in entry.arms
                ]
            )
            if self.cancel.is_set:
                return CANCELED  # a condition saw (or made) the cancel: no arm starts
            selected = [s for (_, s), ok in zip(entry.arms, verdicts, strict=True) if ok]
        if not selected:
            return Outcome("success", {})
        return await self.run_many(scope, selected, input_data)

    # -- single nodes -------------------------------------------------------------------------

    async def run_node(
        self,
        scope: Scope,
        step: StepLike,
        input_data: Any,
        iteration: int | None = None,
        pause_checked: bool = False,
    ) -> Outcome:
        """Run a step or nested workflow as the replay rule says for its record
        (`pause_checked`: the caller already asked `pause_before` for it)."""
        prefix = scope.prefix
        if prefix:
            path = (*prefix, step.id)
            key = path_key(path)
        else:
            key = step.id
            path = (key,)
        rec = self.snap.steps.get(key)
        resume_data = None
        if rec is None:
            action = Replay.RUN
            if self.answer is not None and path == self.answer.path:
                # Time travel answers this step, suspended after the fork point in the source.
                resume_data = self.answer.data
                self.answer = None
        else:
            action = replay(rec, self.targets(scope), path)
            if action is Replay.REUSE:
                return Outcome("success", rec.output)
            if action is Replay.STAY_SUSPENDED:
                return SUSPENDED
            if action is Replay.FAIL:
                return Outcome("failed", error=rec.error)
            if action is Replay.CANCEL:
                return CANCELED
            input_data = rec.payload
            if action is Replay.RESUME:
                resume_data = self.resume_data(scope)
            else:
                iteration = rec.iteration or iteration
        fresh = rec is None or rec.started_at is None
        if isinstance(step, Workflow):
            # A nested workflow pauses only before it starts; once started, its steps decide.
            if (
                self.pausing
                and fresh
                and not pause_checked
                and self.pause_before(path, True, takes_step=False)
            ):
                return PAUSED
            return await nested.run_nested(
                self, scope, step, path, key, rec, input_data, action, iteration
            )
        if self.pausing and not pause_checked and self.pause_before(path, fresh):
            return PAUSED
        if self.cancel.is_set:
            return CANCELED
        now = self.clock()
        suspend_data = None
        first_attempt = 0
        if rec is None:
            if resume_data is not None:
                running = StepResult(
                    "running", input_data, started_at=now, iteration=iteration,
                    resume_payload=resume_data, resumed_at=now,
                )  # fmt: skip
                self.recorder.emit(
                    ev.STEP_STARTED, path, payloads.step_answered(input_data, resume_data)
                )
            else:
                running = StepResult("running", input_data, started_at=now, iteration=iteration)
                self.recorder.emit(
                    ev.STEP_STARTED, path, payloads.step_started(input_data, iteration)
                )
        elif action is Replay.RERUN:
            first_attempt = rec.attempts  # attempts made before a retry delay was handed off
            running = StepResult("running", input_data, started_at=now, iteration=iteration)
            self.recorder.emit(ev.STEP_STARTED, path, payloads.step_started(input_data, iteration))
        else:  # RESUME, or RESUME_AGAIN: interrupted while resumed, same resume data
            if action is Replay.RESUME_AGAIN:
                resume_data = rec.resume_payload
            suspend_data = rec.suspend_payload
            running = rec.evolve(
                status="running",
                resume_payload=resume_data,
                resumed_at=now,
                ended_at=None,
                iteration=iteration,
            )
            self.recorder.emit(
                ev.STEP_RESUMED, path, payloads.step_resumed(input_data, resume_data)
            )
        # Staged, not committed: the start is stored with the end, or as soon as the step waits.
        self.recorder.staged[key] = running
        done = await self.leaf.attempts(
            scope,
            step,
            path,
            input_data,
            resume_data,
            suspend_data,
            iteration,
            None,
            first_attempt,
        )
        return self.end_step(key, path, running, done)

    def end_step(
        self, key: str, path: tuple[str, ...], running: StepResult, done: Attempted
    ) -> Outcome:
        """Record how a step (leaf, foreach or nested workflow) ended, with its end event.

        A step handed off keeps its running record and emits nothing: it ends elsewhere.
        """
        rec = finished_record(running, done, self.clock())
        status = rec.status
        if self.recorder.staged:
            self.recorder.staged.pop(key, None)
        self.snap.steps[key] = rec
        if done.status == HANDED_OFF_STATUS:
            return HANDED_OFF
        payload: Any
        if status == "success":
            payload = payloads.step_succeeded(done.output, done.state_delta)
        elif status == "suspended":
            payload = payloads.step_suspended(done.suspend_payload, done.labels, done.state_delta)
        elif status == "failed":
            payload = payloads.step_failed(done.error)
        else:
            payload = payloads.step_canceled()
        # Not committed here: the recorder writes before the run next waits, and at its end.
        self.recorder.emit(_STEP_END_EVENTS[status], path, payload)
        if done.status == "bailed":
            return Outcome("bailed", done.output)
        return Outcome(status, done.output, done.error)

    # -- the surface for entry helpers --------------------------------------------------------

    def targets(self, scope: Scope) -> Targets:
        """Which suspended steps of `scope` this execution resumes."""
        if scope.forced_resume is not None:
            return "all"
        target = self.resume
        if target is None or target.downstream:
            return None
        return target.path

    def resume_data(self, scope: Scope) -> Any:
        """The resume data a step resumed in `scope` gets."""
        if scope.forced_resume is not None:
            return scope.forced_resume[0]
        return self.resume.data if self.resume is not None else None

    def pause_before(self, path: tuple[str, ...], fresh: bool, takes_step: bool = True) -> bool:
        """True when the walk stops before the step at `path` (recorded in `paused_at`):
        a breakpoint names it and it has not started (`fresh`), or per-step mode has run its
        one step. A step the previous execution paused before is run, once, whatever the
        breakpoints say. `takes_step=False` (a nested workflow, a foreach of one) uses no
        per-step budget: its own steps do."""
        key = path_key(path)
        budget = self.budget
        if key in self.skip:
            self.skip.discard(key)
            if takes_step and budget is not None and budget > 0:
                self.budget = budget - 1
            return False
        if fresh and self.breakpoints.matches(path):
            self.paused_at.append(list(path))
            return True
        if budget is None:
            return False
        if budget <= 0:
            self.paused_at.append(list(path))
            return True
        if takes_step:
            self.budget = budget - 1
        return False

    def plain_context(self, scope: Scope, input_data: Any, iteration: int | None) -> StepContext:
        """The context of a condition, a map function or a sleep function."""
        return StepContext(
            self.env, scope.flow.id, scope.prefix, scope.prefix, input_data, scope.init,
            retry_count=-1, iteration=iteration,
        )  # fmt: skip

    # -- helpers ------------------------------------------------------------------------------

    def _key(self, scope: Scope, step_id: str) -> str:
        return path_key((*scope.prefix, step_id))

    def _lookup(self, prefix: tuple[str, ...], step_id: str) -> Any:
        rec = self.snap.steps.get(path_key((*prefix, step_id)))
        if rec is None or rec.status != "success":
            return None
        return rec.output

    async def condition(
        self, scope: Scope, cond: Any, value: Any, iteration: int | None, swallow: bool
    ) -> bool:
        """Evaluate a branch or loop condition on `value`; with `swallow`, one that raises
        counts as false."""
        ctx = self.plain_context(scope, value, iteration)
        try:
            return bool(await run_eager(call_quick(cond, ctx), self.recorder.commit_pending))
        except Exception as exc:
            if not swallow:
                raise
            log.warning("branch condition %r raised %r; treated as false", cond, exc)
            return False


__all__ = ["Interpreter"]
