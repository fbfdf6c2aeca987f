"""Run actions over the API: start, resume, cancel, restart; refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.app.api_support import post_json, row_counts, run_states
from tests.app.conftest import client_for
from workflows_app.models import Run

pytestmark = pytest.mark.usefixtures("test_workflows")


@pytest.fixture
def api(operator: User) -> Client:
    return client_for(operator)


def start(api: Client, workflow_id: str, data: Any, **extra: Any) -> Any:
    return post_json(api, "/api/runs/", {"workflow_id": workflow_id, "input": data, **extra})


def started(api: Client, workflow_id: str, data: Any) -> dict[str, Any]:
    response = start(api, workflow_id, data)
    assert response.status_code == 201, response.json()
    body: dict[str, Any] = response.json()
    return body


def unchanged(api: Client, method: str, url: str, body: Any, status: int) -> dict[str, Any]:
    """Make a call that must be refused with `status`, checking no row changed."""
    before = (row_counts(), run_states())
    response = post_json(api, url, body) if method == "POST" else api.get(url, body)
    assert response.status_code == status, response.json()
    assert (row_counts(), run_states()) == before
    answer: dict[str, Any] = response.json()
    return answer


def test_starting_a_run_answers_201_with_its_detail_and_address(api: Client) -> None:
    response = start(api, "greet", {"name": "Ada"}, resource_id="customer-1")
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == f"/api/runs/{body['run_id']}/"
    assert (body["workflow_id"], body["status"]) == ("greet", "success")
    assert body["result"] == {"greeting": "HELLO ADA"}
    assert body["resource_id"] == "customer-1"
    assert [step["key"] for step in body["steps"]] == ["hello", "shout"]


def test_a_failing_run_shows_its_typed_error_and_traceback(api: Client) -> None:
    body = started(api, "failing", None)
    assert body["status"] == "failed"
    assert (body["error"]["type"], body["error"]["message"]) == ("ValueError", "boom")
    assert "ValueError: boom" in body["traceback"]
    (step,) = body["steps"]
    assert step["error_type"] == "ValueError"


def test_an_invalid_input_is_400_by_field_and_stores_nothing(api: Client) -> None:
    body = unchanged(api, "POST", "/api/runs/", {"workflow_id": "greet", "input": {}}, 400)
    assert list(body["errors"]) == ["name"]
    assert body["error_list"][0]["path"] == "name"


def test_a_body_without_a_workflow_id_is_400(api: Client) -> None:
    body = unchanged(api, "POST", "/api/runs/", {"input": {"name": "Ada"}}, 400)
    assert list(body["errors"]) == ["workflow_id"]


def test_an_initial_state_that_is_not_an_object_is_400(api: Client) -> None:
    request = {"workflow_id": "greet", "input": {"name": "A"}, "initial_state": [1]}
    body = unchanged(api, "POST", "/api/runs/", request, 400)
    assert list(body["errors"]) == ["initial_state"]


def test_a_body_that_is_not_json_is_400(api: Client) -> None:
    before = row_counts()
    response = api.post("/api/runs/", "{not json", "application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"]["non_field_errors"][0].startswith("it is not valid JSON: Expecting")
    assert row_counts() == before


def test_starting_an_unknown_workflow_is_404(api: Client) -> None:
    body = unchanged(api, "POST", "/api/runs/", {"workflow_id": "nope"}, 404)
    assert "nope" in body["detail"]


def test_resuming_a_suspended_run_finishes_it(api: Client) -> None:
    run = started(api, "approval", {"name": "Ada"})
    assert run["status"] == "suspended"
    assert run["suspended"] == [["ask"]]
    url = f"/api/runs/{run['run_id']}/resume/"
    response = post_json(api, url, {"data": {"approved": True}, "step": "ask"})
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["result"]) == ("success", {"approved": True})


def test_a_resume_label_names_the_step(api: Client) -> None:
    run = started(api, "approval", {"name": "Ada"})
    url = f"/api/runs/{run['run_id']}/resume/"
    response = post_json(api, url, {"data": {"approved": False}, "label": "gate"})
    assert response.json()["result"] == {"approved": False}


def test_invalid_resume_data_is_400_by_field_and_changes_nothing(api: Client) -> None:
    run = started(api, "approval", {"name": "Ada"})
    url = f"/api/runs/{run['run_id']}/resume/"
    body = unchanged(api, "POST", url, {"data": {"approved": "perhaps"}}, 400)
    assert list(body["errors"]) == ["approved"]


def test_resuming_a_run_that_is_not_suspended_is_409(api: Client) -> None:
    run = started(api, "greet", {"name": "Ada"})
    url = f"/api/runs/{run['run_id']}/resume/"
    body = unchanged(api, "POST", url, {"data": {"approved": True}}, 409)
    assert "not suspended" in body["detail"]


def test_resuming_an_unknown_step_is_404(api: Client) -> None:
    run = started(api, "approval", {"name": "Ada"})
    url = f"/api/runs/{run['run_id']}/resume/"
    unchanged(api, "POST", url, {"data": {"approved": True}, "label": "nope"}, 404)


def test_a_negative_foreach_index_is_400(api: Client) -> None:
    run = started(api, "approval", {"name": "Ada"})
    url = f"/api/runs/{run['run_id']}/resume/"
    body = unchanged(api, "POST", url, {"data": {"approved": True}, "for_each_index": -1}, 400)
    assert list(body["errors"]) == ["for_each_index"]


@pytest.mark.parametrize("action", ["resume", "cancel", "restart"])
def test_actions_on_an_unknown_run_are_404(api: Client, action: str) -> None:
    unchanged(api, "POST", f"/api/runs/nope/{action}/", {}, 404)


def test_canceling_a_suspended_run_ends_it_canceled(api: Client) -> None:
    run = started(api, "approval", {"name": "Ada"})
    response = post_json(api, f"/api/runs/{run['run_id']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert Run.objects.get(pk=run["run_id"]).status == "canceled"


def test_canceling_a_finished_run_is_409(api: Client) -> None:
    run = started(api, "greet", {"name": "Ada"})
    unchanged(api, "POST", f"/api/runs/{run['run_id']}/cancel/", {}, 409)


def test_restarting_a_run_that_was_not_interrupted_is_409(api: Client) -> None:
    run = started(api, "greet", {"name": "Ada"})
    body = unchanged(api, "POST", f"/api/runs/{run['run_id']}/restart/", {}, 409)
    assert "not active" in body["detail"]
