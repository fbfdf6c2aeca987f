"""The registered workflows: every committed `engines.Workflow` found in the modules listed in
`settings.STEPBACK_WORKFLOWS`.

Registration is by discovery, not by decorator: a module defines workflows as module attributes
(as any library user would) and listing the module is enough. The result is cached per process;
`reset()` forgets it (tests that change the setting call it).
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from engines import Workflow, WorkflowError

DEFAULT_MODULES = ["workflows_app.examples"]

_lock = threading.Lock()
_cache: dict[str, Workflow] | None = None


class UnknownWorkflowError(WorkflowError):
    """Raised when a workflow id is not registered (the API answers 404)."""


class RegistryError(ImproperlyConfigured):
    """Raised when STEPBACK_WORKFLOWS cannot be loaded: a module fails to import, or two
    workflows share an id."""


def modules() -> list[str]:
    """The dotted module names the registry reads."""
    value = getattr(settings, "STEPBACK_WORKFLOWS", None)
    if value is None:
        return list(DEFAULT_MODULES)
    if isinstance(value, str):
        return [value]
    return list(value)


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise RegistryError(
            f"STEPBACK_WORKFLOWS lists {name!r}, which cannot be imported: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _found_in(module: ModuleType) -> list[Workflow]:
    """The committed workflows a module holds as attributes, each once, in definition order."""
    seen: set[int] = set()
    found: list[Workflow] = []
    for value in vars(module).values():
        # Uncommitted builders are half-built flows (or pieces of one): not runnable, not listed.
        if isinstance(value, Workflow) and value.committed and id(value) not in seen:
            seen.add(id(value))
            found.append(value)
    return found


def _collect() -> tuple[dict[str, Workflow], list[str], list[str]]:
    """Import every listed module: the workflows found, the problems that make the registry
    unusable, and the ones worth a word only (a listed module with nothing to register)."""
    registry: dict[str, Workflow] = {}
    origin: dict[str, str] = {}
    problems: list[str] = []
    notes: list[str] = []
    for name in modules():
        try:
            module = _import(name)
        except RegistryError as exc:
            problems.append(str(exc))
            continue
        found = _found_in(module)
        if not found:
            notes.append(
                f"STEPBACK_WORKFLOWS lists {name!r}, which defines no committed Workflow "
                "(call .commit() on a workflow and keep it as a module attribute)."
            )
        for workflow in found:
            known = registry.get(workflow.id)
            if known is workflow:
                continue  # one object re-exported by two listed modules
            if known is not None:
                problems.append(
                    f"Workflow id {workflow.id!r} is defined twice: in {origin[workflow.id]!r} "
                    f"and in {name!r}. Workflow ids must be unique across STEPBACK_WORKFLOWS."
                )
                continue
            registry[workflow.id] = workflow
            origin[workflow.id] = name
    return registry, problems, notes


def load() -> dict[str, Workflow]:
    """Import every listed module and collect its workflows (uncached); raises `RegistryError`
    naming the first problem."""
    registry, problems, _ = _collect()
    if problems:
        raise RegistryError(problems[0])
    return registry


def workflows() -> dict[str, Workflow]:
    """Every registered workflow by id (cached after the first successful load)."""
    global _cache
    with _lock:
        if _cache is None:
            _cache = load()
        return dict(_cache)


def get(workflow_id: str) -> Workflow:
    """One registered workflow; `UnknownWorkflowError` names the known ids otherwise."""
    found = workflows().get(workflow_id)
    if found is None:
        known = ", ".join(sorted(workflows())) or "none"
        raise UnknownWorkflowError(f"No workflow {workflow_id!r} is registered (known: {known})")
    return found


def reset() -> None:
    """Forget the cached registry (the next call reads the modules again)."""
    global _cache
    with _lock:
        _cache = None


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: object) -> None:
    # Tests override STEPBACK_WORKFLOWS with the settings fixture; the cache must follow.
    if setting == "STEPBACK_WORKFLOWS":
        reset()


def check_registry() -> list[str]:
    """Problems with STEPBACK_WORKFLOWS as sentences (empty when it loads); for system checks."""
    _, problems, notes = _collect()
    return problems + notes
