"""The thread executor: runs go on in this process's background loop while nobody watches.

The executing thread writes through its own database connection, hence `transaction=True`.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from workflows_app import executors, services

pytestmark = pytest.mark.django_db(transaction=True)

PAYMENT = {"order_id": "A-1", "amount": 25.0, "card": "4242"}
LARGE_EXPENSE = {"employee": "Bob", "amount": 450, "description": "flight"}


@pytest.fixture(autouse=True)
def thread(settings: Any) -> None:
    settings.STEPBACK_EXECUTOR = "thread"


def test_the_configured_executor_is_the_thread_executor() -> None:
    assert isinstance(services.executor(), executors.ThreadExecutor)


def test_a_run_finishes_on_the_background_loop_with_nobody_watching() -> None:
    run = services.start_run("payment", PAYMENT)

    finished = services.wait_for(run.run_id)

    assert run.status in ("pending", "running", "success")
    assert finished.status == "success"
    assert finished.events.last().type == "run.succeeded"


def test_a_suspended_run_is_resumed_on_the_background_loop() -> None:
    run = services.wait_for(services.start_run("expense-approval", LARGE_EXPENSE).run_id)

    services.resume_run(run.run_id, {"approved": True, "approver": "Mia"})
    finished = services.wait_for(run.run_id)

    assert run.status == "suspended"
    assert finished.status == "success"


def test_cancel_reaches_the_run_executing_on_the_background_loop() -> None:
    slow = {"ticks": 50, "tick_seconds": 5, "pause_seconds": 0.5}
    ticking = threading.Event()
    run = services.start_run("slow-countdown", slow)
    unsubscribe = services.engine().subscribe(
        run.run_id, lambda e: e.type == "step.started" and e.path == ("tick",) and ticking.set()
    )
    assert ticking.wait(10), "the loop never started"
    unsubscribe()

    services.cancel_run(run.run_id)
    finished = services.wait_for(run.run_id)

    assert finished.status == "canceled"
    assert finished.step_records.get(path="tick").status == "canceled"
    assert finished.events.filter(type="run.canceled").count() == 1
