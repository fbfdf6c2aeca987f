"""`foreach`: one body run per item, `concurrency` at a time, with per-item records."""

from __future__ import annotations

import itertools
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from engines.core import events as ev
from engines.core.calls import call_quick
from engines.core.eager import gather_eager, run_eager
from engines.core.error_codec import format_traceback
from engines.core.errors import WorkflowError
from engines.core.graph import ForeachEntry
from engines.core.results import StepResult
from engines.core.schema import validate_json
from engines.core.snapshot import path_key
from engines.core.workflow import Workflow
from engines.default.leaf import Attempted, finished_record
from engines.default.nested import nested_attempted
from engines.default.outcome import CANCELED, PAUSED, SUSPENDED, Outcome, Scope

if TYPE_CHECKING:
    from engines.default.interpreter import Interpreter


async def _concurrency(
    interp: Interpreter, scope: Scope, entry: ForeachEntry, items: list[Any]
) -> int:
    value: Any = entry.concurrency
    if callable(value):
        value = await run_eager(
            call_quick(value, interp._plain_context(scope, items, None)),
            interp.recorder.commit_pending,
        )
    if not isinstance(value, (int, float)) or value != value or value < 1:
        return 1
    return int(value)


async def run_foreach(
    interp: Interpreter, scope: Scope, entry: ForeachEntry, input_data: Any
) -> Outcome:
    step = entry.step
    path = (*scope.prefix, step.id)
    key = path_key(path)
    snap = interp.snap
    rec = snap.steps.get(key)
    resuming = False
    if rec is not None:
        if rec.status in ("success", "skipped"):
            return Outcome("success", rec.output)
        if rec.status == "failed":
            return Outcome("failed", error=rec.error)
        if rec.status == "canceled":
            return CANCELED
        if rec.status == "suspended":
            if not interp._targeted(scope, path):
                return SUSPENDED
            resuming = True
        input_data = rec.payload
    if not interp._take_budget():
        return PAUSED
    if interp.cancel.is_set:
        return CANCELED
    now = interp.clock()
    if resuming and rec is not None:
        resume_data = interp._resume_data(scope)
        running = rec.evolve(
            status="running", resumed_at=now, resume_payload=resume_data, ended_at=None
        )
        interp.recorder.emit(
            ev.STEP_RESUMED, path, {"input": input_data, "resume_payload": resume_data}
        )
    else:
        running = (
            rec.evolve(status="running")
            if rec is not None
            else StepResult("running", payload=input_data, started_at=now)
        )
        interp.recorder.emit(ev.STEP_STARTED, path, {"input": input_data})
    if not isinstance(input_data, list):
        exc = WorkflowError(
            f"foreach step {step.id!r} needs a list as input, got {type(input_data).__name__}"
        )
        snap.steps[key] = running
        return interp._end_leaf(
            key,
            path,
            running,
            Attempted("failed", error=exc, traceback=format_traceback(exc), attempts=1),
        )
    items: list[Any] = input_data
    states: list[StepResult | None] = list(running.items or [None] * len(items))
    running = running.evolve(items=tuple(states))
    snap.steps[key] = running
    await interp.recorder.commit()

    target_index = (
        interp.resume.for_each_index
        if (resuming and interp.resume is not None and scope.forced_resume is None)
        else None
    )
    todo: list[tuple[int, bool]] = []
    for index, state in enumerate(states):
        if state is None or state.status in ("running", "waiting", "paused"):
            todo.append((index, False))
        elif state.status == "suspended" and resuming and target_index in (None, index):
            todo.append((index, True))

    concurrency = await _concurrency(interp, scope, entry, items)
    total = len(items)
    completed = sum(1 for s in states if s is not None and s.status == "success")
    stop = False
    bailed: list[Any] = []
    resume_value = interp._resume_data(scope) if resuming else None

    def record(index: int, ended: tuple[StepResult, bool]) -> None:
        nonlocal completed, stop
        item_rec, item_bailed = ended
        if item_bailed:
            # A bail ends the workflow; the item itself is recorded as succeeded.
            bailed.append(item_rec.output)
            stop = True
        states[index] = item_rec
        if item_rec.status == "success":
            completed += 1
        else:
            # The first item that does not succeed stops new items; running ones finish.
            stop = True
        interp.recorder.emit(
            ev.STEP_PROGRESS,
            path,
            {
                "kind": "foreach",
                "completed_count": completed,
                "total_count": total,
                "current_index": index,
                "iteration_status": item_rec.status,
                "iteration_output": item_rec.output,
            },
        )

    def launch(index: int, resume_item: bool) -> Coroutine[Any, Any, tuple[StepResult, bool]]:
        return _run_item(
            interp,
            scope,
            step,
            path,
            index,
            items[index],
            states[index],
            resume_item,
            resume_value,
        )

    # Items run in batches of `concurrency` by position; an item before the next batch that
    # did not succeed (a suspended one this resume leaves alone included) stops the loop.
    clean_until = 0

    def blocked(upto: int) -> bool:
        nonlocal clean_until
        for s in states[clean_until:upto]:
            if s is None or s.status != "success":
                return True
        clean_until = max(clean_until, upto)
        return False

    for _, group in itertools.groupby(todo, key=lambda t: t[0] // concurrency):
        batch = list(group)
        if stop or interp.cancel.is_set or blocked(batch[0][0] - batch[0][0] % concurrency):
            break
        if len(batch) == 1:
            record(batch[0][0], await launch(*batch[0]))
        else:
            results = await gather_eager(
                [launch(i, r) for i, r in batch], interp.recorder.commit_pending
            )
            for (index, _), item_rec in zip(batch, results, strict=True):
                record(index, item_rec)

    running = running.evolve(items=tuple(states))
    statuses = [s.status if s is not None else None for s in states]
    if "failed" in statuses:
        failed = next(s for s in states if s is not None and s.status == "failed")
        snap.steps[key] = running
        return interp._end_leaf(
            key,
            path,
            running,
            Attempted("failed", error=failed.error, traceback=failed.traceback, attempts=1),
        )
    if bailed:
        snap.steps[key] = running
        return interp._end_leaf(
            key, path, running, Attempted("bailed", output=bailed[0], attempts=1)
        )
    if interp.cancel.is_set or "canceled" in statuses:
        snap.steps[key] = running
        return interp._end_leaf(key, path, running, Attempted("canceled", attempts=1))
    if "suspended" in statuses or None in statuses or "paused" in statuses:
        # Item labels stay on the item records, where resume_labels() finds their index.
        first = next((s for s in states if s is not None and s.status == "suspended"), None)
        snap.steps[key] = running
        return interp._end_leaf(
            key,
            path,
            running,
            Attempted(
                "suspended", suspend_payload=first.suspend_payload if first else None, attempts=1
            ),
        )
    output = [s.output if s is not None else None for s in states]
    snap.steps[key] = running
    return interp._end_leaf(key, path, running, Attempted("success", output=output, attempts=1))


async def _run_item(
    interp: Interpreter,
    scope: Scope,
    step: Any,
    path: tuple[str, ...],
    index: int,
    item: Any,
    previous: StepResult | None,
    resume_item: bool,
    resume_value: Any,
) -> tuple[StepResult, bool]:
    """Run one item; returns its record and whether it bailed."""
    started = previous.started_at if previous is not None and previous.started_at else None
    if started is None:
        started = interp.clock()
    resume_data = resume_value if resume_item else None
    base = StepResult(
        "running",
        payload=item,
        started_at=started,
        resume_payload=resume_data if resume_item or previous is None else previous.resume_payload,
    )
    if isinstance(step, Workflow):
        done = await _run_nested_item(interp, scope, step, index, item, resume_item, resume_value)
    else:
        suspend_data = previous.suspend_payload if resume_item and previous is not None else None
        done = await interp.leaf.attempts(
            scope, step, path, item, resume_data, suspend_data, emit_retries=False
        )
    return finished_record(base, done, interp.clock()), done.status == "bailed"


async def _run_nested_item(
    interp: Interpreter,
    scope: Scope,
    wf: Workflow,
    index: int,
    item: Any,
    resume_item: bool,
    resume_value: Any,
) -> Attempted:
    item_prefix = (*scope.prefix, f"{wf.id}[{index}]")
    try:
        nested_input = validate_json(wf.input_schema, item, f"input of workflow {wf.id!r}")
    except Exception as exc:
        return Attempted("failed", error=exc, traceback=format_traceback(exc), attempts=1)
    forced = (resume_value,) if resume_item else None
    inner = Scope(wf, item_prefix, nested_input, forced)
    outcome = await interp.run_flow(inner, nested_input)
    return nested_attempted(interp, wf, item_prefix, outcome)
