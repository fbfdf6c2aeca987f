"""Each retried attempt is stored with its own start, so the timeline and the step panel draw
every attempt where it ran (the last one from when its retry was due)."""

from __future__ import annotations

import pytest

from engines import Workflow
from tests.app.test_storage_records import flaky, run
from tests.storages import (
    sync_thread_connections_closed,  # noqa: F401  (a fixture)
)
from workflows_app import payloads
from workflows_app.models import StepRecord
from workflows_app.pages.run_panel import attempts_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sync_thread_connections_closed"),
]


def test_every_retried_attempt_row_has_its_own_start_after_the_one_before() -> None:
    stored = run(Workflow("retry-starts").then(flaky(failures=2)).commit(), "rs1")

    rows = list(StepRecord.objects.filter(run=stored, path="charge").order_by("attempt"))

    first, second, last = rows
    assert first.started_at is not None
    assert second.started_at is not None
    assert first.started_at < first.ended_at < second.started_at < second.ended_at
    assert second.started_at < second.extra["retry_at"]
    assert last.started_at <= first.started_at  # the step's record: when the step began


def test_the_outline_and_the_panel_begin_the_last_attempt_when_its_retry_was_due() -> None:
    stored = run(Workflow("retry-starts").then(flaky(failures=1)).commit(), "rs2")

    tries = payloads.step_outline(stored)["charge"]
    failed, last = tries
    assert failed["began_at"] == failed["started_at"]
    assert last["began_at"] == failed["extra"]["retry_at"]
    step = payloads.step_of(stored, "charge")
    assert step is not None
    assert [a["began_at"] for a in attempts_of(step)] == [t["began_at"] for t in tries]
