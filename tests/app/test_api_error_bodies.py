"""Every refusal under /api/ is the API's JSON error body, wherever it is decided: an address
that matches no route, a method, the schema view, a crash; and its `detail` is a sentence."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.app.api_support import post_json, recorded
from tests.app.conftest import client_for
from workflows_app import services

pytestmark = pytest.mark.usefixtures("test_workflows")


@pytest.fixture
def api(operator: User) -> Client:
    return client_for(operator)


def error(response: Any, status: int) -> dict[str, Any]:
    """The JSON error body of a response that must have `status`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) >= {"detail", "code"}
    assert body["detail"].endswith(".")
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/api/inbox/-1/",
        "/api/inbox/abc/resume/",
        "/api/runs/x/snapshots/abc/",
        "/api/runs/" + "r" * 65 + "/",
        "/api/runs/a%00b/",
        "/api/nothing-here/",
        "/api/runs/x/events",
    ],
)
def test_an_address_that_matches_no_route_is_404_in_json(api: Client, path: str) -> None:
    body = error(api.get(path), 404)
    assert body["code"] == "not_found"


def test_a_post_without_the_trailing_slash_is_404_not_a_redirect_or_a_crash(api: Client) -> None:
    before = recorded()
    error(post_json(api, "/api/runs", {"workflow_id": "greet", "input": {"name": "Ada"}}), 404)
    assert recorded() == before


def test_the_schema_refuses_anonymous_callers_in_json(db: None) -> None:
    body = error(client_for(None).get("/api/schema/"), 403)
    assert body == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_a_method_the_route_does_not_have_is_405_in_json(api: Client) -> None:
    response = api.delete("/api/runs/")
    body = error(response, 405)
    assert body["code"] == "method_not_allowed"
    assert response["Allow"]


def test_a_crash_is_answered_as_a_json_500(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("workflows_app.api.views.registry.workflows", broken)
    api.raise_request_exception = False
    body = error(api.get("/api/workflows/"), 500)
    assert body == {
        "detail": "The server failed to answer; the error is logged.",
        "code": "server_error",
    }


def test_pages_outside_the_api_keep_their_html_errors(api: Client) -> None:
    response = api.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_refused_resume_says_what_is_wrong_in_a_sentence_not_a_colon(api: Client) -> None:
    run = services.start_run("approval", {"name": "Ada"})
    body = error(post_json(api, f"/api/runs/{run.run_id}/resume/", {"data": {}}), 400)
    assert body["detail"] == "Invalid resume data: approved: Field required."
    assert body["errors"] == {"approved": ["Field required"]}


def test_a_refused_start_names_its_first_field_and_counts_the_others(api: Client) -> None:
    body = error(post_json(api, "/api/runs/", {"workflow_id": "greet", "input": {"x": 1}}), 400)
    assert not body["detail"].endswith(":.")
    assert body["detail"].startswith("Invalid input data: name: Field required")
