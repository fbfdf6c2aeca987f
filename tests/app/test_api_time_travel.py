"""Time travel over the API: the plan preview, the new linked run, lineage and compare."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.app.api_support import documented_fields, post_json, row_counts, run_states
from tests.app.conftest import client_for

pytestmark = pytest.mark.usefixtures("test_workflows")


@pytest.fixture
def api(operator: User) -> Client:
    return client_for(operator)


@pytest.fixture
def greeted(api: Client) -> str:
    """A finished run of `greet` (hello -> shout) for Ada."""
    response = post_json(api, "/api/runs/", {"workflow_id": "greet", "input": {"name": "Ada"}})
    assert response.status_code == 201, response.json()
    run_id: str = response.json()["run_id"]
    return run_id


def refused(api: Client, url: str, body: Any, status: int) -> dict[str, Any]:
    before = (row_counts(), run_states())
    response = post_json(api, url, body)
    assert response.status_code == status, response.json()
    assert (row_counts(), run_states()) == before
    answer: dict[str, Any] = response.json()
    return answer


def test_time_travel_creates_a_linked_run_with_the_new_input(api: Client, greeted: str) -> None:
    url = f"/api/runs/{greeted}/time-travel/"
    response = post_json(api, url, {"step": "hello", "input": {"name": "Bob"}})
    assert response.status_code == 201, response.json()
    fork = response.json()
    assert response["Location"] == f"/api/runs/{fork['run_id']}/"
    assert fork["run_id"] != greeted
    assert (fork["parent_run_id"], fork["fork_step"]) == (greeted, "hello")
    assert fork["result"] == {"greeting": "HELLO BOB"}
    assert fork["lineage"]["parent"]["run_id"] == greeted


def test_an_invalid_time_travel_input_is_400_by_field_and_stores_nothing(
    api: Client, greeted: str
) -> None:
    url = f"/api/runs/{greeted}/time-travel/"
    body = refused(api, url, {"step": "hello", "input": {"name": ""}}, 400)
    assert list(body["errors"]) == ["name"]


def test_time_travel_needs_a_step(api: Client, greeted: str) -> None:
    body = refused(api, f"/api/runs/{greeted}/time-travel/", {}, 400)
    assert list(body["errors"]) == ["step"]


def test_time_travel_from_an_unknown_step_is_404(api: Client, greeted: str) -> None:
    refused(api, f"/api/runs/{greeted}/time-travel/", {"step": "nope"}, 404)


def test_time_travel_of_an_unknown_run_is_404(api: Client) -> None:
    refused(api, "/api/runs/nope/time-travel/", {"step": "hello"}, 404)


def test_the_preview_lists_each_step_action_and_writes_nothing(api: Client, greeted: str) -> None:
    url = f"/api/runs/{greeted}/time-travel/preview/"
    before = (row_counts(), run_states())
    response = post_json(api, url, {"step": "shout"})
    assert response.status_code == 200, response.json()
    assert (row_counts(), run_states()) == before
    plan = response.json()
    assert set(plan) == documented_fields("TimeTravelPlan")
    assert {s["key"]: s["action"] for s in plan["steps"]} == {
        "hello": "reused",
        "shout": "re-executed",
    }
    assert (plan["fork_step"], plan["valid"]) == ("shout", True)


def test_viewers_may_preview_a_time_travel(viewer: User, greeted: str) -> None:
    url = f"/api/runs/{greeted}/time-travel/preview/"
    assert post_json(client_for(viewer), url, {"step": "hello"}).status_code == 200


def test_the_preview_reports_bad_edits_beside_the_plan(api: Client, greeted: str) -> None:
    url = f"/api/runs/{greeted}/time-travel/preview/"
    plan = post_json(api, url, {"step": "hello", "input": {"name": ""}}).json()
    assert plan["valid"] is False
    assert [e["path"] for e in plan["errors"]] == ["name"]


def test_a_preview_with_bad_input_shows_what_was_sent_beside_what_was_recorded(
    api: Client, greeted: str
) -> None:
    url = f"/api/runs/{greeted}/time-travel/preview/"
    plan = post_json(api, url, {"step": "hello", "input": {"name": ""}}).json()
    assert plan["input"] == {"name": ""}
    assert plan["recorded_input"] == {"name": "Ada"}


def test_a_preview_without_input_shows_the_recorded_one(api: Client, greeted: str) -> None:
    url = f"/api/runs/{greeted}/time-travel/preview/"
    plan = post_json(api, url, {"step": "hello"}).json()
    assert plan["input"] == plan["recorded_input"] == {"name": "Ada"}


def test_lineage_shows_the_fork_under_its_source(api: Client, greeted: str) -> None:
    fork = post_json(api, f"/api/runs/{greeted}/time-travel/", {"step": "hello"}).json()
    body = api.get(f"/api/runs/{fork['run_id']}/lineage/").json()
    assert body["ancestors"] == [greeted]
    assert [r["run_id"] for r in body["runs"]] == [greeted, fork["run_id"]]


def test_compare_finds_the_first_divergence(api: Client, greeted: str) -> None:
    url = f"/api/runs/{greeted}/time-travel/"
    fork = post_json(api, url, {"step": "hello", "input": {"name": "Bob"}}).json()
    response = api.get("/api/compare/", {"a": greeted, "b": fork["run_id"]})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == documented_fields("Comparison")
    assert body["first_divergence"] == ["hello"]
    assert set(body["steps"][0]) == documented_fields("StepComparison")
    assert set(body["steps"][0]["a"]) == documented_fields("ComparedStepSide")


def test_compare_needs_both_runs(api: Client, greeted: str) -> None:
    response = api.get("/api/compare/", {"a": greeted})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["b"]


def test_comparing_an_unknown_run_is_404(api: Client, greeted: str) -> None:
    assert api.get("/api/compare/", {"a": greeted, "b": "nope"}).status_code == 404


def test_runs_of_two_workflows_cannot_be_compared(api: Client, greeted: str) -> None:
    other = post_json(api, "/api/runs/", {"workflow_id": "failing"}).json()
    response = api.get("/api/compare/", {"a": greeted, "b": other["run_id"]})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["b"]


def test_time_travel_replays_edited_outputs_of_earlier_steps(api: Client, greeted: str) -> None:
    body = {"step": "shout", "outputs": {"hello": {"greeting": "Hi Zed"}}}
    response = post_json(api, f"/api/runs/{greeted}/time-travel/", body)
    assert response.status_code == 201, response.json()
    assert response.json()["result"] == {"greeting": "HI ZED"}


def test_reusing_a_step_that_does_not_come_after_the_fork_is_400(api: Client, greeted: str) -> None:
    body = refused(
        api, f"/api/runs/{greeted}/time-travel/", {"step": "shout", "reuse": ["hello"]}, 400
    )
    assert list(body["errors"]) == ["reuse"]
