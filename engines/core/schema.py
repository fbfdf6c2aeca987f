"""Schemas: pydantic models, any `TypeAdapter` type, or `None` for any JSON value."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import pydantic
from pydantic_core import to_jsonable_python

from engines.core.errors import ValidationError


def to_json_value(value: Any) -> Any:
    """Return `value` as plain JSON data (models dumped, dates as ISO strings)."""
    if value is None or type(value) in _SCALARS:
        return value
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    return to_jsonable_python(value)


_SCALARS = frozenset({str, int, float, bool})
_CONTAINERS = (dict, list)


def copy_json(value: Any) -> Any:
    """A deep copy of JSON data (dicts and lists copied, everything else shared)."""
    kind = type(value)
    if kind is dict:
        return {k: copy_json(v) if type(v) in _CONTAINERS else v for k, v in value.items()}
    if kind is list:
        return [copy_json(v) if type(v) in _CONTAINERS else v for v in value]
    return value


def field_errors(exc: pydantic.ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """Flatten pydantic's errors into `{"path": "a.b.0", "message": ...}` records."""
    out = []
    for err in exc.errors(include_url=False):
        parts = [str(p) for p in err["loc"]]
        path = ".".join([prefix, *parts] if prefix else parts)
        out.append({"path": path, "message": err["msg"]})
    return out


class Schema:
    """One schema of a step or workflow, with validation, JSON dumping and JSON Schema."""

    __slots__ = ("__dict__", "is_model", "type")

    def __init__(self, tp: Any) -> None:
        self.type = tp
        self.is_model = isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)

    @cached_property
    def adapter(self) -> pydantic.TypeAdapter[Any]:
        return pydantic.TypeAdapter(self.type)

    def validate(self, value: Any, what: str) -> Any:
        """Return the validated Python value; raise `ValidationError` naming `what` on failure."""
        if isinstance(value, pydantic.BaseModel) and not (
            self.is_model and isinstance(value, self.type)
        ):
            value = value.model_dump(mode="json")
        try:
            if self.is_model:
                return self.type.model_validate(value)
            return self.adapter.validate_python(value)
        except pydantic.ValidationError as exc:
            raise ValidationError(f"Invalid {what}:", field_errors(exc)) from None

    def dump(self, value: Any) -> Any:
        """Return a validated value as JSON data."""
        if self.is_model:
            return value.model_dump(mode="json")
        return self.adapter.dump_python(value, mode="json")

    def coerce(self, value: Any, what: str) -> Any:
        """Validate and dump in one go: JSON in, JSON (with defaults applied) out."""
        return self.dump(self.validate(value, what))

    def json_schema(self) -> dict[str, Any]:
        if self.is_model:
            schema: dict[str, Any] = self.type.model_json_schema()
            return schema
        return self.adapter.json_schema()

    def field_names(self) -> set[str] | None:
        """The model's field names, or `None` when the schema is not a model."""
        if self.is_model:
            return set(self.type.model_fields)
        return None

    def field_schema(self, name: str) -> Schema | None:
        """The schema of one model field, when it is itself a model."""
        if not self.is_model:
            return None
        field = self.type.model_fields.get(name)
        ann = field.annotation if field else None
        if isinstance(ann, type) and issubclass(ann, pydantic.BaseModel):
            return Schema(ann)
        return None


def as_schema(tp: Any) -> Schema | None:
    """Wrap a user's schema argument (`None` stays `None`)."""
    if tp is None or isinstance(tp, Schema):
        return tp
    return Schema(tp)


def validate_json(schema: Schema | None, value: Any, what: str) -> Any:
    """Validate JSON `value` against `schema` and return JSON with defaults applied."""
    if schema is None:
        return to_json_value(value)
    return schema.coerce(value, what)
