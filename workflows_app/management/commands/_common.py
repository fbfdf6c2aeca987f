"""What the Stepback commands share: JSON arguments, the services' errors as command errors,
and runs executed in the command's own process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.management.base import CommandError

from engines import WorkflowError
from workflows_app import json_input, services
from workflows_app.models import Run

T = TypeVar("T")


def json_argument(text: str | None, name: str) -> Any:
    """Parse a `--name JSON` option (None when absent), within the limits of `json_input`."""
    if text is None:
        return None
    try:
        return json_input.loads(text)
    except json_input.JSONInputError as exc:
        problems = "; ".join(
            f"{e['path'] + ': ' if e['path'] else ''}{e['message']}" for e in exc.errors
        )
        raise CommandError(f"--{name} is refused: {problems}") from None


@contextmanager
def service_errors() -> Iterator[None]:
    """Refusals from the services become command errors (a message and exit status 1)."""
    try:
        yield
    except WorkflowError as exc:
        raise CommandError(str(exc)) from None
    except TimeoutError as exc:
        raise CommandError(str(exc)) from None


def run_here(call: Callable[[], T]) -> T:
    """Call a service with runs executing inside this process, to their next stop: a command
    must not exit while one of its runs is half-way on a background thread."""
    with service_errors(), services.running_inline():
        return call()


def describe(run: Run) -> str:
    """One line about a run."""
    line = f"Run {run.run_id} of {run.workflow_id}: {run.status}"
    if run.parent_run_id:
        line += f" (fork of {run.parent_run_id} at {run.fork_step})"
    return line


def outcome(run: Run) -> dict[str, Any]:
    """What a run ended with, or what it waits for."""
    data: dict[str, Any] = {"run_id": run.run_id, "status": run.status}
    if run.status == "success":
        data["result"] = run.result
    elif run.status == "failed":
        data["error"] = run.error
    elif run.status == "suspended":
        data["waiting_for"] = [
            {
                "step": task.path,
                "label": task.label,
                "for_each_index": task.for_each_index,
                "asks": task.suspend_payload,
            }
            for task in run.human_tasks.filter(status="open").order_by("created_at", "id")
        ]
    return data
