"""What JSON the app accepts: one depth and size limit, no NUL characters, no unpaired
surrogates, no non-finite numbers; refused with 400 and a field path before anything is
stored, on every database; and a run stored before these checks stays readable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.test import Client

from tests.app.api_support import exported_bytes, recorded
from tests.app.conftest import client_for
from workflows_app import json_input, services
from workflows_app.models import Run

pytestmark = pytest.mark.usefixtures("test_workflows")

LONE_SURROGATE = '"\\ud800"'
NUL = '"a\\u0000b"'


def nested(depth: int) -> str:
    """JSON text of `depth` nested lists around a number."""
    return "[" * depth + "1" + "]" * depth


def nested_object(depth: int) -> Any:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.fixture
def api(operator: User) -> Client:
    return client_for(operator)


@pytest.fixture
def suspended(api: Client) -> str:
    run = services.start_run("approval", {"name": "Ada"})
    assert run.status == "suspended"
    return run.run_id


@pytest.fixture
def succeeded(api: Client) -> str:
    return services.start_run("greet", {"name": "Ada"}).run_id


def post_text(api: Client, url: str, text: str) -> Any:
    return api.post(url, text, "application/json")


def refused(api: Client, url: str, text: str) -> dict[str, Any]:
    """POST raw JSON text that must be refused with 400, leaving every row as it was."""
    before = recorded()
    response = post_text(api, url, text)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert recorded() == before
    body: dict[str, Any] = response.json()
    return body


# Each call a person makes with a value in its body: (name, url template, body template).
BODIES = [
    ("start input", "/api/runs/", '{{"workflow_id": "failing", "input": {value}}}', "input"),
    (
        "start context",
        "/api/runs/",
        '{{"workflow_id": "failing", "context": {{"k": {value}}}}}',
        "context.k",
    ),
    (
        "start initial state",
        "/api/runs/",
        '{{"workflow_id": "failing", "initial_state": {{"k": {value}}}}}',
        "initial_state.k",
    ),
    ("resume data", "/api/runs/{suspended}/resume/", '{{"data": {value}}}', "data"),
    (
        "time-travel input",
        "/api/runs/{succeeded}/time-travel/",
        '{{"step": "hello", "input": {value}}}',
        "input",
    ),
    (
        "time-travel preview input",
        "/api/runs/{succeeded}/time-travel/preview/",
        '{{"step": "hello", "input": {value}}}',
        "input",
    ),
    (
        "import",
        "/api/runs/import/",
        '{{"format": "stepback.run", "version": 1, "run": {{"run_id": {value}}}}}',
        "run.run_id",
    ),
]
BODY_IDS = [name for name, *_ in BODIES]


def address(template: str, suspended: str, succeeded: str) -> str:
    return template.format(suspended=suspended, succeeded=succeeded)


@pytest.mark.parametrize(("name", "url", "body", "path"), BODIES, ids=BODY_IDS)
def test_a_lone_surrogate_is_refused_with_its_field_path(
    api: Client, suspended: str, succeeded: str, name: str, url: str, body: str, path: str
) -> None:
    answer = refused(api, address(url, suspended, succeeded), body.format(value=LONE_SURROGATE))
    assert answer["errors"] == {
        path: ["contains an unpaired surrogate (\\ud800), which is not text"]
    }


@pytest.mark.parametrize(("name", "url", "body", "path"), BODIES, ids=BODY_IDS)
def test_a_nul_character_is_refused_with_its_field_path(
    api: Client, suspended: str, succeeded: str, name: str, url: str, body: str, path: str
) -> None:
    answer = refused(api, address(url, suspended, succeeded), body.format(value=NUL))
    assert answer["errors"] == {
        path: ["contains a NUL character (\\u0000), which cannot be stored"]
    }


def test_a_nul_character_in_a_key_is_refused_too(api: Client) -> None:
    answer = refused(api, "/api/runs/", '{"workflow_id": "failing", "input": {"a\\u0000": 1}}')
    assert answer["errors"] == {
        "input.a\\u0000": ["key contains a NUL character (\\u0000), which cannot be stored"]
    }


@pytest.mark.parametrize(("name", "url", "body", "path"), BODIES, ids=BODY_IDS)
def test_ten_thousand_levels_of_nesting_are_refused_where_they_cross_the_limit(
    api: Client, suspended: str, succeeded: str, name: str, url: str, body: str, path: str
) -> None:
    text = body.format(value=nested(10_000))
    answer = refused(api, address(url, suspended, succeeded), text)
    ((where, messages),) = answer["errors"].items()
    assert where.startswith(path)
    limit = json_input.MAX_DEPTH + (json_input.BUNDLE_DEPTH_ALLOWANCE if name == "import" else 0)
    assert messages == [f"is nested more than {limit} levels deep (the limit)"]
    assert answer["detail"].startswith("The JSON sent cannot be accepted: ")


def test_an_initial_state_nested_300_deep_is_refused(api: Client) -> None:
    body = {"workflow_id": "failing", "initial_state": nested_object(300)}
    answer = refused(api, "/api/runs/", json.dumps(body))
    (path,) = answer["errors"]
    assert path == "initial_state" + ".a" * (json_input.MAX_DEPTH - 1)


def test_a_context_nested_700_deep_is_refused_instead_of_stranding_its_run(api: Client) -> None:
    body = {"workflow_id": "failing", "context": nested_object(700)}
    answer = refused(api, "/api/runs/", json.dumps(body))
    assert list(answer["errors"]) == ["context" + ".a" * (json_input.MAX_DEPTH - 1)]


def test_values_just_inside_the_depth_limit_run_export_and_import_back(api: Client) -> None:
    deep = json.loads(nested(json_input.MAX_DEPTH - 1))
    response = api.post(
        "/api/runs/",
        json.dumps({"workflow_id": "failing", "input": deep, "context": {"k": deep[0]}}),
        "application/json",
    )
    assert response.status_code == 201, response.content
    run_id = response.json()["run_id"]
    bundle = exported_bytes(api, run_id)
    imported = api.post("/api/runs/import/?new_id=true", bundle, "application/json")
    assert imported.status_code == 201, imported.content
    assert imported.json()["input"] == deep


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_json_cannot_carry_are_refused(api: Client, number: str) -> None:
    refused(api, "/api/runs/", f'{{"workflow_id": "failing", "input": {{"x": {number}}}}}')


def test_a_body_over_the_size_limit_is_refused_as_json(api: Client, settings: Any) -> None:
    settings.STEPBACK_MAX_BODY_BYTES = 1000
    text = json.dumps({"workflow_id": "failing", "input": "x" * 2000})
    answer = refused(api, "/api/runs/", text)
    assert answer["errors"] == {"non_field_errors": ["it is larger than the limit of 1000 bytes"]}
    assert answer["detail"] == (
        "The JSON sent cannot be accepted: it is larger than the limit of 1000 bytes."
    )


def test_a_body_that_is_not_utf8_is_refused(api: Client) -> None:
    before = recorded()
    response = api.post("/api/runs/", b'{"workflow_id": "\xff"}', "application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"non_field_errors": ["it is not UTF-8 text (byte 17)"]}
    assert recorded() == before


def test_paired_surrogates_are_text_and_accepted(api: Client) -> None:
    response = post_text(api, "/api/runs/", '{"workflow_id": "failing", "input": "\\ud83d\\ude00"}')
    assert response.status_code == 201
    assert response.json()["input"] == "\N{GRINNING FACE}"


def test_the_services_refuse_what_the_api_would_for_callers_that_bypass_it(db: None) -> None:
    before = recorded()
    with pytest.raises(json_input.JSONInputError) as refusal:
        services.start_run("failing", {"x": "a\x00"}, context=nested_object(700))
    paths = [problem["path"] for problem in refusal.value.errors]
    assert paths == ["input.x", "context" + ".a" * (json_input.MAX_DEPTH - 1)]
    assert recorded() == before


READ_ENDPOINTS = [
    "/api/runs/{run_id}/",
    "/api/runs/{run_id}/events/",
    "/api/runs/{run_id}/export/",
    "/api/runs/{run_id}/snapshots/",
    "/api/runs/{run_id}/snapshots/{seq}/",
    "/api/runs/?search={run_id}",
    "/api/compare/?a={run_id}&b={run_id}",
]


def test_a_run_stored_with_a_lone_surrogate_stays_readable_everywhere(
    api: Client, viewer: User
) -> None:
    # Stored as a step output would store it: through the storage, not the API.
    run = services.start_run("failing", "clean")
    try:
        with transaction.atomic():
            Run.objects.filter(pk=run.run_id).update(input="\ud800")
    except DatabaseError:
        # PostgreSQL cannot hold one at all, so no run there can carry it.
        assert connection.vendor == "postgresql"
        assert Run.objects.get(pk=run.run_id).input == "clean"
        return
    seq = Run.objects.get(pk=run.run_id).seq
    reader = client_for(viewer)
    for template in READ_ENDPOINTS:
        response = reader.get(template.format(run_id=run.run_id, seq=seq))
        assert response.status_code == 200, template
        body = b"".join(response.streaming_content) if response.streaming else response.content
        json.loads(body)  # valid JSON, the surrogate written as an escape
    assert reader.get(f"/api/runs/{run.run_id}/").json()["input"] == "\ud800"
