"""The graph walk of the default engine.

Every execution mode arrives as a prepared snapshot. The walk starts at the first entry each
time: a step recorded as succeeded is not run again (its recorded output flows on), a running
or waiting one runs again, and a suspended one runs again only when the resume targets it.
"""

from __future__ import annotations

import logging
from typing import Any

from engines.core import events as ev
from engines.core.calls import call_quick
from engines.core.context import CancelToken, RunEnv, StepContext
from engines.core.eager import gather_eager, run_eager
from engines.core.engine import Execution
from engines.core.error_codec import error_to_dict, format_traceback
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
from engines.core.recorder import Recorder
from engines.core.results import RunResult, StepResult
from engines.core.schema import copy_json, validate_json
from engines.core.snapshot import path_key, resume_labels, suspended_paths
from engines.core.workflow import Workflow
from engines.default import foreach, nested, sleep
from engines.default.leaf import Attempted, LeafRunner, finished_record
from engines.default.outcome import (
    CANCELED,
    PAUSED,
    SUSPENDED,
    Outcome,
    Scope,
    combine,
    start_payload,
)

log = logging.getLogger("engines.default")

_STEP_END_EVENTS = {
    "success": ev.STEP_SUCCEEDED,
    "failed": ev.STEP_FAILED,
    "suspended": ev.STEP_SUSPENDED,
    "canceled": ev.STEP_CANCELED,
}


class Interpreter:
    """Runs one execution of a workflow to its next stop."""

    def __init__(
        self, workflow: Workflow, execution: Execution, recorder: Recorder, cancel: CancelToken
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
        self.env = RunEnv(
            self.snap.run_id,
            self.snap.resource_id,
            self.snap.state,
            self.snap.context,
            cancel,
            self._lookup,
            self._emit_custom,
        )
        self.leaf = LeafRunner(recorder, self.env)

    def _emit_custom(self, path: tuple[str, ...], data: Any) -> None:
        self.recorder.emit_threadsafe(ev.STEP_PROGRESS, path, {"kind": "custom", "data": data})

    # -- the run ------------------------------------------------------------------------------

    async def run(self) -> RunResult:
        snap = self.snap
        self.recorder.bind()
        now = self.clock()
        snap.status = "running"
        snap.started_at = snap.started_at or now
        snap.finished_at = None
        payload: dict[str, Any] = {"mode": self.execution.mode}
        if self.execution.mode == "start":
            payload.update(
                input=snap.input,
                state=copy_json(snap.state),
                context=copy_json(snap.context),
                resource_id=snap.resource_id,
            )
        if self.resume is not None:
            payload["resume"] = {
                "path": list(self.resume.path),
                "data": self.resume.data,
                "for_each_index": self.resume.for_each_index,
            }
        payload.update(self.execution.started_payload or {})
        self.recorder.emit(ev.RUN_STARTED, (), payload)
        await self.recorder.commit()

        scope = Scope(self.workflow, (), snap.input)
        outcome = await self.run_flow(scope, snap.input)
        await self.finish(outcome)
        return snap.to_result()

    async def finish(self, outcome: Outcome) -> None:
        snap = self.snap
        status = outcome.status
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
        if status in ("success", "failed", "canceled"):
            snap.finished_at = self.clock()
        payload: dict[str, Any] = {}
        if status == "success":
            payload["result"] = snap.result
        elif status == "failed" and snap.error is not None:
            payload["error"] = error_to_dict(snap.error)
        elif status == "suspended":
            payload["suspended"] = snap.suspended
            payload["resume_labels"] = snap.resume_labels
        self.recorder.emit(ev.RUN_STATUS_EVENTS[status], (), payload)
        await self.recorder.commit()

    # -- flows and entries --------------------------------------------------------------------

    async def run_flow(self, scope: Scope, input_data: Any) -> Outcome:
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
            return await self.run_loop(scope, entry, input_data)
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
        recorded = [
            s
            for s in entry.steps
            if (r := self.snap.steps.get(self._key(scope, s.id))) is not None
            and r.status != "skipped"
        ]
        if recorded:
            # Arms chosen before a suspension or crash stay chosen; conditions are not re-run.
            selected = recorded
        else:
            verdicts = await gather_eager(
                [
                    self._condition(scope, cond, input_data, None, swallow=True)
                    for cond, _ in entry.arms
                ]
            )
            if self.cancel.is_set:
                return CANCELED  # a condition saw (or made) the cancel: no arm starts
            selected = [s for (_, s), ok in zip(entry.arms, verdicts, strict=True) if ok]
        if not selected:
            return Outcome("success", {})
        return await self.run_many(scope, selected, input_data)

    async def run_loop(self, scope: Scope, entry: LoopEntry, input_data: Any) -> Outcome:
        step = entry.step
        key = self._key(scope, step.id)
        rec = self.snap.steps.get(key)
        iteration = (rec.iteration or 1) if rec is not None else 1
        if rec is not None and rec.status == "success":
            if rec.loop_done:
                return Outcome("success", rec.output)
            outcome = Outcome("success", rec.output)
        else:
            outcome = await self.run_node(scope, step, input_data, iteration)
        while True:
            if outcome.status != "success":
                return outcome
            try:
                verdict = await self._condition(
                    scope, entry.condition, outcome.output, iteration, swallow=False
                )
            except Exception as exc:
                if self.cancel.is_set:
                    return CANCELED  # the condition raised on the cancel: the cancel wins
                return await self._fail_record(key, exc)
            if self.cancel.is_set:
                return CANCELED
            again = not verdict if entry.until else verdict
            if not again:
                done = self.snap.steps[key]
                self.snap.steps[key] = done.evolve(loop_done=True)
                return outcome
            iteration += 1
            self._forget(key)
            outcome = await self.run_node(scope, step, outcome.output, iteration)

    # -- single nodes -------------------------------------------------------------------------

    async def run_node(
        self, scope: Scope, step: StepLike, input_data: Any, iteration: int | None = None
    ) -> Outcome:
        """Run a step or nested workflow unless its record says it already succeeded."""
        prefix = scope.prefix
        if prefix:
            path = (*prefix, step.id)
            key = path_key(path)
        else:
            key = step.id
            path = (key,)
        rec = self.snap.steps.get(key)
        resuming = False
        resume_data = suspend_data = None
        if rec is not None:
            status = rec.status
            if status == "success" or status == "skipped":
                return Outcome("success", rec.output)
            if status == "suspended":
                if not self._targeted(scope, path):
                    return SUSPENDED
                resuming = True
                input_data = rec.payload
                resume_data = self._resume_data(scope)
            elif status == "failed":
                return Outcome("failed", error=rec.error)
            elif status == "canceled":
                return CANCELED
            else:  # running, waiting or paused: interrupted, run it again
                input_data = rec.payload
                iteration = rec.iteration or iteration
                if rec.resumed_at is not None and not isinstance(step, Workflow):
                    # Interrupted while resumed: it runs again with the same resume data.
                    resuming = True
                    resume_data = rec.resume_payload
        elif self.answer is not None and path == self.answer.path:
            resuming = True
            resume_data = self.answer.data
            self.answer = None
        if isinstance(step, Workflow):
            return await nested.run_nested(
                self, scope, step, path, key, rec, input_data, resuming, iteration
            )
        if self.budget is not None and not self._take_budget():
            return PAUSED
        if self.cancel.is_set:
            return CANCELED
        now = self.clock()
        if resuming and rec is None:
            running = StepResult(
                "running", input_data, started_at=now, iteration=iteration,
                resume_payload=resume_data, resumed_at=now,
            )  # fmt: skip
            self.recorder.emit(
                ev.STEP_STARTED, path, {"input": input_data, "resume_payload": resume_data}
            )
        elif resuming and rec is not None:
            suspend_data = rec.suspend_payload
            running = rec.evolve(
                status="running",
                resume_payload=resume_data,
                resumed_at=now,
                ended_at=None,
                iteration=iteration,
            )
            self.recorder.emit(
                ev.STEP_RESUMED, path, {"input": input_data, "resume_payload": resume_data}
            )
        else:
            running = StepResult("running", input_data, started_at=now, iteration=iteration)
            self.recorder.emit(
                ev.STEP_STARTED,
                path,
                start_payload(input_data, iteration),
            )
        # Staged, not committed: the start is stored with the end, or as soon as the step waits.
        self.recorder.staged[key] = running
        done = await self.leaf.attempts(
            scope, step, path, input_data, resume_data, suspend_data, iteration
        )
        return self._end_leaf(key, path, running, done)

    def _end_leaf(
        self, key: str, path: tuple[str, ...], running: StepResult, done: Attempted
    ) -> Outcome:
        rec = finished_record(running, done, self.clock())
        status = rec.status
        payload: dict[str, Any]
        if status == "success":
            payload = {"output": done.output}
        elif status == "suspended":
            payload = {"suspend_payload": done.suspend_payload, "labels": list(done.labels)}
        elif status == "failed" and done.error is not None:
            payload = {"error": error_to_dict(done.error)}
        else:
            payload = {}
        if done.state_delta:
            payload["state_delta"] = done.state_delta
        if self.recorder.staged:
            self.recorder.staged.pop(key, None)
        self.snap.steps[key] = rec
        # Not committed here: the recorder writes before the run next waits, and at its end.
        self.recorder.emit(_STEP_END_EVENTS[status], path, payload)
        if done.status == "bailed":
            return Outcome("bailed", done.output)
        return Outcome(status, done.output, done.error)

    # -- foreach ------------------------------------------------------------------------------

    # -- sleep --------------------------------------------------------------------------------

    async def sleep_until(self, wake_at: float) -> bool:
        """Wait until `wake_at`; True when the run was cancelled meanwhile."""
        return await self.cancel.wait(max(0.0, wake_at - self.clock()))

    # -- helpers ------------------------------------------------------------------------------

    def _key(self, scope: Scope, step_id: str) -> str:
        return path_key((*scope.prefix, step_id))

    def _lookup(self, prefix: tuple[str, ...], step_id: str) -> Any:
        rec = self.snap.steps.get(path_key((*prefix, step_id)))
        if rec is None or rec.status != "success":
            return None
        return rec.output

    def _take_budget(self) -> bool:
        if self.budget is None:
            return True
        if self.budget <= 0:
            return False
        self.budget -= 1
        return True

    def _targeted(self, scope: Scope, path: tuple[str, ...]) -> bool:
        if scope.forced_resume is not None:
            return True
        target = self.resume
        return target is not None and not target.downstream and target.path[: len(path)] == path

    def _resume_data(self, scope: Scope) -> Any:
        if scope.forced_resume is not None:
            return scope.forced_resume[0]
        return self.resume.data if self.resume is not None else None

    def _forget(self, key: str) -> None:
        """Drop a loop body's record and its nested records before the next iteration."""
        steps = self.snap.steps
        steps.pop(key, None)
        prefix = key + "."
        for k in [k for k in steps if k.startswith(prefix)]:
            del steps[k]

    async def _fail_record(self, key: str, exc: BaseException) -> Outcome:
        rec = self.snap.steps[key]
        self.snap.steps[key] = rec.evolve(
            status="failed", error=exc, traceback=format_traceback(exc), output=None
        )
        self.recorder.emit(ev.STEP_FAILED, tuple(key.split(".")), {"error": error_to_dict(exc)})
        return Outcome("failed", error=exc)

    def _plain_context(self, scope: Scope, input_data: Any, iteration: int | None) -> StepContext:
        """The context of a condition, a map function or a sleep function."""
        return StepContext(
            self.env, scope.flow.id, scope.prefix, scope.prefix, input_data, scope.init,
            retry_count=-1, iteration=iteration,
        )  # fmt: skip

    async def _condition(
        self, scope: Scope, cond: Any, value: Any, iteration: int | None, swallow: bool
    ) -> bool:
        ctx = self._plain_context(scope, value, iteration)
        try:
            return bool(await run_eager(call_quick(cond, ctx), self.recorder.commit_pending))
        except Exception as exc:
            if not swallow:
                raise
            log.warning("branch condition %r raised %r; treated as false", cond, exc)
            return False


__all__ = ["Interpreter"]
