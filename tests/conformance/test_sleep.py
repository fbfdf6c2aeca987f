"""Sleep and sleep_until entries (catalog section 14, rows T1-T6), scaled from ms to 0.1 s."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from engines import Step, StepContext, Workflow
from engines.testing import Calls

SLEEP = 0.1
SHORT_SLEEP = 0.05
# Timers may fire a hair early on some platforms; the catalog allows 90 ms for a 100 ms sleep.
SLACK = 0.9


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _constant(step_id: str, value: dict[str, Any], calls: Calls) -> Step:
    async def execute(ctx: StepContext) -> dict[str, Any]:
        calls.hit(step_id)
        return dict(value)

    return Step(step_id, execute)


async def test_t1_a_sleep_entry_waits_and_passes_its_input_through(
    engine: Any, calls: Calls
) -> None:
    """T1: sleep(0.1) delays the run and hands step1's output to step2 unchanged."""

    async def after(ctx: StepContext) -> dict[str, str]:
        return {"result": "slept successfully: " + ctx.input_data["result"]}

    wf = (
        Workflow("sleep-test-workflow")
        .then(_constant("step1", {"result": "success"}, calls))
        .sleep(SLEEP)
        .then(Step("step2", after))
        .commit()
    )
    began = time.perf_counter()
    result = await wf.create_run(engine=engine, run_id=_run_id("t1")).start(input_data={})
    elapsed = time.perf_counter() - began

    assert result.status == "success"
    assert calls["step1"] == 1
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"result": "success"}
    assert result.steps["step1"].payload == {}
    assert result.steps["step2"].status == "success"
    assert result.steps["step2"].output == {"result": "slept successfully: success"}
    assert result.steps["step2"].payload == {"result": "success"}
    assert elapsed >= SLEEP * SLACK


async def test_t2_a_sleep_duration_can_come_from_a_function(engine: Any, calls: Calls) -> None:
    """T2: sleep(fn) waits for what fn computes from an earlier step's result."""
    step1 = _constant("step1", {"value": 100}, calls)

    def duration(ctx: StepContext) -> float:
        recorded = ctx.get_step_result(step1)
        return float(recorded["value"]) / 1000 if recorded else 0.05

    async def after(ctx: StepContext) -> dict[str, str]:
        return {"result": f"slept for: {ctx.input_data['value']}"}

    wf = (
        Workflow("sleep-fn-test-workflow")
        .then(step1)
        .sleep(duration)
        .then(Step("step2", after))
        .commit()
    )
    began = time.perf_counter()
    result = await wf.create_run(engine=engine, run_id=_run_id("t2")).start(input_data={})
    elapsed = time.perf_counter() - began

    assert result.status == "success"
    assert calls["step1"] == 1
    assert result.steps["step2"].status == "success"
    assert result.steps["step2"].output == {"result": "slept for: 100"}
    assert elapsed >= SLEEP * SLACK


async def test_t3_a_sleep_inside_a_nested_branch_arm_runs(engine: Any, calls: Calls) -> None:
    """T3: a branch arm that is a nested workflow with a sleep waits, then finishes its steps."""

    def wants_sleep(ctx: StepContext) -> bool:
        return ctx.input_data["shouldSleep"] is True

    def skips_sleep(ctx: StepContext) -> bool:
        return ctx.input_data["shouldSleep"] is False

    sleeper = (
        Workflow("sleep-branch-inner")
        .sleep(SHORT_SLEEP)
        .then(_constant("afterSleep", {"result": "completed after sleep"}, calls))
        .commit()
    )
    wf = (
        Workflow("sleep-in-branch-workflow")
        .then(_constant("check", {"shouldSleep": True}, calls))
        .branch(
            [
                (wants_sleep, sleeper),
                (skips_sleep, _constant("noSleep", {"result": "completed without sleep"}, calls)),
            ]
        )
        .commit()
    )
    began = time.perf_counter()
    result = await wf.create_run(engine=engine, run_id=_run_id("t3")).start(input_data={})
    elapsed = time.perf_counter() - began

    assert result.status == "success"
    assert calls["check"] == 1
    assert calls["afterSleep"] == 1
    assert calls["noSleep"] == 0
    assert elapsed >= SHORT_SLEEP * 0.8
    assert result.steps["sleep-branch-inner"].output == {"result": "completed after sleep"}


async def test_t4_step_results_are_still_readable_after_a_sleep(engine: Any, calls: Calls) -> None:
    """T4: a step after a sleep can still read an earlier step's result."""

    async def combine(ctx: StepContext) -> dict[str, str]:
        calls.hit("step2")
        before = ctx.get_step_result("step1")
        return {"combined": f"{before['value'] if before else 'missing'} + after-sleep"}

    wf = (
        Workflow("preserve-results-across-sleep-workflow")
        .then(_constant("step1", {"value": "before-sleep"}, calls))
        .sleep(SHORT_SLEEP)
        .then(Step("step2", combine))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("t4")).start(input_data={})

    assert result.status == "success"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"value": "before-sleep"}
    assert result.steps["step2"].status == "success"
    assert result.steps["step2"].output == {"combined": "before-sleep + after-sleep"}


async def test_t5_sleep_until_waits_for_a_computed_moment(engine: Any, calls: Calls) -> None:
    """T5: sleep_until(fn) waits until the datetime fn returns, then the flow continues."""

    def soon(ctx: StepContext) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=SLEEP)

    async def after(ctx: StepContext) -> dict[str, str]:
        return {"result": "slept until successfully: " + ctx.input_data["result"]}

    wf = (
        Workflow("sleep-until-test-workflow")
        .then(_constant("step1", {"result": "success"}, calls))
        .sleep_until(soon)
        .then(Step("step2", after))
        .commit()
    )
    began = time.perf_counter()
    result = await wf.create_run(engine=engine, run_id=_run_id("t5")).start(input_data={})
    elapsed = time.perf_counter() - began

    assert result.status == "success"
    assert calls["step1"] == 1
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"result": "success"}
    assert result.steps["step2"].status == "success"
    assert result.steps["step2"].output == {"result": "slept until successfully: success"}
    assert elapsed >= SLEEP * SLACK


async def test_t6_sleep_until_can_compute_the_moment_from_its_input(
    engine: Any, calls: Calls
) -> None:
    """T6: sleep_until(fn) may derive the wake-up time (a timestamp) from its input."""

    def from_input(ctx: StepContext) -> float:
        return time.time() + ctx.input_data["value"] / 1000

    async def after(ctx: StepContext) -> dict[str, str]:
        return {"result": f"slept until fn: {ctx.input_data['value']}"}

    wf = (
        Workflow("sleep-until-fn-test-workflow")
        .then(_constant("step1", {"value": 100}, calls))
        .sleep_until(from_input)
        .then(Step("step2", after))
        .commit()
    )
    began = time.perf_counter()
    result = await wf.create_run(engine=engine, run_id=_run_id("t6")).start(input_data={})
    elapsed = time.perf_counter() - began

    assert result.status == "success"
    assert calls["step1"] == 1
    assert result.steps["step2"].status == "success"
    assert result.steps["step2"].output == {"result": "slept until fn: 100"}
    assert elapsed >= SLEEP * SLACK
