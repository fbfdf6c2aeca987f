"""DjangoStorage's rows: one step record per attempt, step counts, errors, the shared graph,
a constant number of queries per write, and the broadcast after each write."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engines import DefaultEngine, Event, RunSnapshot, Step, StepContext, StepResult, Workflow
from tests.storages import (
    TickingClock,
    sync_thread_connections_closed,  # noqa: F401  (a fixture)
)
from workflows_app import broadcast
from workflows_app.models import Run, StepRecord, WorkflowGraph
from workflows_app.storage import DjangoStorage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sync_thread_connections_closed"),
]


class CardDeclinedError(Exception):
    """A user error with an attribute, raised with a cause."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def flaky(failures: int) -> Step:
    """A step that fails `failures` times with CardDeclinedError, then succeeds."""
    seen: list[int] = []

    async def charge(ctx: StepContext) -> dict[str, Any]:
        await asyncio.sleep(0)
        seen.append(ctx.retry_count)
        if len(seen) <= failures:
            raise CardDeclinedError(f"declined #{len(seen)}", code=f"E{len(seen)}")
        return {"charged": True}

    return Step("charge", charge, retries=3)


async def ok(ctx: StepContext) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"ok": True}


async def explode(ctx: StepContext) -> None:
    try:
        raise ConnectionError("card service unreachable")
    except ConnectionError as exc:
        raise CardDeclinedError("payment declined", code="E42") from exc


def run(wf: Workflow, run_id: str, storage: DjangoStorage | None = None) -> Run:
    engine = DefaultEngine(storage=storage or DjangoStorage(), clock=TickingClock())
    wf.create_run(engine=engine, run_id=run_id).start_sync(input_data={})
    return Run.objects.get(pk=run_id)


def test_each_attempt_of_a_retried_step_keeps_a_row_of_its_own() -> None:
    stored = run(Workflow("retry").then(flaky(failures=2)).commit(), "r1")

    rows = StepRecord.objects.filter(run=stored, path="charge").order_by("attempt")

    assert [(r.attempt, r.status) for r in rows] == [(1, "failed"), (2, "failed"), (3, "success")]
    assert [r.error_type for r in rows] == ["CardDeclinedError", "CardDeclinedError", ""]
    assert (rows[0].error or {}).get("message") == "declined #1"
    assert (rows[1].error or {}).get("attributes") == {"code": "E2"}
    assert rows[2].output == {"charged": True}
    assert all(r.ended_at is not None for r in rows)


def test_the_loaded_record_of_a_retried_step_is_its_last_attempt() -> None:
    run(Workflow("retry").then(flaky(failures=1)).commit(), "r2")

    loaded = async_to_sync(DjangoStorage().load)("r2")

    assert loaded is not None
    assert (loaded.steps["charge"].status, loaded.steps["charge"].attempts) == ("success", 2)


def test_step_counts_count_every_record_by_status() -> None:
    nested = Workflow("inner").then(Step("a", ok)).then(Step("b", ok)).commit()
    wf = Workflow("counts").then(Step("first", ok)).then(nested).then(Step("boom", explode))
    stored = run(wf.commit(), "r3")

    assert stored.status == "failed"
    assert stored.step_counts == {"success": 4, "failed": 1}  # first, inner, inner.a/b; boom


def test_the_run_row_names_the_engine_it_was_stored_for() -> None:
    stored = run(
        Workflow("named").then(Step("a", ok)).commit(), "r4", DjangoStorage(engine_name="x")
    )
    assert stored.engine == "x"


def test_errors_keep_class_name_message_attributes_and_cause_through_the_database() -> None:
    run(Workflow("errors").then(Step("boom", explode)).commit(), "r5")

    loaded = async_to_sync(DjangoStorage().load)("r5")

    assert loaded is not None
    for error in (loaded.error, loaded.steps["boom"].error):
        assert type(error).__name__ == "CardDeclinedError"
        assert str(error) == "payment declined"
        assert error.code == "E42"  # type: ignore[union-attr]
        assert type(error.__cause__).__name__ == "ConnectionError"
        assert str(error.__cause__) == "card service unreachable"
    assert "ConnectionError" in (loaded.steps["boom"].traceback or "")
    assert StepRecord.objects.get(run_id="r5", path="boom").error_type == "CardDeclinedError"


def test_runs_of_one_workflow_share_one_stored_graph() -> None:
    wf = Workflow("shared").then(Step("a", ok)).then(Step("b", ok)).commit()
    first, second = run(wf, "g1"), run(wf, "g2")

    assert WorkflowGraph.objects.count() == 1
    assert first.graph == second.graph == wf.graph()
    assert first.node_at(["b"]) is not None


# -- queries per write ----------------------------------------------------------------------------


def stored_chain(run_id: str, steps: int) -> RunSnapshot:
    """A run of `steps` succeeded steps, saved once (its first, full write)."""
    snapshot = RunSnapshot(run_id=run_id, workflow_id="chain", status="running", seq=1)
    for k in range(steps):
        snapshot.steps[f"s{k}"] = StepResult("success", {"i": k}, {"i": k + 1}, attempts=1)
    start = Event("run.started", run_id, 1, 1.0, (), {})
    async_to_sync(storage.save)(snapshot, [start])
    return snapshot


def queries_of_one_step_write(snapshot: RunSnapshot) -> list[str]:
    """The SQL of a write that changes one record of `snapshot` (on this thread's connection:
    under async_to_sync the storage works on the calling thread)."""
    snapshot.steps["s0"] = StepResult("success", {"i": 0}, {"i": 99}, attempts=1)
    snapshot.seq += 1
    done = Event("step.succeeded", snapshot.run_id, snapshot.seq, 2.0, ("s0",), {})
    with CaptureQueriesContext(connection) as captured:
        async_to_sync(storage.save)(snapshot, [done])
    return [q["sql"] for q in captured.captured_queries]


storage = DjangoStorage()


def test_a_write_issues_as_many_queries_in_a_500_step_run_as_in_a_5_step_run() -> None:
    small = queries_of_one_step_write(stored_chain("small", 5))
    large = queries_of_one_step_write(stored_chain("large", 500))

    assert len(small) == len(large)
    assert len(large) <= 7  # begin, run, events, step rows, snapshot, commit


def test_a_delta_write_leaves_the_graph_alone() -> None:
    sql = queries_of_one_step_write(stored_chain("small", 5))
    assert not any("workflowgraph" in q.lower() for q in sql)


# -- the broadcast --------------------------------------------------------------------------------


def test_each_write_is_broadcast_with_its_events_and_the_run_summary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = []
    monkeypatch.setattr(broadcast, "wanted", lambda: True)
    monkeypatch.setattr(broadcast, "publish", lambda *args: published.append(args))

    stored = run(Workflow("live").then(Step("a", ok)).commit(), "b1")

    seqs = [e["seq"] for _, events, _ in published for e in events]
    assert seqs == list(range(1, stored.seq + 1))
    run_id, _, summary = published[-1]
    assert run_id == "b1"
    assert summary == stored.summary()


def test_a_failing_broadcast_does_not_fail_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("channel layer down")

    monkeypatch.setattr(broadcast, "wanted", lambda: True)
    monkeypatch.setattr(broadcast, "publish", broken)

    stored = run(Workflow("quiet").then(Step("a", ok)).commit(), "b2")

    assert stored.status == "success"
