"""DjangoStorage keeps a run's history: the run as it was after every write, from snapshot rows.

A workflow with state, a loop over a nested workflow (whose records are dropped per
iteration), a foreach and a suspension runs twice with the same deterministic clock: once on
an in-memory storage that records every saved snapshot, once on DjangoStorage. `snapshot_at`
must give back, at every seq, exactly what the in-memory storage saw saved then.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from engines import DefaultEngine, Step, StepContext, Workflow
from engines.core.snapshot import RunSnapshot
from tests.storages import (
    RecordingStorage,
    TickingClock,
    sync_thread_connections_closed,  # noqa: F401  (a fixture)
)
from workflows_app.models import Run
from workflows_app.storage import DjangoStorage, cache

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sync_thread_connections_closed"),
]


async def prepare(ctx: StepContext) -> dict[str, Any]:
    await asyncio.sleep(0)  # every step waits once, so each step boundary is a write
    ctx.set_state({"prepared": True})
    return {"n": 0, "items": [1, 2, 3]}


async def tick(ctx: StepContext) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {**ctx.input_data, "n": ctx.input_data["n"] + 1}


async def double(ctx: StepContext) -> int:
    await asyncio.sleep(0)
    return int(ctx.input_data) * 2


async def approve(ctx: StepContext) -> dict[str, Any]:
    await asyncio.sleep(0)
    if ctx.resume_data is None:
        ctx.suspend({"ask": "ok?"}, label="boss")
    return {"approved": ctx.resume_data["ok"], "doubled": ctx.input_data}


def below(limit: int) -> Any:
    async def condition(ctx: StepContext) -> bool:
        return bool(ctx.input_data["n"] < limit)

    return condition


async def items_of(ctx: StepContext) -> list[int]:
    return list(ctx.input_data["items"])


def history_workflow(loops: int = 3) -> Workflow:
    body = Workflow("body").then(Step("tick", tick)).commit()
    return (
        Workflow("history")
        .then(Step("prepare", prepare))
        .dowhile(body, below(loops))
        .map(items_of, id="items")
        .foreach(Step("double", double))
        .then(Step("approve", approve))
        .commit()
    )


def run_everywhere(storage: Any, run_id: str = "hist", loops: int = 3) -> str:
    """Start and resume the history workflow on `storage` with a fresh deterministic clock."""
    engine = DefaultEngine(storage=storage, clock=TickingClock())
    wf = history_workflow(loops)
    first = wf.create_run(engine=engine, run_id=run_id).start_sync(input_data={})
    assert first.status == "suspended"
    done = wf.create_run(engine=engine, run_id=run_id).resume_sync({"ok": True}, label="boss")
    assert done.status == "success"
    return run_id


def as_json(snapshot: RunSnapshot | None) -> dict[str, Any] | None:
    return None if snapshot is None else json.loads(json.dumps(snapshot.to_dict()))


@pytest.fixture
def saved_in_memory() -> dict[int, dict[str, Any]]:
    recording = RecordingStorage()
    run_everywhere(recording)
    return recording.saved["hist"]


@pytest.fixture
def stored_run() -> Run:
    run_everywhere(DjangoStorage())
    return Run.objects.get(pk="hist")


def test_snapshot_at_every_write_equals_the_run_as_saved_then(
    saved_in_memory: dict[int, dict[str, Any]], stored_run: Run
) -> None:
    assert len(saved_in_memory) > 10  # the scenario really writes at many step boundaries
    for seq, expected in saved_in_memory.items():
        assert as_json(stored_run.snapshot_at(seq)) == expected, f"at seq {seq}"


def test_snapshot_at_between_writes_is_the_last_write_before_it(
    saved_in_memory: dict[int, dict[str, Any]], stored_run: Run
) -> None:
    written = sorted(saved_in_memory)
    for seq in range(written[0], stored_run.seq + 1):
        latest = max(s for s in written if s <= seq)
        assert as_json(stored_run.snapshot_at(seq)) == saved_in_memory[latest], f"at seq {seq}"


def test_snapshot_at_before_the_first_write_is_none(stored_run: Run) -> None:
    assert stored_run.snapshot_at(0) is None


def test_the_latest_snapshot_equals_what_load_returns(stored_run: Run) -> None:
    assert as_json(stored_run.snapshot_at(stored_run.seq)) == as_json(stored_run.to_snapshot())


def test_the_storage_answers_snapshot_at_like_the_model(stored_run: Run) -> None:
    from_storage = async_to_sync(DjangoStorage().snapshot_at)("hist", 7)
    assert as_json(from_storage) == as_json(stored_run.snapshot_at(7))
    assert async_to_sync(DjangoStorage().snapshot_at)("no-such-run", 7) is None


def test_each_execution_starts_with_a_full_snapshot_then_writes_deltas(stored_run: Run) -> None:
    rows = list(stored_run.snapshots.order_by("seq"))
    resumed_at = next(
        e.seq for e in stored_run.events.order_by("seq") if e.type == "run.started" and e.seq > 1
    )
    full = [r.seq for r in rows if r.full]
    assert full[0] == rows[0].seq
    assert resumed_at in full  # a new execution's first write cannot prove a delta
    assert any(not r.full for r in rows)
    delta = next(r for r in rows if not r.full and r.level == 0)
    assert set(delta.data) <= {"v", "head", "steps", "removed"}
    assert len(delta.data["steps"]) <= 3  # only what that write changed
    assert set(delta.data["head"]) <= {"status", "state", "updated_at", "suspended"}


def test_each_row_names_the_last_full_row_before_it(stored_run: Run) -> None:
    last_full = 0
    for row in stored_run.snapshots.order_by("seq"):
        last_full = row.seq if row.full else last_full
        assert row.base == last_full


def test_a_delta_lists_the_keys_a_loop_dropped(stored_run: Run) -> None:
    removed = [
        key
        for data in stored_run.snapshots.filter(full=False, level=0).values_list("data", flat=True)
        for key in data.get("removed", ())
    ]
    assert "body.tick" in removed


# -- long runs: level rows ----------------------------------------------------------------------


LONG_LOOPS = 260  # about 1,300 events
SMALL_BASE = 16  # levels every 16 and 256 events: rows of level 1 and a few of level 2


@pytest.fixture(autouse=True)
def small_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "LEVEL_BASE", SMALL_BASE)


@pytest.fixture
def long_saved_in_memory() -> dict[int, dict[str, Any]]:
    recording = RecordingStorage()
    run_everywhere(recording, "long", LONG_LOOPS)
    return recording.saved["long"]


@pytest.fixture
def long_run() -> Run:
    run_everywhere(DjangoStorage(), "long", LONG_LOOPS)
    return Run.objects.get(pk="long")


def test_a_long_run_writes_rows_of_every_level_its_seq_passes(long_run: Run) -> None:
    levels = set(long_run.snapshots.values_list("level", flat=True))
    assert long_run.seq > SMALL_BASE**2
    assert levels == {0, 1, 2}


def test_a_long_run_at_any_seq_equals_the_run_as_saved_then(
    long_saved_in_memory: dict[int, dict[str, Any]], long_run: Run
) -> None:
    written = sorted(long_saved_in_memory)
    for seq in range(written[0], long_run.seq + 1, 3):
        latest = max(s for s in written if s <= seq)
        assert as_json(long_run.snapshot_at(seq)) == long_saved_in_memory[latest], f"at {seq}"


def test_a_long_run_at_any_seq_folds_a_bounded_number_of_rows(long_run: Run) -> None:
    from workflows_app.history import rows_at

    assert long_run.number is not None
    longest = max(len(rows_at(long_run.number, seq, "default")) for seq in range(1, long_run.seq))
    assert longest <= 1 + 2 * (SMALL_BASE - 1) + SMALL_BASE
