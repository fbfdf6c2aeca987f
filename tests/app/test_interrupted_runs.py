"""Runs left active by a process that died are marked `interrupted` (at server start-up and
then periodically), shown so in the API and the runs feed, and can be restarted or canceled;
a run executing in a live process, on this machine or another, is never touched."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from tests.app.api_support import exported, post_json, recorded
from tests.app.conftest import client_for
from tests.app.crash_support import (
    Taken,
    dead_here,
    elsewhere,
    killed_mid_step,
    owned_by,
    parent_here,
    process,
)
from workflows_app import broadcast, processes, recovery, services
from workflows_app.asgi import ServerLoopRecorder
from workflows_app.models import ExecutorProcess, Run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_workflows")]


@pytest.fixture
def api(operator: User) -> Client:
    return client_for(operator)


# -- which runs are marked -------------------------------------------------------------------


def test_a_run_left_running_by_a_process_that_died_is_marked_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = owned_by(killed_mid_step(monkeypatch), dead_here())

    assert recovery.mark_interrupted() == [run.run_id]

    stored = Run.objects.get(pk=run.pk)
    assert (stored.status, stored.seq) == ("interrupted", 1)
    # The engine's record still says where the run stopped; the log gains nothing.
    assert stored.to_snapshot().status == "running"
    assert list(stored.events.values_list("type", flat=True)) == ["run.started"]


def test_a_run_accepted_but_never_begun_by_a_dead_process_is_marked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(services, "executor", lambda: Taken())
        run = owned_by(services.start_run("greet", {"name": "Ada"}), dead_here())
    assert run.status == "pending"

    assert recovery.mark_interrupted() == [run.run_id]


def test_a_run_executing_in_a_live_process_of_this_machine_is_never_touched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = owned_by(killed_mid_step(monkeypatch), parent_here())
    assert recovery.mark_interrupted() == []
    assert Run.objects.get(pk=run.pk).status == "running"


def test_a_run_this_process_executes_is_never_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    run = killed_mid_step(monkeypatch)
    assert run.executed_by == processes.identity().id
    assert recovery.mark_interrupted() == []


def test_a_run_of_another_machine_is_left_alone_while_its_heartbeat_is_fresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = owned_by(killed_mid_step(monkeypatch), elsewhere(timedelta(seconds=5)))
    assert recovery.mark_interrupted() == []
    assert Run.objects.get(pk=run.pk).status == "running"


def test_a_run_of_another_machine_is_interrupted_once_its_heartbeat_is_older_than_the_lease(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STEPBACK_LEASE_SECONDS = 30
    run = owned_by(killed_mid_step(monkeypatch), elsewhere(timedelta(seconds=31)))
    assert recovery.mark_interrupted() == [run.run_id]


def test_a_run_whose_owner_was_never_recorded_is_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = killed_mid_step(monkeypatch)
    Run.objects.filter(pk=run.pk).update(executed_by=None)
    assert recovery.mark_interrupted() == [run.run_id]


def test_a_run_taken_over_between_the_check_and_the_mark_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = owned_by(killed_mid_step(monkeypatch), dead_here())
    alive = processes.alive

    def restarted_meanwhile(owners: Any) -> set[str]:
        answer = alive(owners)
        Run.objects.filter(pk=run.pk).update(executed_by=processes.beat(), status="running")
        return answer

    monkeypatch.setattr(processes, "alive", restarted_meanwhile)
    assert recovery.mark_interrupted() == []
    assert Run.objects.get(pk=run.pk).status == "running"


def exited_child(reap: bool) -> tuple[subprocess.Popen[bytes], ExecutorProcess]:
    """A child process that has exited (reaped, or left a zombie), registered as it was."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)  # fmt: skip
    registered = process(pid=child.pid, pid_started=processes._pid_started(child.pid))
    assert processes.is_alive(registered)
    assert child.stdin is not None
    child.stdin.close()
    if reap:
        child.wait(10)
    else:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    return child, registered


def test_a_process_of_this_machine_that_exited_is_dead() -> None:
    _, registered = exited_child(reap=True)
    assert not processes.is_alive(registered)


def test_a_process_that_exited_unreaped_is_dead_too() -> None:
    child, registered = exited_child(reap=False)
    try:
        assert not processes.is_alive(registered)
    finally:
        child.wait(10)


def test_dead_processes_are_forgotten_once_no_run_under_way_names_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day_ago = timezone.now() - timedelta(days=1)
    gone = process(pid_started=(processes.identity().pid_started or 0) + 1, heartbeat_at=day_ago)
    owner_of_a_run = owned_by(killed_mid_step(monkeypatch), dead_here())
    ExecutorProcess.objects.filter(pk=owner_of_a_run.executed_by).update(heartbeat_at=day_ago)
    alive_but_quiet = parent_here()
    ExecutorProcess.objects.filter(pk=alive_but_quiet.pk).update(heartbeat_at=day_ago)

    assert processes.forget_dead(timezone.now()) == 1

    assert not ExecutorProcess.objects.filter(pk=gone.pk).exists()
    assert ExecutorProcess.objects.filter(pk=owner_of_a_run.executed_by).exists()
    assert ExecutorProcess.objects.filter(pk=alive_but_quiet.pk).exists()


def test_finished_and_suspended_runs_are_never_marked(api: Client) -> None:
    dead = dead_here()
    for workflow, data in (("greet", {"name": "Ada"}), ("approval", {"name": "Bo"})):
        owned_by(services.start_run(workflow, data), dead)
    assert recovery.mark_interrupted() == []


# -- what people see ---------------------------------------------------------------------------


def test_an_interrupted_run_shows_so_in_its_detail_and_the_runs_list(
    monkeypatch: pytest.MonkeyPatch, api: Client
) -> None:
    run = owned_by(killed_mid_step(monkeypatch), dead_here())
    recovery.mark_interrupted()

    assert api.get(f"/api/runs/{run.run_id}/").json()["status"] == "interrupted"
    listed = api.get("/api/runs/", {"status": "interrupted"}).json()["results"]
    assert [(row["run_id"], row["status"]) for row in listed] == [(run.run_id, "interrupted")]


def test_the_runs_feed_hears_that_a_run_was_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    run = owned_by(killed_mid_step(monkeypatch), dead_here())
    published: list[tuple[str, list[Any], dict[str, Any]]] = []
    monkeypatch.setattr(broadcast, "publish", lambda *args: published.append(args))

    recovery.mark_interrupted()

    ((run_id, events, summary),) = published
    assert (run_id, events, summary["status"]) == (run.run_id, [], "interrupted")


# -- what can be done with it --------------------------------------------------------------------


def test_an_interrupted_run_restarts_from_where_it_stopped_to_its_end(
    monkeypatch: pytest.MonkeyPatch, api: Client
) -> None:
    run = owned_by(killed_mid_step(monkeypatch), dead_here())
    recovery.mark_interrupted()

    response = post_json(api, f"/api/runs/{run.run_id}/restart/", {})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "success"
    assert body["result"] == {"finished": {"done": True}}
    restarted = Run.objects.get(pk=run.pk)
    assert restarted.executed_by == processes.identity().id
    starts = restarted.events.filter(type="run.started").order_by("seq")
    assert [e.payload["mode"] for e in starts] == ["start", "restart"]


def test_an_interrupted_run_can_be_canceled(monkeypatch: pytest.MonkeyPatch, api: Client) -> None:
    run = owned_by(killed_mid_step(monkeypatch), dead_here())
    recovery.mark_interrupted()

    response = post_json(api, f"/api/runs/{run.run_id}/cancel/", {})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    assert Run.objects.get(pk=run.pk).events.last().type == "run.canceled"


def test_restarting_a_run_a_live_process_executes_elsewhere_is_409_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, api: Client
) -> None:
    run = owned_by(killed_mid_step(monkeypatch), parent_here())
    before = recorded()

    response = post_json(api, f"/api/runs/{run.run_id}/restart/", {})

    assert response.status_code == 409
    assert f"pid {os.getppid()}" in response.json()["detail"]
    assert recorded() == before


# -- when it happens -----------------------------------------------------------------------------


def test_a_server_marks_what_a_dead_one_left_before_it_answers_anything(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STEPBACK_RECOVERY = True
    settings.STEPBACK_RECOVERY_ACTION = "mark"
    run = owned_by(killed_mid_step(monkeypatch), dead_here())
    monkeypatch.setattr(recovery, "_running", False)
    checks: list[str] = []
    monkeypatch.setattr(recovery, "_keep_checking", lambda: checks.append("started"))
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        row = await sync_to_async(Run.objects.get)(pk=run.pk)
        seen.append(row.status)

    server = ServerLoopRecorder(app)
    async_to_sync(server)({"type": "http"}, None, None)
    async_to_sync(server)({"type": "http"}, None, None)

    assert seen == ["interrupted", "interrupted"]
    assert checks == ["started"]  # and then every lease period, on a thread of its own


def test_resuming_restarts_what_a_dead_process_left_to_its_end(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STEPBACK_RECOVERY_ACTION = "resume"
    run = owned_by(killed_mid_step(monkeypatch), dead_here())

    assert recovery.resume_interrupted() == [run.run_id]

    resumed = services.wait_for(run.run_id)
    assert resumed.status == "success"
    assert resumed.executed_by == processes.identity().id


def test_an_evented_run_in_one_process_is_restarted_and_on_redis_left_to_redelivery(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STEPBACK_RECOVERY_ACTION = "resume"
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("STEPBACK_REDIS_URL", raising=False)
    alone = owned_by(killed_mid_step(monkeypatch), dead_here())
    Run.objects.filter(pk=alone.pk).update(engine="evented")

    assert recovery.resume_interrupted() == [alone.run_id]
    assert services.wait_for(alone.run_id).status == "success"

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    shared = owned_by(killed_mid_step(monkeypatch), dead_here())
    Run.objects.filter(pk=shared.pk).update(engine="evented")

    assert recovery.resume_interrupted() == [shared.run_id]
    # A worker of the stream takes it: nothing here restarted it.
    assert Run.objects.get(pk=shared.pk).status == "interrupted"


def test_resuming_only_marks_when_the_setting_says_mark(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STEPBACK_RECOVERY_ACTION = "mark"
    run = owned_by(killed_mid_step(monkeypatch), dead_here())

    assert recovery.resume_interrupted() == []

    assert Run.objects.get(pk=run.pk).status == "interrupted"


def test_a_server_with_recovery_turned_off_marks_nothing(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STEPBACK_RECOVERY = False
    run = owned_by(killed_mid_step(monkeypatch), dead_here())
    monkeypatch.setattr(recovery, "_running", False)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    async_to_sync(ServerLoopRecorder(app))({"type": "http"}, None, None)

    assert Run.objects.get(pk=run.pk).status == "running"


def test_an_imported_run_that_was_under_way_arrives_interrupted(
    monkeypatch: pytest.MonkeyPatch, api: Client
) -> None:
    run = killed_mid_step(monkeypatch)
    bundle = exported(api, run.run_id)

    response = post_json(api, "/api/runs/import/?new_id=true", bundle)

    assert response.status_code == 201, response.content
    imported = Run.objects.get(pk=response.json()["run_id"])
    assert (imported.status, imported.executed_by) == ("interrupted", None)
    assert post_json(api, f"/api/runs/{imported.run_id}/restart/", {}).json()["status"] == (
        "success"
    )
