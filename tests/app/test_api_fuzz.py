"""The API fuzzed from its own OpenAPI schema (schemathesis), as a signed-in operator with a
CSRF token, against runs of every kind (finished, suspended with a task, failed, forked,
canceled, interrupted).

Every generated call, valid or not, must get: no 5xx; a status, a content type and a body the
schema documents; the JSON error body for every refusal; and a refusal must leave every row
count and each run's status and seq as they were. Schema-valid input is accepted where the
schema says everything the server checks (the list and query endpoints, cancel),
except a string holding a NUL character, which the server refuses everywhere (no database
column can hold one) and the schema cannot say of its "any JSON" values; input that breaks the
schema is refused everywhere.

`make test` runs a bounded number of cases per operation (`FUZZ_EXAMPLES`, deterministic);
`make fuzz-soak` runs many more with fresh randomness and prints the request counts.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.app.api_support import recorded
from tests.app.conftest import client_for
from tests.app.crash_support import dead_here, killed_mid_step, owned_by
from workflows_app import recovery, services
from workflows_app.models import HumanTask

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_workflows")]

SOAK = os.environ.get("STEPBACK_FUZZ_SOAK") == "1"
FUZZ_EXAMPLES = int(os.environ.get("STEPBACK_FUZZ_EXAMPLES") or (600 if SOAK else 20))
SESSION_KEY = "fuzzingoperatorsession" + "0" * 10
CSRF_TOKEN = "fuzzingcsrftoken" + "0" * 16

CONFIG = schemathesis.Config.from_dict(
    {
        "auth": {"openapi": {"cookieAuth": {"api_key": SESSION_KEY}}},
        "headers": {"X-CSRFToken": CSRF_TOKEN},
        # Query parameters the schema does not name are ignored, as the schema does not forbid
        # them (OpenAPI has no way to); calls adding some are not "invalid" ones.
        "generation": {"allow-extra-parameters": False},
    }
)
APP = WSGIHandler()
schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True), config=CONFIG
)
schema.app = APP

# Operations whose schema says everything the server checks: schema-valid input is accepted.
# Elsewhere the server also validates against a workflow's own schemas, a run's state or a
# bundle's consistency, which the OpenAPI schema cannot express (a 400 with field errors).
FULLY_DESCRIBED = {
    ("GET", "/api/runs/"),
    ("GET", "/api/inbox/"),
    ("GET", "/api/inbox/{task_id}/"),
    ("GET", "/api/runs/{run_id}/"),
    ("GET", "/api/runs/{run_id}/events/"),
    ("GET", "/api/runs/{run_id}/export/"),
    ("GET", "/api/runs/{run_id}/lineage/"),
    ("GET", "/api/runs/{run_id}/snapshots/"),
    ("GET", "/api/runs/{run_id}/snapshots/{seq}/"),
    ("GET", "/api/workflows/"),
    ("GET", "/api/workflows/{workflow_id}/"),
    ("POST", "/api/runs/{run_id}/cancel/"),
    # Not restart: its breakpoints must name steps of the run's workflow.
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    ignored_auth,
]

# The ids of the runs, tasks and steps of the current test, which the hooks below mix into the
# generated ones so that calls reach real records as often as unknown ids.
KNOWN: dict[str, list[Any]] = {"run_id": [], "task_id": [], "workflow_id": [], "seq": [1, 2]}
BUNDLES: list[dict[str, Any]] = []
STEPS = ["hello", "shout", "ask", "explode", "stall", "finish"]
WORKFLOWS = ["greet", "approval", "failing"]
ANSWERED: collections.Counter[str] = collections.Counter()


@schema.hook
def flatmap_case(context: Any, case: Any) -> Any:
    """Three in four cases aim at real records: a run, task or workflow of the test instead of
    a generated id, a registered workflow, a real step, an exported bundle. Only the parts
    generated valid are replaced: a part generated to break the schema stays broken."""
    meta = case.meta
    if meta is None:
        return st.just(case)
    valid = {location for location, part in meta.components.items() if part.mode.is_positive}
    aimed = st.sampled_from([False, True, True, True])
    return st.tuples(aimed, st.integers(0, 1000)).map(
        lambda choice: at_real_records(case, valid, choice[1]) if choice[0] else case
    )


def at_real_records(case: Any, valid: set[ParameterLocation], pick: int) -> Any:
    """`case` with its ids, workflow, step or bundle replaced by real ones (`pick` chooses)."""
    if ParameterLocation.PATH in valid:
        for name in case.path_parameters or {}:
            if KNOWN.get(name):
                case.path_parameters[name] = KNOWN[name][pick % len(KNOWN[name])]
    if ParameterLocation.BODY not in valid:
        return case
    if case.path == "/api/runs/import/" and BUNDLES:
        case.body = BUNDLES[pick % len(BUNDLES)]
    elif isinstance(case.body, dict):
        if "workflow_id" in case.body:
            case.body["workflow_id"] = WORKFLOWS[pick % len(WORKFLOWS)]
        if "step" in case.body:
            case.body["step"] = STEPS[pick % len(STEPS)]
    return case


@pytest.fixture
def signed_in(operator: User) -> None:
    """The operator's session under a fixed key (the schema's cookie auth sends it)."""
    client = client_for(operator)
    session = Session.objects.get(pk=client.cookies["sessionid"].value)
    Session.objects.create(
        session_key=SESSION_KEY, session_data=session.session_data, expire_date=session.expire_date
    )


@pytest.fixture
def in_this_transaction() -> Iterator[None]:
    """Requests through the WSGI handler keep the test's connection (and its transaction), as
    Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def runs_of_every_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    ok = services.start_run("greet", {"name": "Ada"})
    asking = services.start_run("approval", {"name": "Bo"})
    broken = services.start_run("failing", {"x": 1})
    fork = services.time_travel(ok.run_id, "hello", input_data={"name": "Cy"})
    dropped = services.start_run("approval", {"name": "Di"})
    services.cancel_run(dropped.run_id)
    stopped = owned_by(killed_mid_step(monkeypatch), dead_here())
    recovery.mark_interrupted()
    runs = [ok, asking, broken, fork, dropped, stopped]
    KNOWN["run_id"][:] = [run.run_id for run in runs]
    KNOWN["task_id"][:] = list(HumanTask.objects.values_list("pk", flat=True))
    KNOWN["workflow_id"][:] = ["greet", "approval", "stalling"]
    BUNDLES[:] = [services.export_run(ok.run_id), services.export_run(stopped.run_id)]


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    """How many calls were made and what they got, printed once the module ran."""
    ANSWERED.clear()
    yield
    by_status = collections.Counter(key.rsplit(" ", 1)[1] for key in ANSWERED.elements())
    line = f"fuzzing: {sum(ANSWERED.values())} requests; " + ", ".join(
        f"{status}: {count}" for status, count in sorted(by_status.items())
    )
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")
    target = os.environ.get("STEPBACK_FUZZ_REPORT")
    if target:
        with open(target, "w") as out:
            json.dump({"summary": line, "by_operation": dict(sorted(ANSWERED.items()))}, out)


def holds_nul(value: Any) -> bool:
    """Whether a NUL character is in any string or key of `value`."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(holds_nul(item) for item in value)
    return False


def json_error_body(response: Any) -> None:
    """A refusal is the API's error body: JSON, a sentence and a code."""
    assert response.headers["content-type"][0] == "application/json", response.text
    body = response.json()
    assert isinstance(body.get("detail"), str), body
    assert isinstance(body.get("code"), str), body
    assert body["detail"].endswith("."), body["detail"]


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not SOAK,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_schema_and_its_records_under_generated_calls(
    case: Any, signed_in: None, in_this_transaction: None, runs_of_every_kind: None
) -> None:
    described = (case.method.upper(), case.path) in FULLY_DESCRIBED
    parts = (case.path_parameters, case.query, case.body)
    checks = [*CHECKS, positive_data_acceptance] if described and not holds_nul(parts) else CHECKS
    before = recorded()

    response = case.call_and_validate(checks=checks, cookies={"csrftoken": CSRF_TOKEN})

    ANSWERED[f"{case.method.upper()} {case.path} {response.status_code}"] += 1
    if response.status_code >= 400:
        json_error_body(response)
        assert recorded() == before
