"""Stepback definition rules: eager definition errors, the JSON graph and function steps."""

import json
from typing import Any

import pytest
from pydantic import BaseModel

from engines import DefinitionError, Engine, StepContext, Workflow, from_step, step
from engines.testing import Calls


class Inner(BaseModel):
    value: str


class NestedOut(BaseModel):
    nested: Inner


class OrderIn(BaseModel):
    amount: int
    currency: str = "EUR"


class Receipt(BaseModel):
    total: int


def make_step(step_id: str, **options: Any):
    async def execute(ctx: StepContext) -> dict:
        return {"id": step_id}

    return step(id=step_id, **options)(execute)


# -- definition errors -------------------------------------------------------------------------


def test_sb_duplicate_step_id_is_refused_unless_cloned() -> None:
    """SB: adding the same step twice raises DefinitionError; a clone under a new id is fine."""
    s = make_step("s")
    wf = Workflow("sb-duplicate").then(s)

    with pytest.raises(DefinitionError, match="'s'"):
        wf.then(s)

    wf.then(s.clone(id="s-again")).commit()
    assert list(wf.steps) == ["s", "s-again"]


def test_sb_duplicate_ids_inside_one_parallel_block_are_refused() -> None:
    """SB: a parallel block naming the same id twice raises DefinitionError."""
    s = make_step("twin")

    with pytest.raises(DefinitionError):
        Workflow("sb-duplicate-parallel").parallel([s, make_step("twin")])


def test_sb_map_path_that_cannot_exist_on_the_output_schema_is_refused() -> None:
    """SB: from_step with a path the step's pydantic output schema cannot hold raises at once."""
    s = make_step("producer", output_schema=NestedOut)
    wf = Workflow("sb-bad-map-path").then(s)

    with pytest.raises(DefinitionError, match=r"nested\.missing"):
        wf.map({"x": from_step(s, "nested.missing")})

    with pytest.raises(DefinitionError):
        wf.map({"x": from_step(s, "nope")})

    wf.map({"x": from_step(s, "nested.value")}).commit()
    assert wf.committed


def test_sb_map_from_a_step_outside_the_workflow_is_refused() -> None:
    """SB: from_step naming a step that is not (yet) in the workflow raises DefinitionError."""
    inside = make_step("inside")
    outside = make_step("outside")
    wf = Workflow("sb-map-unknown-step").then(inside)

    with pytest.raises(DefinitionError, match="outside"):
        wf.map({"x": from_step(outside, "id")})

    with pytest.raises(DefinitionError, match="ghost"):
        wf.map({"x": from_step("ghost")})


def test_sb_empty_workflow_cannot_create_a_run() -> None:
    """SB: a workflow with no flow, even after commit(), refuses create_run."""
    wf = Workflow("sb-empty")

    with pytest.raises(DefinitionError, match="Execution flow of workflow"):
        wf.create_run()

    wf.commit()
    with pytest.raises(DefinitionError, match="is not defined"):
        wf.create_run()


def test_sb_uncommitted_changes_block_create_run() -> None:
    """SB: steps added after commit() make the workflow uncommitted until committed again."""
    wf = Workflow("sb-uncommitted").then(make_step("a")).commit()
    assert wf.committed

    wf.then(make_step("b"))

    assert wf.committed is False
    with pytest.raises(DefinitionError, match="Uncommitted step flow changes detected"):
        wf.create_run()
    wf.commit()
    assert wf.committed


def test_sb_uncommitted_nested_workflow_blocks_the_parent_commit() -> None:
    """SB: committing a parent that contains an uncommitted nested workflow raises."""
    inner = Workflow("sb-inner").then(make_step("a"))

    parent = Workflow("sb-outer").then(inner)

    with pytest.raises(DefinitionError, match="Uncommitted"):
        parent.commit()


# -- graph -------------------------------------------------------------------------------------


def contains(tree: Any, wanted: Any) -> bool:
    """True when `wanted` equals `tree` or any value nested anywhere in it."""
    if tree == wanted:
        return True
    if isinstance(tree, dict):
        return any(contains(v, wanted) for v in tree.values())
    if isinstance(tree, list):
        return any(contains(v, wanted) for v in tree)
    return False


def test_sb_graph_is_json_with_nodes_edges_and_json_schemas() -> None:
    """SB: workflow.graph() survives json.dumps and holds nodes, edges and step JSON Schemas."""
    first = make_step("first", input_schema=OrderIn, output_schema=Receipt)
    second = make_step("second")
    third = make_step("third")
    wf = Workflow("sb-graph", input_schema=OrderIn).then(first).parallel([second, third]).commit()

    graph = wf.graph()
    text = json.dumps(graph)
    again = json.loads(text)

    assert again == graph
    node_keys = {node["key"] for node in graph["nodes"]}
    assert {"first", "second", "third"} <= node_keys
    pairs = {(edge["source"], edge["target"]) for edge in graph["edges"]}
    assert {("first", "#1-fork"), ("#1-fork", "second"), ("#1-fork", "third")} <= pairs
    assert {("second", "#1-join"), ("third", "#1-join")} <= pairs
    assert contains(graph, OrderIn.model_json_schema())
    assert contains(graph, Receipt.model_json_schema())


# -- function steps ----------------------------------------------------------------------------


def add(amount: int, extra: int = 2) -> int:
    """Add an extra amount."""
    return amount + extra


def broken_total(amount: int) -> int:
    return f"about {amount}"  # type: ignore[return-value]


async def test_sb_from_function_step_runs_with_typed_input_and_output(
    engine: Engine, calls: Calls
) -> None:
    """SB: step.from_function turns a plain typed function into a validated step."""
    adder = step.from_function(add)
    wf = Workflow("sb-from-function").then(adder).commit()

    result = await wf.create_run(engine=engine).start(input_data={"amount": 40})

    assert adder.id == "add"
    assert result.status == "success"
    assert result.steps["add"].output == 42
    assert result.result == 42
    schema = json.dumps(wf.graph())
    assert "amount" in schema
    assert "extra" in schema


async def test_sb_from_function_step_rejects_bad_input(engine: Engine) -> None:
    """SB: a from_function step given input its parameters do not accept fails that step."""
    wf = Workflow("sb-from-function-bad-input").then(step.from_function(add)).commit()

    result = await wf.create_run(engine=engine).start(input_data={"amount": "many"})

    assert result.status == "failed"
    assert result.steps["add"].status == "failed"
    assert type(result.steps["add"].error).__name__ == "ValidationError"


async def test_sb_from_function_step_validates_its_return_annotation(engine: Engine) -> None:
    """SB: a from_function step returning a value its annotation rejects fails."""
    wf = Workflow("sb-from-function-bad-output").then(step.from_function(broken_total)).commit()

    result = await wf.create_run(engine=engine).start(input_data={"amount": 3})

    assert result.status == "failed"
    assert result.steps["broken_total"].status == "failed"
