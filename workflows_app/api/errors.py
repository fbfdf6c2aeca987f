"""The one place where errors become HTTP responses.

Every error body has the same shape: `{"detail": "<one sentence>", "code": "<machine name>"}`,
and bad input (400) adds `"errors": {"<field path>": ["message", ...]}` so a form can show each
message beside its field. Engine validation errors also keep their raw list under
`"error_list"` (`[{"path", "message"}]`), the form the engines and the live protocol use.

| raised                                                   | status |
|----------------------------------------------------------|--------|
| `engines.ValidationError`, DRF `ValidationError`         | 400    |
| any other `engines.WorkflowError` (`BundleError`, ...)   | 400    |
| `RunNotFoundError`, `StepNotFoundError`,                 | 404    |
| `UnknownWorkflowError`, `Http404`                        |        |
| `InvalidRunStateError` (and `RunConflictError`),         | 409    |
| `Conflict`                                               |        |
| not signed in, or signed in without the permission       | 403    |

Anonymous callers get 403 rather than 401: the API authenticates with the session cookie only,
and a 401 would need a `WWW-Authenticate` challenge no browser can answer.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from engines import (
    InvalidRunStateError,
    RunNotFoundError,
    StepNotFoundError,
    ValidationError,
    WorkflowError,
)
from workflows_app.registry import UnknownWorkflowError


class Conflict(exceptions.APIException):
    """Raised by a view when the state of a record forbids the call (a closed human task)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The record's state forbids this call."
    default_code = "conflict"


def field_errors(errors: list[dict[str, str]]) -> dict[str, list[str]]:
    """Engine error records (`{"path", "message"}`) grouped by field path.

    The whole value (path `""`) is keyed like DRF's own errors about no single field.
    """
    grouped: dict[str, list[str]] = {}
    for record in errors:
        key = str(record.get("path") or "") or api_settings.NON_FIELD_ERRORS_KEY
        grouped.setdefault(key, []).append(str(record.get("message", "")))
    return grouped


def _flatten_drf(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    # DRF nests errors the way the serializer nests fields; a form wants one dotted path each.
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(_flatten_drf(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list) and detail and all(isinstance(d, str) for d in detail):
        return {prefix or api_settings.NON_FIELD_ERRORS_KEY: [str(d) for d in detail]}
    if isinstance(detail, list):
        out = {}
        for index, value in enumerate(detail):
            if value:
                out.update(_flatten_drf(value, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix or api_settings.NON_FIELD_ERRORS_KEY: [str(detail)]}


def _body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


def _workflow_error_response(exc: WorkflowError) -> Response:
    if isinstance(exc, ValidationError):
        body = _body(
            exc.summary,
            "invalid",
            errors=field_errors(exc.errors),
            error_list=exc.errors,
        )
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (RunNotFoundError, StepNotFoundError, UnknownWorkflowError)):
        return Response(_body(str(exc), "not_found"), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, InvalidRunStateError):
        return Response(_body(str(exc), "conflict"), status=status.HTTP_409_CONFLICT)
    # Whatever else the engines refuse is a bad request whose sentence says what to change.
    body = _body(str(exc), "invalid", errors={api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]})
    field = getattr(exc, "errors", None)
    if isinstance(field, list) and all(isinstance(e, dict) for e in field) and field:
        body["errors"] = field_errors(field)
        body["error_list"] = field
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler for the whole API (settings.REST_FRAMEWORK points here)."""
    if isinstance(exc, WorkflowError):
        return _workflow_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten_drf(exc.detail)
        return Response(
            _body("Invalid request.", "invalid", errors=errors),
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        detail = exc.detail
        text = str(detail) if not isinstance(detail, (dict, list)) else exc.default_detail
        code = detail.code if isinstance(detail, exceptions.ErrorDetail) else exc.default_code
        response.data = _body(str(text), str(code))
    return response
