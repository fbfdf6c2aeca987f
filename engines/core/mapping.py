"""Sources for `Workflow.map()`: values taken from steps, the input, the context or functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engines.core.calls import call_quick
from engines.core.errors import WorkflowError

if TYPE_CHECKING:
    from engines.core.context import StepContext
    from engines.core.step import Step
    from engines.core.workflow import MapStep


class _Missing:
    """The value of a path that leads nowhere (a map leaves its key out)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def walk_path(value: Any, path: str, where: str) -> Any:
    """Follow a dotted `path` into `value`; `""` or `"."` is the whole value.

    A key or index that is not there, or a step through `None`, gives `MISSING`; walking into
    any other non-container raises `WorkflowError`.
    """
    if path in ("", "."):
        return value
    current = value
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, MISSING)
        elif isinstance(current, list) and part.isdigit():
            index = int(part)
            current = current[index] if index < len(current) else MISSING
        elif current is None:
            return MISSING
        else:
            raise WorkflowError(f"Invalid path {path} in {where}")
        if current is MISSING:
            return MISSING
    return current


@dataclass(frozen=True)
class FromStep:
    """The output of a step (the first of a list that succeeded), at a dotted path."""

    steps: tuple[str, ...]
    path: str = ""


@dataclass(frozen=True)
class FromInit:
    """The workflow's input, at a dotted path."""

    path: str = ""


@dataclass(frozen=True)
class FromContext:
    """A key of the run's runtime context."""

    key: str


@dataclass(frozen=True)
class Const:
    """A constant value."""

    value: Any


@dataclass(frozen=True)
class Compute:
    """The result of `fn(ctx)` (sync or async), with the mapping step's context."""

    fn: Callable[..., Any]


MapSource = FromStep | FromInit | FromContext | Const | Compute


def _step_id(value: Any) -> str:
    if isinstance(value, str):
        return value
    ident = getattr(value, "id", None)
    if not isinstance(ident, str):
        raise WorkflowError(f"from_step expects a step, a workflow or an id, got {value!r}")
    return ident


def from_step(step: Step | str | Sequence[Step | str] | Any, path: str = "") -> FromStep:
    """Map from a step's output; with a list, the first step that succeeded is used."""
    items = list(step) if isinstance(step, (list, tuple)) else [step]
    return FromStep(tuple(_step_id(s) for s in items), path)


def from_init(path: str = "") -> FromInit:
    """Map from the workflow's input data."""
    return FromInit(path)


def from_context(key: str) -> FromContext:
    """Map from the runtime context (a plain key lookup)."""
    return FromContext(key)


def const(value: Any) -> Const:
    """Map a constant."""
    return Const(value)


def compute(fn: Callable[..., Any]) -> Compute:
    """Map the value `fn(ctx)` returns."""
    return Compute(fn)


def describe_source(source: MapSource) -> dict[str, Any]:
    """JSON description of a source for the graph."""
    if isinstance(source, FromStep):
        return {"source": "step", "steps": list(source.steps), "path": source.path}
    if isinstance(source, FromInit):
        return {"source": "init", "path": source.path}
    if isinstance(source, FromContext):
        return {"source": "context", "key": source.key}
    if isinstance(source, Const):
        return {"source": "const", "value": repr(source.value)[:200]}
    return {"source": "fn", "name": getattr(source.fn, "__name__", "fn")}


async def evaluate_map(step: MapStep, ctx: StepContext) -> Any:
    """The output of a `.map()` step, source by source in insertion order.

    A source that finds nothing (a path or context key that is not there, no step of a
    `from_step` list that succeeded) leaves its key out, so the next step's defaults apply.
    """
    if callable(step.sources):
        return await call_quick(step.sources, ctx)
    out: dict[str, Any] = {}
    for key, src in step.sources.items():
        value: Any = MISSING
        if isinstance(src, Const):
            value = src.value
        elif isinstance(src, Compute):
            value = await call_quick(src.fn, ctx)
        elif isinstance(src, FromContext):
            value = ctx.context.get(src.key, MISSING)
        elif isinstance(src, FromInit):
            value = walk_path(ctx.get_init_data(), src.path, "the workflow input")
        elif isinstance(src, FromStep):
            for sid in src.steps:
                found = ctx.get_step_result(sid)
                if found is not None:
                    value = walk_path(found, src.path, f"step {sid}")
                    break
        if value is not MISSING:
            out[key] = value
    return out
