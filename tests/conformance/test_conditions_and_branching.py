"""Conditions and branching (catalog sections 3, 4, 5 and 7: C1-C5, CC1, BR1-BR7, MC1)."""

from pydantic import BaseModel

from engines import Engine, Step, StepContext, Workflow, from_step, step
from engines.testing import Calls


class ValueState(BaseModel):
    value: str


def result_step(calls: Calls, step_id: str, **options: object) -> Step:
    """A step that counts its calls and returns `{"result": step_id}`."""

    async def execute(ctx: StepContext) -> dict:
        calls.hit(step_id, ctx.input_data)
        return {"result": step_id}

    return Step(step_id, execute, **options)


# -- simple conditions -------------------------------------------------------------------------


async def test_c1_branch_follows_the_true_condition(engine: Engine, calls: Calls) -> None:
    """C1: only the arm whose condition holds runs; a map over both arms picks the one that ran."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"status": "success"}

    @step(id="step4")
    async def step4(ctx: StepContext) -> dict:
        calls.hit("step4")
        return {"result": ctx.input_data["result"]}

    step2 = result_step(calls, "step2")
    step3 = result_step(calls, "step3")

    async def succeeded(ctx: StepContext) -> bool:
        return ctx.input_data["status"] == "success"

    wf = (
        Workflow("cond-chains")
        .then(step1)
        .branch(
            [
                (succeeded, step2),
                (lambda ctx: ctx.input_data["status"] == "failed", step3),
            ]
        )
        .map({"result": from_step([step3, step2], "result")})
        .then(step4)
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={"status": "success"})

    assert result.status == "success"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert calls["step3"] == 0
    assert result.input == {"status": "success"}
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"status": "success"}
    assert result.steps["step2"].output == {"result": "step2"}
    assert result.steps["step4"].output == {"result": "step2"}
    assert "step3" not in result.steps


async def test_c2_branch_steps_read_state(engine: Engine, calls: Calls) -> None:
    """C2: every step on the chosen path sees the initial state."""

    @step(id="step1", state_schema=ValueState)
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"status": "success", "value": ctx.state["value"]}

    def arm(step_id: str) -> Step:
        async def execute(ctx: StepContext) -> dict:
            calls.hit(step_id)
            return {"result": step_id, "value": ctx.state["value"]}

        return Step(step_id, execute, state_schema=ValueState)

    @step(id="step4", state_schema=ValueState)
    async def step4(ctx: StepContext) -> dict:
        calls.hit("step4")
        return {"result": ctx.input_data["result"], "value": ctx.state["value"]}

    step2, step3 = arm("step2"), arm("step3")
    wf = (
        Workflow("cond-chains-state", state_schema=ValueState)
        .then(step1)
        .branch(
            [
                (lambda ctx: ctx.input_data["status"] == "success", step2),
                (lambda ctx: ctx.input_data["status"] == "failed", step3),
            ]
        )
        .map({"result": from_step([step3, step2], "result")})
        .then(step4)
        .commit()
    )

    result = await wf.create_run(engine=engine).start(
        input_data={"status": "success"}, initial_state={"value": "test-state"}
    )

    assert result.status == "success"
    assert result.steps["step1"].output == {"status": "success", "value": "test-state"}
    assert result.steps["step2"].output == {"result": "step2", "value": "test-state"}
    assert result.steps["step4"].output == {"result": "step2", "value": "test-state"}
    assert calls["step3"] == 0


async def test_c3_a_failing_step_stops_its_dependents(engine: Engine, calls: Calls) -> None:
    """C3: when a step raises, the next step never runs and the failure is recorded."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        raise ValueError("Failed")

    step2 = result_step(calls, "step2")
    wf = Workflow("cond-failing-dependency").then(step1).then(step2).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "failed"
    assert calls["step1"] == 1
    assert calls["step2"] == 0
    assert result.input == {}
    record = result.steps["step1"]
    assert record.status == "failed"
    assert record.payload == {}
    assert isinstance(record.started_at, float)
    assert isinstance(record.ended_at, float)
    assert isinstance(record.error, BaseException)
    assert type(record.error).__name__ == "ValueError"
    assert str(record.error) == "Failed"
    assert "step2" not in result.steps


async def test_c4_string_conditions_and_a_map_from_a_step_that_never_ran(
    engine: Engine, calls: Calls
) -> None:
    """C4: string comparisons pick the arm; mapping from a step that never ran yields None."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"status": "success"}

    step2 = result_step(calls, "step2")
    step3 = result_step(calls, "step3")
    wf = (
        Workflow("cond-string")
        .then(step1)
        .branch(
            [
                (lambda ctx: ctx.input_data["status"] == "success", step2),
                (lambda ctx: ctx.input_data["status"] == "never", step3),
            ]
        )
        .map({"result": from_step(step3, "result")})
        .branch(
            [
                (
                    lambda ctx: ctx.input_data.get("result") == "unexpected value",
                    step3.clone(id="step3-again"),
                )
            ]
        )
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert calls["step1"] == 1
    assert calls["step2"] == 1
    assert calls["step3"] == 0
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"status": "success"}
    assert result.steps["step1"].payload == {}
    assert result.steps["step2"].output == {"result": "step2"}
    assert result.steps["step2"].payload == {"status": "success"}
    mapping = result.steps["mapping_0"]
    assert mapping.status == "success"
    assert mapping.output.get("result") is None
    assert "step3" not in result.steps
    assert "step3-again" not in result.steps


async def test_c5_custom_condition_reads_an_earlier_step_result(
    engine: Engine, calls: Calls
) -> None:
    """C5: a condition can call get_step_result; an arm returning None records no output."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"count": ctx.input_data["count"]}

    @step(id="step2")
    async def step2(ctx: StepContext) -> None:
        calls.hit("step2", ctx.input_data)

    async def count_above_three(ctx: StepContext) -> bool:
        return ctx.get_step_result(step1)["count"] > 3

    wf = Workflow("cond-custom").then(step1).branch([(count_above_three, step2)]).commit()

    result = await wf.create_run(engine=engine).start(input_data={"count": 5})

    assert result.status == "success"
    assert calls["step2"] == 1
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].output == {"count": 5}
    assert result.steps["step1"].payload == {"count": 5}
    assert result.steps["step2"].status == "success"
    assert result.steps["step2"].payload == {"count": 5}
    assert result.steps["step2"].output is None


# -- complex conditions ------------------------------------------------------------------------


async def test_cc1_nested_and_or_conditions(engine: Engine, calls: Calls) -> None:
    """CC1: combined AND/OR conditions select step2 and skip step3."""

    @step(id="step1")
    async def step1(ctx: StepContext) -> dict:
        calls.hit("step1")
        return {"status": "partial", "score": 75, "flags": {"isValid": True}}

    step2 = result_step(calls, "step2")
    step3 = result_step(calls, "step3")

    def good_enough(ctx: StepContext) -> bool:
        data = ctx.input_data
        return data["status"] == "success" or (data["status"] == "partial" and data["score"] >= 70)

    async def needs_review(ctx: StepContext) -> bool:
        return not ctx.input_data.get("result") or ctx.get_step_result(step1)["score"] < 70

    wf = (
        Workflow("cond-complex")
        .then(step1)
        .branch([(good_enough, step2)])
        .map({"result": from_step(step2, "result")})
        .branch([(needs_review, step3)])
        .map({"result": from_step(step3, "result")})
        .commit()
    )

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert calls["step2"] == 1
    assert calls["step3"] == 0
    record = result.steps["step2"]
    assert record.status == "success"
    assert record.output == {"result": "step2"}
    assert record.payload == {"status": "partial", "score": 75, "flags": {"isValid": True}}


# -- if-else branching -------------------------------------------------------------------------


class StartIn(BaseModel):
    startValue: int


def if_else_workflow(calls: Calls, wf_id: str, nested_id: str) -> Workflow:
    """start -> branch: small values to final-if, larger ones to a nested (other -> final-else)."""

    @step(id="start", input_schema=StartIn)
    async def start(ctx: StepContext) -> dict:
        calls.hit("start")
        return {"newValue": ctx.input_data.startValue + 1}

    @step(id="other")
    async def other(ctx: StepContext) -> dict:
        calls.hit("other")
        return {"newValue": ctx.input_data["newValue"], "other": 26}

    @step(id="finalIf")
    async def final_if(ctx: StepContext) -> dict:
        calls.hit("final")
        start_value = ctx.get_step_result("start")["newValue"]
        other_result = ctx.get_step_result("other")
        other_value = other_result["other"] if other_result else 0
        return {"finalValue": start_value + other_value}

    @step(id="finalElse")
    async def final_else(ctx: StepContext) -> dict:
        calls.hit("final")
        return {"finalValue": ctx.input_data["newValue"] + ctx.input_data["other"]}

    nested = Workflow(nested_id).then(other).then(final_else).commit()

    def small(ctx: StepContext) -> bool:
        value = ctx.input_data.get("newValue")
        return not value or value < 5

    async def large(ctx: StepContext) -> bool:
        return ctx.input_data["newValue"] >= 5

    return (
        Workflow(wf_id, input_schema=StartIn)
        .then(start)
        .branch([(small, final_if), (large, nested)])
        .commit()
    )


async def test_br1_if_branch_runs_for_a_small_value(engine: Engine, calls: Calls) -> None:
    """BR1: a small start value takes the if branch; the nested else workflow never runs."""
    wf = if_else_workflow(calls, "branch-if-then-else", "branch-if-then-else-nested")

    result = await wf.create_run(engine=engine).start(input_data={"startValue": 1})

    assert result.status == "success"
    assert calls["start"] == 1
    assert calls["other"] == 0
    assert calls["final"] == 1
    assert result.steps["start"].output == {"newValue": 2}
    assert result.steps["finalIf"].output == {"finalValue": 2}
    assert "branch-if-then-else-nested" not in result.steps


async def test_br2_else_branch_runs_the_nested_workflow(engine: Engine, calls: Calls) -> None:
    """BR2: a large start value takes the else branch, recorded under the nested workflow id."""
    wf = if_else_workflow(calls, "branch-else", "branch-else-nested")

    result = await wf.create_run(engine=engine).start(input_data={"startValue": 6})

    assert result.status == "success"
    assert calls["start"] == 1
    assert calls["other"] == 1
    assert calls["final"] == 1
    assert result.steps["start"].output == {"newValue": 7}
    assert result.steps["branch-else-nested"].status == "success"
    assert result.steps["branch-else-nested"].output == {"finalValue": 33}
    assert "finalIf" not in result.steps
    assert "other" not in result.steps


def three_way_workflow(calls: Calls) -> Workflow:
    @step(id="check")
    async def check(ctx: StepContext) -> dict:
        calls.hit("check")
        return {"value": ctx.input_data["value"]}

    low, medium, high = (result_step(calls, name) for name in ("low", "medium", "high"))
    return (
        Workflow("branch-three-way")
        .then(check)
        .branch(
            [
                (lambda ctx: ctx.input_data["value"] < 33, low),
                (lambda ctx: 33 <= ctx.input_data["value"] < 66, medium),
                (lambda ctx: ctx.input_data["value"] >= 66, high),
            ]
        )
        .commit()
    )


async def test_br3_three_way_branch_takes_the_low_path(engine: Engine, calls: Calls) -> None:
    """BR3: value 10 runs only the low arm."""
    result = (
        await three_way_workflow(calls).create_run(engine=engine).start(input_data={"value": 10})
    )

    assert result.status == "success"
    assert (calls["check"], calls["low"], calls["medium"], calls["high"]) == (1, 1, 0, 0)
    assert result.steps["low"].output == {"result": "low"}
    assert result.result == {"low": {"result": "low"}}


async def test_br4_three_way_branch_takes_the_medium_path(engine: Engine, calls: Calls) -> None:
    """BR4: value 50 runs only the medium arm."""
    result = (
        await three_way_workflow(calls).create_run(engine=engine).start(input_data={"value": 50})
    )

    assert result.status == "success"
    assert (calls["check"], calls["low"], calls["medium"], calls["high"]) == (1, 0, 1, 0)
    assert result.steps["medium"].output == {"result": "medium"}


async def test_br5_three_way_branch_takes_the_high_path(engine: Engine, calls: Calls) -> None:
    """BR5: value 80 runs only the high arm."""
    result = (
        await three_way_workflow(calls).create_run(engine=engine).start(input_data={"value": 80})
    )

    assert result.status == "success"
    assert (calls["check"], calls["low"], calls["medium"], calls["high"]) == (1, 0, 0, 1)
    assert result.steps["high"].output == {"result": "high"}


def flag_workflow(calls: Calls) -> Workflow:
    @step(id="initial")
    async def initial(ctx: StepContext) -> dict:
        calls.hit("initial")
        raw = ctx.input_data["rawValue"]
        return {"processedValue": raw * 2, "flag": raw > 50}

    @step(id="truePath")
    async def true_path(ctx: StepContext) -> dict:
        calls.hit("truePath", ctx.input_data)
        data = ctx.input_data
        return {"final": f"processed: {data['processedValue']}, flag: {str(data['flag']).lower()}"}

    @step(id="falsePath")
    async def false_path(ctx: StepContext) -> dict:
        calls.hit("falsePath", ctx.input_data)
        return {"final": f"small: {ctx.input_data['processedValue']}"}

    return (
        Workflow("branch-data")
        .then(initial)
        .branch(
            [
                (lambda ctx: ctx.input_data["flag"] is True, true_path),
                (lambda ctx: ctx.input_data["flag"] is False, false_path),
            ]
        )
        .commit()
    )


async def test_br6_true_branch_receives_the_previous_output(engine: Engine, calls: Calls) -> None:
    """BR6: raw 100 sets the flag; the true arm receives the processed data."""
    result = (
        await flag_workflow(calls).create_run(engine=engine).start(input_data={"rawValue": 100})
    )

    assert result.status == "success"
    assert result.steps["initial"].output == {"processedValue": 200, "flag": True}
    assert result.steps["truePath"].output == {"final": "processed: 200, flag: true"}
    assert calls.args["truePath"] == [{"processedValue": 200, "flag": True}]
    assert calls["falsePath"] == 0


async def test_br7_false_branch_receives_the_previous_output(engine: Engine, calls: Calls) -> None:
    """BR7: raw 25 leaves the flag unset; the false arm receives the processed data."""
    result = await flag_workflow(calls).create_run(engine=engine).start(input_data={"rawValue": 25})

    assert result.status == "success"
    assert result.steps["initial"].output == {"processedValue": 50, "flag": False}
    assert result.steps["falsePath"].output == {"final": "small: 50"}
    assert calls["truePath"] == 0


# -- multiple chains ---------------------------------------------------------------------------


async def test_mc1_nested_chains_run_in_parallel(engine: Engine, calls: Calls) -> None:
    """MC1: two nested workflows in parallel each record their last step's full output."""

    def numbered(n: int) -> Step:
        async def execute(ctx: StepContext) -> dict:
            calls.hit(f"step{n}")
            return {"result": f"success{n}"}

        return Step(f"step{n}", execute)

    nested_a = Workflow("nested-a").then(numbered(1)).then(numbered(2)).then(numbered(3)).commit()
    nested_b = Workflow("nested-b").then(numbered(4)).then(numbered(5)).commit()
    wf = Workflow("multiple-chains").parallel([nested_a, nested_b]).commit()

    result = await wf.create_run(engine=engine).start(input_data={})

    assert result.status == "success"
    assert [calls[f"step{n}"] for n in range(1, 6)] == [1, 1, 1, 1, 1]
    a = result.steps["nested-a"]
    assert a.status == "success"
    assert a.output == {"result": "success3"}
    assert a.payload == {}
    assert isinstance(a.started_at, float)
    assert isinstance(a.ended_at, float)
    b = result.steps["nested-b"]
    assert b.status == "success"
    assert b.output == {"result": "success5"}
    assert b.payload == {}
    assert "step1" not in result.steps
