"""Comparing two runs step by step, down to the first step where they diverge."""

from __future__ import annotations

import pytest

from engines import RunNotFoundError, ValidationError
from workflows_app import services
from workflows_app.compare import graph_paths, json_diff, ordered_keys
from workflows_app.examples import order_fulfilment

pytestmark = pytest.mark.usefixtures("inline_runs")

PAYMENT = {"order_id": "A-1", "amount": 25.0, "card": "4242"}
ORDER = {
    "order_id": "A-1",
    "customer": "Grace",
    "lines": [{"sku": "book", "quantity": 2, "unit_price": 12.5}],
}


# -- the JSON diff ------------------------------------------------------------------------------


def test_json_diff_names_each_changed_added_and_removed_leaf() -> None:
    a = {"name": "x", "tags": ["a", "b"], "gone": 1, "deep": {"n": 1}}
    b = {"name": "y", "tags": ["a"], "deep": {"n": 1, "new": True}}

    assert json_diff(a, b) == [
        {"path": "name", "a": "x", "b": "y", "kind": "changed"},
        {"path": "tags.1", "a": "b", "b": None, "kind": "removed"},
        {"path": "gone", "a": 1, "b": None, "kind": "removed"},
        {"path": "deep.new", "a": None, "b": True, "kind": "added"},
    ]


def test_json_diff_treats_equal_numbers_as_equal_but_not_booleans() -> None:
    assert json_diff({"n": 2}, {"n": 2.0}) == []
    assert json_diff({"n": 1}, {"n": True}) == [{"path": "n", "a": 1, "b": True, "kind": "changed"}]


def test_json_diff_of_two_different_scalars_is_one_change_at_the_root() -> None:
    assert json_diff(None, [1]) == [{"path": "", "a": None, "b": [1], "kind": "changed"}]


def test_graph_paths_list_nested_steps_and_sleeps_in_flow_order() -> None:
    assert graph_paths(order_fulfilment.graph()) == [
        "price_order",
        "payment_request",
        "payment",
        "payment.authorize",
        "payment.capture",
        "payment.issue_receipt",
        "ship_order",
    ]


def test_foreach_item_keys_sit_with_their_graph_path_by_index() -> None:
    order = ["fetch", "each", "each.inner", "done"]

    keys = ordered_keys(order, ["fetch", "each", "each[1].inner", "each[0].inner", "done"])

    assert keys == ["fetch", "each", "each.inner", "each[0].inner", "each[1].inner", "done"]


# -- compare_runs -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_fork_with_a_new_input_diverges_at_its_fork_step() -> None:
    run = services.start_run("payment", PAYMENT)
    recorded = run.step_records.get(path="capture").payload
    fork = services.time_travel(run.run_id, "capture", input_data={**recorded, "amount": 99.0})

    comparison = services.compare_runs(run.run_id, fork.run_id)

    assert comparison["first_divergence"] == ["capture"]
    rows = {row["key"]: row for row in comparison["steps"]}
    assert rows["authorize"]["input_diff"] == rows["authorize"]["output_diff"] == []
    assert {"path": "amount", "a": 25.0, "b": 99.0, "kind": "changed"} in rows["capture"][
        "input_diff"
    ]
    assert rows["issue_receipt"]["output_diff"]
    assert comparison["a"]["run_id"] == run.run_id
    assert comparison["b"]["parent_run_id"] == run.run_id


@pytest.mark.django_db
def test_two_runs_with_the_same_input_do_not_diverge() -> None:
    a = services.start_run("payment", PAYMENT)
    b = services.start_run("payment", PAYMENT)

    comparison = services.compare_runs(a.run_id, b.run_id)

    assert comparison["first_divergence"] is None
    assert [row["key"] for row in comparison["steps"]] == ["authorize", "capture", "issue_receipt"]
    assert all(row["a"]["duration"] is not None for row in comparison["steps"])


@pytest.mark.django_db
def test_unrelated_runs_diverge_at_the_first_step_that_ran_differently() -> None:
    a = services.start_run("order-fulfilment", ORDER)
    b = services.start_run("order-fulfilment", {**ORDER, "card": "0000"})

    comparison = services.compare_runs(a.run_id, b.run_id)
    rows = {row["key"]: row for row in comparison["steps"]}

    assert comparison["first_divergence"] == ["price_order"]  # its input holds the card
    assert rows["payment.authorize"]["status_changed"] is True
    assert rows["ship_order"]["b"] is None
    assert comparison["status_changed"] is True
    assert {"path": "card", "a": "4242", "b": "0000", "kind": "changed"} in comparison["input_diff"]


@pytest.mark.django_db
def test_runs_of_different_workflows_are_refused() -> None:
    a = services.start_run("payment", PAYMENT)
    b = services.start_run("order-fulfilment", ORDER)

    with pytest.raises(ValidationError) as refused:
        services.compare_runs(a.run_id, b.run_id)

    assert refused.value.errors[0]["path"] == "b"


@pytest.mark.django_db
def test_comparing_with_an_unknown_run_is_refused() -> None:
    a = services.start_run("payment", PAYMENT)

    with pytest.raises(RunNotFoundError):
        services.compare_runs(a.run_id, "missing")
