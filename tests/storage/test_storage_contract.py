"""The storage contract: every storage keeps snapshots, events, listings and lineage alike.

Snapshots and events are built by hand here, so no engine is involved.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from engines.core.errors import RunConflictError
from engines.core.events import Event
from engines.core.results import StepResult
from engines.core.snapshot import RunSnapshot
from engines.storage.base import RunSummary, Storage


class PaymentDeclinedError(Exception):
    """A user error with an extra attribute, to check errors survive storage."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def make_snapshot(
    run_id: str,
    *,
    workflow_id: str = "orders",
    status: str = "success",
    seq: int = 0,
    created_at: float = 1_000.0,
    resource_id: str | None = None,
    parent_run_id: str | None = None,
    fork_step: str | None = None,
) -> RunSnapshot:
    """A minimal snapshot with the fields the listing filters look at."""
    return RunSnapshot(
        run_id=run_id,
        workflow_id=workflow_id,
        status=status,  # type: ignore[arg-type]
        seq=seq,
        created_at=created_at,
        updated_at=created_at,
        resource_id=resource_id,
        parent_run_id=parent_run_id,
        fork_step=fork_step,
    )


def make_events(run_id: str, first: int, last: int) -> list[Event]:
    """Events numbered `first`..`last` (inclusive) for `run_id`."""
    return [
        Event(
            type="step.progress",
            run_id=run_id,
            seq=n,
            ts=1_000.0 + n,
            path=("step1",),
            payload={"kind": "custom", "data": {"n": n}},
        )
        for n in range(first, last + 1)
    ]


def as_json(events: list[Event]) -> list[dict[str, object]]:
    """Events as plain JSON data, for comparing across storages."""
    return [json.loads(json.dumps(e.to_dict())) for e in events]


async def save_with_events(storage: Storage, snapshot: RunSnapshot, count: int) -> list[Event]:
    """Store a new run with `count` events, its snapshot including the last one."""
    events = make_events(snapshot.run_id, 1, count)
    snapshot.seq = count
    await storage.save(snapshot, events)
    return events


def failed_run_snapshot() -> RunSnapshot:
    """A failed run with one successful step, one failed step and a chained error."""
    cause = ConnectionError("card service unreachable")
    error = PaymentDeclinedError("payment declined", code="E42")
    error.__cause__ = cause
    snapshot = make_snapshot("run-roundtrip", status="failed", resource_id="user-1")
    snapshot.input = {"order": 7, "items": ["a", "b"]}
    snapshot.initial_state = {"counter": 0}
    snapshot.state = {"counter": 1}
    snapshot.context = {"tenant": "acme"}
    snapshot.steps = {
        "reserve": StepResult(
            status="success",
            payload={"order": 7, "items": ["a", "b"]},
            output={"reserved": True},
            started_at=1_000.5,
            ended_at=1_001.0,
            attempts=1,
        ),
        "charge": StepResult(
            status="failed",
            payload={"reserved": True},
            error=error,
            traceback="Traceback (most recent call last): ...",
            started_at=1_001.0,
            ended_at=1_002.0,
            attempts=2,
        ),
    }
    snapshot.error = error
    snapshot.traceback = "Traceback (most recent call last): ..."
    snapshot.definition_hash = "abc123"
    snapshot.graph = {"id": "orders", "nodes": [{"id": "reserve"}, {"id": "charge"}]}
    snapshot.started_at = 1_000.2
    snapshot.finished_at = 1_002.0
    return snapshot


def test_every_storage_implements_the_protocol(storage: Storage) -> None:
    """A storage is recognised as an `engines.storage.Storage`."""
    assert isinstance(storage, Storage)


async def test_saved_snapshot_loads_back_with_the_same_data(storage: Storage) -> None:
    """A saved snapshot loads back with the same JSON form: steps, state, input and errors."""
    snapshot = failed_run_snapshot()
    await storage.save(snapshot)

    loaded = await storage.load("run-roundtrip")

    assert loaded is not None
    assert loaded.to_dict() == snapshot.to_dict()


async def test_loaded_step_records_keep_their_fields(storage: Storage) -> None:
    """Loaded step records keep status, payload, output, timings and attempts."""
    await storage.save(failed_run_snapshot())

    loaded = await storage.load("run-roundtrip")

    assert loaded is not None
    reserve = loaded.steps["reserve"]
    assert reserve.status == "success"
    assert reserve.payload == {"order": 7, "items": ["a", "b"]}
    assert reserve.output == {"reserved": True}
    assert (reserve.started_at, reserve.ended_at, reserve.attempts) == (1_000.5, 1_001.0, 1)
    assert loaded.steps["charge"].status == "failed"
    assert loaded.steps["charge"].attempts == 2


async def test_loaded_errors_keep_class_name_message_attributes_and_cause(
    storage: Storage,
) -> None:
    """Stored errors come back as exceptions with their class name, message, attributes, cause."""
    await storage.save(failed_run_snapshot())

    loaded = await storage.load("run-roundtrip")

    assert loaded is not None
    for error in (loaded.error, loaded.steps["charge"].error):
        assert error is not None
        assert type(error).__name__ == "PaymentDeclinedError"
        assert str(error) == "payment declined"
        assert error.code == "E42"  # type: ignore[attr-defined]
        assert type(error.__cause__).__name__ == "ConnectionError"
        assert str(error.__cause__) == "card service unreachable"
    assert loaded.steps["charge"].traceback == "Traceback (most recent call last): ..."


async def test_a_second_save_replaces_the_snapshot(storage: Storage) -> None:
    """Saving a run again replaces its snapshot (the latest write wins)."""
    await storage.save(make_snapshot("run-1", status="running"))
    await storage.save(make_snapshot("run-1", status="success"))

    loaded = await storage.load("run-1")

    assert loaded is not None
    assert loaded.status == "success"


async def test_changing_a_loaded_snapshot_does_not_change_the_stored_one(
    storage: Storage,
) -> None:
    """`load` returns a copy: editing it does not touch what is stored."""
    await storage.save(failed_run_snapshot())
    first = await storage.load("run-roundtrip")
    assert first is not None

    first.status = "running"
    first.state["counter"] = 99
    first.steps.pop("charge")

    again = await storage.load("run-roundtrip")
    assert again is not None
    assert again.status == "failed"
    assert again.state == {"counter": 1}
    assert set(again.steps) == {"reserve", "charge"}


async def test_loading_an_unknown_run_returns_none(storage: Storage) -> None:
    """Loading a run id that was never saved returns None."""
    assert await storage.load("no-such-run") is None


async def test_events_are_read_back_in_order(storage: Storage) -> None:
    """Appended events are read back in seq order with their type, path, ts and payload."""
    events = await save_with_events(storage, make_snapshot("run-ev"), 3)

    stored = await storage.read_events("run-ev")

    assert as_json(stored) == as_json(events)
    assert [e.seq for e in stored] == [1, 2, 3]
    assert all(isinstance(e, Event) for e in stored)
    assert stored[0].path == ("step1",)


async def test_events_are_read_after_a_given_seq(storage: Storage) -> None:
    """`read_events(after_seq=n)` returns only the events with seq greater than n."""
    await save_with_events(storage, make_snapshot("run-ev"), 5)

    stored = await storage.read_events("run-ev", after_seq=2)

    assert [e.seq for e in stored] == [3, 4, 5]


async def test_events_are_read_with_a_limit(storage: Storage) -> None:
    """`read_events(limit=n)` returns at most n events, starting after `after_seq`."""
    await save_with_events(storage, make_snapshot("run-ev"), 5)

    assert [e.seq for e in await storage.read_events("run-ev", limit=2)] == [1, 2]
    assert [e.seq for e in await storage.read_events("run-ev", after_seq=3, limit=10)] == [4, 5]
    assert await storage.read_events("run-ev", after_seq=5) == []


async def test_a_later_write_appends_events_that_continue_the_log(storage: Storage) -> None:
    """A second write whose events continue the stored seq appends them after the first ones."""
    snapshot = make_snapshot("run-ev", status="running")
    await save_with_events(storage, snapshot, 2)

    snapshot.status = "success"
    snapshot.seq = 4
    await storage.save(snapshot, make_events("run-ev", 3, 4))

    assert [e.seq for e in await storage.read_events("run-ev")] == [1, 2, 3, 4]
    loaded = await storage.load("run-ev")
    assert loaded is not None
    assert (loaded.status, loaded.seq) == ("success", 4)


async def test_reading_events_of_an_unknown_run_returns_nothing(storage: Storage) -> None:
    """A run that was never saved has no events."""
    assert await storage.read_events("no-such-run") == []


async def test_a_write_repeating_stored_seqs_is_refused_and_writes_nothing(
    storage: Storage,
) -> None:
    """Events repeating a stored seq raise RunConflictError; snapshot and log stay unchanged."""
    await save_with_events(storage, make_snapshot("run-cas", status="suspended"), 3)
    stale = make_snapshot("run-cas", status="running", seq=4)

    with pytest.raises(RunConflictError):
        await storage.save(stale, make_events("run-cas", 3, 4))

    loaded = await storage.load("run-cas")
    assert loaded is not None
    assert (loaded.status, loaded.seq) == ("suspended", 3)
    assert [e.seq for e in await storage.read_events("run-cas")] == [1, 2, 3]


async def test_a_write_leaving_a_gap_in_the_seq_is_refused_and_writes_nothing(
    storage: Storage,
) -> None:
    """Events that skip seqs after the stored log raise RunConflictError and write nothing."""
    await save_with_events(storage, make_snapshot("run-cas", status="suspended"), 3)
    ahead = make_snapshot("run-cas", status="running", seq=6)

    with pytest.raises(RunConflictError):
        await storage.save(ahead, make_events("run-cas", 5, 6))

    loaded = await storage.load("run-cas")
    assert loaded is not None
    assert (loaded.status, loaded.seq) == ("suspended", 3)
    assert [e.seq for e in await storage.read_events("run-cas")] == [1, 2, 3]


async def test_a_new_run_whose_events_do_not_start_at_one_is_refused(storage: Storage) -> None:
    """The first events of a run must start at seq 1; otherwise nothing is stored."""
    with pytest.raises(RunConflictError):
        await storage.save(make_snapshot("run-new", seq=3), make_events("run-new", 2, 3))

    assert await storage.load("run-new") is None
    assert await storage.read_events("run-new") == []


async def test_a_conflict_error_is_a_workflow_error(storage: Storage) -> None:
    """RunConflictError is part of the library's WorkflowError hierarchy."""
    from engines.core.errors import WorkflowError

    await save_with_events(storage, make_snapshot("run-cas"), 1)

    with pytest.raises(WorkflowError):
        await storage.save(make_snapshot("run-cas", seq=1), make_events("run-cas", 1, 1))


# -- listing ---------------------------------------------------------------------------------


async def save_listing_fixture(storage: Storage) -> None:
    """Four runs of two workflows with distinct statuses, owners, parents and creation times."""
    await storage.save(
        make_snapshot(
            "run-a-1",
            workflow_id="alpha",
            status="success",
            created_at=1_000.0,
            resource_id="user-1",
        )
    )
    await storage.save(
        make_snapshot(
            "run-a-2",
            workflow_id="alpha",
            status="failed",
            created_at=2_000.0,
            resource_id="user-2",
        )
    )
    await storage.save(
        make_snapshot(
            "run-b-3",
            workflow_id="beta",
            status="suspended",
            created_at=3_000.0,
            resource_id="user-1",
            parent_run_id="run-a-1",
            fork_step="charge",
        )
    )
    await storage.save(
        make_snapshot("other-4", workflow_id="beta", status="running", created_at=4_000.0)
    )


def ids(page_runs: list[RunSummary]) -> list[str]:
    return [r.run_id for r in page_runs]


async def test_list_runs_returns_every_run_newest_first(storage: Storage) -> None:
    """Without filters every run is listed, newest (by creation time) first."""
    await save_listing_fixture(storage)

    page = await storage.list_runs()

    assert ids(page.runs) == ["other-4", "run-b-3", "run-a-2", "run-a-1"]
    assert page.total == 4


async def test_list_runs_rows_describe_the_run(storage: Storage) -> None:
    """A listed row carries the run's workflow, status, owner, lineage and creation time."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(run_id_prefix="run-b-")

    [row] = page.runs
    assert isinstance(row, RunSummary)
    assert row.run_id == "run-b-3"
    assert row.workflow_id == "beta"
    assert row.status == "suspended"
    assert row.resource_id == "user-1"
    assert row.parent_run_id == "run-a-1"
    assert row.fork_step == "charge"
    assert row.created_at == 3_000.0


async def test_list_runs_filters_by_workflow_id(storage: Storage) -> None:
    """`workflow_id` keeps only that workflow's runs."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(workflow_id="alpha")

    assert ids(page.runs) == ["run-a-2", "run-a-1"]
    assert page.total == 2


async def test_list_runs_filters_by_a_single_status(storage: Storage) -> None:
    """`status="failed"` keeps only failed runs."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(status="failed")

    assert ids(page.runs) == ["run-a-2"]
    assert page.total == 1


async def test_list_runs_filters_by_a_list_of_statuses(storage: Storage) -> None:
    """`status=[...]` keeps runs having any of the listed statuses."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(status=["success", "suspended"])

    assert ids(page.runs) == ["run-b-3", "run-a-1"]
    assert page.total == 2


async def test_list_runs_filters_by_resource_id(storage: Storage) -> None:
    """`resource_id` keeps the runs created for that resource."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(resource_id="user-1")

    assert ids(page.runs) == ["run-b-3", "run-a-1"]


async def test_list_runs_filters_by_parent_run_id(storage: Storage) -> None:
    """`parent_run_id` keeps the forks of that run."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(parent_run_id="run-a-1")

    assert ids(page.runs) == ["run-b-3"]


async def test_list_runs_filters_by_created_after_inclusively(storage: Storage) -> None:
    """`created_after` keeps runs created at or after that moment."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(created_after=2_000.0)

    assert ids(page.runs) == ["other-4", "run-b-3", "run-a-2"]


async def test_list_runs_filters_by_created_before_inclusively(storage: Storage) -> None:
    """`created_before` keeps runs created at or before that moment."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(created_before=2_000.0)

    assert ids(page.runs) == ["run-a-2", "run-a-1"]


async def test_list_runs_accepts_datetimes_for_the_creation_range(storage: Storage) -> None:
    """The creation range also accepts timezone-aware datetimes."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(
        created_after=datetime.fromtimestamp(1_500.0, tz=UTC),
        created_before=datetime.fromtimestamp(3_500.0, tz=UTC),
    )

    assert ids(page.runs) == ["run-b-3", "run-a-2"]


async def test_list_runs_filters_by_run_id_prefix(storage: Storage) -> None:
    """`run_id_prefix` keeps the runs whose id starts with it."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(run_id_prefix="run-a-")

    assert ids(page.runs) == ["run-a-2", "run-a-1"]


async def test_list_runs_combines_filters(storage: Storage) -> None:
    """Several filters together keep only the runs matching all of them."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(workflow_id="beta", resource_id="user-1", status="suspended")

    assert ids(page.runs) == ["run-b-3"]
    assert page.total == 1


async def test_list_runs_counts_the_total_before_paging(storage: Storage) -> None:
    """`total` counts every matching run, however `limit` and `offset` cut the page."""
    await save_listing_fixture(storage)

    page = await storage.list_runs(limit=2, offset=1)

    assert ids(page.runs) == ["run-b-3", "run-a-2"]
    assert page.total == 4


async def test_list_runs_pages_with_limit_and_offset(storage: Storage) -> None:
    """Consecutive pages of `limit` runs cover the whole listing once, in order."""
    await save_listing_fixture(storage)

    first = await storage.list_runs(limit=3, offset=0)
    second = await storage.list_runs(limit=3, offset=3)
    beyond = await storage.list_runs(limit=3, offset=10)

    assert ids(first.runs) == ["other-4", "run-b-3", "run-a-2"]
    assert ids(second.runs) == ["run-a-1"]
    assert beyond.runs == []
    assert (first.total, second.total, beyond.total) == (4, 4, 4)


async def test_list_runs_on_an_empty_storage_is_empty(storage: Storage) -> None:
    """An empty storage lists nothing, with a total of zero."""
    page = await storage.list_runs()

    assert page.runs == []
    assert page.total == 0


async def test_list_runs_shows_the_latest_status(storage: Storage) -> None:
    """After a run is saved again, its row shows the new status and it is listed once."""
    await storage.save(make_snapshot("run-1", status="suspended"))
    await storage.save(make_snapshot("run-1", status="success"))

    page = await storage.list_runs()

    assert [(r.run_id, r.status) for r in page.runs] == [("run-1", "success")]
    assert page.total == 1


# -- deletion --------------------------------------------------------------------------------


async def test_delete_run_removes_the_snapshot_and_returns_true(storage: Storage) -> None:
    """Deleting a stored run returns True and the run no longer loads or lists."""
    await save_with_events(storage, make_snapshot("run-del"), 2)

    assert await storage.delete_run("run-del") is True

    assert await storage.load("run-del") is None
    assert (await storage.list_runs()).total == 0


async def test_delete_run_removes_the_events(storage: Storage) -> None:
    """Deleting a run removes its event log too."""
    await save_with_events(storage, make_snapshot("run-del"), 2)

    await storage.delete_run("run-del")

    assert await storage.read_events("run-del") == []


async def test_delete_run_returns_false_when_the_run_is_missing(storage: Storage) -> None:
    """Deleting an unknown (or already deleted) run returns False."""
    await storage.save(make_snapshot("run-del"))
    await storage.delete_run("run-del")

    assert await storage.delete_run("run-del") is False
    assert await storage.delete_run("never-stored") is False


async def test_delete_run_leaves_other_runs_alone(storage: Storage) -> None:
    """Deleting one run keeps every other run, with its events."""
    await save_with_events(storage, make_snapshot("run-keep", created_at=1_000.0), 2)
    await save_with_events(storage, make_snapshot("run-del", created_at=2_000.0), 2)

    await storage.delete_run("run-del")

    assert await storage.load("run-keep") is not None
    assert [e.seq for e in await storage.read_events("run-keep")] == [1, 2]
    assert ids((await storage.list_runs()).runs) == ["run-keep"]


async def test_a_deleted_run_id_can_be_stored_again_from_seq_one(storage: Storage) -> None:
    """After deletion the run id starts afresh: its first events are numbered from 1 again."""
    await save_with_events(storage, make_snapshot("run-del"), 3)
    await storage.delete_run("run-del")

    await save_with_events(storage, make_snapshot("run-del"), 1)

    assert [e.seq for e in await storage.read_events("run-del")] == [1]


# -- lineage ---------------------------------------------------------------------------------


async def save_fork_tree(storage: Storage) -> None:
    """root -> (fork-a, fork-b); fork-a -> fork-a-1; plus an unrelated run."""
    await storage.save(make_snapshot("root", created_at=1_000.0))
    await storage.save(
        make_snapshot("fork-a", created_at=2_000.0, parent_run_id="root", fork_step="s2")
    )
    await storage.save(
        make_snapshot("fork-b", created_at=3_000.0, parent_run_id="root", fork_step="s3")
    )
    await storage.save(
        make_snapshot("fork-a-1", created_at=4_000.0, parent_run_id="fork-a", fork_step="s3")
    )
    await storage.save(make_snapshot("unrelated", created_at=5_000.0))


async def test_lineage_from_the_root_lists_root_then_descendants(storage: Storage) -> None:
    """The lineage of a root lists it first, then its forks and their forks, oldest first."""
    await save_fork_tree(storage)

    family = await storage.lineage("root")

    assert ids(family) == ["root", "fork-a", "fork-b", "fork-a-1"]


async def test_lineage_from_a_grandchild_lists_the_whole_family(storage: Storage) -> None:
    """Asked from a fork of a fork, lineage still starts at the root and lists every descendant."""
    await save_fork_tree(storage)

    family = await storage.lineage("fork-a-1")

    assert ids(family) == ["root", "fork-a", "fork-b", "fork-a-1"]


async def test_lineage_rows_carry_parent_and_fork_step(storage: Storage) -> None:
    """Lineage rows say which run each fork came from and at which step."""
    await save_fork_tree(storage)

    family = {r.run_id: r for r in await storage.lineage("fork-b")}

    assert family["root"].parent_run_id is None
    assert (family["fork-a"].parent_run_id, family["fork-a"].fork_step) == ("root", "s2")
    assert (family["fork-a-1"].parent_run_id, family["fork-a-1"].fork_step) == ("fork-a", "s3")
    assert "unrelated" not in family


async def test_lineage_of_a_run_without_forks_is_itself(storage: Storage) -> None:
    """A run that was never forked is its own whole lineage."""
    await save_fork_tree(storage)

    assert ids(await storage.lineage("unrelated")) == ["unrelated"]


# -- saving what was loaded ---------------------------------------------------------------------


def _with_steps(run_id: str, seq: int = 0) -> RunSnapshot:
    snap = make_snapshot(run_id, status="running", seq=seq)
    snap.steps["a"] = StepResult("success", payload={}, output={"n": 1})
    snap.steps["b"] = StepResult("success", payload={}, output={"n": 2})
    return snap


async def test_a_loaded_snapshot_saved_after_one_change_stores_the_change(
    storage: Storage,
) -> None:
    await storage.save(_with_steps("load-edit"))
    loaded = await storage.load("load-edit")
    assert loaded is not None

    loaded.steps["b"] = StepResult("success", payload={}, output={"n": 20})
    loaded.steps.pop("a")
    loaded.steps["c"] = StepResult("running", payload={"n": 20})
    loaded.seq = 1
    await storage.save(loaded, make_events("load-edit", 1, 1))

    stored = await storage.load("load-edit")
    assert stored is not None
    assert {k: r.to_dict() for k, r in stored.steps.items()} == {
        "b": {"status": "success", "payload": {}, "output": {"n": 20}},
        "c": {"status": "running", "payload": {"n": 20}},
    }


async def test_of_two_copies_loaded_together_the_one_saved_last_is_stored_whole(
    storage: Storage,
) -> None:
    """Saves are not merged: each stores its own snapshot whole, never its changes on top of
    a state it did not load (the second save here has the same seq as the first)."""
    await storage.save(_with_steps("two-copies"))
    first = await storage.load("two-copies")
    second = await storage.load("two-copies")
    assert first is not None
    assert second is not None

    first.steps["a"] = StepResult("failed", payload={})
    await storage.save(first)
    second.steps["b"] = StepResult("failed", payload={})
    await storage.save(second)

    stored = await storage.load("two-copies")
    assert stored is not None
    assert {k: r.status for k, r in stored.steps.items()} == {"a": "success", "b": "failed"}
