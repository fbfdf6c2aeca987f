"""Delta saves store exactly what a full JSON save stores.

`InMemoryStorage()` keeps the engine's working snapshot as objects and, after the first save,
copies only the step records that changed (`StepRecords.changed` / `.removed`). Its loads must
equal what `InMemoryStorage(serialize=True)` stores, which writes the whole snapshot as JSON
every time. Each scenario exercises one way records change: loop bodies whose nested records
are dropped per iteration, suspension and resume, foreach, parallel groups and time-travel
forks. Two comparisons are made:

- the same scenario run once on each storage gives the same snapshots (volatile fields such as
  ids and timestamps removed) and the same event logs;
- a storage that saves every snapshot into both kinds at once loads the same thing from each
  after every single save (so intermediate states are checked, not only the last one).

Loaded snapshots are copies, and saving a loaded, edited snapshot replaces the stored one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pydantic
import pytest

from engines import (
    DefaultEngine,
    Event,
    InMemoryStorage,
    RunSnapshot,
    Step,
    StepContext,
    StepResult,
    Storage,
    Workflow,
)

RUN_VOLATILE = ("run_id", "created_at", "updated_at", "started_at", "finished_at")
STEP_VOLATILE = ("started_at", "ended_at", "suspended_at", "resumed_at")
EVENT_VOLATILE = ("ts", "run_id")
PAYLOAD_VOLATILE = ("started_at", "retry_at")  # a retry's times


def as_json(value: Any) -> Any:
    """`value` as a JSON document would give it back (tuples become lists, and so on)."""
    return json.loads(json.dumps(value))


def stable_record(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in STEP_VOLATILE}
    if out.get("items") is not None:
        out["items"] = [None if i is None else stable_record(i) for i in out["items"]]
    return out


def run_ref(value: Any, run_ids: Sequence[str]) -> Any:
    """A run id of the scenario replaced by its position (fork ids are random)."""
    return f"run #{run_ids.index(value)}" if value in run_ids else value


def stable(snap: RunSnapshot, run_ids: Sequence[str]) -> dict[str, Any]:
    """A snapshot's JSON form without the fields that differ from run to run."""
    data = as_json(snap.to_dict())
    for key in RUN_VOLATILE:
        data.pop(key)
    data["parent_run_id"] = run_ref(data["parent_run_id"], run_ids)
    data["steps"] = {k: stable_record(v) for k, v in data["steps"].items()}
    data["step_order"] = list(data["steps"])
    return data


def stable_events(events: Sequence[Event], run_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    out = []
    for event in events:
        data = as_json(event.to_dict())
        for key in EVENT_VOLATILE:
            data.pop(key)
        for key in PAYLOAD_VOLATILE:
            data["payload"].pop(key, None)
        if "parent_run_id" in data["payload"]:
            data["payload"]["parent_run_id"] = run_ref(data["payload"]["parent_run_id"], run_ids)
        out.append(data)
    return out


# -- steps ------------------------------------------------------------------------------------


async def yield_if(condition: bool) -> None:
    """Give the loop a turn (a real wait, which makes the engine write first) when asked."""
    if condition:
        await asyncio.sleep(0)


def add_step(step_id: str, amount: int = 1) -> Step:
    """Adds `amount` to `n`; waits on odd `n`, so saves happen mid-iteration too."""

    async def execute(ctx: StepContext) -> dict[str, Any]:
        n = ctx.input_data["n"]
        await yield_if(n % 2 == 1)
        ctx.set_state({f"last_{step_id}": n})
        return {"n": n + amount}

    return Step(step_id, execute)


class Approval(pydantic.BaseModel):
    ok: bool


def asking_step(step_id: str) -> Step:
    """Suspends until resumed with `{"ok": ...}`; waits once before deciding."""

    async def execute(ctx: StepContext) -> dict[str, Any]:
        await asyncio.sleep(0)
        if ctx.resume_data is None:
            ctx.suspend({"asking": step_id, "input": ctx.input_data}, label=f"{step_id}-label")
        return {"n": ctx.input_data["n"], "ok": ctx.resume_data.ok}

    return Step(step_id, execute, resume_schema=Approval)


def failing_step(step_id: str) -> Step:
    """Fails with a chained error after waiting."""

    async def execute(ctx: StepContext) -> None:
        await asyncio.sleep(0)
        try:
            raise LookupError("no such account")
        except LookupError as exc:
            raise ValueError(f"cannot charge {ctx.input_data['n']}") from exc

    return Step(step_id, execute)


# -- scenarios: each runs on the engine it is given and returns the run ids it made -----------

Scenario = Callable[[DefaultEngine], Awaitable[list[str]]]


async def dountil_with_a_nested_body(engine: DefaultEngine) -> list[str]:
    """A dountil loop whose body is a nested workflow: inner records dropped per iteration.

    The body takes a different branch arm in its last iteration, so a record of an earlier
    iteration that was not removed would still show in the final snapshot.
    """

    def small(ctx: StepContext) -> bool:
        return bool(ctx.input_data["n"] < 8)

    def large(ctx: StepContext) -> bool:
        return bool(ctx.input_data["n"] >= 8)

    body = (
        Workflow("body")
        .then(add_step("inc"))
        .branch([(small, add_step("small", 2)), (large, add_step("large", 5))])
        .map(lambda ctx: next(iter(ctx.input_data.values())))
        .commit()
    )

    async def enough(ctx: StepContext) -> bool:
        await yield_if(ctx.iteration == 2)
        return bool(ctx.input_data["n"] >= 12)

    wf = (
        Workflow("loop-nested")
        .then(add_step("before"))
        .dountil(body, enough)
        .then(add_step("after"))
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id="loop").start({"n": 0})
    assert result.status == "success"
    snap = await engine.storage.load("loop")
    assert snap is not None
    assert "body.large" in snap.steps
    return ["loop"]


async def dowhile_with_a_plain_body(engine: DefaultEngine) -> list[str]:
    """A dowhile loop over a plain step: its record is replaced every iteration."""

    def again(ctx: StepContext) -> bool:
        return bool(ctx.input_data["n"] < 7)

    wf = Workflow("loop-plain").dowhile(add_step("body"), again).commit()
    result = await wf.create_run(engine=engine, run_id="dowhile").start({"n": 0})
    assert result.result == {"n": 7}
    return ["dowhile"]


async def suspend_and_resume(engine: DefaultEngine) -> list[str]:
    """Two suspensions in a row, each resumed, with a nested suspension in between."""
    inner = Workflow("inner").then(add_step("prep")).then(asking_step("inner-ask")).commit()
    wf = (
        Workflow("approvals")
        .then(add_step("a"))
        .then(asking_step("ask"))
        .map(lambda ctx: {"n": ctx.input_data["n"]})
        .then(inner)
        .map(lambda ctx: {"n": ctx.input_data["n"]})
        .then(add_step("z"))
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="suspend")
    assert (await run.start({"n": 0})).status == "suspended"
    assert (await run.resume({"ok": True})).status == "suspended"
    assert (await run.resume({"ok": False}, label="inner-ask-label")).status == "success"
    return ["suspend"]


async def suspended_parallel_steps_resumed_one_by_one(engine: DefaultEngine) -> list[str]:
    """A parallel group where both siblings suspend; each is resumed separately."""
    wf = (
        Workflow("par-suspend")
        .parallel([asking_step("left"), asking_step("right"), add_step("quick")])
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="par-suspend")
    assert (await run.start({"n": 1})).status == "suspended"
    assert (await run.resume({"ok": True}, step="right")).status == "suspended"
    assert (await run.resume({"ok": False}, step="left")).status == "success"
    return ["par-suspend"]


async def foreach_items(engine: DefaultEngine) -> list[str]:
    """foreach over plain items and over a nested workflow, items waiting or not."""

    async def item(ctx: StepContext) -> int:
        await yield_if(ctx.input_data % 2 == 1)
        return int(ctx.input_data) * 10

    per_item = Workflow("per-item").then(add_step("one")).then(add_step("two")).commit()

    async def numbers(ctx: StepContext) -> list[dict[str, int]]:
        return [{"n": i} for i in range(5)]

    wf = (
        Workflow("each")
        .foreach(Step("item", item), concurrency=2)
        .then(Step("numbers", numbers))
        .foreach(per_item, concurrency=3)
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id="each").start([1, 2, 3, 4, 5])
    assert result.status == "success"
    return ["each"]


async def foreach_with_suspended_items(engine: DefaultEngine) -> list[str]:
    """foreach items that suspend, resumed one index at a time."""

    async def item(ctx: StepContext) -> dict[str, Any]:
        await asyncio.sleep(0)
        if ctx.input_data % 2 == 0 and ctx.resume_data is None:
            ctx.suspend({"item": ctx.input_data})
        return {"item": ctx.input_data, "resumed": ctx.resume_data}

    wf = Workflow("each-suspend").foreach(Step("item", item), concurrency=4).commit()
    run = wf.create_run(engine=engine, run_id="each-suspend")
    assert (await run.start([1, 2, 3, 4])).status == "suspended"
    assert (await run.resume({"go": 1}, for_each_index=1)).status == "suspended"
    assert (await run.resume({"go": 3}, for_each_index=3)).status == "success"
    return ["each-suspend"]


async def parallel_groups(engine: DefaultEngine) -> list[str]:
    """Parallel groups (waiting and quick siblings), a branch and a nested parallel."""
    nested = (
        Workflow("nested-par")
        .parallel([add_step("x"), add_step("y", 3)])
        .map(lambda ctx: {"n": ctx.input_data["x"]["n"] + ctx.input_data["y"]["n"]})
        .then(add_step("w"))
        .commit()
    )

    def wide(ctx: StepContext) -> bool:
        return True

    def never(ctx: StepContext) -> bool:
        return False

    wf = (
        Workflow("par")
        .parallel([add_step("p1"), add_step("p2", 2), add_step("p3", 3)])
        .map(lambda ctx: {"n": ctx.input_data["p2"]["n"]})
        .branch([(wide, add_step("yes")), (never, add_step("no"))])
        .map(lambda ctx: {"n": ctx.input_data["yes"]["n"]})
        .then(nested)
        .commit()
    )
    result = await wf.create_run(engine=engine, run_id="par").start({"n": 1})
    assert result.status == "success"
    return ["par"]


async def failure_with_retries(engine: DefaultEngine) -> list[str]:
    """A nested step that fails after its retries, with a cause chain, fails the run."""
    inner = Workflow("inner-fail", retries=2).then(failing_step("charge")).commit()
    wf = Workflow("fails").then(add_step("a")).then(inner).commit()
    result = await wf.create_run(engine=engine, run_id="fails").start({"n": 0})
    assert result.status == "failed"
    return ["fails"]


async def time_travel_forks(engine: DefaultEngine) -> list[str]:
    """Forks of a finished run: at a top-level step, inside a nested workflow, with reuse."""
    inner = Workflow("inner").then(add_step("i1")).then(add_step("i2")).commit()
    wf = (
        Workflow("chain")
        .then(add_step("s1"))
        .then(add_step("s2"))
        .then(inner)
        .then(add_step("s3"))
        .then(add_step("s4"))
        .commit()
    )
    run = wf.create_run(engine=engine, run_id="source")
    await run.start({"n": 0})
    fork_top = await run.time_travel("s2", input_data={"n": 100})
    fork_nested = await run.time_travel(["inner", "i2"], input_data={"n": 50})
    fork_reuse = await run.time_travel("s3", reuse=["s4"])
    refork = await wf.create_run(engine=engine, run_id=fork_top.run_id).time_travel(
        "s4", input_data={"n": -1}
    )
    assert fork_top.parent_run_id == "source"
    return ["source", fork_top.run_id, fork_nested.run_id, fork_reuse.run_id, refork.run_id]


async def time_travel_of_a_suspended_run(engine: DefaultEngine) -> list[str]:
    """A fork that re-runs a step before a suspension, then is resumed itself."""
    wf = Workflow("tt-suspend").then(add_step("a")).then(asking_step("ask")).commit()
    run = wf.create_run(engine=engine, run_id="tt-suspend")
    await run.start({"n": 0})
    fork = await run.time_travel("a", input_data={"n": 10})
    assert fork.status == "suspended"
    resumed = await wf.create_run(engine=engine, run_id=fork.run_id).resume({"ok": True})
    assert resumed.status == "success"
    return ["tt-suspend", fork.run_id]


SCENARIOS: dict[str, Scenario] = {
    "dountil-nested-body": dountil_with_a_nested_body,
    "dowhile-plain-body": dowhile_with_a_plain_body,
    "suspend-resume": suspend_and_resume,
    "parallel-suspend-resume": suspended_parallel_steps_resumed_one_by_one,
    "foreach": foreach_items,
    "foreach-suspend-resume": foreach_with_suspended_items,
    "parallel": parallel_groups,
    "failure": failure_with_retries,
    "time-travel": time_travel_forks,
    "time-travel-suspended": time_travel_of_a_suspended_run,
}

scenarios = pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))


class TwinStorage(InMemoryStorage):
    """Delta saves, with every save also written to a JSON twin and compared right away."""

    def __init__(self) -> None:
        super().__init__()
        self.twin = InMemoryStorage(serialize=True)
        self.saves = 0
        self.mismatches: list[str] = []

    async def save(self, snapshot: RunSnapshot, events: Sequence[Event] = ()) -> None:
        await super().save(snapshot, events)
        await self.twin.save(snapshot, events)
        self.saves += 1
        mine = await self.load(snapshot.run_id)
        theirs = await self.twin.load(snapshot.run_id)
        assert mine is not None
        assert theirs is not None
        if as_json(mine.to_dict()) != as_json(theirs.to_dict()) or list(mine.steps) != list(
            theirs.steps
        ):
            self.mismatches.append(
                f"save #{self.saves} of {snapshot.run_id} "
                f"(seq {snapshot.seq}, status {snapshot.status}): "
                f"delta keys {list(mine.steps)} vs json keys {list(theirs.steps)}"
            )


# -- a scenario run on each storage -----------------------------------------------------------


async def run_on_both(scenario: Scenario) -> tuple[Storage, list[str], Storage, list[str]]:
    delta, full = InMemoryStorage(), InMemoryStorage(serialize=True)
    delta_ids = await scenario(DefaultEngine(delta))
    full_ids = await scenario(DefaultEngine(full))
    assert len(delta_ids) == len(full_ids)
    return delta, delta_ids, full, full_ids


@scenarios
async def test_a_run_stored_by_delta_saves_equals_the_same_run_stored_as_json(
    scenario: Scenario,
) -> None:
    """Same step keys in the same order, same statuses, outputs, payloads, state and seq."""
    delta, delta_ids, full, full_ids = await run_on_both(scenario)
    for delta_id, full_id in zip(delta_ids, full_ids, strict=True):
        mine = await delta.load(delta_id)
        theirs = await full.load(full_id)
        assert mine is not None
        assert theirs is not None
        assert stable(mine, delta_ids) == stable(theirs, full_ids)


@scenarios
async def test_the_event_log_of_a_delta_storage_equals_that_of_a_json_storage(
    scenario: Scenario,
) -> None:
    """Both storages hold the same events (type, seq, path, payload) for the same run."""
    delta, delta_ids, full, full_ids = await run_on_both(scenario)
    for delta_id, full_id in zip(delta_ids, full_ids, strict=True):
        assert stable_events(await delta.read_events(delta_id), delta_ids) == stable_events(
            await full.read_events(full_id), full_ids
        )


@pytest.mark.parametrize(
    "make_storage",
    [InMemoryStorage, lambda: InMemoryStorage(serialize=True)],
    ids=["memory", "memory-json"],
)
async def test_a_stored_run_started_event_keeps_the_state_the_run_started_with(
    make_storage: Callable[[], Storage],
) -> None:
    """Stored events are history: later `set_state` calls do not rewrite `run.started`."""
    storage = make_storage()
    wf = Workflow("state-history").then(add_step("a")).then(add_step("b")).commit()
    await wf.create_run(engine=DefaultEngine(storage), run_id="history").start(
        {"n": 0}, initial_state={"seed": 1}
    )
    started = (await storage.read_events("history"))[0]
    assert started.type == "run.started"
    assert started.payload["state"] == {"seed": 1}


@scenarios
async def test_every_delta_save_loads_exactly_as_its_json_twin(scenario: Scenario) -> None:
    """After each save, not just the last, the delta storage loads what a full save stores."""
    storage = TwinStorage()
    await scenario(DefaultEngine(storage))
    assert storage.saves > 1
    assert storage.mismatches == []


def test_the_scenarios_exercise_record_removal() -> None:
    """The nested loop body's inner records really are removed between saves."""

    async def go() -> list[set[str]]:
        removed: list[set[str]] = []

        class Watching(InMemoryStorage):
            async def save(self, snapshot: RunSnapshot, events: Sequence[Event] = ()) -> None:
                removed.append(set(getattr(snapshot.steps, "removed", set())))
                await super().save(snapshot, events)

        await dountil_with_a_nested_body(DefaultEngine(Watching()))
        return removed

    removed = asyncio.run(go())
    assert any("body.inc" in keys for keys in removed)


# -- loaded snapshots are copies --------------------------------------------------------------


async def finished_run(storage: Storage, run_id: str = "copy") -> RunSnapshot:
    """A finished two-step run with state, context and a nested workflow, as loaded."""
    inner = Workflow("inner").then(add_step("i1")).commit()
    wf = Workflow("copyable").then(add_step("a")).then(inner).then(add_step("b")).commit()
    await wf.create_run(engine=DefaultEngine(storage), run_id=run_id).start(
        {"n": 0}, context={"tenant": {"name": "acme"}}
    )
    snap = await storage.load(run_id)
    assert snap is not None
    return snap


storages = pytest.mark.parametrize(
    "make_storage",
    [InMemoryStorage, lambda: InMemoryStorage(serialize=True)],
    ids=["memory", "memory-json"],
)


@storages
async def test_mutating_a_loaded_snapshot_does_not_change_the_stored_one(
    make_storage: Callable[[], Storage],
) -> None:
    """Changing fields, state, context and step records of a loaded copy leaves storage as is."""
    storage = make_storage()
    loaded = await finished_run(storage)
    original = as_json(loaded.to_dict())
    loaded.status = "failed"
    loaded.result = {"tampered": True}
    loaded.state["extra"] = 1
    loaded.context["extra"] = 2
    loaded.steps["a"] = StepResult("failed", payload={"n": 0})
    del loaded.steps["b"]
    loaded.steps.pop("inner.i1")
    loaded.suspended.append(["a"])
    loaded.resume_labels["x"] = {"path": ["a"], "for_each_index": None}
    again = await storage.load("copy")
    assert again is not None
    assert as_json(again.to_dict()) == original


@storages
async def test_mutating_values_inside_a_loaded_snapshot_does_not_change_the_stored_one(
    make_storage: Callable[[], Storage],
) -> None:
    """Editing the loaded input, context or state in place (nested values) leaves storage as is.

    A database storage hands out fresh objects on every load; the in-memory one must not let a
    caller's edits to a loaded snapshot reach the stored run either.
    """
    storage = make_storage()
    loaded = await finished_run(storage)
    original = as_json(loaded.to_dict())
    loaded.input["n"] = 99
    loaded.context["tenant"]["name"] = "someone else"
    loaded.initial_state["added"] = True
    again = await storage.load("copy")
    assert again is not None
    assert as_json(again.to_dict()) == original


@storages
async def test_two_loads_give_two_independent_snapshots(
    make_storage: Callable[[], Storage],
) -> None:
    """Each load is its own copy: editing one does not show in the other."""
    storage = make_storage()
    first = await finished_run(storage)
    second = await storage.load("copy")
    assert second is not None
    assert first is not second
    first.steps["a"] = StepResult("failed")
    first.state["only-first"] = True
    assert second.steps["a"].status == "success"
    assert "only-first" not in second.state


@storages
async def test_mutating_the_engines_result_does_not_change_storage(
    make_storage: Callable[[], Storage],
) -> None:
    """The `RunResult` a call returns is not a window into storage."""
    storage = make_storage()
    wf = Workflow("result-copy").then(add_step("a")).commit()
    result = await wf.create_run(engine=DefaultEngine(storage), run_id="rc").start({"n": 0})
    result.steps["a"] = StepResult("failed")
    result.state["x"] = 1
    snap = await storage.load("rc")
    assert snap is not None
    assert snap.steps["a"].status == "success"
    assert "x" not in snap.state


# -- saving a loaded, edited snapshot ---------------------------------------------------------


def edit_for_restart(snap: RunSnapshot) -> None:
    """The edit the restart recipe makes: the run is interrupted at `b`."""
    snap.status = "running"
    snap.finished_at = None
    snap.result = None
    snap.steps["b"] = StepResult("running", payload={"n": 2}, started_at=snap.created_at)
    snap.state["edited"] = True


@storages
async def test_saving_a_loaded_and_edited_snapshot_replaces_the_stored_one(
    make_storage: Callable[[], Storage],
) -> None:
    """A loaded snapshot saved back (no events, same seq) is what the next load returns."""
    storage = make_storage()
    snap = await finished_run(storage)
    edit_for_restart(snap)
    del snap.steps["inner.i1"]
    await storage.save(snap)
    again = await storage.load("copy")
    assert again is not None
    assert as_json(again.to_dict()) == as_json(snap.to_dict())
    assert list(again.steps) == ["a", "inner", "b"]


@storages
async def test_saving_an_edited_snapshot_keeps_the_event_log(
    make_storage: Callable[[], Storage],
) -> None:
    """A save without events leaves the stored events as they were."""
    storage = make_storage()
    snap = await finished_run(storage)
    before = stable_events(await storage.read_events("copy"))
    edit_for_restart(snap)
    await storage.save(snap)
    assert stable_events(await storage.read_events("copy")) == before


@storages
async def test_a_restart_after_saving_an_edited_snapshot_runs_the_edited_run(
    make_storage: Callable[[], Storage],
) -> None:
    """The engine reads the saved edit: `b` runs again, `a` and `inner` are kept."""
    storage = make_storage()
    snap = await finished_run(storage)
    edit_for_restart(snap)
    await storage.save(snap)
    inner = Workflow("inner").then(add_step("i1")).commit()
    wf = Workflow("copyable").then(add_step("a")).then(inner).then(add_step("b")).commit()
    result = await wf.create_run(engine=DefaultEngine(storage), run_id="copy").restart()
    assert result.status == "success"
    assert result.result == {"n": 3}
    assert result.state["edited"] is True


Edit = Callable[[RunSnapshot], None]


def edit_input(snap: RunSnapshot) -> None:
    snap.input = {"n": 1000}


def edit_resource_and_parent(snap: RunSnapshot) -> None:
    snap.resource_id = "customer-7"
    snap.parent_run_id = "another-run"


def edit_initial_state(snap: RunSnapshot) -> None:
    snap.initial_state = {"seeded": True}


def replace_records_with_update(snap: RunSnapshot) -> None:
    snap.steps.update({"b": StepResult("running", payload={"n": 2})})


def clear_records(snap: RunSnapshot) -> None:
    snap.steps.clear()


SECOND_EDITS: dict[str, Edit] = {
    "input": edit_input,
    "resource-and-parent": edit_resource_and_parent,
    "initial-state": edit_initial_state,
    "steps-update": replace_records_with_update,
    "steps-clear": clear_records,
}


@storages
@pytest.mark.parametrize("second_edit", list(SECOND_EDITS.values()), ids=list(SECOND_EDITS))
async def test_a_second_save_of_the_same_loaded_snapshot_stores_every_edit(
    make_storage: Callable[[], Storage], second_edit: Edit
) -> None:
    """Edit, save, edit again, save again: the second edit is stored in full too.

    After its first save a loaded snapshot is tracked for delta saves; edits the tracking does
    not see (fields an execution never changes, dict methods that bypass `__setitem__`) must
    still reach storage.
    """
    storage = make_storage()
    snap = await finished_run(storage)
    edit_for_restart(snap)
    await storage.save(snap)
    second_edit(snap)
    await storage.save(snap)
    again = await storage.load("copy")
    assert again is not None
    assert as_json(again.to_dict()) == as_json(snap.to_dict())
    assert list(again.steps) == list(snap.steps)
