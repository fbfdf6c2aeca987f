"""The workflows pages: run counts, the definition graph, schemas, recent runs, and starting a
run from the plain form (what the generated form falls back to without JavaScript)."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from tests.app.conftest import client_for
from workflows_app import services
from workflows_app.models import Run, RunAction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

EXPENSE = {"employee": "Ada", "amount": 42.5, "description": "taxi"}


def test_the_list_shows_each_workflow_with_its_runs_by_status(viewer: User) -> None:
    services.start_run("expense-approval", EXPENSE)

    page = client_for(viewer).get("/workflows/").content.decode()

    assert 'href="/workflows/expense-approval/"' in page
    assert "1 success" in page
    assert 'href="/workflows/order-fulfilment/"' in page


def test_a_workflow_page_carries_its_graph_and_input_schema_for_the_widgets(
    viewer: User,
) -> None:
    response = client_for(viewer).get("/workflows/order-fulfilment/")
    graph = json.loads(
        response.content.decode()
        .split('id="workflow-graph" type="application/json">')[1]
        .split("</script>")[0]
    )

    assert {"payment", "payment.capture"} <= {node["key"] for node in graph["nodes"]}
    assert 'id="input-schema"' in response.content.decode()


def test_a_workflow_page_lists_its_recent_runs(viewer: User) -> None:
    run = services.start_run("expense-approval", EXPENSE)

    page = client_for(viewer).get("/workflows/expense-approval/").content.decode()

    assert f'data-run-id="{run.run_id}"' in page


def test_an_unknown_workflow_is_404(viewer: User) -> None:
    assert client_for(viewer).get("/workflows/nope/").status_code == 404


def test_viewers_see_no_start_form(viewer: User) -> None:
    page = client_for(viewer).get("/workflows/expense-approval/").content.decode()

    assert "data-start-form" not in page
    assert "can view runs but not start them" in page


def test_the_plain_form_starts_a_run_and_opens_its_page(operator: User) -> None:
    response = client_for(operator).post(
        "/workflows/expense-approval/", {"input": json.dumps(EXPENSE), "resource_id": "ada"}
    )

    run = Run.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/runs/{run.run_id}/")
    assert (run.resource_id, run.status) == ("ada", "success")
    assert RunAction.objects.get(run=run).username == "otto"


def test_input_that_is_not_json_is_asked_again_with_the_problem(operator: User) -> None:
    response = client_for(operator).post("/workflows/expense-approval/", {"input": "{nope"})

    assert response.status_code == 400
    assert b"Not valid JSON" in response.content
    assert b"{nope" in response.content
    assert not Run.objects.exists()


def test_invalid_input_is_asked_again_with_each_field_problem(operator: User) -> None:
    response = client_for(operator).post(
        "/workflows/expense-approval/", {"input": json.dumps({"amount": -1})}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "<code>employee</code>: Field required" in page
    assert "<code>amount</code>: Input should be greater than 0" in page
    assert not Run.objects.exists()


def test_the_server_refuses_a_viewer_who_posts_the_form_anyway(viewer: User) -> None:
    response = client_for(viewer).post("/workflows/expense-approval/", {"input": "{}"})

    assert response.status_code == 403
    assert not Run.objects.exists()
