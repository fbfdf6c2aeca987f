"""Turn `start`, `resume` and `restart` calls into executions, refusing bad calls first.

Everything here validates before anything is written: a refused call records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from engines.core.breakpoints import check_breakpoints
from engines.core.engine import Execution, ExecutionMode, ResumeTarget
from engines.core.errors import (
    InvalidRunStateError,
    RunNotFoundError,
    StepNotFoundError,
    WorkflowError,
)
from engines.core.results import RunResult
from engines.core.schema import validate_json
from engines.core.snapshot import RunSnapshot
from engines.core.workflow import Workflow

if TYPE_CHECKING:
    from engines.core.engine import Engine


def normalize_path(step: Any) -> tuple[str, ...]:
    """A step reference as a path of ids: id, object, dotted string, or a list of those."""
    if step is None:
        return ()
    if isinstance(step, str):
        return tuple(p for p in step.split(".") if p)
    if isinstance(step, (list, tuple)):
        out: list[str] = []
        for item in step:
            out.extend(normalize_path(item))
        return tuple(out)
    ident = getattr(step, "id", None)
    if isinstance(ident, str):
        return (ident,)
    raise WorkflowError(f"{step!r} is not a step, a step id or a path")


def all_step_paths(workflow: Workflow, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every step path of a workflow, dotted, nested workflows included."""
    out: list[str] = []
    for sid, step in workflow.steps.items():
        out.append(".".join((*prefix, sid)))
        if isinstance(step, Workflow):
            out.extend(all_step_paths(step, (*prefix, sid)))
    return out


def require_step(workflow: Workflow, path: tuple[str, ...]) -> Any:
    step = workflow.find_step(path)
    if step is None:
        raise StepNotFoundError(
            f"Step {'.'.join(path)!r} does not exist in workflow {workflow.id!r}. "
            f"Known steps: {', '.join(all_step_paths(workflow))}"
        )
    return step


def _show(paths: Sequence[Sequence[str]]) -> str:
    return ", ".join("[" + ", ".join(p) + "]" for p in paths) or "none"


async def load_snapshot(engine: Engine, run_id: str) -> RunSnapshot:
    snap = await engine.storage.load(run_id)
    if snap is None:
        raise RunNotFoundError(f"No run {run_id!r} in storage")
    return snap


def _check_workflow(workflow: Workflow, snap: RunSnapshot) -> None:
    if snap.workflow_id != workflow.id:
        raise WorkflowError(
            f"Run {snap.run_id!r} belongs to workflow {snap.workflow_id!r}, not {workflow.id!r}"
        )


async def prepare_start(
    workflow: Workflow,
    engine: Engine,
    run_id: str,
    resource_id: str | None,
    input_data: Any,
    initial_state: Any,
    context: dict[str, Any] | None,
    now: float,
    per_step: bool = False,
    breakpoints: Sequence[str] | None = None,
) -> Execution:
    """The execution of a new run, validated; an existing run id is refused."""
    points = check_breakpoints(workflow, breakpoints)
    data = validate_json(workflow.input_schema, input_data, "input data")
    state = validate_json(
        workflow.state_schema, initial_state if initial_state is not None else {}, "initial state"
    )
    if not isinstance(state, dict):
        raise WorkflowError("initial_state must be an object")
    if context is not None and not isinstance(context, dict):
        raise WorkflowError("context must be a dict")
    existing = await engine.storage.load(run_id)
    if existing is not None and (existing.status != "pending" or existing.has_history):
        raise InvalidRunStateError(
            f"Run {run_id!r} already exists with status {existing.status!r}; "
            "use resume, restart or time_travel, or start a new run"
        )
    snap = RunSnapshot(
        run_id=run_id,
        workflow_id=workflow.id,
        status="running",
        input=data,
        initial_state=dict(state),
        state=dict(state),
        context=dict(context or {}),
        graph=workflow.graph(),
        definition_hash=workflow.definition_hash,
        resource_id=resource_id,
        created_at=existing.created_at if existing else now,
        started_at=now,
        seq=existing.seq if existing else 0,
        breakpoints=points,
        per_step=per_step,
    )
    return Execution(snap, ExecutionMode.START, per_step=per_step)


def _resolve_target(
    workflow: Workflow, snap: RunSnapshot, step: Any, label: str | None
) -> tuple[tuple[str, ...], int | None]:
    suspended = [tuple(p) for p in snap.suspended]
    if label is not None:
        found = snap.resume_labels.get(label)
        if found is None:
            raise StepNotFoundError(
                f"No suspended step has the resume label {label!r}. "
                f"Labels: {', '.join(snap.resume_labels) or 'none'}"
            )
        return tuple(found["path"]), found.get("for_each_index")
    wanted = normalize_path(step)
    if not wanted:
        if not suspended:
            raise InvalidRunStateError("No suspended steps found in this workflow run")
        if len(suspended) > 1:
            raise WorkflowError(
                f"Multiple suspended steps found: {_show(suspended)}. "
                "Pass step= to choose which one to resume."
            )
        return suspended[0], None
    matches = [p for p in suspended if p[: len(wanted)] == wanted]
    if len(matches) == 1:
        return matches[0], None
    if len(matches) > 1:
        raise WorkflowError(
            f"Multiple suspended steps found under {'.'.join(wanted)!r}: {_show(matches)}. "
            "Pass the full path."
        )
    require_step(workflow, wanted)
    raise InvalidRunStateError(
        f'This workflow step "{".".join(wanted)}" was not suspended. '
        f"Available suspended steps: {_show(suspended)}"
    )


async def prepare_resume(
    workflow: Workflow,
    engine: Engine,
    run_id: str,
    resume_data: Any,
    step: Any,
    label: str | None,
    for_each_index: int | None,
    context: dict[str, Any] | None,
    per_step: bool,
    breakpoints: Sequence[str] | None = None,
) -> Execution:
    """The execution that resumes a suspended step (or continues a paused run), validated.
    `breakpoints` replace the run's (None keeps them)."""
    points = None if breakpoints is None else check_breakpoints(workflow, breakpoints)
    snap = await load_snapshot(engine, run_id)
    _check_workflow(workflow, snap)
    if engine.is_active(run_id):
        raise InvalidRunStateError(f"Run {run_id!r} is still running; it cannot be resumed")
    if context is not None:
        snap.context.update(context)
    if points is not None:
        snap.breakpoints = points
    if snap.status == "paused" and step is None and label is None:
        snap.status = "running"
        return Execution(snap, ExecutionMode.CONTINUE, per_step=per_step)
    if snap.status != "suspended":
        raise InvalidRunStateError(
            f"This workflow run was not suspended (status: {snap.status}); nothing to resume. "
            f"Suspended steps: {_show(snap.suspended)}"
        )
    path, label_index = _resolve_target(workflow, snap, step, label)
    target = require_step(workflow, path)
    schema = getattr(target, "resume_schema", None)
    if resume_data is None and schema is not None and schema.is_model:
        resume_data = {}  # no data: let the model's defaults (or its errors) speak
    data = validate_json(schema, resume_data, "resume data")
    index = for_each_index if for_each_index is not None else label_index
    if index is not None and (not isinstance(index, int) or index < 0):
        raise WorkflowError(f"for_each_index must be a whole number >= 0, got {index!r}")
    snap.status = "running"
    return Execution(snap, ExecutionMode.RESUME, ResumeTarget(path, data, index), per_step=per_step)


async def prepare_paused_continue(
    workflow: Workflow,
    engine: Engine,
    run_id: str,
    per_step: bool = False,
    breakpoints: Sequence[str] | None = None,
) -> Execution:
    """The execution that continues a paused run: it runs the steps it paused before, then
    goes on to the next breakpoint (or, with `per_step`, one step); a run that is not paused
    is refused. `breakpoints` replace the run's (None keeps them)."""
    points = None if breakpoints is None else check_breakpoints(workflow, breakpoints)
    snap = await load_snapshot(engine, run_id)
    _check_workflow(workflow, snap)
    if engine.is_active(run_id) or snap.status != "paused":
        raise InvalidRunStateError(
            f"Run {run_id!r} is not paused (status: {snap.status}); only a paused run continues"
        )
    if points is not None:
        snap.breakpoints = points
    snap.status = "running"
    return Execution(snap, ExecutionMode.CONTINUE, per_step=per_step)


async def prepare_restart(
    workflow: Workflow,
    engine: Engine,
    run_id: str,
    breakpoints: Sequence[str] | None = None,
    per_step: bool | None = None,
) -> Execution:
    """The execution that re-runs an interrupted run; any other run is refused."""
    prepared = await restart_or_result(workflow, engine, run_id, breakpoints, per_step)
    if isinstance(prepared, RunResult):
        raise _not_active(prepared.status)
    return prepared


async def restart_or_result(
    workflow: Workflow,
    engine: Engine,
    run_id: str,
    breakpoints: Sequence[str] | None = None,
    per_step: bool | None = None,
) -> Execution | RunResult:
    """What `restart()` does: re-run an interrupted run, or, for a run that ended in success
    or failure, nothing but return its stored result (semantics §3.5). The run keeps its
    breakpoints and per-step mode unless given (None)."""
    points = None if breakpoints is None else check_breakpoints(workflow, breakpoints)
    snap = await load_snapshot(engine, run_id)
    _check_workflow(workflow, snap)
    if engine.is_active(run_id):
        raise InvalidRunStateError(f"Run {run_id!r} is still running here; nothing to restart")
    if snap.status in ("success", "failed"):
        return snap.to_result()
    if snap.status not in ("running", "waiting", "pending"):
        raise _not_active(snap.status)
    snap.status = "running"
    if points is not None:
        snap.breakpoints = points
    return Execution(
        snap, ExecutionMode.RESTART, per_step=snap.per_step if per_step is None else per_step
    )


def _not_active(status: str) -> InvalidRunStateError:
    return InvalidRunStateError(
        f"This workflow run was not active (status: {status}); restart re-runs "
        "interrupted runs only"
    )


async def prepare_continue(workflow: Workflow, engine: Engine, run_id: str) -> Execution:
    """The execution that walks a running run again after a step handed off by this engine
    ended elsewhere and its result was stored (see `engines.core.interpreter`)."""
    snap = await load_snapshot(engine, run_id)
    _check_workflow(workflow, snap)
    if snap.status not in ("running", "waiting"):
        raise _not_active(snap.status)
    snap.status = "running"
    return Execution(snap, ExecutionMode.CONTINUE)
