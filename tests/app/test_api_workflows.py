"""GET /api/workflows/ and /api/workflows/<id>/: the registered workflows and their runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.app.api_support import make_run
from tests.app.conftest import client_for


@pytest.fixture(autouse=True)
def fixture_workflows(settings: Any) -> None:
    settings.STEPBACK_WORKFLOWS = ["tests.app.workflows_fixture"]


@pytest.fixture
def api(viewer: User) -> Client:
    return client_for(viewer)


def test_workflows_are_listed_by_id_with_schemas_and_step_counts(api: Client) -> None:
    body = api.get("/api/workflows/").json()
    assert [w["id"] for w in body] == ["approval", "failing", "greet", "stalling"]
    greet = body[2]
    assert greet["description"] == "Greets."
    assert greet["step_count"] == 2
    assert greet["input_schema"]["properties"]["name"]["type"] == "string"
    assert greet["output_schema"] is None
    assert len(greet["definition_hash"]) == 16


def test_each_workflow_counts_its_runs_by_status(api: Client) -> None:
    make_run("a", workflow_id="greet")
    make_run("b", workflow_id="greet", minute=1, status="failed")
    make_run("c", workflow_id="approval", minute=2, status="suspended")
    counts = {w["id"]: w["run_counts"] for w in api.get("/api/workflows/").json()}
    assert counts["greet"] == {"total": 2, "by_status": {"success": 1, "failed": 1}}
    assert counts["approval"] == {"total": 1, "by_status": {"suspended": 1}}
    assert counts["failing"] == {"total": 0, "by_status": {}}


def test_a_workflow_shows_its_graph_and_latest_runs(api: Client) -> None:
    for minute in range(12):
        make_run(f"r{minute:02}", workflow_id="greet", minute=minute)
    make_run("elsewhere", workflow_id="approval", minute=99)
    body = api.get("/api/workflows/greet/").json()
    assert [node["id"] for node in body["graph"]["nodes"]] == ["hello", "shout"]
    assert [run["run_id"] for run in body["recent_runs"]] == [f"r{m:02}" for m in range(11, 1, -1)]
    assert body["run_counts"]["total"] == 12


def test_an_unknown_workflow_is_404_naming_the_known_ones(api: Client) -> None:
    response = api.get("/api/workflows/nope/")
    assert response.status_code == 404
    assert "greet" in response.json()["detail"]
