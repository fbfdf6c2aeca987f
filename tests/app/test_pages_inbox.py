"""The inbox pages: open tasks with what they ask and a form from their resume schema, answered
tasks with who answered, when and with what, and answering from the plain form."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from tests.app.conftest import client_for
from workflows_app import services
from workflows_app.models import HumanTask, Run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

LARGE_EXPENSE = {"employee": "Bob", "amount": 450, "description": "flight"}
ANSWER = {"approved": True, "comment": "fine", "approver": "Mia"}


@pytest.fixture
def waiting() -> Run:
    return services.start_run("expense-approval", LARGE_EXPENSE)


def test_open_tasks_show_what_the_step_asks_and_its_resume_schema(
    operator: User, waiting: Run
) -> None:
    task = HumanTask.objects.get(run=waiting)

    page = client_for(operator).get("/inbox/").content.decode()

    assert f'data-task-id="{task.pk}"' in page
    assert "Approve 450.00 EUR" in page
    assert f'id="resume-schema-{task.pk}"' in page
    assert "Ask a manager" in page  # the step's description


def test_the_inbox_filters_by_workflow(operator: User, waiting: Run) -> None:
    page = client_for(operator).get("/inbox/", {"workflow": "data-pipeline"}).content.decode()

    assert "data-task-id" not in page
    assert "Nobody is waiting for you" in page


def test_answered_tasks_say_who_answered_when_and_with_what(operator: User, waiting: Run) -> None:
    services.resume_run(waiting.run_id, ANSWER, user=operator)

    page = client_for(operator).get("/inbox/", {"show": "answered"}).content.decode()

    assert "otto" in page
    assert "Answered" in page
    assert "&quot;approver&quot;: &quot;Mia&quot;" in page


def test_viewers_see_tasks_without_an_answer_form(viewer: User, waiting: Run) -> None:
    page = client_for(viewer).get("/inbox/").content.decode()

    assert "data-task-form" not in page
    assert "can view this task but not answer it" in page


def test_the_plain_form_answers_and_opens_the_run(operator: User, waiting: Run) -> None:
    task = HumanTask.objects.get(run=waiting)

    response = client_for(operator).post(f"/inbox/{task.pk}/", {"data": json.dumps(ANSWER)})

    assert response["Location"] == f"/runs/{waiting.run_id}/"
    task.refresh_from_db()
    assert (task.status, task.resumed_by) == ("resumed", operator)


def test_an_invalid_answer_is_asked_again_with_field_errors(operator: User, waiting: Run) -> None:
    task = HumanTask.objects.get(run=waiting)

    response = client_for(operator).post(f"/inbox/{task.pk}/", {"data": '{"approved": "maybe"}'})

    page = response.content.decode()
    assert response.status_code == 400
    assert "<code>approved</code>" in page
    assert "<code>approver</code>: Field required" in page
    assert HumanTask.objects.get(pk=task.pk).status == "open"


def test_answering_a_closed_task_says_it_is_closed(operator: User, waiting: Run) -> None:
    task = HumanTask.objects.get(run=waiting)
    services.resume_run(waiting.run_id, ANSWER, user=operator)

    response = client_for(operator).post(f"/inbox/{task.pk}/", {"data": json.dumps(ANSWER)})

    assert response.status_code == 400
    assert b"already resumed" in response.content


def test_suspend_payloads_are_escaped(operator: User) -> None:
    run = services.start_run(
        "expense-approval", {**LARGE_EXPENSE, "description": "<script>alert(1)</script>"}
    )

    page = client_for(operator).get(f"/inbox/{run.human_tasks.get().pk}/").content

    assert b"<script>alert(1)</script>" not in page
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page
