"""Time travel through the services: the plan preview (which writes nothing) and the fork.

The demo workflows give one shape each: `payment` is linear, `expense-approval` branches,
`order-fulfilment` nests `payment`, `data-pipeline` runs a foreach.
"""

from __future__ import annotations

from typing import Any

import pytest

from engines import InvalidRunStateError, RunNotFoundError, StepNotFoundError, ValidationError
from engines.core.engine import Execution
from tests.app.api_support import recorded
from workflows_app import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

PAYMENT = {"order_id": "A-1", "amount": 25.0, "card": "4242"}
SMALL_EXPENSE = {"employee": "Ann", "amount": 40}
ORDER = {
    "order_id": "A-1",
    "customer": "Grace",
    "lines": [{"sku": "book", "quantity": 2, "unit_price": 12.5}],
}


def actions(plan: dict[str, Any]) -> dict[str, str]:
    return {step["key"]: step["action"] for step in plan["steps"]}


# -- the plan preview ---------------------------------------------------------------------------


def test_a_linear_plan_reuses_earlier_steps_and_reruns_the_target_onwards() -> None:
    run = services.start_run("payment", PAYMENT)
    before = recorded()

    plan = services.preview_time_travel(run.run_id, "capture")

    assert actions(plan) == {
        "authorize": "reused",
        "capture": "re-executed",
        "issue_receipt": "re-executed",
    }
    assert plan["fork_step"] == "capture"
    assert plan["new_run"] is True
    assert plan["valid"] is True
    assert recorded() == before


def test_the_plan_shows_recorded_statuses_and_what_the_form_may_offer() -> None:
    run = services.start_run("payment", PAYMENT)

    plan = services.preview_time_travel(run.run_id, "capture")
    by_key = {step["key"]: step for step in plan["steps"]}

    assert by_key["authorize"]["recorded_status"] == "success"
    assert by_key["authorize"]["editable"] is True
    assert by_key["issue_receipt"]["reusable"] is True
    assert by_key["capture"]["editable"] is by_key["capture"]["reusable"] is False
    assert plan["input"] == plan["recorded_input"] == run.step_records.get(path="capture").payload


def test_a_downstream_step_in_reuse_is_planned_as_reused() -> None:
    run = services.start_run("payment", PAYMENT)

    plan = services.preview_time_travel(run.run_id, "capture", reuse=["issue_receipt"])

    assert actions(plan)["issue_receipt"] == "reused"
    assert plan["reuse"] == ["issue_receipt"]


def test_a_branch_plan_skips_the_arm_that_was_not_taken() -> None:
    run = services.start_run("expense-approval", SMALL_EXPENSE)

    plan = services.preview_time_travel(run.run_id, "decide")

    assert actions(plan) == {
        "validate_expense": "reused",
        "auto_approve": "reused",
        "manager_approval": "skipped",
        "decide": "re-executed",
        "record_decision": "re-executed",
        "notify": "re-executed",
    }


def test_a_nested_plan_reruns_the_enclosing_workflow_around_its_target() -> None:
    run = services.start_run("order-fulfilment", ORDER)

    plan = services.preview_time_travel(run.run_id, "payment.capture")

    assert actions(plan) == {
        "price_order": "reused",
        "payment_request": "reused",
        "payment": "re-executed",
        "payment.authorize": "reused",
        "payment.capture": "re-executed",
        "payment.issue_receipt": "re-executed",
        "ship_order": "re-executed",
    }
    assert next(s for s in plan["steps"] if s["key"] == "payment.capture")["path"] == [
        "payment",
        "capture",
    ]


def test_steps_after_a_nested_target_inside_and_outside_it_can_be_reused() -> None:
    run = services.start_run("order-fulfilment", ORDER)

    plan = services.preview_time_travel(
        run.run_id, "payment.capture", reuse=["payment.issue_receipt", "ship_order"]
    )

    assert plan["valid"] is True
    assert actions(plan)["payment.issue_receipt"] == actions(plan)["ship_order"] == "reused"
    assert {s["key"] for s in plan["steps"] if s["reusable"]} == {
        "payment.issue_receipt",
        "ship_order",
    }


def test_a_foreach_plan_reuses_the_recorded_items_before_the_target() -> None:
    run = services.start_run("data-pipeline", {"count": 3})

    plan = services.preview_time_travel(run.run_id, "aggregate")

    assert actions(plan) == {
        "fetch_records": "reused",
        "process_record": "reused",
        "aggregate": "re-executed",
    }


def test_the_preview_reports_bad_edits_with_field_paths_instead_of_raising() -> None:
    run = services.start_run("payment", PAYMENT)
    before = recorded()

    plan = services.preview_time_travel(
        run.run_id,
        "capture",
        input_data={"order_id": "A-1", "amount": "lots"},
        outputs={"authorize": {"order_id": "A-1"}},
        reuse=["authorize"],
    )

    paths = {e["path"] for e in plan["errors"]}
    assert plan["valid"] is False
    assert {"amount", "authorization_code"} <= paths
    assert "authorize.amount" in paths
    assert "reuse" in paths
    assert recorded() == before


def test_the_preview_shows_edited_outputs_as_a_field_diff() -> None:
    run = services.start_run("payment", PAYMENT)
    recorded = run.step_records.get(path="authorize").output

    plan = services.preview_time_travel(
        run.run_id, "capture", outputs={"authorize": {**recorded, "amount": 30.0}}
    )

    assert plan["valid"] is True
    assert plan["output_diffs"] == {
        "authorize": [{"path": "amount", "a": 25.0, "b": 30.0, "kind": "changed"}]
    }
    assert plan["input"]["amount"] == 30.0


def test_the_preview_refuses_an_unknown_step_and_an_unknown_run() -> None:
    run = services.start_run("payment", PAYMENT)

    with pytest.raises(StepNotFoundError, match="Known steps"):
        services.preview_time_travel(run.run_id, "nope")
    with pytest.raises(RunNotFoundError):
        services.preview_time_travel("missing", "capture")


# -- the fork -----------------------------------------------------------------------------------


def test_time_travel_repairs_a_failed_run_in_a_new_linked_run() -> None:
    failed = services.start_run("data-pipeline", {"count": 3, "broken_ids": [2]})
    items = failed.step_records.get(path="fetch_records").output
    fixed = [{**item, "value": 2.0} if item["value"] is None else item for item in items]

    fork = services.time_travel(failed.run_id, "process_record", input_data=fixed)
    failed.refresh_from_db()

    assert fork.status == "success"
    assert fork.parent_run_id == failed.run_id
    assert fork.fork_step == "process_record"
    assert fork.result["count"] == 3
    assert failed.status == "failed"


def test_time_travel_replays_an_edited_earlier_output() -> None:
    run = services.start_run("expense-approval", SMALL_EXPENSE)
    recorded = run.step_records.get(path="auto_approve").output

    fork = services.time_travel(
        run.run_id, "decide", outputs={"auto_approve": {**recorded, "comment": "edited"}}
    )

    assert fork.status == "success"
    assert fork.result["message"].endswith("by policy: edited")


def test_time_travel_refuses_an_invalid_edit_with_step_paths_and_writes_nothing() -> None:
    run = services.start_run("payment", PAYMENT)
    before = recorded()

    with pytest.raises(ValidationError) as refused:
        services.time_travel(run.run_id, "capture", outputs={"authorize": {"amount": "x"}})

    assert {e["path"] for e in refused.value.errors} == {
        "authorize.order_id",
        "authorize.amount",
        "authorize.authorization_code",
    }
    assert recorded() == before


def test_time_travel_refuses_editing_a_step_the_fork_runs_again() -> None:
    run = services.start_run("payment", PAYMENT)
    before = recorded()

    with pytest.raises(ValidationError, match="only outputs the fork keeps"):
        services.time_travel(run.run_id, "capture", outputs={"issue_receipt": {}})

    assert recorded() == before


def test_time_travel_refuses_an_unknown_step_and_writes_nothing() -> None:
    run = services.start_run("payment", PAYMENT)
    before = recorded()

    with pytest.raises(StepNotFoundError):
        services.time_travel(run.run_id, "payment.nope")

    assert recorded() == before


def test_time_travel_refuses_a_foreach_input_that_is_not_a_list_of_items() -> None:
    run = services.start_run("data-pipeline", {"count": 2})
    before = recorded()

    with pytest.raises(ValidationError) as refused:
        services.time_travel(run.run_id, "process_record", input_data=[{"id": 1}, {"id": "x"}])

    assert {e["path"] for e in refused.value.errors} == {
        "0.source",
        "0.value",
        "1.id",
        "1.source",
        "1.value",
    }
    assert recorded() == before


def test_time_travel_refuses_a_run_still_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    class Held:
        def submit(self, workflow: Any, execution: Execution) -> None: ...
        def wait(self, run_id: str, timeout: float | None = None) -> bool:
            return False

        def in_flight(self, run_id: str) -> bool:
            return True

    run = services.start_run("payment", PAYMENT)
    monkeypatch.setattr(services, "executor", Held)
    before = recorded()

    with pytest.raises(InvalidRunStateError):
        services.time_travel(run.run_id, "capture")

    assert recorded() == before
