"""The debugger over the API: breakpoints and per-step mode on start, time travel and resume;
continue (`next` / `continue`), re-run, the run head's debugger fields, filtered events."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.app.api_support import post_json, row_counts, run_states
from tests.app.conftest import client_for
from workflows_app.models import RunAction

pytestmark = pytest.mark.usefixtures("test_workflows")


@pytest.fixture
def api(operator: User) -> Client:
    return client_for(operator)


def start(api: Client, **extra: Any) -> dict[str, Any]:
    body = {"workflow_id": "greet", "input": {"name": "Ada"}, **extra}
    response = post_json(api, "/api/runs/", body)
    assert response.status_code == 201, response.json()
    answer: dict[str, Any] = response.json()
    return answer


def refused(api: Client, url: str, body: Any, status: int) -> dict[str, Any]:
    """A call that must be refused with `status`, changing no row."""
    before = (row_counts(), run_states())
    response = post_json(api, url, body)
    assert response.status_code == status, response.json()
    assert (row_counts(), run_states()) == before
    answer: dict[str, Any] = response.json()
    return answer


def test_a_run_started_with_a_breakpoint_pauses_before_that_step(api: Client) -> None:
    body = start(api, breakpoints=["shout"])
    assert body["status"] == "paused"
    assert (body["paused_at"], body["breakpoints"], body["per_step"]) == (
        [["shout"]],
        ["shout"],
        False,
    )
    assert [step["key"] for step in body["steps"]] == ["hello"]


def test_continue_runs_a_paused_run_to_the_end_and_answers_202(api: Client) -> None:
    run_id = start(api, breakpoints=["shout"])["run_id"]
    response = post_json(api, f"/api/runs/{run_id}/continue/", {"mode": "continue"})
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["paused_at"]) == ("success", [])
    assert body["result"] == {"greeting": "HELLO ADA"}
    action = RunAction.objects.filter(run_id=run_id, action=RunAction.RESUME).get()
    assert action.detail == {"mode": "continue"}


def test_next_runs_one_step_of_a_per_step_run_at_a_time(api: Client) -> None:
    body = start(api, per_step=True)
    assert (body["status"], body["per_step"], body["paused_at"]) == ("paused", True, [["shout"]])
    stepped = post_json(api, f"/api/runs/{body['run_id']}/continue/", {"mode": "next"}).json()
    assert [step["key"] for step in stepped["steps"]] == ["hello", "shout"]
    assert stepped["per_step"] is True
    done = post_json(api, f"/api/runs/{body['run_id']}/continue/", {}).json()
    assert done["status"] == "success"


def test_continue_may_set_new_breakpoints(api: Client) -> None:
    run_id = start(api, per_step=True)["run_id"]
    body = post_json(api, f"/api/runs/{run_id}/continue/", {"breakpoints": []}).json()
    assert (body["status"], body["breakpoints"]) == ("success", [])


def test_continuing_a_run_that_is_not_paused_is_409(api: Client) -> None:
    run_id = start(api)["run_id"]
    body = refused(api, f"/api/runs/{run_id}/continue/", {"mode": "next"}, 409)
    assert "not paused" in body["detail"]


def test_an_unknown_continue_mode_is_400(api: Client) -> None:
    run_id = start(api, breakpoints=["shout"])["run_id"]
    body = refused(api, f"/api/runs/{run_id}/continue/", {"mode": "jump"}, 400)
    assert list(body["errors"]) == ["mode"]


def test_a_breakpoint_naming_no_step_is_400_by_index_and_stores_nothing(api: Client) -> None:
    request = {"workflow_id": "greet", "input": {"name": "A"}, "breakpoints": ["hello", "nope"]}
    body = refused(api, "/api/runs/", request, 400)
    assert list(body["errors"]) == ["breakpoints.1"]


def test_a_blank_breakpoint_is_400(api: Client) -> None:
    request = {"workflow_id": "greet", "input": {"name": "A"}, "breakpoints": [""]}
    body = refused(api, "/api/runs/", request, 400)
    assert list(body["errors"]) == ["breakpoints.0"]


def test_resume_of_a_paused_run_with_per_step_runs_one_step(api: Client) -> None:
    run_id = start(api, breakpoints=["hello"])["run_id"]
    body = post_json(api, f"/api/runs/{run_id}/resume/", {"per_step": True}).json()
    assert (body["status"], body["paused_at"]) == ("paused", [["shout"]])


def test_rerun_starts_a_new_run_with_the_same_input_recorded_as_a_rerun(api: Client) -> None:
    source = start(api)
    response = post_json(api, f"/api/runs/{source['run_id']}/rerun/", {"breakpoints": ["shout"]})
    assert response.status_code == 201
    body = response.json()
    assert body["run_id"] != source["run_id"]
    assert (body["input"], body["status"], body["paused_at"]) == (
        {"name": "Ada"},
        "paused",
        [["shout"]],
    )
    action = RunAction.objects.get(run_id=body["run_id"])
    assert (action.action, action.detail) == ("start", {"rerun_of": source["run_id"]})


def test_rerun_of_an_unknown_run_is_404(api: Client) -> None:
    refused(api, "/api/runs/nope/rerun/", {}, 404)


def test_time_travel_with_breakpoints_pauses_the_new_run(api: Client) -> None:
    run_id = start(api)["run_id"]
    response = post_json(
        api,
        f"/api/runs/{run_id}/time-travel/",
        {"step": "hello", "input": {"name": "Bo"}, "breakpoints": ["shout"]},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["paused_at"], body["parent_run_id"]) == (
        "paused",
        [["shout"]],
        run_id,
    )


def test_time_travel_with_a_bad_breakpoint_is_400(api: Client) -> None:
    run_id = start(api)["run_id"]
    request = {"step": "hello", "breakpoints": ["nope"]}
    body = refused(api, f"/api/runs/{run_id}/time-travel/", request, 400)
    assert list(body["errors"]) == ["breakpoints.0"]


def test_restart_with_a_bad_breakpoint_is_400(api: Client) -> None:
    run_id = start(api)["run_id"]
    body = refused(api, f"/api/runs/{run_id}/restart/", {"breakpoints": ["nope"]}, 400)
    assert list(body["errors"]) == ["breakpoints.0"]


def test_events_are_filtered_by_type_and_by_step(api: Client) -> None:
    run_id = start(api)["run_id"]
    by_type = api.get(f"/api/runs/{run_id}/events/", {"type": "step.succeeded"}).json()
    assert [(e["type"], e["path"]) for e in by_type["events"]] == [
        ("step.succeeded", ["hello"]),
        ("step.succeeded", ["shout"]),
    ]
    by_step = api.get(f"/api/runs/{run_id}/events/", {"step": "shout"}).json()
    assert [e["type"] for e in by_step["events"]] == ["step.started", "step.succeeded"]
    both = api.get(
        f"/api/runs/{run_id}/events/", {"type": "step.started,run.started", "step": "hello"}
    ).json()
    assert [e["type"] for e in both["events"]] == ["step.started"]


def test_a_filter_that_matches_nothing_moves_the_cursor_to_the_runs_last_seq(
    api: Client,
) -> None:
    run_id = start(api)["run_id"]
    body = api.get(f"/api/runs/{run_id}/events/", {"type": "step.failed"}).json()
    assert (body["events"], body["has_more"], body["last_seq"]) == ([], False, body["run_seq"])


@pytest.mark.parametrize(
    "query", [{"kind": "step.failed"}, {"type": "failed"}, {"type": ""}, {"step": ""}]
)
def test_an_unknown_or_malformed_events_filter_is_400(api: Client, query: dict[str, str]) -> None:
    run_id = start(api)["run_id"]
    response = api.get(f"/api/runs/{run_id}/events/", query)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(query)


def test_a_viewer_cannot_continue_or_rerun(viewer: User, api: Client) -> None:
    run_id = start(api, breakpoints=["shout"])["run_id"]
    watcher = client_for(viewer)
    assert post_json(watcher, f"/api/runs/{run_id}/continue/", {}).status_code == 403
    assert post_json(watcher, f"/api/runs/{run_id}/rerun/", {}).status_code == 403


def test_the_snapshot_of_a_paused_run_holds_its_debugger_fields(api: Client) -> None:
    body = start(api, breakpoints=["shout"])
    run_id, seq = body["run_id"], body["seq"]
    snapshot = api.get(f"/api/runs/{run_id}/snapshots/{seq}/").json()
    assert (snapshot["status"], snapshot["paused_at"], snapshot["breakpoints"]) == (
        "paused",
        [["shout"]],
        ["shout"],
    )
    assert snapshot["per_step"] is False
