"""The inbox: open human tasks across runs, one task, and answering it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.app.api_support import make_run, make_task, post_json, row_counts, run_states
from tests.app.conftest import client_for
from workflows_app import services
from workflows_app.models import HumanTask

pytestmark = pytest.mark.usefixtures("test_workflows")


@pytest.fixture
def api(operator: User) -> Client:
    return client_for(operator)


def test_the_inbox_lists_open_tasks_newest_first_with_their_run(api: Client) -> None:
    old = make_task(make_run("r1", workflow_id="approval", status="suspended", minute=1))
    new = make_task(make_run("r2", workflow_id="approval", status="suspended", minute=2))
    make_task(make_run("r3", minute=3), status=HumanTask.RESUMED)
    body = api.get("/api/inbox/").json()
    assert [item["id"] for item in body["results"]] == [new.pk, old.pk]
    first = body["results"][0]
    assert first["run"]["run_id"] == "r2"
    assert first["suspend_payload"] == {"q": "ok?"}
    assert first["path"] == ["ask"]


def test_the_inbox_filters_by_workflow(api: Client) -> None:
    make_task(make_run("a", workflow_id="approval", status="suspended"))
    make_task(make_run("g", workflow_id="greet", status="suspended", minute=1))
    body = api.get("/api/inbox/", {"workflow": "greet"}).json()
    assert [item["run_id"] for item in body["results"]] == ["g"]


def test_the_inbox_pages_in_a_fixed_number_of_queries(
    api: Client, django_assert_max_num_queries: Any
) -> None:
    for minute in range(20):
        make_task(make_run(f"r{minute:02}", status="suspended", minute=minute))
    with django_assert_max_num_queries(8):
        assert len(api.get("/api/inbox/", {"page_size": 20}).json()["results"]) == 20


def test_a_closed_task_still_shows_its_audit_trail(api: Client, operator: User) -> None:
    run = make_run("r")
    task = make_task(run, status=HumanTask.RESUMED, resumed_by=operator, resume_data={"ok": 1})
    body = api.get(f"/api/inbox/{task.pk}/").json()
    assert (body["status"], body["resumed_by"], body["resume_data"]) == (
        "resumed", operator.username, {"ok": 1},
    )  # fmt: skip


def test_an_unknown_task_is_404(api: Client) -> None:
    assert api.get("/api/inbox/999/").status_code == 404
    assert post_json(api, "/api/inbox/999/resume/", {"data": {}}).status_code == 404


def open_task(user: User) -> HumanTask:
    run = services.start_run("approval", {"name": "Ada"}, user=user)
    return HumanTask.objects.get(run_id=run.run_id, status=HumanTask.OPEN)


def test_answering_a_task_resumes_its_run_and_records_who_answered(
    api: Client, operator: User
) -> None:
    task = open_task(operator)
    response = post_json(api, f"/api/inbox/{task.pk}/resume/", {"data": {"approved": True}})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "success"
    assert response.json()["result"] == {"approved": True}
    task.refresh_from_db()
    assert (task.status, task.resumed_by, task.resume_data) == (
        HumanTask.RESUMED, operator, {"approved": True},
    )  # fmt: skip


def test_an_invalid_answer_is_400_by_field_and_changes_nothing(api: Client, operator: User) -> None:
    task = open_task(operator)
    before = (row_counts(), run_states())
    response = post_json(api, f"/api/inbox/{task.pk}/resume/", {"data": {"approved": "perhaps"}})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["approved"]
    assert (row_counts(), run_states()) == before
    task.refresh_from_db()
    assert task.status == HumanTask.OPEN


def test_answering_a_closed_task_is_409(api: Client, operator: User) -> None:
    task = open_task(operator)
    url = f"/api/inbox/{task.pk}/resume/"
    assert post_json(api, url, {"data": {"approved": True}}).status_code == 200
    before = (row_counts(), run_states())
    response = post_json(api, url, {"data": {"approved": False}})
    assert response.status_code == 409
    assert (row_counts(), run_states()) == before
