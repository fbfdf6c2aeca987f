"""A durable worker killed with SIGKILL in the middle of a step, or of a sleep: a new worker
starts, the run finishes, every finished step ran once (only the step in flight ran twice) and
the event log has no gap. On an SQLite system database, and on PostgreSQL in its pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.durable_processes import Workers, result_of, system_databases, workers_fixture


@pytest.fixture(params=system_databases())
def workers(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Workers]:
    yield from workers_fixture(tmp_path, request.param)


def assert_no_gap(workers: Workers, run_id: str) -> None:
    seqs = [seq for seq, _, _ in workers.events(run_id)]
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.parametrize("next_worker", ["restarted", "another"])
def test_a_worker_killed_mid_step_leaves_the_run_to_the_next_worker(
    workers: Workers, next_worker: str
) -> None:
    """The restarted worker (same executor id) recovers the segment as DBOS launches; another
    worker takes it over as it starts (the run's process is dead: `DBOS.resume_workflow`)."""
    first = workers.start("first")
    run_id = workers.start_run("durable-held")
    workers.wait_for(lambda: "held:start" in workers.ledger_lines(), "the held step", first)

    first.kill()
    first.wait(10)
    (workers.ledger.parent / (workers.ledger.name + ".release")).touch()
    if next_worker == "restarted":
        workers.start("second")
    else:
        workers.start("second", executor_id="another-worker")
    workers.wait_for(lambda: workers.status(run_id) == "success", "the run to finish")

    assert workers.ledger_lines().count("first") == 1
    assert workers.ledger_lines().count("second") == 1
    assert workers.ledger_lines().count("held:start") == 2  # the step in flight, again
    assert workers.ledger_lines().count("held") == 1
    assert workers.ledger_lines().count("last") == 1
    assert result_of(workers, run_id) == {"count": 4}
    assert_no_gap(workers, run_id)
    ends = [(kind, path) for _, kind, path in workers.events(run_id) if kind == "step.succeeded"]
    assert ends == [
        ("step.succeeded", "first"),
        ("step.succeeded", "second"),
        ("step.succeeded", "held"),
        ("step.succeeded", "last"),
    ]


def test_a_worker_killed_mid_sleep_leaves_the_sleep_to_the_next_worker(workers: Workers) -> None:
    first = workers.start("first")
    run_id = workers.start_run("durable-nap")
    workers.wait_for(
        lambda: any(kind == "step.waiting" for _, kind, _ in workers.events(run_id)),
        "the sleep",
        first,
    )

    first.kill()
    first.wait(10)
    workers.start("second")
    workers.wait_for(lambda: workers.status(run_id) == "success", "the run to finish")

    assert workers.ledger_lines() == ["first", "second"]
    assert result_of(workers, run_id) == {"count": 2}
    assert_no_gap(workers, run_id)


def test_a_run_canceled_elsewhere_stops_its_running_step_on_the_worker(workers: Workers) -> None:
    worker = workers.start("worker")
    run_id = workers.start_run("durable-held")
    workers.wait_for(lambda: "held:start" in workers.ledger_lines(), "the held step", worker)

    workers.manage_shell(f"from workflows_app import services; services.cancel_run({run_id!r})")

    workers.wait_for(lambda: "held:canceled" in workers.ledger_lines(), "the step to see it")
    assert workers.status(run_id) == "canceled"
    assert "held" not in workers.ledger_lines()
    assert [kind for _, kind, _ in workers.events(run_id)][-1] == "run.canceled"
    assert_no_gap(workers, run_id)
