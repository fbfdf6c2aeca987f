"""/api/schema/: an OpenAPI 3 document covering every API route, generated without warnings,
whose response components match the JSON the views build."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import URLResolver, get_resolver

from tests.app.api_support import documented_fields, make_events, make_run, make_task
from tests.app.conftest import client_for
from workflows_app import payloads
from workflows_app.models import RunAction, StepRecord
from workflows_app.registry import workflows


@pytest.fixture(autouse=True)
def fixture_workflows(settings: Any) -> None:
    settings.STEPBACK_WORKFLOWS = ["tests.app.workflows_fixture"]


def api_routes() -> list[str]:
    """Every route under /api/ in OpenAPI form (`/api/runs/{run_id}/`)."""
    (api,) = [p for p in get_resolver().url_patterns if isinstance(p, URLResolver)
              and getattr(p, "namespace", None) == "api"]  # fmt: skip
    return [
        "/api/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(route.pattern))
        for route in api.url_patterns
    ]


def test_the_schema_is_openapi_3_and_documents_every_api_route(viewer: User) -> None:
    response = client_for(viewer).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert sorted(schema["paths"]) == sorted(api_routes())


def test_every_operation_documents_its_responses_and_the_403(viewer: User) -> None:
    schema = client_for(viewer).get("/api/schema/", {"format": "json"}).json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            statuses = set(operation["responses"])
            assert "403" in statuses, f"{method} {path}"
            assert statuses & {"200", "201", "202"}, f"{method} {path}"


def test_the_schema_generates_and_validates_without_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    # --fail-on-warn turns any drf-spectacular warning or error into a CommandError.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.read_text().startswith("openapi: 3")


@pytest.mark.django_db
def test_run_summaries_and_details_have_exactly_the_documented_fields(operator: User) -> None:
    run = make_run("r", parent_run_id="p")
    make_run("p", minute=-1)
    StepRecord.objects.create(run=run, path="hello", attempt=1, status="success", seq=1)
    make_task(run, resumed_by=operator)
    RunAction.objects.create(run=run, action="start", username="otto", at=run.created_at)
    detail = payloads.run_detail(run)
    assert set(detail) == documented_fields("RunDetail")
    assert set(run.summary()) == documented_fields("RunSummary")
    assert set(detail["steps"][0]) == documented_fields("Step")
    assert set(detail["steps"][0]["attempts"][0]) == documented_fields("StepAttempt")
    assert set(detail["human_tasks"][0]) == documented_fields("HumanTask")
    assert set(detail["lineage"]) == documented_fields("RunLinks")
    assert set(detail["actions"][0]) == documented_fields("RunAction")
    assert set(payloads.inbox_item(run.human_tasks.get())) == documented_fields("InboxItem")
    assert set(payloads.lineage(run)) == documented_fields("Lineage")


@pytest.mark.django_db
def test_event_and_snapshot_pages_have_exactly_the_documented_fields() -> None:
    make_events(make_run("r"), 2)
    page = payloads.events_page("r", 0, 10)
    assert set(page) == documented_fields("EventPage")
    assert set(page["events"][0]) == documented_fields("Event")
    assert set(payloads.snapshot_list("r")) == documented_fields("SnapshotList")


@pytest.mark.django_db
def test_workflows_have_exactly_the_documented_fields() -> None:
    greet = workflows()["greet"]
    detail = payloads.workflow_detail(greet)
    assert set(detail) == documented_fields("WorkflowDetail")
    assert set(payloads.workflow_payload(greet, {})) == documented_fields("Workflow")
