"""Error handling: failed steps, error identity and stored errors (catalog section 12, E1-E12).

E8-E10 are opt-in in Mastra; Stepback always runs them. Plus Stepback cases (test_sb_...).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from engines import RunSnapshot, Step, StepContext, Workflow, WorkflowError, from_step
from engines.core.events import STEP_RETRYING
from engines.testing import Calls


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _error_with(message: str, **attributes: Any) -> Exception:
    """A plain exception carrying extra attributes, like a JS Error with extra fields."""
    error = Exception(message)
    for key, value in attributes.items():
        setattr(error, key, value)
    return error


def _single_failing_step(wf_id: str, step_id: str, make_error: Any) -> Workflow:
    async def fail(ctx: StepContext) -> dict[str, Any]:
        raise make_error()

    return Workflow(wf_id).then(Step(step_id, fail)).commit()


def _has_key(value: Any, names: set[str]) -> bool:
    """True when a JSON value holds a dict key in `names` at any depth."""
    if isinstance(value, dict):
        return any(k in names or _has_key(v, names) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_key(v, names) for v in value)
    return False


def _assert_error_fields_hold_no_traceback(error_json: Any, message: str) -> None:
    text = json.dumps(error_json)
    assert message in text
    assert "Traceback (most recent call last)" not in text
    assert not _has_key(error_json, {"traceback", "stack"})


class PaymentDeclinedError(Exception):
    """A user error with a keyword-only attribute, to check reconstruction after storage."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class CategorizedError(WorkflowError):
    """A library-style structured error (Mastra's MastraError in the catalog)."""

    def __init__(
        self, *, id: str, domain: str, category: str, text: str, details: dict[str, Any]
    ) -> None:
        super().__init__(text)
        self.id = id
        self.domain = domain
        self.category = category
        self.details = details


async def test_e1_a_raising_step_fails_the_run_with_its_error(engine: Any) -> None:
    """E1: a step that raises fails itself and the run; both carry the error."""
    wf = _single_failing_step(
        "error-step-execution", "step1", lambda: RuntimeError("Step execution failed")
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("e1")).start(input_data={})

    assert result.status == "failed"
    assert result.error is not None
    assert "Step execution failed" in str(result.error)
    assert result.input == {}
    step1 = result.steps["step1"]
    assert step1.status == "failed"
    assert step1.payload == {}
    assert isinstance(step1.started_at, float)
    assert isinstance(step1.ended_at, float)
    assert isinstance(step1.error, Exception)
    assert "Step execution failed" in str(step1.error)


async def test_e2_a_map_between_steps_resolves_a_step_output_path(
    engine: Any, calls: Calls
) -> None:
    """E2: a map taking step1's 'data' field feeds step2 with {'data': ...}."""

    async def produce(ctx: StepContext) -> dict[str, str]:
        return {"data": "success"}

    async def consume(ctx: StepContext) -> None:
        calls.hit("step2", ctx.input_data)

    step1 = Step("step1", produce)
    wf = (
        Workflow("error-variable-resolution")
        .then(step1)
        .map({"data": from_step(step1, "data")})
        .then(Step("step2", consume))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("e2")).start(input_data={})

    assert result.status == "success"
    first = result.steps["step1"]
    assert first.status == "success"
    assert first.output == {"data": "success"}
    assert first.payload == {}
    assert isinstance(first.started_at, float)
    assert isinstance(first.ended_at, float)
    second = result.steps["step2"]
    assert second.status == "success"
    assert second.payload == {"data": "success"}
    assert isinstance(second.started_at, float)
    assert isinstance(second.ended_at, float)
    assert calls.args["step2"] == [{"data": "success"}]


async def test_e3_an_error_in_one_parallel_branch_fails_only_that_branch_record(
    engine: Any,
) -> None:
    """E3: in a parallel block the failing child is failed; its sibling still succeeds."""

    async def fine(ctx: StepContext) -> dict[str, Any]:
        return {}

    async def broken(ctx: StepContext) -> dict[str, Any]:
        raise RuntimeError("Step execution failed")

    wf = (
        Workflow("error-parallel-branches")
        .parallel([Step("step1", fine), Step("step2", broken)])
        .then(Step("step3", fine))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("e3")).start(input_data={})

    assert result.status == "failed"
    assert result.steps["step1"].status == "success"
    assert result.steps["step1"].payload == {}
    assert isinstance(result.steps["step1"].ended_at, float)
    step2 = result.steps["step2"]
    assert step2.status == "failed"
    assert step2.payload == {}
    assert isinstance(step2.started_at, float)
    assert isinstance(step2.ended_at, float)
    assert isinstance(step2.error, Exception)
    assert "Step execution failed" in str(step2.error)


async def test_e4_custom_error_attributes_are_preserved(engine: Any) -> None:
    """E4: extra attributes on a raised exception survive in the step's error."""
    wf = _single_failing_step(
        "error-custom-properties",
        "step1",
        lambda: _error_with(
            "API rate limit exceeded",
            status_code=429,
            response_headers={"retry-after": "60"},
            is_retryable=True,
        ),
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("e4")).start(input_data={})

    assert result.status == "failed"
    step1 = result.steps["step1"]
    assert step1.status == "failed"
    error = step1.error
    assert isinstance(error, Exception)
    assert str(error) == "API rate limit exceeded"
    assert error.status_code == 429  # type: ignore[attr-defined]
    assert error.response_headers == {"retry-after": "60"}  # type: ignore[attr-defined]
    assert error.is_retryable is True  # type: ignore[attr-defined]


async def test_e5_a_step_error_propagates_to_the_run_error(engine: Any) -> None:
    """E5: the failing step's error (with its attributes) becomes the run's error too."""
    wf = _single_failing_step(
        "error-propagation-workflow",
        "failing-step",
        lambda: _error_with(
            "Step failed with details", code="STEP_FAILURE", details={"reason": "test failure"}
        ),
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("e5")).start(input_data={})

    assert result.status == "failed"
    record = result.steps["failing-step"]
    assert record.status == "failed"
    assert isinstance(record.error, Exception)
    assert record.error.code == "STEP_FAILURE"  # type: ignore[attr-defined]
    assert record.error.details == {"reason": "test failure"}  # type: ignore[attr-defined]
    assert isinstance(result.error, Exception)
    assert "Step failed with details" in str(result.error)


async def test_e6_an_error_inside_a_nested_workflow_fails_the_nested_step(engine: Any) -> None:
    """E6: a failure in a parallel block inside a nested workflow fails the nested step."""

    async def fine(ctx: StepContext) -> dict[str, Any]:
        return {}

    async def broken(ctx: StepContext) -> dict[str, Any]:
        raise RuntimeError("Step execution failed")

    inner = (
        Workflow("error-nested-inner-workflow")
        .parallel([Step("step1", fine), Step("step2", broken)])
        .then(Step("step3", fine))
        .commit()
    )
    wf = Workflow("error-nested-main-workflow").then(inner).commit()
    result = await wf.create_run(engine=engine, run_id=_run_id("e6")).start(input_data={})

    assert result.status == "failed"
    nested = result.steps["error-nested-inner-workflow"]
    assert nested.status == "failed"
    assert nested.payload == {}
    assert isinstance(nested.started_at, float)
    assert isinstance(nested.ended_at, float)
    assert isinstance(nested.error, Exception)
    assert "Step execution failed" in str(nested.error)


async def test_e7_the_cause_chain_of_a_step_error_is_preserved(engine: Any) -> None:
    """E7: the error keeps its message, attributes and two levels of __cause__."""

    async def fail(ctx: StepContext) -> dict[str, Any]:
        root = ConnectionRefusedError("Network connection refused")
        middle = Exception("HTTP request failed")
        middle.__cause__ = root
        top = _error_with("API call failed", status_code=500, is_retryable=True)
        raise top from middle

    wf = Workflow("error-cause-chain-workflow").then(Step("failing-step", fail)).commit()
    result = await wf.create_run(engine=engine, run_id=_run_id("e7")).start(input_data={})

    assert result.status == "failed"
    record = result.steps["failing-step"]
    assert record.status == "failed"
    error = record.error
    assert isinstance(error, Exception)
    assert str(error) == "API call failed"
    assert error.status_code == 500  # type: ignore[attr-defined]
    assert error.is_retryable is True  # type: ignore[attr-defined]
    assert error.__cause__ is not None
    assert str(error.__cause__) == "HTTP request failed"
    assert error.__cause__.__cause__ is not None
    assert str(error.__cause__.__cause__) == "Network connection refused"
    assert "API call failed" in str(result.error)


async def test_e8_a_stored_step_error_loads_back_with_its_attributes(engine: Any) -> None:
    """E8: the stored run is failed and its step error has message, class and attributes."""
    message = "Test error for storage round-trip"
    wf = _single_failing_step(
        "error-storage-roundtrip",
        "failing-step",
        lambda: _error_with(message, status_code=500, error_code="INTERNAL_ERROR"),
    )
    run_id = _run_id("e8")
    result = await wf.create_run(engine=engine, run_id=run_id).start(input_data={})
    assert result.status == "failed"

    snap = await engine.storage.load(run_id)
    assert snap is not None
    assert snap.status == "failed"
    stored = snap.steps["failing-step"]
    assert stored.status == "failed"
    error = stored.error
    assert isinstance(error, Exception)
    assert type(error).__name__ == "Exception"
    assert str(error) == message
    assert error.status_code == 500  # type: ignore[attr-defined]
    assert error.error_code == "INTERNAL_ERROR"  # type: ignore[attr-defined]

    data = json.loads(json.dumps(snap.to_dict()))
    _assert_error_fields_hold_no_traceback(data["steps"]["failing-step"]["error"], message)


async def test_e9_a_persisted_failed_snapshot_keeps_the_message_without_traceback(
    engine: Any,
) -> None:
    """E9: the stored failed snapshot has the message in the error, the traceback apart."""
    message = "Test error: step execution failed."
    wf = _single_failing_step("error-persist-without-stack", "step1", lambda: RuntimeError(message))
    run_id = _run_id("e9")
    result = await wf.create_run(engine=engine, run_id=run_id).start(input_data={})
    assert result.status == "failed"

    snap = await engine.storage.load(run_id)
    assert snap is not None
    assert snap.status == "failed"
    data = json.loads(json.dumps(snap.to_dict()))
    record = data["steps"]["step1"]
    assert record["status"] == "failed"
    _assert_error_fields_hold_no_traceback(record["error"], message)
    assert isinstance(record.get("traceback"), str)
    assert "Traceback (most recent call last)" in record["traceback"]
    if data.get("error") is not None:
        _assert_error_fields_hold_no_traceback(data["error"], message)


async def test_e10_a_structured_library_error_is_persisted_without_traceback(
    engine: Any,
) -> None:
    """E10: a WorkflowError subclass with a custom __init__ is stored by message and fields."""
    message = "Step execution failed."

    def make() -> Exception:
        return CategorizedError(
            id="VALIDATION_ERROR",
            domain="STEPBACK_WORKFLOW",
            category="USER",
            text=message,
            details={"field": "test"},
        )

    wf = _single_failing_step("error-persist-library-error", "step1", make)
    run_id = _run_id("e10")
    result = await wf.create_run(engine=engine, run_id=run_id).start(input_data={})
    assert result.status == "failed"

    snap = await engine.storage.load(run_id)
    assert snap is not None
    assert snap.status == "failed"
    error = snap.steps["step1"].error
    assert type(error).__name__ == "CategorizedError"
    assert str(error) == message
    assert error.category == "USER"  # type: ignore[union-attr]
    assert error.details == {"field": "test"}  # type: ignore[union-attr]
    data = json.loads(json.dumps(snap.to_dict()))
    _assert_error_fields_hold_no_traceback(data["steps"]["step1"]["error"], message)


async def test_e11_a_step_failure_is_logged_naming_the_step(
    engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """E11: a failing step is reported through Python logging with the step id."""
    caplog.set_level(logging.DEBUG)
    wf = _single_failing_step(
        "test-logger-step-error-workflow",
        "failing-step",
        lambda: RuntimeError("Step error for logger test"),
    )
    result = await wf.create_run(engine=engine, run_id=_run_id("e11")).start(input_data={})

    assert result.status == "failed"
    assert any("failing-step" in record.getMessage() for record in caplog.records)


async def test_e12_listing_runs_of_an_empty_storage_returns_nothing(engine: Any) -> None:
    """E12: a storage that never ran anything lists no runs and a total of 0."""
    page = await engine.storage.list_runs()
    assert page.runs == []
    assert page.total == 0

    filtered = await engine.storage.list_runs(workflow_id="test-empty-result")
    assert filtered.runs == []
    assert filtered.total == 0


async def test_sb_errors_survive_a_json_round_trip_of_the_snapshot(engine: Any) -> None:
    """SB: after a JSON round trip a step error keeps class name, message, attributes, cause."""

    async def fail(ctx: StepContext) -> dict[str, Any]:
        raise PaymentDeclinedError("card declined", code="E42") from ConnectionError(
            "gateway unreachable"
        )

    wf = Workflow("sb-error-roundtrip").then(Step("failing-step", fail)).commit()
    run_id = _run_id("sb-roundtrip")
    result = await wf.create_run(engine=engine, run_id=run_id).start(input_data={})
    assert result.status == "failed"

    snap = await engine.storage.load(run_id)
    assert snap is not None
    again = RunSnapshot.from_dict(json.loads(json.dumps(snap.to_dict())))
    error = again.steps["failing-step"].error
    assert error is not None
    assert type(error).__name__ == "PaymentDeclinedError"
    assert str(error) == "card declined"
    assert error.code == "E42"  # type: ignore[attr-defined]
    assert error.__cause__ is not None
    assert type(error.__cause__).__name__ == "ConnectionError"
    assert str(error.__cause__) == "gateway unreachable"


async def test_sb_a_step_that_succeeds_on_retry_records_two_attempts(
    engine: Any, calls: Calls
) -> None:
    """SB: a step failing once then succeeding on retry records attempts == 2 and a retry event."""

    async def flaky(ctx: StepContext) -> dict[str, int]:
        calls.hit("flaky", ctx.retry_count)
        if ctx.retry_count == 0:
            raise RuntimeError("transient glitch")
        return {"ok": 1}

    wf = Workflow("sb-retry-once").then(Step("flaky", flaky, retries=1)).commit()
    run_id = _run_id("sb-retry")
    result = await wf.create_run(engine=engine, run_id=run_id).start(input_data={})

    assert result.status == "success"
    assert calls.args["flaky"] == [0, 1]
    record = result.steps["flaky"]
    assert record.status == "success"
    assert record.output == {"ok": 1}
    assert record.attempts == 2
    events = await engine.storage.read_events(run_id)
    retrying = [e for e in events if e.type == STEP_RETRYING]
    assert len(retrying) == 1
    assert tuple(retrying[0].path) == ("flaky",)
