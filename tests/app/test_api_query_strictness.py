"""Query strings and bodies are read exactly as the OpenAPI schema describes them: a parameter
given twice, a blank value where a value is required, a status the schema does not list, a
blank step are all refused, and what the schema allows is accepted."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.app.api_support import make_events, make_run, post_json, recorded
from tests.app.conftest import client_for
from workflows_app import services

pytestmark = pytest.mark.usefixtures("test_workflows")


@pytest.fixture
def api(operator: User) -> Client:
    return client_for(operator)


@pytest.fixture
def schema(api: Client) -> dict[str, Any]:
    document: dict[str, Any] = api.get("/api/schema/", {"format": "json"}).json()
    return document


def field_error(response: Any) -> list[str]:
    """The fields a 400 names."""
    assert response.status_code == 400, response.content
    return list(response.json()["errors"])


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/runs/", "page_size=1&page_size=2"),
        ("/api/runs/", "status=success&status=failed"),
        ("/api/inbox/", "page=1&page=2"),
        ("/api/runs/r/events/", "after_seq=1&after_seq=2"),
    ],
)
def test_a_parameter_given_twice_is_refused(api: Client, url: str, query: str) -> None:
    make_run("r")
    response = api.get(f"{url}?{query}")
    assert field_error(response) == [query.split("=")[0]]
    assert response.json()["errors"][query.split("=")[0]] == ["Give this parameter once."]


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/runs/", "ordering="),
        ("/api/runs/", "created_after="),
        ("/api/runs/", "created_before="),
        ("/api/runs/", "page="),
        ("/api/runs/", "page_size="),
        ("/api/inbox/", "page_size="),
        ("/api/runs/r/events/", "after_seq="),
        ("/api/runs/r/events/", "limit="),
        ("/api/runs/import/", "new_id="),
    ],
)
def test_a_blank_value_that_is_not_a_value_of_its_type_is_refused(
    api: Client, url: str, query: str
) -> None:
    make_run("r")
    response = api.get(f"{url}?{query}") if "import" not in url else api.post(f"{url}?{query}")
    assert field_error(response) == [query.rstrip("=")]


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01T00:00:00Z", "1"])
def test_a_creation_bound_that_is_not_a_moment_is_refused(api: Client, value: str) -> None:
    assert field_error(api.get("/api/runs/", {"created_after": value})) == ["created_after"]


def test_blank_filters_mean_not_filtered_as_the_schema_allows(api: Client) -> None:
    make_run("r")
    blank = {"workflow": "", "status": "", "resource_id": "", "parent_run_id": "", "search": ""}
    response = api.get("/api/runs/", blank)
    assert response.status_code == 200
    assert response.json()["count"] == 1


@pytest.mark.parametrize("status", ["open", "success,open", " success", "success,,failed"])
def test_a_status_the_schema_does_not_allow_is_refused(api: Client, status: str) -> None:
    assert field_error(api.get("/api/runs/", {"status": status})) == ["status"]


@pytest.mark.parametrize(
    "value",
    [
        "success",
        "failed,suspended",
        "interrupted",
        "",
        "open",
        "success,open",
        "success,",
        " failed",
    ],
)
def test_the_schema_and_the_server_agree_on_every_status_filter(
    api: Client, schema: dict[str, Any], value: str
) -> None:
    (parameter,) = [
        p for p in schema["paths"]["/api/runs/"]["get"]["parameters"] if p["name"] == "status"
    ]
    valid = jsonschema.Draft4Validator(parameter["schema"]).is_valid(value)
    answered = api.get("/api/runs/", {"status": value}).status_code
    assert (valid, answered) in {(True, 200), (False, 400)}


def test_events_after_the_end_answer_the_runs_last_seq(api: Client) -> None:
    make_events(make_run("r"), 3)
    body = api.get("/api/runs/r/events/", {"after_seq": 1000}).json()
    assert (body["events"], body["last_seq"], body["run_seq"]) == ([], 3, 3)
    assert body["after_seq"] == 1000


# -- bodies: what the schema calls required and non-blank, the server refuses when blank ---------

BLANK_BODIES = [
    ("/api/runs/", {"workflow_id": ""}, "workflow_id"),
    ("/api/runs/", {"workflow_id": "failing", "resource_id": ""}, "resource_id"),
    ("/api/runs/{run}/resume/", {"step": ""}, "step"),
    ("/api/runs/{run}/resume/", {"label": ""}, "label"),
    ("/api/runs/{run}/time-travel/", {"step": ""}, "step"),
    ("/api/runs/{run}/time-travel/preview/", {"step": "ask", "reuse": [""]}, "reuse.0"),
]


@pytest.mark.parametrize(("url", "body", "field"), BLANK_BODIES)
def test_a_blank_name_is_refused_as_the_schema_says(
    api: Client, url: str, body: dict[str, Any], field: str
) -> None:
    run = services.start_run("approval", {"name": "Ada"})
    before = recorded()
    assert field_error(post_json(api, url.format(run=run.run_id), body)) == [field]
    assert recorded() == before


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("StartRunRequest", "workflow_id"),
        ("StartRunRequest", "resource_id"),
        ("ResumeRequest", "step"),
        ("ResumeRequest", "label"),
        ("TimeTravelRequest", "step"),
    ],
)
def test_the_schema_says_those_names_may_not_be_blank(
    schema: dict[str, Any], component: str, field: str
) -> None:
    assert schema["components"]["schemas"][component]["properties"][field]["minLength"] == 1


def test_a_null_input_is_the_json_value_null_for_a_workflow_taking_any_input(api: Client) -> None:
    response = post_json(api, "/api/runs/", {"workflow_id": "failing", "input": None})
    assert response.status_code == 201
    assert response.json()["input"] is None


def test_a_null_input_is_refused_by_a_workflow_whose_schema_wants_an_object(api: Client) -> None:
    before = recorded()
    response = post_json(api, "/api/runs/", {"workflow_id": "greet", "input": None})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid input data")
    assert recorded() == before
