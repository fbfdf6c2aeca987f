"""The payload of each event type, built in one place.

Every engine builds event payloads with these functions, and storages read them by the same
keys (a `DjangoStorage` derives attempt rows from `step.retrying` and human tasks from
`step.suspended` / `step.resumed`), so each key is named once, here. The conformance suite pins
every payload. Optional keys are left out when they have nothing to say.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from engines.core.engine import ExecutionMode
from engines.core.error_codec import error_to_dict


class ResumeInfo(TypedDict):
    """Which step a resume targets, and with what."""

    path: list[str]
    data: Any
    for_each_index: int | None


class ForkOrigin(TypedDict):
    """Where a time-travel fork comes from, and what it starts with (in `run.started`)."""

    parent_run_id: str | None
    fork_step: str
    input: Any
    state: dict[str, Any]
    reused_steps: list[str]
    overrides: dict[str, Any]


class RunStarted(TypedDict):
    """`run.started`: how the execution began (start input, resume target, fork origin)."""

    mode: str  # an ExecutionMode value
    input: NotRequired[Any]
    state: NotRequired[dict[str, Any]]
    context: NotRequired[dict[str, Any]]
    resource_id: NotRequired[str | None]
    resume: NotRequired[ResumeInfo]
    parent_run_id: NotRequired[str | None]
    fork_step: NotRequired[str]
    reused_steps: NotRequired[list[str]]
    overrides: NotRequired[dict[str, Any]]


class RunSucceeded(TypedDict):
    result: Any


class RunFailed(TypedDict):
    error: NotRequired[dict[str, Any]]


class RunSuspended(TypedDict):
    suspended: list[list[str]]
    resume_labels: dict[str, dict[str, Any]]


class Empty(TypedDict):
    """`run.canceled`, `step.canceled`: nothing more than the type says."""


class RunPaused(TypedDict):
    """`run.paused`: the paths of the steps the run paused before (a breakpoint, or per-step
    mode's next step; empty when per-step mode paused after the last step)."""

    paused_at: list[list[str]]


class StepStarted(TypedDict):
    input: Any
    iteration: NotRequired[int]
    resume_payload: NotRequired[Any]  # time travel answered the step on arrival


class StepResumed(TypedDict):
    input: Any
    resume_payload: Any


class StepSucceeded(TypedDict):
    output: Any
    state_delta: NotRequired[dict[str, Any]]


class StepFailed(TypedDict):
    error: NotRequired[dict[str, Any]]


class StepSuspended(TypedDict):
    suspend_payload: Any
    labels: list[str]
    state_delta: NotRequired[dict[str, Any]]


class StepRetrying(TypedDict):
    attempt: int  # the attempt that failed (1-based); the next one follows
    error: dict[str, Any]
    for_each_index: NotRequired[int]
    started_at: NotRequired[float]  # when the attempt that failed began
    retry_at: NotRequired[float]  # when the next attempt is due (after the retry delay)


class StepWaiting(TypedDict):
    input: Any
    wake_at: float


class ForeachProgress(TypedDict):
    kind: Literal["foreach"]
    completed_count: int
    total_count: int
    current_index: int
    iteration_status: str
    iteration_output: Any
    state_delta: NotRequired[dict[str, Any]]


class CustomProgress(TypedDict):
    kind: Literal["custom"]
    data: Any


# -- run events -----------------------------------------------------------------------------------


def run_started(
    mode: ExecutionMode,
    *,
    start: tuple[Any, dict[str, Any], dict[str, Any], str | None] | None = None,
    resume: ResumeInfo | None = None,
    fork: ForkOrigin | None = None,
) -> RunStarted:
    """The start of an execution: a new run's (input, state, context, resource_id), the
    resume target, and a fork's origin, each when there is one."""
    payload: RunStarted = {"mode": mode.value}
    if start is not None:
        payload["input"], payload["state"], payload["context"], payload["resource_id"] = start
    if resume is not None:
        payload["resume"] = resume
    if fork is not None:
        payload["parent_run_id"] = fork["parent_run_id"]
        payload["fork_step"] = fork["fork_step"]
        payload["input"] = fork["input"]
        payload["state"] = fork["state"]
        payload["reused_steps"] = fork["reused_steps"]
        payload["overrides"] = fork["overrides"]
    return payload


def fork_origin(
    parent_run_id: str | None,
    fork_step: str,
    input_data: Any,
    state: dict[str, Any],
    reused_steps: list[str],
    overrides: dict[str, Any],
) -> ForkOrigin:
    return {
        "parent_run_id": parent_run_id,
        "fork_step": fork_step,
        "input": input_data,
        "state": state,
        "reused_steps": reused_steps,
        "overrides": overrides,
    }


def resume_info(path: tuple[str, ...], data: Any, for_each_index: int | None) -> ResumeInfo:
    return {"path": list(path), "data": data, "for_each_index": for_each_index}


def run_succeeded(result: Any) -> RunSucceeded:
    return {"result": result}


def run_failed(error: BaseException | None) -> RunFailed:
    return {"error": error_to_dict(error)} if error is not None else {}


def run_suspended(
    suspended: list[list[str]], resume_labels: dict[str, dict[str, Any]]
) -> RunSuspended:
    return {"suspended": suspended, "resume_labels": resume_labels}


def run_canceled() -> Empty:
    return {}


def run_paused(paused_at: list[list[str]]) -> RunPaused:
    return {"paused_at": [list(p) for p in paused_at]}


# -- step events ----------------------------------------------------------------------------------


def step_started(input_data: Any, iteration: int | None = None) -> StepStarted:
    if iteration is None:
        return {"input": input_data}
    return {"input": input_data, "iteration": iteration}


def step_answered(input_data: Any, resume_payload: Any) -> StepStarted:
    """`step.started` of a step that time travel hands resume data on arrival."""
    return {"input": input_data, "resume_payload": resume_payload}


def step_resumed(input_data: Any, resume_payload: Any) -> StepResumed:
    return {"input": input_data, "resume_payload": resume_payload}


def step_succeeded(output: Any, state_delta: dict[str, Any] | None = None) -> StepSucceeded:
    if state_delta:
        return {"output": output, "state_delta": state_delta}
    return {"output": output}


def step_failed(error: BaseException | None) -> StepFailed:
    return {"error": error_to_dict(error)} if error is not None else {}


def step_suspended(
    suspend_payload: Any, labels: tuple[str, ...], state_delta: dict[str, Any] | None = None
) -> StepSuspended:
    payload: StepSuspended = {"suspend_payload": suspend_payload, "labels": list(labels)}
    if state_delta:
        payload["state_delta"] = state_delta
    return payload


def step_canceled() -> Empty:
    return {}


def step_retrying(
    attempt: int,
    error: BaseException,
    for_each_index: int | None = None,
    started_at: float | None = None,
    retry_at: float | None = None,
) -> StepRetrying:
    payload: StepRetrying = {"attempt": attempt, "error": error_to_dict(error)}
    if for_each_index is not None:
        payload["for_each_index"] = for_each_index
    if started_at is not None:
        payload["started_at"] = started_at
    if retry_at is not None:
        payload["retry_at"] = retry_at
    return payload


def step_waiting(input_data: Any, wake_at: float) -> StepWaiting:
    return {"input": input_data, "wake_at": wake_at}


def foreach_progress(
    completed: int,
    total: int,
    index: int,
    status: str,
    output: Any,
    state_delta: dict[str, Any] | None = None,
) -> ForeachProgress:
    payload: ForeachProgress = {
        "kind": "foreach",
        "completed_count": completed,
        "total_count": total,
        "current_index": index,
        "iteration_status": status,
        "iteration_output": output,
    }
    if state_delta:
        payload["state_delta"] = state_delta
    return payload


def custom_progress(data: Any) -> CustomProgress:
    return {"kind": "custom", "data": data}
