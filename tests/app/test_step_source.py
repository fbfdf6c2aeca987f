"""Step source: each registered step's function, file and line, in the workflow API and the run
page's step panel; `STEPBACK_SHOW_SOURCE=False` hides it."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from django.contrib.auth.models import User

from engines import StepContext, Workflow, from_step, step
from tests.app import workflows_fixture
from tests.app.conftest import client_for
from workflows_app import services, step_source
from workflows_app.pages.run_panel import step_panel

pytestmark = pytest.mark.usefixtures("test_workflows")


@step
def plain(amount: int) -> int:
    """A plain typed function: the step wraps it, the source is still the function's."""
    return amount * 2


@step
async def inner_step(ctx: StepContext) -> dict[str, Any]:
    return {"ok": True}


def _line_of(fn: Any) -> int:
    return inspect.getsourcelines(fn)[1]


def test_the_workflow_api_lists_each_steps_file_line_and_code(viewer: User) -> None:
    body = client_for(viewer).get("/api/workflows/greet/").json()
    hello = body["sources"]["hello"]
    assert hello["file"] == "tests/app/workflows_fixture.py"
    assert hello["line"] == _line_of(workflows_fixture.hello.function)
    assert "def hello(ctx: StepContext)" in hello["code"]
    assert set(body["sources"]) == {"hello", "shout"}


def test_a_plain_function_step_shows_the_function_not_its_wrapper() -> None:
    wf = Workflow("source-plain").then(plain).commit()
    found = step_source.sources(wf)["plain"]
    assert "return amount * 2" in found["code"]
    assert found["line"] == _line_of(plain.function)


def test_nested_steps_are_keyed_by_dotted_path_and_library_built_steps_have_none() -> None:
    inner = Workflow("inner").then(inner_step).commit()
    wf = (
        Workflow("source-nested")
        .then(inner)
        .map({"value": from_step(inner, "ok")}, id="pick")
        .commit()
    )
    found = step_source.sources(wf)
    assert list(found) == ["inner.inner_step"]
    assert step_source.source_of(wf, "inner[3].inner_step") == found["inner.inner_step"]


def test_the_run_panel_of_a_step_shows_its_source(operator: User) -> None:
    run = services.start_run("greet", {"name": "Ada"}, user=operator)
    panel = step_panel(services.get_run(run.run_id), "shout")
    assert panel["source"]["file"] == "tests/app/workflows_fixture.py"
    assert "def shout" in panel["source"]["code"]


def test_sources_are_hidden_when_the_setting_is_off(settings: Any, viewer: User) -> None:
    settings.STEPBACK_SHOW_SOURCE = False
    body = client_for(viewer).get("/api/workflows/greet/").json()
    assert body["sources"] == {}
    run = services.start_run("greet", {"name": "Ada"})
    assert step_panel(services.get_run(run.run_id), "hello")["source"] is None
