"""Who did what: every operate call records the signed-in user on the run, and the API shows it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.app.conftest import client_for
from tests.app.test_services_runs import HeldExecutor
from workflows_app import services
from workflows_app.models import Run, RunAction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

PAYMENT = {"order_id": "A-1", "amount": 25.0, "card": "4242"}
LARGE_EXPENSE = {"employee": "Bob", "amount": 450, "description": "flight"}
ANSWER = {"approved": True, "comment": "fine", "approver": "Mia"}


def actions(run: Run) -> list[tuple[str, str]]:
    return [(a.action, a.username) for a in RunAction.objects.filter(run=run).order_by("at", "pk")]


def test_starting_a_run_records_who_started_it(operator: User) -> None:
    run = services.start_run("payment", PAYMENT, user=operator)

    assert actions(run) == [("start", "otto")]


def test_a_run_started_without_a_signed_in_user_records_nobody() -> None:
    run = services.start_run("payment", PAYMENT)

    assert actions(run) == [("start", "")]


def test_resuming_records_who_answered_and_which_step(operator: User) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE, user=operator)

    services.resume_run(run.run_id, ANSWER, user=operator)

    resume = RunAction.objects.get(run=run, action="resume")
    assert (resume.username, resume.detail) == ("otto", {"step": "manager_approval"})


def test_cancelling_records_who_cancelled(operator: User, viewer: User) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE, user=viewer)

    services.cancel_run(run.run_id, user=operator)

    assert actions(run) == [("start", "vera"), ("cancel", "otto")]


def test_restarting_records_who_restarted(operator: User, monkeypatch: pytest.MonkeyPatch) -> None:
    lost = HeldExecutor()
    monkeypatch.setattr(services, "executor", lambda: lost)
    run = services.start_run("payment", PAYMENT, user=operator)
    monkeypatch.undo()

    services.restart_run(run.run_id, user=operator)

    assert actions(run) == [("start", "otto"), ("restart", "otto")]


def test_time_travel_records_who_forked_on_the_new_run_with_its_source(operator: User) -> None:
    source = services.start_run("payment", PAYMENT)

    fork = services.time_travel(source.run_id, "capture", user=operator)

    travel = RunAction.objects.get(run=fork)
    assert (travel.action, travel.username) == ("time_travel", "otto")
    assert travel.detail == {"source_run_id": source.run_id, "step": "capture"}
    assert actions(source) == [("start", "")]


def test_importing_records_who_imported_and_the_original_id(operator: User) -> None:
    source = services.start_run("payment", PAYMENT)
    bundle = services.export_run(source.run_id)

    copy = services.import_run(bundle, new_id=True, user=operator)

    imported = RunAction.objects.get(run=copy)
    assert (imported.action, imported.username) == ("import", "otto")
    assert imported.detail == {"source_run_id": source.run_id}


def test_the_run_detail_says_who_started_it_and_lists_every_action(operator: User) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE, user=operator)
    services.resume_run(run.run_id, ANSWER, user=operator)

    body = client_for(operator).get(f"/api/runs/{run.run_id}/").json()

    assert body["started_by"] == "otto"
    assert [(a["action"], a["user"]) for a in body["actions"]] == [
        ("start", "otto"),
        ("resume", "otto"),
    ]
    assert body["actions"][1]["detail"] == {"step": "manager_approval"}
    assert body["actions"][0]["at"].endswith("Z")


def test_the_api_records_the_signed_in_user_on_start(operator: User) -> None:
    api = client_for(operator)

    response = api.post(
        "/api/runs/",
        {"workflow_id": "payment", "input": PAYMENT},
        content_type="application/json",
    )

    assert response.json()["started_by"] == "otto"
