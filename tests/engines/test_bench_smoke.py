"""The benchmark harness runs the Stepback side of every workload correctly at tiny sizes.

No timing is asserted: these tests only prove the workloads compute what the benchmark claims,
and that the harness does not need LangGraph to be imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import workloads
from bench.runner import WORKLOADS, Row, render, select
from bench.timing import BenchError, Timing, measure, run_once

ROOT = Path(__file__).resolve().parents[2]


async def test_the_chain_workload_runs_every_step_in_order() -> None:
    result = await run_once(workloads.chain(10))
    assert result.status == "success"
    assert result.result == {"i": 10}
    assert list(result.steps) == [f"s{k}" for k in range(10)]
    assert result.steps["s3"].payload == {"i": 3}
    assert result.steps["s3"].output == {"i": 4}


async def test_the_fanout_workload_joins_every_branch() -> None:
    result = await run_once(workloads.fanout(10))
    assert result.status == "success"
    assert result.result == {"count": 10, "total": 20}
    assert set(result.steps) == {*(f"p{k}" for k in range(10)), "join"}


async def test_the_foreach_workload_maps_every_item_in_order() -> None:
    result = await run_once(workloads.foreach(10))
    assert result.status == "success"
    assert result.result == list(range(1, 11))


async def test_the_time_travel_workload_forks_and_reruns_only_the_tail() -> None:
    subject = workloads.time_travel(10, at=6)
    assert subject.steps == 4
    result = await run_once(subject)
    assert result.status == "success"
    assert result.result == {"i": 4}
    assert result.parent_run_id is not None
    assert result.parent_run_id != result.run_id
    assert result.fork_step == "s6"


async def test_the_time_travel_workload_defaults_to_nine_tenths_of_the_chain() -> None:
    assert workloads.fork_point(1000) == 900
    assert workloads.fork_point(10) == 9
    result = await run_once(workloads.time_travel(10))
    assert result.result == {"i": 1}
    assert result.fork_step == "s9"


async def test_a_wrong_result_is_refused_rather_than_timed() -> None:
    subject = workloads.chain(3)
    real_check = subject.check

    def expect_four(result: object) -> None:
        real_check(result)
        raise BenchError("expected 4 steps")

    subject.check = expect_four
    with pytest.raises(BenchError, match="expected 4 steps"):
        await run_once(subject)


async def test_the_timer_warms_up_then_keeps_the_best_of_n() -> None:
    timing = await measure(workloads.chain(10), repeat=3, budget=60.0)
    assert len(timing.times) == 3
    assert timing.best == min(timing.times)
    assert timing.result.result == {"i": 10}


def test_every_workload_is_listed_with_its_sizes_and_target() -> None:
    assert [w.key for w in WORKLOADS] == [
        "W1", "W2", "W3", "W4", "W4-per-step", "W4-per-step-pg", "W5", "L1",
    ]  # fmt: skip
    assert [(w.full, w.quick) for w in WORKLOADS] == [
        (1000, 100),
        (1000, 100),
        (10_000, 1000),
        (1000, 100),
        (1000, 100),
        (1000, 100),
        (1000, 100),
        (100_000, 10_000),
    ]
    assert [w.target.describe() for w in WORKLOADS] == [
        ">= 20x",
        ">= 20x",
        ">= 30x",
        ">= 20x",
        "<= 1.5x floor",
        "<= 1.5x floor",
        "<= 20 ms",
        "<= 200 ms",
    ]
    assert [w.key for w in select("w3, W1, w4-PER-step")] == ["W1", "W3", "W4-per-step"]


def test_the_django_workloads_store_every_step_and_list_runs_in_a_process_of_their_own(
    tmp_path: Path,
) -> None:
    """W4, W4-per-step and L1 configure Django themselves (a temporary SQLite file, migrated),
    so they run in a fresh process; their checks read the stored rows back."""
    report = tmp_path / "bench.json"
    code = (
        "import asyncio, json, sys\n"
        "from bench import django_workloads as dw\n"
        "from bench.timing import run_once\n"
        "asyncio.run(run_once(dw.chain(5)))\n"
        "asyncio.run(run_once(dw.chain_per_step(5)))\n"
        "total, rows = asyncio.run(run_once(dw.runs_list(120)))\n"
        "json.dump({'total': total, 'rows': len(rows)}, open(sys.argv[1], 'w'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(report.read_text())
    assert 0 < listed["total"] < 120
    assert listed["rows"] == 50


def test_the_table_shows_the_ratio_and_the_verdict() -> None:
    w1 = WORKLOADS[0]
    row = Row(w1, 1000, steps=1000, peer_steps=1000)
    row.stepback = Timing(times=[0.010, 0.012])
    row.langgraph = Timing(times=[0.250])
    table = render([row])
    assert "W1 chain of 1000 steps" in table
    assert "25.0x" in table
    assert "10.0" in table  # Stepback µs per step
    assert "PASS" in table
    row.langgraph = Timing(times=[0.150])
    assert "MISS" in render([row])


def test_the_table_compares_a_floored_workload_with_its_floor() -> None:
    per_step = next(w for w in WORKLOADS if w.key == "W4-per-step")
    row = Row(per_step, 1000, steps=1000, peer_steps=1000)
    row.stepback = Timing(times=[0.090])
    row.floor = Timing(times=[0.070])
    assert "1.29x" in render([row])
    assert "PASS" in render([row])
    row.floor = Timing(times=[0.050])
    assert "MISS" in render([row])


async def test_the_sqlite_floor_stores_an_event_and_a_delta_per_step() -> None:
    from bench import floors

    floor = floors.SqliteFloor()
    try:
        run_id = floor.chain(7)
        assert floor.count(run_id) == 7
        assert floor.file_size() > 0
    finally:
        floor.close()


def test_the_harness_imports_without_langgraph() -> None:
    code = (
        "import sys, bench, bench.runner, bench.workloads, bench.timing\n"
        "assert 'langgraph' not in sys.modules, 'langgraph was imported'\n"
        "assert 'bench.peers' not in sys.modules, 'bench.peers was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
