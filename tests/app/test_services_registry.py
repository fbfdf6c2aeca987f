"""The registry finds the committed workflows of the modules in STEPBACK_WORKFLOWS."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable

import pytest
from django.core.exceptions import ImproperlyConfigured

from engines import StepContext, Workflow, step
from workflows_app import registry


@step
async def noop(ctx: StepContext) -> None:
    return None


def _workflow(workflow_id: str, commit: bool = True) -> Workflow:
    wf = Workflow(workflow_id).then(noop)
    return wf.commit() if commit else wf


@pytest.fixture
def module(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Install a module made of the given attributes; returns its name."""

    def make(name: str, **attributes: object) -> str:
        fake = types.ModuleType(name)
        fake.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, fake)
        return name

    return make


def test_the_demo_workflows_are_registered_by_default() -> None:
    assert set(registry.workflows()) == {
        "expense-approval",
        "data-pipeline",
        "order-fulfilment",
        "payment",
        "slow-countdown",
    }


def test_committed_workflows_are_found_and_uncommitted_ones_ignored(module, settings) -> None:
    settings.STEPBACK_WORKFLOWS = [
        module("reg_one", ready=_workflow("ready"), draft=_workflow("draft", commit=False))
    ]

    assert list(registry.workflows()) == ["ready"]


def test_a_workflow_exported_by_two_listed_modules_is_registered_once(module, settings) -> None:
    shared = _workflow("shared")
    settings.STEPBACK_WORKFLOWS = [module("reg_a", wf=shared), module("reg_b", again=shared)]

    assert registry.workflows() == {"shared": shared}


def test_two_workflows_with_one_id_are_refused_naming_both_modules(module, settings) -> None:
    settings.STEPBACK_WORKFLOWS = [
        module("reg_first", wf=_workflow("twin")),
        module("reg_second", wf=_workflow("twin")),
    ]

    with pytest.raises(ImproperlyConfigured, match="'twin' is defined twice") as refused:
        registry.workflows()

    assert "reg_first" in str(refused.value)
    assert "reg_second" in str(refused.value)


def test_a_module_that_cannot_be_imported_is_named(settings) -> None:
    settings.STEPBACK_WORKFLOWS = ["workflows_app.no_such_module"]

    with pytest.raises(ImproperlyConfigured, match="no_such_module"):
        registry.workflows()


def test_check_registry_lists_every_problem_as_a_sentence(module, settings) -> None:
    settings.STEPBACK_WORKFLOWS = [
        "workflows_app.no_such_module",
        module("reg_x", wf=_workflow("twin")),
        module("reg_y", wf=_workflow("twin")),
        module("reg_empty"),
    ]

    problems = registry.check_registry()

    assert len(problems) == 3
    assert "cannot be imported" in problems[0]
    assert "defined twice" in problems[1]
    assert "defines no committed Workflow" in problems[2]


def test_check_registry_is_quiet_when_everything_loads() -> None:
    assert registry.check_registry() == []


def test_an_unknown_workflow_id_names_the_known_ones() -> None:
    with pytest.raises(registry.UnknownWorkflowError, match="known: data-pipeline"):
        registry.get("nope")


def test_the_registry_is_read_once_and_follows_a_changed_setting(module, settings) -> None:
    settings.STEPBACK_WORKFLOWS = [module("reg_v1", wf=_workflow("v1"))]
    first = registry.workflows()
    sys.modules["reg_v1"].wf2 = _workflow("v2")  # type: ignore[attr-defined]

    cached = registry.workflows()
    settings.STEPBACK_WORKFLOWS = ["reg_v1"]

    assert list(first) == list(cached) == ["v1"]
    assert list(registry.workflows()) == ["v1", "v2"]
