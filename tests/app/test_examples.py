"""The demo workflows tell the stories the seed data and the README promise.

They run on the plain engine here (no database): what is checked is the workflows themselves.
"""

from __future__ import annotations

from typing import Any

import pytest

from engines import DefaultEngine, InMemoryStorage, ValidationError, Workflow
from workflows_app import examples

ORDER = {
    "order_id": "A-1",
    "customer": "Grace",
    "lines": [{"sku": "book", "quantity": 2, "unit_price": 12.5}],
}
QUICK = {"ticks": 3, "tick_seconds": 0.0, "pause_seconds": 0.0}


@pytest.fixture
def engine() -> DefaultEngine:
    return DefaultEngine(storage=InMemoryStorage(serialize=True))


def _run(workflow: Workflow, engine: DefaultEngine) -> Any:
    return workflow.create_run(engine=engine)


def test_every_example_is_committed_described_and_exported() -> None:
    workflows = [getattr(examples, name) for name in examples.__all__]

    assert {w.id for w in workflows} == {
        "expense-approval",
        "data-pipeline",
        "order-fulfilment",
        "payment",
        "slow-countdown",
    }
    assert all(w.committed and w.description for w in workflows)


async def test_a_small_expense_is_approved_without_asking_anyone(engine: DefaultEngine) -> None:
    result = await _run(examples.expense_approval, engine).start({"employee": "Ann", "amount": 40})

    assert result.status == "success"
    assert result.result["approved"] is True
    assert "policy" in result.result["message"]
    assert "manager_approval" not in result.steps  # the arm not taken leaves no record


async def test_a_large_expense_waits_for_a_manager_and_says_what_is_asked(
    engine: DefaultEngine,
) -> None:
    run = _run(examples.expense_approval, engine)

    result = await run.start({"employee": "Bob", "amount": 450, "description": "flight"})

    assert result.status == "suspended"
    assert result.suspended == [["manager_approval"]]
    asked = result.steps["manager_approval"].suspend_payload
    assert asked["question"] == "Approve 450.00 EUR of other for Bob?"
    assert result.resume_labels["manager"]["path"] == ["manager_approval"]


async def test_the_manager_answer_is_validated_then_recorded_and_notified(
    engine: DefaultEngine,
) -> None:
    run = _run(examples.expense_approval, engine)
    await run.start({"employee": "Bob", "amount": 450, "description": "flight"})

    with pytest.raises(ValidationError) as refused:
        await run.resume({"approved": "maybe"}, label="manager")
    result = await run.resume(
        {"approved": False, "comment": "too expensive", "approver": "Mia"}, label="manager"
    )

    assert {e["path"] for e in refused.value.errors} == {"approved", "approver"}
    assert result.status == "success"
    assert result.state == {"decision": "rejected", "decided_by": "Mia"}
    assert result.result["message"].endswith("rejected by Mia: too expensive")


async def test_an_expense_over_the_policy_maximum_fails_validation(engine: DefaultEngine) -> None:
    result = await _run(examples.expense_approval, engine).start(
        {"employee": "Eve", "amount": 20_000, "description": "car"}
    )

    assert result.status == "failed"
    assert "policy maximum" in str(result.error)


async def test_the_pipeline_retries_its_flaky_record_and_aggregates_into_state(
    engine: DefaultEngine,
) -> None:
    result = await _run(examples.data_pipeline, engine).start({"count": 5, "flaky_ids": [2]})

    items = result.steps["process_record"].items
    assert result.status == "success"
    assert [item.attempts for item in items] == [1, 2, 1, 1, 1]
    assert result.result["retried_ids"] == [2]
    assert result.state == {"processed": 5, "total": 22.5}


async def test_the_pipeline_fails_on_a_broken_record_after_its_retries(
    engine: DefaultEngine,
) -> None:
    result = await _run(examples.data_pipeline, engine).start({"count": 4, "broken_ids": [4]})

    assert result.status == "failed"
    assert type(result.error).__name__ == "MalformedRecord"
    assert result.steps["process_record"].items[3].attempts == 3


async def test_the_order_pays_through_its_nested_payment_workflow(engine: DefaultEngine) -> None:
    run = _run(examples.order_fulfilment, engine)

    result = await run.start(ORDER)
    snapshot = await engine.storage.load(run.run_id)

    assert result.status == "success"
    assert result.result["paid"] == 25.0
    assert result.result["receipt_number"].startswith("R-")
    assert [k for k in snapshot.steps if k.startswith("payment.")] == [
        "payment.authorize",
        "payment.capture",
        "payment.issue_receipt",
    ]


async def test_a_declined_card_fails_the_payment_without_retrying(engine: DefaultEngine) -> None:
    result = await _run(examples.order_fulfilment, engine).start({**ORDER, "card": "0000"})

    assert result.status == "failed"
    assert type(result.error).__name__ == "CardDeclined"


async def test_the_slow_workflow_sleeps_and_reports_each_tick(engine: DefaultEngine) -> None:
    run = _run(examples.slow_countdown, engine)

    result = await run.start(QUICK)
    events = await engine.storage.read_events(run.run_id)

    assert result.status == "success"
    assert result.result == {"ticks": 3, "message": "counted down 3 ticks"}
    progress = [e.payload["data"]["done"] for e in events if e.type == "step.progress"]
    assert progress == [1, 2, 3]
    assert [e.path for e in events if e.type == "step.waiting"] == [("warm_up",), ("cool_down",)]
