"""Time travel can answer a human step downstream.

`time_travel(step, resume_data=...)` where `step` precedes a step that was suspended in the
source run re-executes from `step`; when the re-execution reaches the suspended step, that step
is handed `resume_data` (validated against its resume schema) instead of suspending again. When
the target itself is suspended, the data resumes it, as before.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from engines import InvalidRunStateError, StepContext, ValidationError, Workflow, step
from engines.testing import Calls


class Amount(BaseModel):
    amount: int


class Decision(BaseModel):
    approved: bool


def _steps(calls: Calls) -> tuple[Any, Any, Any]:
    @step(id="prepare", input_schema=Amount)
    async def prepare(ctx: StepContext) -> dict[str, int]:
        calls.hit("prepare", ctx.input_data.amount)
        return {"amount": ctx.input_data.amount}

    @step(id="approve", resume_schema=Decision)
    async def approve(ctx: StepContext) -> dict[str, Any]:
        calls.hit("approve", ctx.resume_data)
        if ctx.resume_data is None:
            ctx.suspend({"question": f"approve {ctx.input_data['amount']}?"})
        return {"amount": ctx.input_data["amount"], "approved": ctx.resume_data.approved}

    @step(id="book")
    async def book(ctx: StepContext) -> dict[str, Any]:
        calls.hit("book")
        return {"booked": ctx.input_data["amount"] if ctx.input_data["approved"] else 0}

    return prepare, approve, book


def _expense(wf_id: str, calls: Calls) -> Workflow:
    prepare, approve, book = _steps(calls)
    return Workflow(wf_id, input_schema=Amount).then(prepare).then(approve).then(book).commit()


async def test_time_travel_hands_resume_data_to_a_suspended_step_downstream(
    engine: Any, calls: Calls
) -> None:
    """The fork re-runs `prepare` with the new input and `approve` takes the answer."""
    wf = _expense("tt-answer", calls)
    run = wf.create_run(engine=engine)
    source = await run.start(input_data={"amount": 50})
    assert source.status == "suspended"

    fork = await run.time_travel(
        "prepare", input_data={"amount": 80}, resume_data={"approved": True}
    )

    assert fork.status == "success"
    assert fork.result == {"booked": 80}
    assert calls.args["prepare"] == [50, 80]
    assert fork.steps["approve"].status == "success"
    assert fork.steps["approve"].resume_payload == {"approved": True}
    assert calls.args["approve"][-1] == Decision(approved=True)
    stored_source = await engine.storage.load(run.run_id)
    assert stored_source.status == "suspended"


async def test_time_travel_answers_a_suspended_step_inside_a_nested_workflow(
    engine: Any, calls: Calls
) -> None:
    """The suspended step sits in a nested workflow after the target: it is answered too."""
    prepare, approve, book = _steps(calls)
    inner = Workflow("tt-answer-inner").then(approve).then(book).commit()
    wf = Workflow("tt-answer-nested", input_schema=Amount).then(prepare).then(inner).commit()
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={"amount": 5})).suspended == [["tt-answer-inner", "approve"]]

    fork = await run.time_travel("prepare", resume_data={"approved": False})

    assert fork.status == "success"
    assert fork.result == {"booked": 0}
    assert calls["book"] == 1


async def test_time_travel_validates_the_answer_against_the_downstream_resume_schema(
    engine: Any, calls: Calls
) -> None:
    """Bad resume data is refused with a ValidationError, and no fork is recorded."""
    wf = _expense("tt-answer-invalid", calls)
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={"amount": 50})).status == "suspended"
    runs_before = (await engine.storage.list_runs(workflow_id="tt-answer-invalid")).total

    with pytest.raises(ValidationError) as refused:
        await run.time_travel("prepare", resume_data={"approved": "perhaps"})

    assert [e["path"] for e in refused.value.errors] == ["approved"]
    assert (await engine.storage.list_runs(workflow_id="tt-answer-invalid")).total == runs_before
    assert calls.args["prepare"] == [50]


async def test_time_travel_with_resume_data_still_resumes_a_suspended_target(
    engine: Any, calls: Calls
) -> None:
    """Targeting the suspended step itself resumes it with the data, as before."""
    wf = _expense("tt-answer-target", calls)
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={"amount": 50})).status == "suspended"

    fork = await run.time_travel("approve", resume_data={"approved": True})

    assert fork.status == "success"
    assert fork.result == {"booked": 50}
    assert calls["prepare"] == 1


async def test_time_travel_resume_data_without_a_suspended_step_is_still_refused(
    engine: Any, calls: Calls
) -> None:
    """No step of the source is suspended at or after the target: InvalidRunStateError."""
    wf = _expense("tt-answer-none", calls)
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={"amount": 50})).status == "suspended"
    done = await run.resume({"approved": True})
    assert done.status == "success"

    with pytest.raises(InvalidRunStateError):
        await run.time_travel("prepare", resume_data={"approved": True})


async def test_time_travel_to_a_suspended_step_without_resume_data_runs_it_again(
    engine: Any, calls: Calls
) -> None:
    """Without resume data the suspended target re-executes (and asks again), as the plan
    preview says, instead of the fork stopping at once on the copied suspension."""
    wf = _expense("tt-answer-rerun", calls)
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={"amount": 50})).status == "suspended"

    fork = await run.time_travel("approve", input_data={"amount": 70})

    assert fork.status == "suspended"
    assert calls.args["approve"] == [None, None]
    assert fork.steps["approve"].suspend_payload == {"question": "approve 70?"}
