"""Catalog section 17: the lifecycle callbacks `on_finish` and `on_error`.

`on_finish` fires on every stop of an execution except `paused`; `on_error` fires on `failed`,
after `on_finish`. Both receive the `RunResult`; async callbacks are awaited before the call
returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from engines import RunResult, StepContext, Workflow, step
from engines.core.engine import Engine
from engines.testing import Calls


@step(id="step1")
async def succeeding_step(ctx: StepContext) -> dict[str, Any]:
    return {"result": "success"}


@step(id="step1")
async def failing_step(ctx: StepContext) -> dict[str, Any]:
    raise RuntimeError("Test error")


@step(id="approval")
async def suspending_step(ctx: StepContext) -> dict[str, Any]:
    if ctx.resume_data is None:
        ctx.suspend({"reason": "needs approval"})
    return {"approved": True}


def recorder(into: list[RunResult]) -> Callable[[RunResult], None]:
    """A callback that keeps every result it receives."""
    return into.append


def succeeding_workflow(workflow_id: str, **callbacks: Any) -> Workflow:
    return Workflow(workflow_id, **callbacks).then(succeeding_step).commit()


def failing_workflow(workflow_id: str, **callbacks: Any) -> Workflow:
    return Workflow(workflow_id, **callbacks).then(failing_step).commit()


async def test_cb1_on_finish_is_called_once_when_the_workflow_succeeds(
    engine: Engine, calls: Calls
) -> None:
    """CB1: a successful run calls on_finish exactly once."""
    wf = succeeding_workflow("callback-on-finish", on_finish=lambda r: calls.hit("on_finish"))

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert calls["on_finish"] == 1


async def test_cb2_on_error_is_called_once_when_the_workflow_fails(
    engine: Engine, calls: Calls
) -> None:
    """CB2: a run whose step raises ends failed and calls on_error exactly once."""
    wf = failing_workflow("callback-on-error", on_error=lambda r: calls.hit("on_error"))

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "failed"
    assert calls["on_error"] == 1


async def test_cb3_on_finish_receives_the_run_result(engine: Engine) -> None:
    """CB3: on_finish receives the run's result, with status success."""
    received: list[RunResult] = []
    wf = succeeding_workflow("callback-result", on_finish=recorder(received))

    await wf.create_run(engine=engine).start(input_data={})

    [result] = received
    assert isinstance(result, RunResult)
    assert result.status == "success"
    assert result.result == {"result": "success"}


async def test_cb4_on_error_is_not_called_when_the_workflow_succeeds(
    engine: Engine, calls: Calls
) -> None:
    """CB4: a successful run never calls on_error."""
    wf = succeeding_workflow("callback-no-error", on_error=lambda r: calls.hit("on_error"))

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert calls["on_error"] == 0


async def test_cb5_a_failed_run_calls_both_on_finish_and_on_error(
    engine: Engine, calls: Calls
) -> None:
    """CB5: a failed run calls on_finish once and on_error once."""
    wf = failing_workflow(
        "callback-both",
        on_finish=lambda r: calls.hit("on_finish"),
        on_error=lambda r: calls.hit("on_error"),
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "failed"
    assert calls["on_finish"] == 1
    assert calls["on_error"] == 1


async def test_cb5_on_error_runs_after_on_finish(engine: Engine) -> None:
    """CB5: when a run fails, on_finish is called first and on_error after it."""
    order: list[str] = []
    wf = failing_workflow(
        "callback-order",
        on_finish=lambda r: order.append("on_finish"),
        on_error=lambda r: order.append("on_error"),
    )

    await wf.create_run(engine=engine).start(input_data={})

    assert order == ["on_finish", "on_error"]


async def test_cb6_an_async_on_finish_is_awaited_before_start_returns(
    engine: Engine, calls: Calls
) -> None:
    """CB6: an async on_finish has finished (its flag is set) by the time start() returns."""
    finished = {"flag": False}

    async def on_finish(result: RunResult) -> None:
        calls.hit("on_finish")
        await asyncio.sleep(0.01)
        finished["flag"] = True

    wf = succeeding_workflow("callback-async-finish", on_finish=on_finish)

    await wf.create_run(engine=engine).start(input_data={})

    assert calls["on_finish"] == 1
    assert finished["flag"] is True


async def test_cb7_an_async_on_error_is_awaited_before_start_returns(
    engine: Engine, calls: Calls
) -> None:
    """CB7: an async on_error has finished (its flag is set) by the time start() returns."""
    finished = {"flag": False}

    async def on_error(result: RunResult) -> None:
        calls.hit("on_error")
        await asyncio.sleep(0.01)
        finished["flag"] = True

    wf = failing_workflow("callback-async-error", on_error=on_error)

    await wf.create_run(engine=engine).start(input_data={})

    assert calls["on_error"] == 1
    assert finished["flag"] is True


async def test_cb8_on_finish_receives_the_run_id(engine: Engine) -> None:
    """CB8: the result given to on_finish carries the custom run id passed to create_run."""
    received: list[RunResult] = []
    wf = succeeding_workflow("callback-runid", on_finish=recorder(received))

    await wf.create_run(engine=engine, run_id="custom-run-id-cb8").start(input_data={})

    assert [r.run_id for r in received] == ["custom-run-id-cb8"]


async def test_cb9_on_finish_receives_the_workflow_id(engine: Engine) -> None:
    """CB9: the result given to on_finish carries the workflow's id."""
    received: list[RunResult] = []
    wf = succeeding_workflow("callback-workflowid-workflow", on_finish=recorder(received))

    await wf.create_run(engine=engine).start(input_data={})

    assert [r.workflow_id for r in received] == ["callback-workflowid-workflow"]


class CounterState(BaseModel):
    counter: int


@step(id="increment")
async def increment_counter(ctx: StepContext) -> dict[str, Any]:
    ctx.set_state({"counter": ctx.state["counter"] + 1})
    return {"done": True}


@step(id="increment-then-fail")
async def increment_then_fail(ctx: StepContext) -> dict[str, Any]:
    raise RuntimeError("fails after the state was set by an earlier step")


async def test_cb10_on_finish_receives_the_final_state(engine: Engine) -> None:
    """CB10: on_finish sees the state as the steps left it (counter 0 -> 1)."""
    received: list[RunResult] = []
    wf = (
        Workflow("callback-state", state_schema=CounterState, on_finish=recorder(received))
        .then(increment_counter)
        .commit()
    )

    await wf.create_run(engine=engine).start(input_data={}, initial_state={"counter": 0})

    [result] = received
    assert result.state["counter"] == 1


async def test_cb11_on_finish_receives_the_resource_id(engine: Engine) -> None:
    """CB11: the result given to on_finish carries the resource id passed to create_run."""
    received: list[RunResult] = []
    wf = succeeding_workflow("callback-resourceid", on_finish=recorder(received))

    await wf.create_run(engine=engine, resource_id="user-cb11").start(input_data={})

    assert [r.resource_id for r in received] == ["user-cb11"]


async def test_cb12_on_error_receives_the_run_id(engine: Engine) -> None:
    """CB12: the result given to on_error carries the custom run id."""
    received: list[RunResult] = []
    wf = failing_workflow("callback-error-runid", on_error=recorder(received))

    await wf.create_run(engine=engine, run_id="custom-run-id-cb12").start(input_data={})

    assert [r.run_id for r in received] == ["custom-run-id-cb12"]


async def test_cb13_on_error_receives_the_workflow_id(engine: Engine) -> None:
    """CB13: the result given to on_error carries the workflow's id."""
    received: list[RunResult] = []
    wf = failing_workflow("callback-error-workflowid-workflow", on_error=recorder(received))

    await wf.create_run(engine=engine).start(input_data={})

    assert [r.workflow_id for r in received] == ["callback-error-workflowid-workflow"]


async def test_cb14_on_finish_is_called_with_suspended_status(engine: Engine) -> None:
    """CB14: when a step suspends, on_finish is called with status suspended."""
    received: list[RunResult] = []
    wf = Workflow("callback-suspended", on_finish=recorder(received)).then(suspending_step).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "suspended"
    assert [r.status for r in received] == ["suspended"]


async def test_cb15_on_finish_can_read_the_init_data(engine: Engine) -> None:
    """CB15: get_init_data() in on_finish returns the workflow input."""
    seen: list[Any] = []
    wf = succeeding_workflow(
        "callback-init-finish", on_finish=lambda r: seen.append(r.get_init_data())
    )

    await wf.create_run(engine=engine).start(input_data={"userId": "user-123"})

    assert seen == [{"userId": "user-123"}]


async def test_cb16_on_error_can_read_the_init_data(engine: Engine) -> None:
    """CB16: get_init_data() in on_error returns the workflow input."""
    seen: list[Any] = []
    wf = failing_workflow("callback-init-error", on_error=lambda r: seen.append(r.get_init_data()))

    await wf.create_run(engine=engine).start(input_data={"userId": "user-456"})

    assert seen == [{"userId": "user-456"}]


async def test_cb17_on_finish_gets_a_logger(engine: Engine) -> None:
    """CB17: the result given to on_finish has a logger with info and error methods."""
    received: list[RunResult] = []
    wf = succeeding_workflow("callback-logger-finish", on_finish=recorder(received))

    await wf.create_run(engine=engine).start(input_data={})

    [result] = received
    assert callable(result.logger.info)
    assert callable(result.logger.error)


async def test_cb18_on_error_gets_a_logger(engine: Engine) -> None:
    """CB18: the result given to on_error has a logger with info and error methods."""
    received: list[RunResult] = []
    wf = failing_workflow("callback-logger-error", on_error=recorder(received))

    await wf.create_run(engine=engine).start(input_data={})

    [result] = received
    assert callable(result.logger.info)
    assert callable(result.logger.error)


async def test_cb19_on_finish_receives_the_runtime_context(engine: Engine) -> None:
    """CB19: the runtime context given to start() is visible to on_finish."""
    received: list[RunResult] = []
    wf = succeeding_workflow("callback-context-finish", on_finish=recorder(received))

    await wf.create_run(engine=engine).start(input_data={}, context={"customKey": "customValue"})

    [result] = received
    assert result.context.get("customKey") == "customValue"


async def test_cb20_on_error_receives_the_runtime_context(engine: Engine) -> None:
    """CB20: the runtime context given to start() is visible to on_error."""
    received: list[RunResult] = []
    wf = failing_workflow("callback-context-error", on_error=recorder(received))

    await wf.create_run(engine=engine).start(input_data={}, context={"errorKey": "errorValue"})

    [result] = received
    assert result.context.get("errorKey") == "errorValue"


# The "(newer)" row: Mastra's `mastra` handle has no Stepback equivalent, so CB21/CB22 check the
# step records the callbacks receive instead; CB23/CB24 are resourceId and state in onError.


async def test_cb21_on_finish_receives_the_step_records(engine: Engine) -> None:
    """CB21: on_finish receives the run's step records (instead of Mastra's `mastra` handle)."""
    received: list[RunResult] = []
    wf = succeeding_workflow("callback-steps-finish", on_finish=recorder(received))

    await wf.create_run(engine=engine).start(input_data={})

    [result] = received
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"result": "success"}


async def test_cb22_on_error_receives_the_failed_step_and_the_error(engine: Engine) -> None:
    """CB22: on_error receives the failed step record and the run error (instead of `mastra`)."""
    received: list[RunResult] = []
    wf = failing_workflow("callback-steps-error", on_error=recorder(received))

    await wf.create_run(engine=engine).start(input_data={})

    [result] = received
    assert result.status == "failed"
    assert result.steps["step1"].status == "failed"
    assert result.error is not None
    assert type(result.error).__name__ == "RuntimeError"
    assert str(result.error) == "Test error"


async def test_cb23_on_error_receives_the_resource_id(engine: Engine) -> None:
    """CB23: the result given to on_error carries the resource id passed to create_run."""
    received: list[RunResult] = []
    wf = failing_workflow("callback-error-resourceid", on_error=recorder(received))

    await wf.create_run(engine=engine, resource_id="user-cb23").start(input_data={})

    assert [r.resource_id for r in received] == ["user-cb23"]


async def test_cb24_on_error_receives_the_state(engine: Engine) -> None:
    """CB24: on_error sees the state left by the steps that ran before the failure."""
    received: list[RunResult] = []
    wf = (
        Workflow("callback-error-state", state_schema=CounterState, on_error=recorder(received))
        .then(increment_counter)
        .then(increment_then_fail)
        .commit()
    )

    await wf.create_run(engine=engine).start(input_data={}, initial_state={"counter": 0})

    [result] = received
    assert result.status == "failed"
    assert result.state["counter"] == 1
