"""A run that was accepted always executes or ends `failed` with the reason: a fault of the
execution itself (not a step failing, which the engine records) never leaves it `pending` or
`running` with only a log line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from engines import Event, RunSnapshot
from workflows_app import services
from workflows_app.models import Run
from workflows_app.storage import DjangoStorage

# The thread executor writes through its own connection.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["inline", "thread"])
def executor(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.STEPBACK_WORKFLOWS = ["tests.app.workflows_fixture"]
    settings.STEPBACK_EXECUTOR = request.param
    return str(request.param)


def fail_the_write_of(event_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first save carrying an event of `event_type` raises, as a database fault would."""
    save = DjangoStorage.save
    failed: list[str] = []

    async def faulty(
        self: DjangoStorage, snapshot: RunSnapshot, events: Sequence[Event] = ()
    ) -> None:
        if not failed and any(event.type == event_type for event in events):
            failed.append(event_type)
            raise RuntimeError("the database went away")
        await save(self, snapshot, events)

    monkeypatch.setattr(DjangoStorage, "save", faulty)


def test_a_run_whose_first_write_fails_ends_failed_with_the_reason(
    executor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_the_write_of("run.started", monkeypatch)

    run = services.wait_for(services.start_run("greet", {"name": "Ada"}).run_id)

    assert run.status == "failed"
    assert run.error["type"] == "RuntimeError"
    assert run.error["message"] == "the database went away"
    assert "RuntimeError: the database went away" in run.traceback
    assert run.finished_at is not None
    assert list(run.events.values_list("type", flat=True)) == ["run.failed"]


def test_a_run_whose_write_fails_half_way_ends_failed_after_what_was_stored(
    executor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_the_write_of("run.succeeded", monkeypatch)

    run = services.wait_for(services.start_run("greet", {"name": "Ada"}).run_id)

    assert run.status == "failed"
    types = list(run.events.order_by("seq").values_list("type", flat=True))
    assert types[0] == "run.started"
    assert types[-1] == "run.failed"
    assert run.seq == len(types)
    # The failure is a whole record: the engine reads it back like any failed run.
    assert Run.objects.get(pk=run.run_id).to_snapshot().status == "failed"
