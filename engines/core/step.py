"""Steps: `Step`, the `@step` decorator and `step.from_function` for plain typed functions."""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, overload

import pydantic

from engines.core.errors import DefinitionError
from engines.core.schema import Schema, as_schema

_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-:/ ]*$")


def check_id(value: Any, what: str) -> str:
    """Refuse ids the snapshot keys cannot hold (dots and brackets separate path segments)."""
    if not isinstance(value, str) or not value:
        raise DefinitionError(f"{what} id must be a non-empty string, got {value!r}")
    if not _ID_RE.match(value):
        raise DefinitionError(
            f"{what} id {value!r} may hold letters, digits, '_', '-', ':', '/' and spaces "
            "(dots and brackets are reserved for step paths)"
        )
    return value


class Step:
    """A unit of work with typed input, output, suspend, resume and state schemas."""

    kind = "step"

    def __init__(
        self,
        id: str,
        execute: Callable[..., Any],
        input_schema: Any = None,
        output_schema: Any = None,
        resume_schema: Any = None,
        suspend_schema: Any = None,
        state_schema: Any = None,
        retries: int | None = None,
        description: str | None = None,
    ) -> None:
        self.id = check_id(id, "Step")
        if not callable(execute):
            raise DefinitionError(f"Step {id!r}: execute must be callable")
        if retries is not None and (not isinstance(retries, int) or retries < 0):
            raise DefinitionError(f"Step {id!r}: retries must be a whole number >= 0")
        self.execute = execute
        # The function the author wrote (`execute` may wrap it), for tools showing its source.
        self.function: Callable[..., Any] = execute
        self.input_schema: Schema | None = as_schema(input_schema)
        self.output_schema: Schema | None = as_schema(output_schema)
        self.resume_schema: Schema | None = as_schema(resume_schema)
        self.suspend_schema: Schema | None = as_schema(suspend_schema)
        self.state_schema: Schema | None = as_schema(state_schema)
        self.retries = retries
        self.description = description or (inspect.getdoc(execute) or None)
        self.is_async = inspect.iscoroutinefunction(execute)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r}>"

    def clone(self, id: str) -> Step:
        """The same step under another id, so it can appear twice in one workflow."""
        copy = Step(
            id,
            self.execute,
            input_schema=self.input_schema,
            output_schema=self.output_schema,
            resume_schema=self.resume_schema,
            suspend_schema=self.suspend_schema,
            state_schema=self.state_schema,
            retries=self.retries,
            description=self.description,
        )
        copy.function = self.function
        return copy

    def describe(self) -> dict[str, Any]:
        """The step as a node of `Workflow.graph()`, with schemas as JSON Schema."""
        return {
            "id": self.id,
            "kind": self.kind,
            "description": self.description,
            "retries": self.retries,
            "input_schema": _json_schema(self.input_schema),
            "output_schema": _json_schema(self.output_schema),
            "resume_schema": _json_schema(self.resume_schema),
            "suspend_schema": _json_schema(self.suspend_schema),
            "state_schema": _json_schema(self.state_schema),
        }


def _json_schema(schema: Schema | None) -> dict[str, Any] | None:
    return schema.json_schema() if schema is not None else None


def _takes_context(fn: Callable[..., Any]) -> bool:
    params = list(inspect.signature(fn).parameters.values())
    if len(params) != 1:
        return False
    ann = params[0].annotation
    if ann is inspect.Parameter.empty:
        return True
    name = ann if isinstance(ann, str) else getattr(ann, "__name__", "")
    return name.split(".")[-1] == "StepContext"


def _from_function(fn: Callable[..., Any], **options: Any) -> Step:
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise DefinitionError(f"{fn.__name__}: *args and **kwargs cannot become a schema")
    single = hints.get(params[0].name) if len(params) == 1 else None
    is_async = inspect.iscoroutinefunction(fn)
    execute: Callable[..., Any]
    if isinstance(single, type) and issubclass(single, pydantic.BaseModel):
        input_schema: Any = single

        def call(ctx: Any) -> Any:
            return fn(ctx.input_data)
    elif not params:
        input_schema = None  # nothing to take: any input is accepted and ignored

        def call(ctx: Any) -> Any:
            return fn()
    else:
        # A parameter named like a BaseModel attribute (json, copy, schema...) gets a private
        # field name and keeps its own name as the alias the input uses.
        def field_name(name: str) -> str:
            return f"param_{name}" if hasattr(pydantic.BaseModel, name) else name

        fields: dict[str, Any] = {
            field_name(p.name): (
                hints.get(p.name, Any),
                pydantic.Field(
                    ... if p.default is p.empty else p.default,
                    alias=p.name if field_name(p.name) != p.name else None,
                ),
            )
            for p in params
        }
        input_schema = pydantic.create_model(
            f"{fn.__name__}_input",
            __config__=pydantic.ConfigDict(populate_by_name=True),
            **fields,
        )
        names = [(p.name, field_name(p.name)) for p in params]

        def call(ctx: Any) -> Any:
            data = ctx.input_data
            return fn(**{n: getattr(data, f) for n, f in names})

    if is_async:

        async def execute_async(ctx: Any) -> Any:
            return await call(ctx)

        execute = execute_async
    else:
        execute = call
    ret = hints.get("return", None)
    output_schema = None if ret is None or ret is type(None) else ret
    options.setdefault("description", inspect.getdoc(fn))
    step_id = options.pop("id", None) or fn.__name__
    options.setdefault("input_schema", input_schema)
    options.setdefault("output_schema", output_schema)
    built = Step(step_id, execute, **options)
    built.function = fn
    return built


class _StepFactory:
    """`@step`, `@step(...)` and `step.from_function(fn)`."""

    @overload
    def __call__(self, fn: Callable[..., Any], /) -> Step: ...

    @overload
    def __call__(
        self, fn: None = None, /, **options: Any
    ) -> Callable[[Callable[..., Any]], Step]: ...

    def __call__(
        self, fn: Callable[..., Any] | None = None, /, **options: Any
    ) -> Step | Callable[[Callable[..., Any]], Step]:
        if fn is not None:
            return self._build(fn, options)

        def decorate(f: Callable[..., Any]) -> Step:
            return self._build(f, options)

        return decorate

    def _build(self, fn: Callable[..., Any], options: dict[str, Any]) -> Step:
        options = dict(options)
        if not _takes_context(fn):
            return _from_function(fn, **options)
        step_id = options.pop("id", None) or fn.__name__
        return Step(step_id, fn, **options)

    def from_function(self, fn: Callable[..., Any], **options: Any) -> Step:
        """A step from a typed function that knows nothing of workflows."""
        return _from_function(fn, **options)


step = _StepFactory()
