"""A run started over the API executes on a separate evented worker process, and its events
reach a websocket watcher live through the Redis channel layer.

The server (`STEPBACK_ENGINE=evented`, `REDIS_URL` set) only prepares and publishes: started
before any worker runs, the run does not move. Once `manage.py stepback_worker --engine
evented` starts, it executes the run and every event reaches the watcher, in order, once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import REDIS_URL, REPO, LiveServer, launch, prepared_database, serving
from tests.e2e.test_live_run import (
    assert_every_event_once_ending_in_success,
    events_until,
    start_run,
    websocket,
)


@pytest.fixture(scope="module")
def evented(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, str], Path]]:
    redis_url = os.environ.get("STEPBACK_TEST_REDIS_URL") or REDIS_URL
    directory = tmp_path_factory.mktemp("evented")
    env = prepared_database(directory, redis_url)
    env.update(
        STEPBACK_ENGINE="evented", STEPBACK_EVENTED_PREFIX=f"stepback:e2e:{uuid.uuid4().hex}"
    )
    failed_before = request.session.testsfailed
    yield from (
        (server, env, directory)
        for server in serving(request, launch(env, directory), failed_before)
    )


def _worker(env: dict[str, str], directory: Path) -> subprocess.Popen[bytes]:
    with (directory / "worker.log").open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "manage.py", "stepback_worker", "--engine", "evented"],
            cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def test_a_run_started_over_the_api_runs_on_a_worker_and_is_watched_live(
    evented: tuple[LiveServer, dict[str, str], Path],
) -> None:
    server, env, directory = evented
    browser = await asyncio.to_thread(server.signed_in)
    run_id = await start_run(browser)
    await asyncio.sleep(1.0)
    status, body = await asyncio.to_thread(browser.get_json, f"/api/runs/{run_id}/")
    assert status == 200, body
    assert body["status"] in ("pending", "running"), body  # nobody executes it yet
    assert not any(s.get("status") == "success" for s in (body.get("steps") or {}).values())

    worker = _worker(env, directory)
    try:
        async with websocket(server, browser, f"/ws/runs/{run_id}/?after_seq=0") as ws:
            events = await events_until(ws, lambda e: e["type"] == "run.succeeded")
        assert_every_event_once_ending_in_success(events)
    finally:
        worker.terminate()
        worker.wait(30)
    log = (directory / "worker.log").read_text()
    assert worker.returncode == 0, log
