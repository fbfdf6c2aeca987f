"""The source code of registered workflows' steps, for the step panel and the workflow API.

Collected once per workflow object (at app start for the registered ones, see `apps.py`)
with `inspect`: for each step path (dotted, nested workflows included, as `Workflow.graph()`
keys nodes) the function the author wrote, its file (relative to the project, or to the import
root it came from) and first line. Steps the library builds itself (`.map()` functions) and
functions whose source cannot be read (built in a REPL, compiled) have none.
`STEPBACK_SHOW_SOURCE=False` turns it all off: nothing is read and nothing is shown.
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
import weakref
from pathlib import Path
from typing import Any, TypedDict

from django.conf import settings

from engines import Workflow
from engines.core.breakpoints import plain_segment

log = logging.getLogger("workflows_app.step_source")

# A step's source is shown whole up to this many characters, cut beyond.
MAX_CODE_CHARS = 20_000


class StepSource(TypedDict):
    """Where a step's function is written, and its code."""

    file: str
    line: int
    code: str


_lock = threading.Lock()
_cache: weakref.WeakKeyDictionary[Workflow, dict[str, StepSource]] = weakref.WeakKeyDictionary()


def enabled() -> bool:
    """True unless the `STEPBACK_SHOW_SOURCE` setting turns sources off."""
    return bool(getattr(settings, "STEPBACK_SHOW_SOURCE", True))


def _shown_file(path: str) -> str:
    """`path` relative to the project, else to the longest import root holding it."""
    file = Path(path).resolve()
    roots = [Path(settings.BASE_DIR).resolve()]
    roots += sorted(
        (Path(p).resolve() for p in sys.path if p), key=lambda p: len(p.parts), reverse=True
    )
    for root in roots:
        if file.is_relative_to(root):
            return file.relative_to(root).as_posix()
    return file.name


def _function_source(fn: Any) -> StepSource | None:
    module = getattr(fn, "__module__", "") or ""
    if module == "engines" or module.startswith("engines."):
        return None  # built by the library (a map step), not written by the author
    try:
        lines, line = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn)
    except (OSError, TypeError):
        return None
    if file is None:
        return None
    code = "".join(lines)
    if len(code) > MAX_CODE_CHARS:
        code = code[:MAX_CODE_CHARS] + "\n# ... (cut)\n"
    return {"file": _shown_file(file), "line": max(int(line), 1), "code": code}


def _collect(workflow: Workflow, prefix: tuple[str, ...], out: dict[str, StepSource]) -> None:
    for sid, step in workflow.steps.items():
        path = (*prefix, sid)
        if isinstance(step, Workflow):
            _collect(step, path, out)
            continue
        found = _function_source(getattr(step, "function", None) or step.execute)
        if found is not None:
            out[".".join(path)] = found


def sources(workflow: Workflow) -> dict[str, StepSource]:
    """Each step path of `workflow` with its source (empty when sources are off)."""
    if not enabled():
        return {}
    with _lock:
        found = _cache.get(workflow)
    if found is None:
        found = {}
        _collect(workflow, (), found)
        with _lock:
            _cache[workflow] = found
    return found


def source_of(workflow: Workflow | None, key: str) -> StepSource | None:
    """The source of the step at dotted path `key` (a foreach item's path too)."""
    if workflow is None:
        return None
    plain = ".".join(plain_segment(s) for s in key.split("."))
    return sources(workflow).get(plain)


def collect_registered() -> None:
    """Read the sources of every registered workflow now (at app start), so the first page
    that shows one does not pay for it; a registry that does not load is left to the checks."""
    if not enabled():
        return
    from workflows_app import registry

    try:
        registered = registry.workflows()
    except Exception as exc:  # reported by `manage.py check`; pages show their own error
        log.debug("step sources not collected: %s", exc)
        return
    for workflow in registered.values():
        sources(workflow)
