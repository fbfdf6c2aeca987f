"""Suspend and resume inside foreach (catalog section 13, rows SR21-SR26)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from engines import StepContext, Workflow, step
from engines.testing import Calls


class Value(BaseModel):
    value: int


class ResumeValue(BaseModel):
    resumeValue: int


def _foreach_workflow(
    calls: Calls,
    wf_id: str,
    concurrency: int,
    suspends: Callable[[int], bool],
    label_for: Callable[[int], str] | None = None,
) -> Workflow:
    """foreach(map) -> final: `map` suspends an item when `suspends(value)` until resumed, then
    returns value + 11 + resumeValue; `final` sums the item values."""

    @step(id="map", input_schema=Value, resume_schema=ResumeValue)
    async def map_item(ctx: StepContext) -> dict:
        value = ctx.input_data.value
        calls.hit("map", value)
        if ctx.resume_data is None and suspends(value):
            ctx.suspend({}, label=label_for(value) if label_for else None)
        extra = ctx.resume_data.resumeValue if ctx.resume_data is not None else 0
        return {"value": value + 11 + extra}

    @step(id="final")
    async def final(ctx: StepContext) -> dict:
        calls.hit("final")
        return {"finalValue": sum(item["value"] for item in ctx.input_data)}

    return (
        Workflow(wf_id, input_schema=list[Value])
        .foreach(map_item, concurrency=concurrency)
        .then(final)
        .commit()
    )


def _always(value: int) -> bool:
    return True


def _above_five(value: int) -> bool:
    return value > 5


async def test_sr21_foreach_items_suspend_and_resume_one_after_another(
    engine, calls: Calls
) -> None:
    """SR21: with concurrency 1 each resume without an index finishes one item, then the next."""
    wf = _foreach_workflow(calls, "foreach-suspend-workflow", 1, _always)
    run = wf.create_run(engine=engine, run_id="sr21-run")

    started = await run.start(input_data=[{"value": 1}, {"value": 22}, {"value": 333}])
    assert started.status == "suspended"
    assert calls.args["map"] == [1]

    first = await run.resume(resume_data={"resumeValue": 0})
    assert first.status == "suspended"
    second = await run.resume(resume_data={"resumeValue": 5})
    assert second.status == "suspended"
    third = await run.resume(resume_data={"resumeValue": 0})
    assert third.status == "success"

    assert third.steps["map"].status == "success"
    assert third.steps["map"].output == [{"value": 12}, {"value": 38}, {"value": 344}]
    assert third.steps["final"].status == "success"
    assert third.steps["final"].output == {"finalValue": 394}
    assert calls["final"] == 1


async def test_sr22_one_resume_resumes_every_suspended_concurrent_item(
    engine, calls: Calls
) -> None:
    """SR22: with concurrency 3, one resume without an index resumes all suspended items."""
    wf = _foreach_workflow(calls, "foreach-concurrent-suspend-workflow", 3, _above_five)
    run = wf.create_run(engine=engine, run_id="sr22-run")

    started = await run.start(input_data=[{"value": 22}, {"value": 1}, {"value": 333}])
    assert started.status == "suspended"

    resumed = await run.resume(resume_data={"resumeValue": 5})
    assert resumed.status == "success"
    assert resumed.steps["map"].status == "success"
    assert resumed.steps["map"].output == [{"value": 38}, {"value": 12}, {"value": 349}]
    assert resumed.steps["final"].output == {"finalValue": 399}
    assert calls.args["map"].count(1) == 1


async def test_sr23_resume_foreach_items_by_index(engine, calls: Calls) -> None:
    """SR23: for_each_index resumes only that item; the run finishes once all are resumed."""
    wf = _foreach_workflow(calls, "foreach-index-suspend-workflow", 3, _always)
    run = wf.create_run(engine=engine, run_id="sr23-run")

    started = await run.start(input_data=[{"value": 1}, {"value": 22}, {"value": 333}])
    assert started.status == "suspended"

    first = await run.resume(resume_data={"resumeValue": 100}, for_each_index=0)
    assert first.status == "suspended"
    second = await run.resume(resume_data={"resumeValue": 200}, for_each_index=1)
    assert second.status == "suspended"
    third = await run.resume(resume_data={"resumeValue": 300}, for_each_index=2)
    assert third.status == "success"

    assert third.steps["map"].output == [{"value": 112}, {"value": 233}, {"value": 644}]
    assert third.steps["final"].output == {"finalValue": 989}
    items = third.steps["map"].items or ()
    # Each item's record keeps what it was resumed with (the audit of who answered what).
    assert [i.resume_payload for i in items if i is not None] == [
        {"resumeValue": 100},
        {"resumeValue": 200},
        {"resumeValue": 300},
    ]


async def test_sr24_resume_foreach_items_by_label(engine, calls: Calls) -> None:
    """SR24: each concurrent item suspends with its own label; labels resume items in any order."""
    labels = {1: "foreach-label-0", 22: "foreach-label-1", 333: "foreach-label-2"}
    wf = _foreach_workflow(
        calls, "foreach-label-suspend-workflow", 3, _always, label_for=labels.__getitem__
    )
    run = wf.create_run(engine=engine, run_id="sr24-run")

    started = await run.start(input_data=[{"value": 1}, {"value": 22}, {"value": 333}])
    assert started.status == "suspended"

    first = await run.resume(resume_data={"resumeValue": 5}, label="foreach-label-2")
    assert first.status == "suspended"
    second = await run.resume(resume_data={"resumeValue": 0}, label="foreach-label-1")
    assert second.status == "suspended"
    third = await run.resume(resume_data={"resumeValue": 3}, label="foreach-label-0")
    assert third.status == "success"

    assert third.steps["map"].output == [{"value": 15}, {"value": 33}, {"value": 349}]
    assert third.steps["final"].output == {"finalValue": 397}


FIVE_ITEMS = [{"value": 22}, {"value": 1}, {"value": 333}, {"value": 444}, {"value": 1000}]


async def test_sr25_partial_concurrency_foreach_resumes_in_batches(engine, calls: Calls) -> None:
    """SR25: five items, concurrency 3: two resumes without an index finish every item."""
    wf = _foreach_workflow(calls, "foreach-partial-suspend-workflow", 3, _above_five)
    run = wf.create_run(engine=engine, run_id="sr25-run")

    started = await run.start(input_data=FIVE_ITEMS)
    assert started.status == "suspended"

    first = await run.resume(resume_data={"resumeValue": 5})
    assert first.status == "suspended"
    second = await run.resume(resume_data={"resumeValue": 5})
    assert second.status == "success"

    assert second.steps["map"].output == [
        {"value": 38},
        {"value": 12},
        {"value": 349},
        {"value": 460},
        {"value": 1016},
    ]
    assert second.steps["final"].output == {"finalValue": 1875}


async def test_sr26_partial_concurrency_foreach_resumes_by_index(engine, calls: Calls) -> None:
    """SR26: five items, concurrency 3: resuming indexes 2, 0, 3, 4 in turn finishes the run."""
    wf = _foreach_workflow(calls, "foreach-partial-index-suspend-workflow", 3, _above_five)
    run = wf.create_run(engine=engine, run_id="sr26-run")

    started = await run.start(input_data=FIVE_ITEMS)
    assert started.status == "suspended"

    statuses = []
    last = started
    for index, extra in ((2, 5), (0, 3), (3, 2), (4, 8)):
        last = await run.resume(resume_data={"resumeValue": extra}, for_each_index=index)
        statuses.append(last.status)
    assert statuses == ["suspended", "suspended", "suspended", "success"]

    assert last.steps["map"].output == [
        {"value": 36},
        {"value": 12},
        {"value": 349},
        {"value": 457},
        {"value": 1019},
    ]
    assert last.steps["final"].output == {"finalValue": 1873}
