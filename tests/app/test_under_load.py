"""What keeps the app working under load: saves retried through transient database faults,
requests admitted a few at a time and refused with 503 + Retry-After past the queue."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError

from engines import InMemoryStorage, RunConflictError
from engines.core.events import Event
from engines.core.snapshot import RunSnapshot
from workflows_app.admission import AdmissionLimit
from workflows_app.api.errors import exception_handler
from workflows_app.storage.retry import RetryingStorage, in_callers_transaction


class FlakyStorage(InMemoryStorage):
    """An in-memory storage whose next `failures` saves raise `error` first; with
    `commit_then_fail`, a failing save is stored before it raises (its answer lost)."""

    def __init__(self, failures: int, error: Exception, commit_then_fail: bool = False) -> None:
        super().__init__(serialize=True)
        self.failures = failures
        self.error = error
        self.commit_then_fail = commit_then_fail
        self.attempts = 0

    async def save(self, snapshot: RunSnapshot, events: Sequence[Event] = ()) -> None:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            if self.commit_then_fail:
                await super().save(snapshot, events)
            raise self.error
        await super().save(snapshot, events)


def snapshot(run_id: str = "r1") -> RunSnapshot:
    return RunSnapshot(run_id=run_id, workflow_id="wf", status="pending")


@pytest.fixture(autouse=True)
def quick_retries(settings: Any) -> None:
    settings.STEPBACK_SAVE_RETRY_SECONDS = 5


async def test_a_save_that_fails_with_a_lock_is_retried_until_it_is_stored() -> None:
    flaky = FlakyStorage(2, OperationalError("database is locked"))

    await RetryingStorage(flaky).save(snapshot())

    assert flaky.attempts == 3
    stored = await flaky.load("r1")
    assert stored is not None
    assert stored.status == "pending"


async def test_a_save_whose_commit_answer_was_lost_is_not_written_twice() -> None:
    flaky = FlakyStorage(1, OperationalError("server closed the connection"), True)

    await RetryingStorage(flaky).save(snapshot())

    assert flaky.attempts == 2  # the retry met its own write and took it as done
    assert (await flaky.load("r1")) is not None


async def test_a_refusal_is_not_retried() -> None:
    flaky = FlakyStorage(1, IntegrityError("duplicate key"))

    with pytest.raises(IntegrityError):
        await RetryingStorage(flaky).save(snapshot())

    assert flaky.attempts == 1


async def test_a_conflict_on_the_first_attempt_stays_a_conflict() -> None:
    flaky = FlakyStorage(1, RunConflictError("changed by another caller"))

    with pytest.raises(RunConflictError):
        await RetryingStorage(flaky).save(snapshot())

    assert flaky.attempts == 1


async def test_a_save_in_the_callers_transaction_is_tried_once() -> None:
    flaky = FlakyStorage(1, OperationalError("database is locked"))

    with in_callers_transaction(), pytest.raises(OperationalError):
        await RetryingStorage(flaky).save(snapshot())

    assert flaky.attempts == 1


async def test_retries_give_up_when_the_retry_time_runs_out(settings: Any) -> None:
    settings.STEPBACK_SAVE_RETRY_SECONDS = 0
    flaky = FlakyStorage(100, OperationalError("database is locked"))

    with pytest.raises(OperationalError):
        await RetryingStorage(flaky).save(snapshot())

    assert flaky.attempts == 1


def test_the_api_answers_a_saturated_database_with_503_and_retry_after() -> None:
    response = exception_handler(OperationalError("couldn't get a connection"), {})

    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.data["code"] == "saturated"


class Gate:
    """An ASGI app whose requests wait until the gate opens, then answer 200."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.inside = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.inside += 1
        await self.open.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def settle() -> None:
    """Let the tasks started so far run until each waits (all on this one loop)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def request(app: Any) -> tuple[int, dict[bytes, bytes]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "path": "/api/runs/"}, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"])


async def test_requests_past_the_concurrency_wait_and_past_the_queue_get_503(
    settings: Any,
) -> None:
    settings.STEPBACK_HTTP_CONCURRENCY = 2
    settings.STEPBACK_HTTP_QUEUE = 1
    gate = Gate()
    app = AdmissionLimit(gate)
    admitted = [asyncio.create_task(request(app)) for _ in range(3)]  # 2 inside, 1 queued
    await settle()
    assert (gate.inside, app.waiting) == (2, 1)

    status, headers = await request(app)  # the queue is full

    assert (status, headers[b"retry-after"]) == (503, b"1")
    assert gate.inside == 2
    gate.open.set()
    assert [s for s, _ in await asyncio.gather(*admitted)] == [200, 200, 200]


async def test_a_request_that_waits_too_long_in_the_queue_gets_503(settings: Any) -> None:
    settings.STEPBACK_HTTP_CONCURRENCY = 1
    settings.STEPBACK_HTTP_QUEUE_SECONDS = 0.05
    gate = Gate()
    app = AdmissionLimit(gate)
    first = asyncio.create_task(request(app))
    await settle()
    assert gate.inside == 1

    status, _ = await request(app)

    assert status == 503
    gate.open.set()
    assert (await first)[0] == 200
