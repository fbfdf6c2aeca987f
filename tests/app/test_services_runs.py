"""Starting, resuming, cancelling and restarting runs through the services.

Runs execute inline (to their next stop inside the call), so each test reads the outcome right
away. A refused call must leave every table as it was.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from engines import InvalidRunStateError, RunNotFoundError, ValidationError, Workflow
from engines.core.engine import Execution
from tests.app.api_support import recorded
from workflows_app import services
from workflows_app.models import HumanTask, Run
from workflows_app.registry import UnknownWorkflowError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

PAYMENT = {"order_id": "A-1", "amount": 25.0, "card": "4242"}
LARGE_EXPENSE = {"employee": "Bob", "amount": 450, "description": "flight"}
ANSWER = {"approved": True, "comment": "fine", "approver": "Mia"}


class HeldExecutor:
    """An executor that keeps what it is given: runs stay as stored, "in flight"."""

    def __init__(self) -> None:
        self.held: list[tuple[Workflow, Execution]] = []

    def submit(self, workflow: Workflow, execution: Execution) -> None:
        self.held.append((workflow, execution))

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        return not self.in_flight(run_id)

    def in_flight(self, run_id: str) -> bool:
        return any(e.snapshot.run_id == run_id for _, e in self.held)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldExecutor:
    executor = HeldExecutor()
    monkeypatch.setattr(services, "executor", lambda: executor)
    return executor


def suspended_expense() -> Run:
    run = services.start_run("expense-approval", LARGE_EXPENSE)
    assert run.status == "suspended"
    return run


# -- start --------------------------------------------------------------------------------------


def test_start_run_records_the_run_with_its_events_and_steps() -> None:
    run = services.start_run("payment", PAYMENT, resource_id="customer-7")

    assert run.status == "success"
    assert run.result["receipt_number"].startswith("R-")
    assert run.resource_id == "customer-7"
    assert run.engine == "default"
    assert run.events.first().type == "run.started"
    assert set(run.step_records.values_list("path", flat=True)) == {
        "authorize",
        "capture",
        "issue_receipt",
    }


def test_the_started_run_exists_as_pending_before_any_step_runs(held: HeldExecutor) -> None:
    run = services.start_run("payment", PAYMENT)

    assert run.status == "pending"
    assert run.seq == 0
    assert run.input == PAYMENT
    assert [e.snapshot.run_id for _, e in held.held] == [run.run_id]


def test_start_run_refuses_bad_input_with_field_paths_and_writes_nothing() -> None:
    before = recorded()

    with pytest.raises(ValidationError) as refused:
        services.start_run("payment", {"amount": -1})

    assert {e["path"] for e in refused.value.errors} == {"order_id", "amount", "card"}
    assert recorded() == before


def test_start_run_refuses_an_unknown_workflow_and_writes_nothing() -> None:
    before = recorded()

    with pytest.raises(UnknownWorkflowError, match="nope"):
        services.start_run("nope", {})

    assert recorded() == before


def test_start_run_refuses_a_context_that_is_not_an_object() -> None:
    before = recorded()

    with pytest.raises(Exception, match="context must be a dict"):
        services.start_run("payment", PAYMENT, context=["x"])  # type: ignore[arg-type]

    assert recorded() == before


# -- resume -------------------------------------------------------------------------------------


def test_resume_run_finishes_the_run_and_audits_the_human_task(operator: User) -> None:
    run = suspended_expense()
    task = HumanTask.objects.get(run=run)
    assert task.status == HumanTask.OPEN

    resumed = services.resume_run(run.run_id, ANSWER, label="manager", user=operator)
    task.refresh_from_db()

    assert resumed.status == "success"
    assert resumed.state == {"decision": "approved", "decided_by": "Mia"}
    assert task.status == HumanTask.RESUMED
    assert task.resumed_by == operator
    assert task.resume_data == ANSWER
    assert task.closed_at is not None


def test_resume_run_by_step_path_works_like_by_label() -> None:
    run = suspended_expense()

    resumed = services.resume_run(run.run_id, ANSWER, step="manager_approval")

    assert resumed.status == "success"


def test_resume_run_refuses_invalid_data_and_writes_nothing() -> None:
    run = suspended_expense()
    before = recorded()

    with pytest.raises(ValidationError) as refused:
        services.resume_run(run.run_id, {"approved": "perhaps"})

    assert {e["path"] for e in refused.value.errors} == {"approved", "approver"}
    assert recorded() == before
    assert HumanTask.objects.get(run=run).resumed_by is None


def test_resume_run_refuses_a_run_that_is_not_suspended() -> None:
    run = services.start_run("payment", PAYMENT)
    before = recorded()

    with pytest.raises(InvalidRunStateError, match="not suspended"):
        services.resume_run(run.run_id, {})

    assert recorded() == before


def test_resume_run_refuses_an_unknown_run() -> None:
    with pytest.raises(RunNotFoundError):
        services.resume_run("missing", ANSWER)


def test_resume_run_refuses_a_run_still_in_flight(held: HeldExecutor) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE)
    before = recorded()

    with pytest.raises(InvalidRunStateError, match="executing"):
        services.resume_run(run.run_id, ANSWER)

    assert recorded() == before


# -- cancel -------------------------------------------------------------------------------------


def test_cancel_run_cancels_a_suspended_run_and_its_open_task() -> None:
    run = suspended_expense()

    canceled = services.cancel_run(run.run_id)

    assert canceled.status == "canceled"
    assert canceled.events.last().type == "run.canceled"
    assert HumanTask.objects.get(run=run).status == HumanTask.CANCELED


def test_cancel_run_refuses_a_run_that_already_ended() -> None:
    run = services.start_run("payment", PAYMENT)
    before = recorded()

    with pytest.raises(InvalidRunStateError, match="already ended"):
        services.cancel_run(run.run_id)

    assert recorded() == before


def test_cancel_run_refuses_an_unknown_run() -> None:
    with pytest.raises(RunNotFoundError):
        services.cancel_run("missing")


# -- restart ------------------------------------------------------------------------------------


def test_restart_run_runs_an_interrupted_run_to_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    lost = HeldExecutor()  # the process that took the run died before running it
    monkeypatch.setattr(services, "executor", lambda: lost)
    run = services.start_run("payment", PAYMENT)
    monkeypatch.undo()

    restarted = services.restart_run(run.run_id)

    assert restarted.status == "success"
    assert restarted.events.filter(type="run.started").count() == 1


def test_restart_run_refuses_a_finished_run() -> None:
    run = services.start_run("payment", PAYMENT)
    before = recorded()

    with pytest.raises(InvalidRunStateError, match="not active"):
        services.restart_run(run.run_id)

    assert recorded() == before


def test_restart_run_refuses_a_run_in_flight(held: HeldExecutor) -> None:
    run = services.start_run("payment", PAYMENT)
    before = recorded()

    with pytest.raises(InvalidRunStateError, match="executing"):
        services.restart_run(run.run_id)

    assert recorded() == before


# -- wait ---------------------------------------------------------------------------------------


def test_wait_for_returns_the_stored_run_once_it_stopped() -> None:
    run = services.start_run("payment", PAYMENT)

    assert services.wait_for(run.run_id).status == "success"


def test_wait_for_times_out_on_a_run_that_keeps_executing(held: HeldExecutor) -> None:
    run = services.start_run("payment", PAYMENT)

    with pytest.raises(TimeoutError):
        services.wait_for(run.run_id, timeout=0.01)
