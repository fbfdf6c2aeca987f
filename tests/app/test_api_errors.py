"""The exception handler: one place maps every error to a status and one body shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from rest_framework import exceptions

from engines import (
    InvalidRunStateError,
    RunConflictError,
    RunNotFoundError,
    StepNotFoundError,
    ValidationError,
    WorkflowError,
)
from workflows_app.api.errors import Conflict, exception_handler
from workflows_app.registry import UnknownWorkflowError


def handle(exc: Exception) -> tuple[int, dict[str, Any]]:
    response = exception_handler(exc, {})
    assert response is not None
    return response.status_code, response.data


def test_an_engine_validation_error_is_400_with_errors_by_field_path() -> None:
    errors = [
        {"path": "amount", "message": "must be > 0"},
        {"path": "amount", "message": "must be a number"},
        {"path": "items.0.id", "message": "required"},
        {"path": "", "message": "too many keys"},
    ]
    status, body = handle(ValidationError("Invalid input of workflow 'greet':", errors))
    assert status == 400
    # A sentence naming the first problem, not a colon announcing a list.
    assert body["detail"] == "Invalid input of workflow 'greet': amount: must be > 0 (and 3 more)."
    assert body["errors"] == {
        "amount": ["must be > 0", "must be a number"],
        "items.0.id": ["required"],
        "non_field_errors": ["too many keys"],
    }
    assert body["error_list"] == errors


@pytest.mark.parametrize(
    "exc",
    [
        RunNotFoundError("No run 'x' in storage"),
        StepNotFoundError("No step 'y'"),
        UnknownWorkflowError("No workflow 'z' is registered"),
    ],
)
def test_unknown_runs_steps_and_workflows_are_404(exc: Exception) -> None:
    assert handle(exc) == (404, {"detail": f"{exc}.", "code": "not_found"})


@pytest.mark.parametrize(
    "exc", [InvalidRunStateError("not suspended"), RunConflictError("changed first")]
)
def test_a_state_that_forbids_the_call_is_409(exc: Exception) -> None:
    assert handle(exc) == (409, {"detail": f"{exc}.", "code": "conflict"})


def test_any_other_workflow_error_is_400_saying_what_to_change() -> None:
    status, body = handle(WorkflowError("Multiple suspended steps found: a, b."))
    assert status == 400
    assert body["errors"] == {"non_field_errors": ["Multiple suspended steps found: a, b."]}


def test_a_workflow_error_carrying_field_errors_keeps_them() -> None:
    class BundleProblem(WorkflowError):
        def __init__(self, errors: list[dict[str, str]]) -> None:
            super().__init__("Bad bundle")
            self.errors = errors

    status, body = handle(BundleProblem([{"path": "run.run_id", "message": "required"}]))
    assert status == 400
    assert body["errors"] == {"run.run_id": ["required"]}


def test_nested_serializer_errors_become_dotted_field_paths() -> None:
    detail = {"input": {"name": ["required"]}, "reuse": {"1": ["not a string"]}, "step": ["bad"]}
    status, body = handle(exceptions.ValidationError(detail))
    assert status == 400
    assert body == {
        "detail": "Invalid request: input.name: required (and 2 more).",
        "code": "invalid",
        "errors": {"input.name": ["required"], "reuse.1": ["not a string"], "step": ["bad"]},
    }


def test_django_404_keeps_its_sentence() -> None:
    assert handle(Http404("No run 'r'.")) == (404, {"detail": "No run 'r'.", "code": "not_found"})


def test_a_missing_permission_is_403_with_the_same_shape() -> None:
    status, body = handle(exceptions.PermissionDenied("You need operate_run."))
    assert (status, body) == (403, {"detail": "You need operate_run.", "code": "permission_denied"})


def test_a_view_conflict_is_409() -> None:
    assert handle(Conflict("Human task 3 is already resumed."))[0] == 409


def test_unexpected_errors_are_left_to_django() -> None:
    assert exception_handler(RuntimeError("bug"), {}) is None
