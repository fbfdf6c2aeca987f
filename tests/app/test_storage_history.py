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
from workflows_app.models import Run, Snapshot
from workflows_app.storage import FULL_SNAPSHOT_EVERY, DjangoStorage

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


async def below_three(ctx: StepContext) -> bool:
    return bool(ctx.input_data["n"] < 3)


async def items_of(ctx: StepContext) -> list[int]:
    return list(ctx.input_data["items"])


def history_workflow() -> Workflow:
    body = Workflow("body").then(Step("tick", tick)).commit()
    return (
        Workflow("history")
        .then(Step("prepare", prepare))
        .dowhile(body, below_three)
        .map(items_of, id="items")
        .foreach(Step("double", double))
        .then(Step("approve", approve))
        .commit()
    )


def run_everywhere(storage: Any) -> str:
    """Start and resume the history workflow on `storage` with a fresh deterministic clock."""
    engine = DefaultEngine(storage=storage, clock=TickingClock())
    wf = history_workflow()
    first = wf.create_run(engine=engine, run_id="hist").start_sync(input_data={})
    assert first.status == "suspended"
    done = wf.create_run(engine=engine, run_id="hist").resume_sync({"ok": True}, label="boss")
    assert done.status == "success"
    return "hist"


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
    rows = list(Snapshot.objects.filter(run=stored_run).order_by("seq"))
    resumed_at = next(
        e.seq for e in stored_run.events.order_by("seq") if e.type == "run.started" and e.seq > 1
    )
    full = [r.seq for r in rows if r.full]
    assert full[0] == rows[0].seq
    assert resumed_at in full  # a new execution's first write cannot prove a delta
    assert any(not r.full for r in rows)
    delta = next(r for r in rows if not r.full)
    assert set(delta.data) == {"head", "steps", "order", "removed"}
    assert len(delta.data["steps"]) <= 3  # only what that write changed


def test_a_full_snapshot_is_written_at_least_every_fifty_writes() -> None:
    wf = Workflow("long")
    for k in range(2 * FULL_SNAPSHOT_EVERY + 10):
        wf.then(Step(f"s{k}", tick))
    wf.commit()
    engine = DefaultEngine(storage=DjangoStorage())
    wf.create_run(engine=engine, run_id="long").start_sync(input_data={"n": 0})
    rows = list(Snapshot.objects.filter(run_id="long").order_by("seq").values_list("full"))
    since_full = 0
    for (full,) in rows:
        since_full = 0 if full else since_full + 1
        assert since_full < FULL_SNAPSHOT_EVERY
    assert len(rows) > 2 * FULL_SNAPSHOT_EVERY


def test_a_delta_lists_the_keys_a_loop_dropped(stored_run: Run) -> None:
    removed = [
        key
        for data in Snapshot.objects.filter(run=stored_run, full=False).values_list(
            "data", flat=True
        )
        for key in data["removed"]
    ]
    assert "body.tick" in removed
