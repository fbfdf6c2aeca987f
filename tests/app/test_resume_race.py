"""Two real processes race to resume one suspended run; the storage lets exactly one through.

The guards inside a process (`Engine.is_active`, `Executor.in_flight`, the services' prepare
lock) cannot see another process. What can is the storage's compare-and-set on the run's `seq`:
both processes load the run at the same seq and number their first event alike, so the second
write is refused with `RunConflictError`, and the run is resumed once.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from engines import DefaultEngine
from tests.app.resume_racer import APPROVAL
from tests.storages import sync_thread_connections_closed  # noqa: F401  (a fixture)
from workflows_app.storage import DjangoStorage

REPO = Path(__file__).resolve().parents[2]


def _child_environment() -> dict[str, str]:
    """The environment of a process of the app on the test database."""
    db: dict[str, Any] = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "workflows_app.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if connection.vendor == "sqlite":
        env["STEPBACK_SQLITE_PATH"] = str(db["NAME"])
    else:
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    return env


async def _racer(run_id: str, name: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.app.resume_racer",
        run_id,
        name,
        cwd=REPO,
        env=_child_environment(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sync_thread_connections_closed")
async def test_two_processes_resuming_one_run_at_once_resume_it_once() -> None:
    engine = DefaultEngine(storage=DjangoStorage())
    started = await APPROVAL.create_run(engine=engine).start(input_data={})
    assert started.status == "suspended"
    racers = {name: await _racer(started.run_id, name) for name in ("ann", "bob")}
    for proc in racers.values():
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line.decode().strip() == "prepared", (await proc.communicate())[1].decode()

    for proc in racers.values():
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    said = {}
    for name, proc in racers.items():
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        said[name] = out.decode().strip()

    assert sorted(said.values()) == ["refused", "resumed success"]
    winner = next(name for name, words in said.items() if words.startswith("resumed"))
    stored = await engine.storage.load(started.run_id)
    assert stored.status == "success"
    assert stored.result == {"by": winner}
    events = await engine.storage.read_events(started.run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    resumes = [e for e in events if e.type == "run.started" and e.payload["mode"] == "resume"]
    assert len(resumes) == 1
    assert resumes[0].payload["resume"]["data"] == {"by": winner}
