"""The exceptions the library raises, and the control-flow signals steps use.

`WorkflowError` is the root of everything the library raises on purpose. The signals derive from
`BaseException` so that user code cannot swallow them with `except Exception`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class WorkflowError(Exception):
    """Raised for any problem the library detects; the root of the hierarchy."""


class DefinitionError(WorkflowError):
    """Raised while building a workflow whose definition cannot run (empty, uncommitted, ...)."""


class ValidationError(WorkflowError):
    """Raised when data does not match its schema; `errors` lists each failing field."""

    def __init__(self, message: str, errors: Sequence[dict[str, str]] = ()) -> None:
        self.errors: list[dict[str, str]] = [dict(e) for e in errors]
        lines = [message] + [f"- {e['path'] or '(root)'}: {e['message']}" for e in self.errors]
        super().__init__("\n".join(lines))
        self.summary = message


class BreakpointError(ValidationError):
    """Raised when a breakpoint is not a string naming a step of the workflow; `errors` holds
    one entry per bad breakpoint (path `breakpoints.<index>`)."""


class RunNotFoundError(WorkflowError):
    """Raised when a run id has no stored snapshot."""


class StepNotFoundError(WorkflowError):
    """Raised when a step id or path does not exist in the workflow; names the known ones."""


class InvalidRunStateError(WorkflowError):
    """Raised when a run's status forbids the call (resume a run that is not suspended, ...)."""


class RunConflictError(InvalidRunStateError):
    """Raised when another caller changed the run first (two resumes racing)."""


class NonRetryableError(WorkflowError):
    """Raise from a step to fail it at once, without the remaining retries."""


class StoredError(Exception):
    """Base of errors rebuilt from storage whose original class cannot be imported here."""


class StepSignal(BaseException):
    """Base of the control-flow signals a step raises through its context."""


class SuspendSignal(StepSignal):
    """Raised by `ctx.suspend()`: the step ends suspended with `payload`."""

    def __init__(self, payload: Any, labels: tuple[str, ...]) -> None:
        super().__init__("step suspended")
        self.payload = payload
        self.labels = labels


class BailSignal(StepSignal):
    """Raised by `ctx.bail()`: the step and its workflow end successfully with `value`."""

    def __init__(self, value: Any) -> None:
        super().__init__("step bailed")
        self.value = value
