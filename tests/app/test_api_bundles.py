"""Export and import over the API, and the moments of a real run (snapshots)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.app.api_support import (
    documented_fields,
    exported,
    post_json,
    row_counts,
    run_states,
)
from tests.app.conftest import client_for
from workflows_app import services
from workflows_app.models import Run

pytestmark = pytest.mark.usefixtures("test_workflows")


@pytest.fixture
def api(operator: User) -> Client:
    return client_for(operator)


@pytest.fixture
def greeted(api: Client) -> dict[str, Any]:
    response = post_json(api, "/api/runs/", {"workflow_id": "greet", "input": {"name": "Ada"}})
    assert response.status_code == 201, response.json()
    body: dict[str, Any] = response.json()
    return body


def test_a_run_exports_as_a_json_attachment(api: Client, greeted: dict[str, Any]) -> None:
    response = api.get(f"/api/runs/{greeted['run_id']}/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    expected = f'attachment; filename="stepback-run-{greeted["run_id"]}.json"'
    assert response["Content-Disposition"] == expected
    assert json.loads(b"".join(response.streaming_content))["run"]["run_id"] == greeted["run_id"]


def test_exporting_an_unknown_run_is_404(api: Client) -> None:
    assert api.get("/api/runs/nope/export/").status_code == 404


def test_an_exported_run_imports_under_a_new_id(api: Client, greeted: dict[str, Any]) -> None:
    bundle = exported(api, greeted["run_id"])
    response = post_json(api, "/api/runs/import/?new_id=true", bundle)
    assert response.status_code == 201, response.json()
    imported = response.json()
    assert imported["run_id"] != greeted["run_id"]
    assert (imported["status"], imported["result"]) == ("success", greeted["result"])
    assert [s["key"] for s in imported["steps"]] == ["hello", "shout"]


def test_importing_a_run_that_exists_is_409(api: Client, greeted: dict[str, Any]) -> None:
    bundle = exported(api, greeted["run_id"])
    before = (row_counts(), run_states())
    assert post_json(api, "/api/runs/import/", bundle).status_code == 409
    assert (row_counts(), run_states()) == before


def test_an_exported_run_imports_into_an_empty_installation(
    api: Client, greeted: dict[str, Any]
) -> None:
    bundle = exported(api, greeted["run_id"])
    Run.objects.all().delete()
    response = post_json(api, "/api/runs/import/", bundle)
    assert response.status_code == 201, response.json()
    assert response.json()["run_id"] == greeted["run_id"]


@pytest.mark.parametrize("bundle", [[1, 2], {"version": 1}, {"run": "x"}])
def test_a_malformed_bundle_is_400_by_field_and_stores_nothing(api: Client, bundle: Any) -> None:
    before = (row_counts(), run_states())
    response = post_json(api, "/api/runs/import/", bundle)
    assert response.status_code == 400
    assert response.json()["errors"]
    assert (row_counts(), run_states()) == before


def test_a_finished_run_lists_its_snapshots(api: Client, greeted: dict[str, Any]) -> None:
    body = api.get(f"/api/runs/{greeted['run_id']}/snapshots/").json()
    seqs = [s["seq"] for s in body["snapshots"]]
    assert seqs == sorted(seqs)
    assert seqs[-1] == greeted["seq"] == body["seq"]
    assert body["snapshots"][0]["full"] is True


def test_the_last_snapshot_is_the_run_as_it_ended(api: Client, greeted: dict[str, Any]) -> None:
    url = f"/api/runs/{greeted['run_id']}/snapshots/{greeted['seq']}/"
    response = api.get(url)
    assert response.status_code == 200
    snapshot = response.json()
    assert set(snapshot) == documented_fields("RunSnapshot")
    assert (snapshot["status"], snapshot["result"]) == ("success", {"greeting": "HELLO ADA"})
    assert set(snapshot["steps"]) == {"hello", "shout"}


def test_an_early_snapshot_is_the_run_as_it_was_then(api: Client, greeted: dict[str, Any]) -> None:
    first = api.get(f"/api/runs/{greeted['run_id']}/snapshots/").json()["snapshots"][0]["seq"]
    snapshot = api.get(f"/api/runs/{greeted['run_id']}/snapshots/{first}/").json()
    assert snapshot["seq"] <= first
    assert snapshot["status"] != "success" or first == greeted["seq"]


def test_the_streamed_export_is_the_bundle(api: Client, greeted: dict[str, Any]) -> None:
    run_id = greeted["run_id"]
    assert exported(api, run_id) == services.export_run(run_id)
