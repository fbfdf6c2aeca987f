"""Who may call what: every route of the URL conf against the fixed cast.

The table below names the access level of every (route name, method). Routes are discovered
from the URL conf, so a new endpoint fails `test_every_route_has_an_access_level` until it is
added here, and is then checked against every member of the cast like the others.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.app.api_support import post_json, row_counts, run_states
from tests.app.conftest import PASSWORD, client_for
from workflows_app import services
from workflows_app.models import HumanTask

pytestmark = pytest.mark.usefixtures("test_workflows")

PUBLIC, VIEW, OPERATE = "public", "view", "operate"

ACCESS: dict[str, dict[str, str]] = {
    "runs": {"GET": VIEW},
    "runs-cancel": {"POST": OPERATE},
    "run-rows": {"GET": VIEW},
    "run-detail": {"GET": VIEW},
    "run-panel": {"GET": VIEW},
    # Both pages only read; what they submit goes through the API, which asks for operate.
    "run-time-travel": {"GET": VIEW},
    "compare": {"GET": VIEW},
    "workflows": {"GET": VIEW},
    "workflow-detail": {"GET": VIEW, "POST": OPERATE},
    "inbox": {"GET": VIEW},
    "inbox-task": {"GET": VIEW, "POST": OPERATE},
    "login": {"GET": PUBLIC, "POST": PUBLIC, "PUT": PUBLIC},
    "logout": {"POST": PUBLIC},
    "api-schema": {"GET": VIEW},
    "api:workflow-list": {"GET": VIEW},
    "api:workflow-detail": {"GET": VIEW},
    "api:run-list": {"GET": VIEW, "POST": OPERATE},
    "api:run-import": {"POST": OPERATE},
    "api:run-detail": {"GET": VIEW},
    "api:run-events": {"GET": VIEW},
    "api:run-snapshots": {"GET": VIEW},
    "api:run-snapshot": {"GET": VIEW},
    "api:run-lineage": {"GET": VIEW},
    "api:run-export": {"GET": VIEW},
    "api:run-resume": {"POST": OPERATE},
    "api:run-continue": {"POST": OPERATE},
    "api:run-rerun": {"POST": OPERATE},
    "api:run-cancel": {"POST": OPERATE},
    "api:run-restart": {"POST": OPERATE},
    "api:run-time-travel": {"POST": OPERATE},
    # A preview takes a body but writes nothing: viewing is enough.
    "api:run-time-travel-preview": {"POST": VIEW},
    "api:compare": {"GET": VIEW},
    "api:inbox-list": {"GET": VIEW},
    "api:inbox-detail": {"GET": VIEW},
    "api:inbox-resume": {"POST": OPERATE},
}
SKIPPED_NAMESPACES = {"admin"}  # Django's admin guards itself (staff only)

CASES = [
    (name, method, level)
    for name, methods in ACCESS.items()
    for method, level in methods.items()
    if level != PUBLIC
]
CASE_IDS = [f"{method} {name}" for name, method, _ in CASES]


def _methods(callback: Any) -> set[str]:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return set(getattr(callback, "methods", {"GET"}))  # pages name theirs
    return {
        method.upper()
        for method in view_class.http_method_names
        if method not in ("options", "head") and hasattr(view_class, method)
    }


def routes(patterns: Any = None, namespace: str = "") -> dict[str, URLPattern]:
    """Every named route of the URL conf, by namespaced name."""
    found: dict[str, URLPattern] = {}
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in SKIPPED_NAMESPACES:
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found.update(routes(pattern.url_patterns, inner))
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"route {pattern.pattern} has no name"
            found[f"{namespace}{pattern.name}"] = pattern
    return found


def test_every_route_has_an_access_level() -> None:
    discovered = {name: _methods(pattern.callback) for name, pattern in routes().items()}
    assert discovered == {name: set(methods) for name, methods in ACCESS.items()}


@pytest.fixture
def sample(admin_user: User) -> dict[str, Any]:
    """Ids for every URL parameter: a suspended run with an open human task."""
    run = services.start_run("approval", {"name": "Ada"}, user=admin_user)
    task = HumanTask.objects.get(run_id=run.run_id, status=HumanTask.OPEN)
    return {"run_id": run.run_id, "task_id": task.pk, "workflow_id": "greet", "seq": 1}


def url_of(name: str, sample: dict[str, Any]) -> str:
    """The route's address with the sample's id for each of its parameters."""
    parameters = routes()[name].pattern.converters
    return reverse(name, kwargs={key: sample[key] for key in parameters})


def call(client: Client, method: str, url: str) -> Any:
    if method == "GET":
        return client.get(url)
    return post_json(client, url, {})


def is_api(name: str) -> bool:
    return name.startswith("api")


@pytest.mark.parametrize(("name", "method", "level"), CASES, ids=CASE_IDS)
def test_anonymous_callers_are_refused_and_nothing_changes(
    name: str, method: str, level: str, sample: dict[str, Any]
) -> None:
    before = (row_counts(), run_states())
    response = call(client_for(None), method, url_of(name, sample))
    if is_api(name):
        assert response.status_code == 403
        # (the schema answers in its own media type, so the body is read as bytes)
        assert b"Authentication credentials were not provided." in response.content
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert (row_counts(), run_states()) == before


@pytest.mark.parametrize(("name", "method", "level"), CASES, ids=CASE_IDS)
def test_users_without_a_stepback_permission_get_403_and_nothing_changes(
    name: str, method: str, level: str, sample: dict[str, Any], outsider: User
) -> None:
    before = (row_counts(), run_states())
    response = call(client_for(outsider), method, url_of(name, sample))
    assert response.status_code == 403
    assert (row_counts(), run_states()) == before


@pytest.mark.parametrize(("name", "method", "level"), CASES, ids=CASE_IDS)
def test_viewers_may_look_but_not_operate(
    name: str, method: str, level: str, sample: dict[str, Any], viewer: User
) -> None:
    before = (row_counts(), run_states())
    response = call(client_for(viewer), method, url_of(name, sample))
    if level == OPERATE:
        assert response.status_code == 403
        if is_api(name):
            assert "operate_run" in response.json()["detail"]
        assert (row_counts(), run_states()) == before
    else:
        assert response.status_code not in (401, 403), response.content


@pytest.mark.parametrize(("name", "method", "level"), CASES, ids=CASE_IDS)
def test_operators_may_call_everything(
    name: str, method: str, level: str, sample: dict[str, Any], operator: User
) -> None:
    response = call(client_for(operator), method, url_of(name, sample))
    assert response.status_code not in (401, 403), response.content


def test_the_sign_in_page_is_public() -> None:
    response = client_for(None).get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_signing_in_opens_the_page_asked_for(viewer: User) -> None:
    client = client_for(None)
    credentials = {"username": viewer.username, "password": PASSWORD, "next": "/"}
    response = client.post(reverse("login"), credentials)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get("/").status_code == 200


def test_a_wrong_password_shows_the_form_again_with_an_error(viewer: User) -> None:
    credentials = {"username": viewer.username, "password": "wrong"}
    response = client_for(None).post(reverse("login"), credentials)
    assert response.status_code == 200
    assert b"did not match" in response.content


def test_the_sign_in_page_escapes_what_it_echoes() -> None:
    response = client_for(None).get(reverse("login"), {"next": '"><script>alert(1)</script>'})
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;" in response.content


def test_signing_out_ends_the_session(viewer: User) -> None:
    client = client_for(viewer)
    assert client.post(reverse("logout"))["Location"] == reverse("login")
    assert client.get("/api/runs/").status_code == 403


def test_an_operator_session_without_the_csrf_token_is_refused(operator: User) -> None:
    before = row_counts()
    client = client_for(operator, csrf=True)
    body = json.dumps({"workflow_id": "greet", "input": {"name": "Ada"}})
    response = client.post("/api/runs/", body, "application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert row_counts() == before


def test_an_operator_session_with_the_csrf_token_may_act(operator: User) -> None:
    client = client_for(operator, csrf=True)
    client.get(reverse("login"))  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    body = json.dumps({"workflow_id": "greet", "input": {"name": "Ada"}})
    response = client.post("/api/runs/", body, "application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
