"""Loops, retries and retry counts (catalog sections 8, 10 and 21: L1-L4, R1-R3, RC1-RC2)."""

from engines import Engine, Step, StepContext, Workflow, step
from engines.testing import Calls

# -- loops -------------------------------------------------------------------------------------


def counting_loop_workflow(calls: Calls, wf_id: str, until: bool) -> Workflow:
    """increment (value + 1) looped until value >= 12 (or while value < 12) -> final."""

    @step(id="increment")
    async def increment(ctx: StepContext) -> dict:
        calls.hit("increment", ctx.input_data)
        return {"value": ctx.input_data["value"] + 1}

    @step(id="final")
    async def final(ctx: StepContext) -> dict:
        calls.hit("final")
        return {"finalValue": ctx.input_data["value"]}

    wf = Workflow(wf_id)
    if until:
        wf.dountil(increment, lambda ctx: ctx.input_data["value"] >= 12)
    else:
        wf.dowhile(increment, lambda ctx: ctx.input_data["value"] < 12)
    return wf.then(final).commit()


async def test_l1_until_loop_repeats_until_the_condition_holds(
    engine: Engine, calls: Calls
) -> None:
    """L1: dountil runs the body until value reaches 12; the record keeps the last output."""
    wf = counting_loop_workflow(calls, "loop-until", until=True)

    result = await wf.create_run(engine=engine).start(input_data={"target": 10, "value": 0})

    assert result.status == "success"
    assert result.result == {"finalValue": 12}
    assert result.steps["increment"].output == {"value": 12}
    assert result.steps["final"].status == "success"
    assert result.steps["final"].output == {"finalValue": 12}
    assert calls["increment"] == 12
    assert calls["final"] == 1


async def test_l2_while_loop_repeats_while_the_condition_holds(
    engine: Engine, calls: Calls
) -> None:
    """L2: dowhile runs the body while value is below 12; the record keeps the last output."""
    wf = counting_loop_workflow(calls, "loop-while", until=False)

    result = await wf.create_run(engine=engine).start(input_data={"target": 10, "value": 0})

    assert result.status == "success"
    assert result.result == {"finalValue": 12}
    assert result.steps["increment"].output == {"value": 12}
    assert result.steps["final"].status == "success"
    assert result.steps["final"].output == {"finalValue": 12}
    assert calls["increment"] == 12


async def test_l3_loop_body_runs_once_when_condition_is_already_met(
    engine: Engine, calls: Calls
) -> None:
    """L3: a do-while body runs once before its condition is first checked."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"count": ctx.input_data["count"] + 1}

    wf = (
        Workflow("loop-exit-immediately")
        .dowhile(step1, lambda ctx: ctx.input_data["count"] < 10)
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={"count": 10})

    assert result.status == "success"
    assert result.steps["step1"].output == {"count": 11}
    assert calls["step1"] == 1


async def test_l4_each_iteration_receives_the_previous_output(engine: Engine, calls: Calls) -> None:
    """L4: data accumulates across iterations because each one gets the previous output."""

    @step(id="accumulate")
    async def accumulate(ctx: StepContext) -> dict:
        calls.hit("accumulate", ctx.iteration)
        count = ctx.input_data.get("count", 0) + 1
        return {"count": count, "items": [*ctx.input_data.get("items", []), f"item-{count}"]}

    async def three_done(ctx: StepContext) -> bool:
        return ctx.input_data["count"] >= 3

    wf = Workflow("loop-accumulate").dountil(accumulate, three_done).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert result.result["count"] == 3
    assert result.result["items"] == ["item-1", "item-2", "item-3"]
    assert calls["accumulate"] == 3


# -- retries -----------------------------------------------------------------------------------


def retry_workflow(
    calls: Calls, wf_id: str, step_retries: int | None, **wf_options: object
) -> Workflow:
    """step1 succeeds, step2 always raises 'Step failed'."""

    async def succeed(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"result": "success"}

    async def fail(ctx: StepContext) -> dict:
        calls.hit("step2", ctx.retry_count)
        raise RuntimeError("Step failed")

    step1 = Step("step1", succeed, retries=step_retries)
    step2 = Step("step2", fail, retries=step_retries)
    return Workflow(wf_id, **wf_options).then(step1).then(step2).commit()


async def test_r1_steps_are_not_retried_by_default(engine: Engine, calls: Calls) -> None:
    """R1: without retry settings a failing step runs once and the run fails."""
    wf = retry_workflow(calls, "retry-default", None)

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "failed"
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"result": "success"}
    assert result.steps["step1"].payload == {}
    failed = result.steps["step2"]
    assert failed.status == "failed"
    assert failed.payload == {"result": "success"}
    assert type(failed.error).__name__ == "RuntimeError"
    assert "Step failed" in str(failed.error)
    assert calls["step1"] == 1
    assert calls["step2"] == 1


async def test_r2_workflow_retry_setting_retries_a_failing_step(
    engine: Engine, calls: Calls
) -> None:
    """R2: workflow retries=5 runs a failing step six times, with retry counts 0 to 5."""
    wf = retry_workflow(calls, "retry-workflow-config", None, retries=5, retry_delay=0.01)

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "failed"
    assert result.steps["step2"].status == "failed"
    assert calls["step1"] == 1
    assert calls["step2"] == 6
    assert calls.args["step2"] == [0, 1, 2, 3, 4, 5]


async def test_r3_step_retries_override_the_workflow_setting(engine: Engine, calls: Calls) -> None:
    """R3: step-level retries=5 win over workflow retries=10: the failing step runs six times."""
    wf = retry_workflow(calls, "retry-step-override", 5, retries=10, retry_delay=0.01)

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "failed"
    assert result.steps["step2"].status == "failed"
    assert calls["step1"] == 1
    assert calls["step2"] == 6


# -- retry counts ------------------------------------------------------------------------------


async def test_rc1_retry_count_is_zero_on_the_first_attempt(engine: Engine, calls: Calls) -> None:
    """RC1: each step of a fresh run sees retry_count 0 and runs once."""

    def counting(step_id: str) -> Step:
        async def execute(ctx: StepContext) -> dict:
            calls.hit(step_id, ctx.retry_count)
            return {"count": ctx.retry_count}

        return Step(step_id, execute)

    wf = Workflow("run-count").then(counting("step1")).then(counting("step2")).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert calls.args["step1"] == [0]
    assert calls.args["step2"] == [0]
    assert result.steps["step1"].output == {"count": 0}
    assert result.steps["step2"].output == {"count": 0}


async def test_rc2_steps_in_different_loops_count_separately(engine: Engine, calls: Calls) -> None:
    """RC2: a do-while then a do-until loop each advance their own count."""

    def increment(step_id: str) -> Step:
        async def execute(ctx: StepContext) -> dict:
            calls.hit(step_id)
            return {"count": ctx.input_data["count"] + 1}

        return Step(step_id, execute)

    wf = (
        Workflow("retry-count-loops")
        .dowhile(increment("step1"), lambda ctx: ctx.input_data["count"] < 3)
        .dountil(increment("step2"), lambda ctx: ctx.input_data["count"] == 10)
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={"count": 0})

    assert result.status == "success"
    assert result.steps["step1"].output == {"count": 3}
    assert result.steps["step2"].output == {"count": 10}
    assert calls["step1"] == 3
    assert calls["step2"] == 7
