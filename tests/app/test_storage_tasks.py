"""DjangoStorage opens a human task per suspended step (or foreach item) and closes it when the
step is resumed, or cancels it when the run ends without it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from engines import DefaultEngine, Step, StepContext, Workflow
from engines.core.run import Run as EngineRun
from tests.storages import (
    TickingClock,
    sync_thread_connections_closed,  # noqa: F401  (a fixture)
)
from workflows_app.models import HumanTask
from workflows_app.storage import DjangoStorage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sync_thread_connections_closed"),
]


class Decision(BaseModel):
    approved: bool


async def approve(ctx: StepContext) -> dict[str, Any]:
    if ctx.resume_data is None:
        ctx.suspend({"amount": ctx.input_data["amount"]}, label="manager")
    return {"approved": ctx.resume_data.approved}


async def check_item(ctx: StepContext) -> Any:
    if ctx.resume_data is None:
        ctx.suspend({"item": ctx.input_data})
    return ctx.resume_data


approval = Workflow("approval").then(Step("approve", approve, resume_schema=Decision)).commit()


_clock = TickingClock()


def handle(wf: Workflow, run_id: str) -> EngineRun:
    """A handle on `run_id` from a fresh engine (as another process would get); one clock for
    all, so later calls record later times."""
    engine = DefaultEngine(storage=DjangoStorage(), clock=_clock)
    return wf.create_run(engine=engine, run_id=run_id)


def tasks(run_id: str) -> list[HumanTask]:
    return list(HumanTask.objects.filter(run_id=run_id).order_by("path", "for_each_index", "id"))


def test_a_suspended_step_opens_a_task_with_its_label_payload_and_resume_schema() -> None:
    handle(approval, "t1").start_sync(input_data={"amount": 500})

    [task] = tasks("t1")

    assert (task.path, task.label, task.for_each_index) == ("approve", "manager", None)
    assert task.status == HumanTask.OPEN
    assert task.suspend_payload == {"amount": 500}
    assert task.resume_schema == Decision.model_json_schema()
    assert task.closed_at is None


def test_resuming_the_step_closes_its_task_with_the_resume_data() -> None:
    handle(approval, "t2").start_sync(input_data={"amount": 500})

    handle(approval, "t2").resume_sync({"approved": True}, label="manager")

    [task] = tasks("t2")
    assert task.status == HumanTask.RESUMED
    assert task.resume_data == {"approved": True}
    assert task.closed_at is not None
    assert task.closed_at >= task.created_at


def test_canceling_a_suspended_run_cancels_its_open_task() -> None:
    handle(approval, "t3").start_sync(input_data={"amount": 500})

    assert handle(approval, "t3").cancel_sync() is True

    [task] = tasks("t3")
    assert task.status == HumanTask.CANCELED
    assert task.closed_at is not None


def test_a_foreach_opens_one_task_per_suspended_item() -> None:
    wf = Workflow("items").foreach(Step("check", check_item), concurrency=2).commit()

    handle(wf, "t4").start_sync(input_data=["a", "b"])

    assert [(t.path, t.for_each_index, t.suspend_payload) for t in tasks("t4")] == [
        ("check", 0, {"item": "a"}),
        ("check", 1, {"item": "b"}),
    ]


def test_resuming_one_foreach_item_closes_only_its_task() -> None:
    wf = Workflow("items").foreach(Step("check", check_item), concurrency=2).commit()
    handle(wf, "t5").start_sync(input_data=["a", "b"])

    handle(wf, "t5").resume_sync("yes", step="check", for_each_index=1)

    assert [(t.for_each_index, t.status, t.resume_data) for t in tasks("t5")] == [
        (0, HumanTask.OPEN, None),
        (1, HumanTask.RESUMED, "yes"),
    ]


def test_a_suspended_step_of_a_nested_workflow_opens_one_task_at_its_full_path() -> None:
    outer = Workflow("outer").then(approval).commit()

    handle(outer, "t6").start_sync(input_data={"amount": 900})

    [task] = tasks("t6")
    assert (task.path, task.label) == ("approval.approve", "manager")
    assert task.resume_schema == Decision.model_json_schema()


def test_a_step_suspended_again_after_a_resume_opens_a_new_task() -> None:
    async def ask_twice(ctx: StepContext) -> Any:
        if ctx.resume_data != "second":
            ctx.suspend({"round": ctx.resume_data or "first"})
        return "done"

    wf = Workflow("twice").then(Step("ask", ask_twice)).commit()
    handle(wf, "t7").start_sync(input_data={})

    handle(wf, "t7").resume_sync("first")

    assert [t.status for t in tasks("t7")] == [HumanTask.RESUMED, HumanTask.OPEN]
