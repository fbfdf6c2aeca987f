"""Many runs at once against real Daphne processes (`bench.load`): no error, no stuck run, no
lost update. Timings are printed for the record, never asserted (speed is the benchmark's).

The configuration follows the suite's pass: SQLite with the in-memory layer, or PostgreSQL with
the Redis layer when DATABASE_URL is set. The runs are shorter than the benchmark's (the same
events, shorter sleeps) to keep the suite fast.
"""

from __future__ import annotations

import os

import pytest

from bench.load import LoadPlan, LoadReport, run_load

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
QUICK = {"ticks": 3, "tick_seconds": 0.2, "pause_seconds": 0.3, "deadline": 120.0}


def plan(**options: object) -> LoadPlan:
    """A quick plan on this pass's database (a database of its own next to the suite's)."""
    database = {"postgres": True, "database_url": f"{DATABASE_URL}_load"} if DATABASE_URL else {}
    return LoadPlan(redis_url=REDIS_URL, **QUICK, **database, **options)  # type: ignore[arg-type]


def check(report: LoadReport, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))
    assert report.problems() == []
    assert len(report.run_ids) == report.plan.runs
    # Every watcher saw something: the checks above looked at real traffic.
    assert report.feed_lags
    assert report.event_lags


def test_100_runs_started_at_once_all_end_with_every_update_delivered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    check(run_load(plan(runs=100)), capsys)


def test_two_servers_on_one_database_deliver_every_event_whichever_executed_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Runs are started on both servers in turn and every watcher is on the other server from
    the run it watches half the time: the Redis layer carries events across processes."""
    check(run_load(plan(runs=10, servers=2, redis=True, feed_watchers=4, run_watchers=6)), capsys)
