"""The processor events (jobs) of the evented engine, and the execution they carry, as JSON.

Every piece of run state an event needs is in storage or in the event itself:

- `walk`: an execution prepared by the caller (start, resume, restart, time travel, continue),
  with its whole snapshot; nothing of it is stored yet.
- `continue`: walk a running run again from its stored snapshot (a durable timer fired), with
  the execution's resume target and per-step flag.
- `cancel`: cancel a run that no worker is executing (a sleeping or interrupted run).
"""

from __future__ import annotations

from typing import Any

from engines.core.engine import Execution, ExecutionMode, ResumeTarget
from engines.core.snapshot import RunSnapshot
from engines.core.workflow import Workflow

WALK = "walk"
CONTINUE = "continue"
CANCEL = "cancel"


def _target(target: ResumeTarget | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {
        "path": list(target.path),
        "data": target.data,
        "for_each_index": target.for_each_index,
        "downstream": target.downstream,
    }


def decode_target(data: dict[str, Any] | None) -> ResumeTarget | None:
    if data is None:
        return None
    return ResumeTarget(
        tuple(data["path"]), data.get("data"), data.get("for_each_index"), data["downstream"]
    )


def _base(kind: str, workflow: Workflow, run_id: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "run_id": run_id,
        "workflow_id": workflow.id,
        "hash": workflow.definition_hash,
    }


def walk_job(workflow: Workflow, execution: Execution) -> dict[str, Any]:
    """The event that starts `execution` on a worker."""
    job = _base(WALK, workflow, execution.snapshot.run_id)
    job["execution"] = {
        "snapshot": execution.snapshot.to_dict(),
        "mode": execution.mode.value,
        "resume": _target(execution.resume),
        "per_step": execution.per_step,
        "fork_origin": execution.fork_origin,
    }
    return job


def decode_execution(data: dict[str, Any]) -> Execution:
    return Execution(
        RunSnapshot.from_dict(data["snapshot"]),
        ExecutionMode(data["mode"]),
        decode_target(data.get("resume")),
        bool(data.get("per_step")),
        data.get("fork_origin"),
    )


def continue_job(workflow: Workflow, execution: Execution, at: float) -> dict[str, Any]:
    """The event that walks the run again at `at` (a sleep's timer), with what the execution
    needs to go on the same way (its resume target, its per-step flag)."""
    job = _base(CONTINUE, workflow, execution.snapshot.run_id)
    job["at"] = at
    job["resume"] = _target(execution.resume)
    job["per_step"] = execution.per_step
    return job


def cancel_job(workflow: Workflow, run_id: str) -> dict[str, Any]:
    return _base(CANCEL, workflow, run_id)
