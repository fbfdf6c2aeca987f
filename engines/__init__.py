"""Stepback's workflow library: define workflows in code, run them on any engine, inspect runs."""

from engines.core.context import StepContext
from engines.core.engine import Engine
from engines.core.errors import (
    BreakpointError,
    DefinitionError,
    InvalidRunStateError,
    NonRetryableError,
    RunConflictError,
    RunNotFoundError,
    StepNotFoundError,
    StoredError,
    ValidationError,
    WorkflowError,
)
from engines.core.events import Event
from engines.core.mapping import compute, const, from_context, from_init, from_step
from engines.core.results import RunResult, StepResult
from engines.core.run import Run
from engines.core.snapshot import RunSnapshot
from engines.core.step import Step, step
from engines.core.workflow import Workflow
from engines.default import DefaultEngine
from engines.storage import InMemoryStorage, RunPage, RunSummary, Storage

__all__ = [
    "BreakpointError",
    "DefaultEngine",
    "DefinitionError",
    "Engine",
    "Event",
    "InMemoryStorage",
    "InvalidRunStateError",
    "NonRetryableError",
    "Run",
    "RunConflictError",
    "RunNotFoundError",
    "RunPage",
    "RunResult",
    "RunSnapshot",
    "RunSummary",
    "Step",
    "StepContext",
    "StepNotFoundError",
    "StepResult",
    "Storage",
    "StoredError",
    "ValidationError",
    "Workflow",
    "WorkflowError",
    "compute",
    "const",
    "from_context",
    "from_init",
    "from_step",
    "step",
]
