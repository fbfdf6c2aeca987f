"""Runs in the states a crash leaves behind, and the processes that owned them: for the tests
of interrupted runs, and the fuzzing that calls the API on every kind of run."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from engines import Workflow
from engines.core.engine import Execution
from tests.app import workflows_fixture
from workflows_app import processes, services
from workflows_app.models import ExecutorProcess, Run


class Taken:
    """An executor that takes executions and keeps them, so the test runs them itself."""

    def __init__(self) -> None:
        self.taken: list[tuple[Workflow, Execution]] = []

    def submit(self, workflow: Workflow, execution: Execution) -> None:
        self.taken.append((workflow, execution))

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        return True

    def in_flight(self, run_id: str) -> bool:
        return False


def killed_mid_step(monkeypatch: pytest.MonkeyPatch) -> Run:
    """A `stalling` run whose process died in its first step: the run is stored `running`,
    its step under way, and its executing task is gone."""
    taken = Taken()
    with monkeypatch.context() as patch:
        patch.setattr(services, "executor", lambda: taken)
        run = services.start_run("stalling", "go")
    ((workflow, execution),) = taken.taken

    async def die() -> None:
        entered = asyncio.Event()
        workflows_fixture.STALL_NEXT.append(entered)
        task = asyncio.ensure_future(services.engine().execute(workflow, execution))
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    async_to_sync(die)()
    stored = Run.objects.get(pk=run.run_id)
    assert (stored.status, stored.seq) == ("running", 1)
    return stored


def process(**fields: Any) -> ExecutorProcess:
    """An executor process row; by default this machine's, heard from just now."""
    me = processes.identity()
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": os.urandom(8).hex(),
        "host": me.host,
        "machine": me.machine,
        "pid": me.pid,
        "pid_started": me.pid_started,
        "started_at": now,
        "heartbeat_at": now,
    }
    values.update(fields)
    return ExecutorProcess.objects.create(**values)


def owned_by(run: Run, owner: ExecutorProcess) -> Run:
    Run.objects.filter(pk=run.pk).update(executed_by=owner.id)
    return Run.objects.get(pk=run.pk)


def dead_here() -> ExecutorProcess:
    """A process of this machine that is gone: its pid now belongs to another process (this
    one), which started at another moment."""
    return process(pid_started=(processes.identity().pid_started or 0) + 1)


def parent_here() -> ExecutorProcess:
    """A live process of this machine other than this one: the one that started the tests."""
    parent = os.getppid()
    return process(pid=parent, pid_started=processes._pid_started(parent))


def elsewhere(heard: timedelta) -> ExecutorProcess:
    """A process of another machine, heard from `heard` ago."""
    return process(host="other", machine="other|boot|ns", heartbeat_at=datetime.now(UTC) - heard)
