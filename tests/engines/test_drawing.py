"""`Workflow.graph()`'s nodes and edges: flat, keyed by step path, drawn as they are."""

from __future__ import annotations

from typing import Any

from engines import StepContext, Workflow, step


def make_step(step_id: str) -> Any:
    async def execute(ctx: StepContext) -> dict[str, str]:
        return {"id": step_id}

    return step(id=step_id)(execute)


def is_small(ctx: StepContext) -> bool:
    return True


def is_large(ctx: StepContext) -> bool:
    return False


def again(ctx: StepContext) -> bool:
    return False


def nodes_by_key(wf: Workflow) -> dict[str, dict[str, Any]]:
    return {node["key"]: node for node in wf.graph()["nodes"]}


def pairs(wf: Workflow) -> set[tuple[str, str]]:
    return {(edge["source"], edge["target"]) for edge in wf.graph()["edges"]}


def test_a_chain_is_one_node_per_step_linked_in_order() -> None:
    wf = Workflow("chain").then(make_step("a")).then(make_step("b")).commit()

    assert [node["key"] for node in wf.graph()["nodes"]] == ["a", "b"]
    assert pairs(wf) == {("a", "b")}


def test_nested_workflow_steps_are_keyed_by_path_and_name_their_parent() -> None:
    inner = Workflow("inner").then(make_step("x")).then(make_step("y")).commit()
    wf = Workflow("outer").then(make_step("a")).then(inner).then(make_step("b")).commit()

    nodes = nodes_by_key(wf)

    assert list(nodes) == ["a", "inner", "inner.x", "inner.y", "b"]
    assert (nodes["inner"]["kind"], nodes["inner"]["parent"]) == ("workflow", None)
    assert (nodes["inner.x"]["path"], nodes["inner.x"]["parent"]) == (["inner", "x"], "inner")
    assert {("a", "inner"), ("inner", "b"), ("inner.x", "inner.y")} == pairs(wf)


def test_a_parallel_block_is_a_fork_its_steps_and_a_join() -> None:
    wf = (
        Workflow("fan")
        .then(make_step("a"))
        .parallel([make_step("p"), make_step("q")])
        .then(make_step("b"))
        .commit()
    )

    nodes = nodes_by_key(wf)

    assert (nodes["#1-fork"]["kind"], nodes["#1-join"]["kind"]) == ("fork", "join")
    assert nodes["p"]["block"] == "parallel"
    assert pairs(wf) == {
        ("a", "#1-fork"),
        ("#1-fork", "p"),
        ("#1-fork", "q"),
        ("p", "#1-join"),
        ("q", "#1-join"),
        ("#1-join", "b"),
    }


def test_branch_arms_carry_their_condition_on_the_node_and_the_edge() -> None:
    wf = Workflow("choose").branch([(is_small, make_step("s")), (is_large, make_step("l"))])
    wf = wf.commit()

    nodes = nodes_by_key(wf)
    edges = {edge["target"]: edge for edge in wf.graph()["edges"] if edge["source"] == "#0-fork"}

    assert (nodes["s"]["condition"], nodes["l"]["condition"]) == ("is_small", "is_large")
    assert edges["s"]["condition"] == "is_small"


def test_markers_of_nested_blocks_are_keyed_inside_their_workflow() -> None:
    inner = Workflow("inner").parallel([make_step("p"), make_step("q")]).commit()
    wf = Workflow("outer").then(inner).commit()

    nodes = nodes_by_key(wf)

    assert nodes["inner.#0-fork"]["parent"] == "inner"
    assert ("inner.#0-fork", "inner.p") in pairs(wf)


def test_a_loop_is_one_node_with_an_edge_back_to_itself() -> None:
    wf = Workflow("loop").dowhile(make_step("tick"), again).commit()

    node = nodes_by_key(wf)["tick"]

    assert (node["block"], node["loop_type"], node["condition"]) == ("loop", "dowhile", "again")
    assert wf.graph()["edges"] == [
        {"source": "tick", "target": "tick", "kind": "repeat", "condition": "again"}
    ]


def test_foreach_and_sleep_nodes_say_how_they_run() -> None:
    wf = Workflow("items").foreach(make_step("each"), concurrency=3).sleep(2, id="rest").commit()

    nodes = nodes_by_key(wf)

    assert (nodes["each"]["block"], nodes["each"]["concurrency"]) == ("foreach", 3)
    assert (nodes["rest"]["kind"], nodes["rest"]["seconds"]) == ("sleep", 2)


def test_step_nodes_carry_their_json_schemas() -> None:
    from pydantic import BaseModel

    class Order(BaseModel):
        amount: int

    @step(input_schema=Order, resume_schema=Order)
    async def approve(ctx: StepContext) -> dict[str, bool]:
        return {"ok": True}

    node = nodes_by_key(Workflow("schemas").then(approve).commit())["approve"]

    assert node["input_schema"] == Order.model_json_schema()
    assert node["resume_schema"] == Order.model_json_schema()
    assert node["output_schema"] is None
