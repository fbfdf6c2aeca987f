"""The one place where errors become HTTP responses.

Every error body under `/api/` has the same shape: `{"detail": "<one sentence>", "code":
"<machine name>"}`, and bad input (400) adds `"errors": {"<field path>": ["message", ...]}` so
a form can show each message beside its field. Engine validation errors also keep their raw list
under `"error_list"` (`[{"path", "message"}]`), the form the engines and the live protocol use.
`detail` is a whole sentence: it names the first problem and never ends in a colon.

Two hooks apply it. `exception_handler` (DRF's) maps what the views raise:

| raised                                                   | status |
|----------------------------------------------------------|--------|
| `engines.ValidationError` (`JSONInputError`, `BundleError`), DRF `ValidationError` | 400 |
| any other `engines.WorkflowError`                        | 400    |
| `RunNotFoundError`, `StepNotFoundError`,                 | 404    |
| `UnknownWorkflowError`, `Http404`                        |        |
| `InvalidRunStateError` (and `RunConflictError`),         | 409    |
| `Conflict`                                               |        |
| not signed in, or signed in without the permission       | 403    |
| a database lock or pooled connection not granted in time | 503 + `Retry-After` |

`JSONErrorsMiddleware` answers in the same shape where no API view does: an address that
matches no route (`/api/inbox/-1/`), a refusal Django makes before the view (a body too large),
an error body another renderer wrote (the schema view's YAML), and a crash (500, logged by
Django as usual).

Anonymous callers get 403 rather than 401: the API authenticates with the session cookie only,
and a 401 would need a `WWW-Authenticate` challenge no browser can answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
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
from workflows_app import admission
from workflows_app.api.renderers import JSONRenderer
from workflows_app.registry import UnknownWorkflowError
from workflows_app.storage.retry import is_transient

log = logging.getLogger("workflows_app.api")

API_PREFIX = "/api/"
# Headers of a refused response that still mean something once its body is rewritten.
_KEPT_HEADERS = ("Allow", "Retry-After", "Vary")


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


def sentence(text: str, problems: Sequence[tuple[str, str]] = ()) -> str:
    """`text` as one sentence: naming the first of `problems` (field path, message) instead of
    ending in a colon that announced them, and saying how many more there are."""
    head = text.strip().splitlines()[0].rstrip() if text.strip() else "Invalid request"
    head = head.rstrip(":").rstrip()
    if problems:
        path, message = problems[0]
        named = message.strip().rstrip(".:")
        if path and path != api_settings.NON_FIELD_ERRORS_KEY:
            named = f"{path}: {named}"
        head = f"{head}: {named}"
        if len(problems) > 1:
            head += f" (and {len(problems) - 1} more)"
    return head if head.endswith(".") else head + "."


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


def error_body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    """The API's error shape."""
    return {"detail": sentence(detail), "code": code, **extra}


def _workflow_error_response(exc: WorkflowError) -> Response:
    if isinstance(exc, ValidationError):
        problems = [(str(e.get("path") or ""), str(e.get("message", ""))) for e in exc.errors]
        body = {
            "detail": sentence(exc.summary, problems),
            "code": "invalid",
            "errors": field_errors(exc.errors),
            "error_list": exc.errors,
        }
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (RunNotFoundError, StepNotFoundError, UnknownWorkflowError)):
        return Response(error_body(str(exc), "not_found"), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, InvalidRunStateError):
        return Response(error_body(str(exc), "conflict"), status=status.HTTP_409_CONFLICT)
    # Whatever else the engines refuse is a bad request whose sentence says what to change.
    body = error_body(str(exc), "invalid", errors={api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]})
    field = getattr(exc, "errors", None)
    if isinstance(field, list) and all(isinstance(e, dict) for e in field) and field:
        body["errors"] = field_errors(field)
        body["error_list"] = field
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _saturated_response(exc: Exception) -> Response:
    # A lock not granted or no pooled connection in time: the request wrote nothing (its
    # writes share one transaction), and trying again shortly is the right answer.
    log.warning("answered 503, the database is saturated: %s", exc)
    response = Response(
        error_body(admission.SATURATED["detail"], admission.SATURATED["code"]),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    response["Retry-After"] = str(admission.RETRY_AFTER_SECONDS)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler for the whole API (settings.REST_FRAMEWORK points here)."""
    if is_transient(exc):
        return _saturated_response(exc)
    if isinstance(exc, WorkflowError):
        return _workflow_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten_drf(exc.detail)
        problems = [(path, messages[0]) for path, messages in errors.items() if messages]
        return Response(
            {"detail": sentence("Invalid request", problems), "code": "invalid", "errors": errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        detail = exc.detail
        text = str(detail) if not isinstance(detail, (dict, list)) else exc.default_detail
        code = detail.code if isinstance(detail, exceptions.ErrorDetail) else exc.default_code
        response.data = error_body(str(text), str(code))
    return response


# -- responses no API view wrote ----------------------------------------------------------------

_CODES = {400: "invalid", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}


def _is_json(response: HttpResponse) -> bool:
    return str(response.get("Content-Type", "")).startswith("application/json")


def _fallback_body(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        # A DRF response rendered as something else (the schema view answers YAML).
        return error_body(data["detail"], str(data.get("code") or "error"))
    code = response.status_code
    if code == 404:
        return error_body(f"Nothing is served at {request.path}", "not_found")
    if code >= 500:
        return error_body("The server failed to answer; the error is logged", "server_error")
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Error"
    return error_body(phrase, _CODES.get(code, "error"))


class JSONErrorsMiddleware:
    """Under `/api/`, every error response not already JSON is answered again as the API's
    error body, with the same status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith(API_PREFIX)
            or _is_json(response)
        ):
            return response
        body = JSONRenderer().render(_fallback_body(request, response))
        answer = HttpResponse(body, status=response.status_code, content_type="application/json")
        for header in _KEPT_HEADERS:
            if header in response:
                answer[header] = response[header]
        return answer
