"""Servers sharing one database: a server killed mid-run leaves its run `interrupted`, which the
next server says before it answers anything and restarts to its end; a run that a live server
executes is never touched by another one starting."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, launch, prepared_database
from tests.e2e.live_workflows import EVENTS
from tests.e2e.test_live_run import events_until, websocket


class Servers:
    """Daphne processes on one database, stopped at the end (the killed ones are gone)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = prepared_database(directory, os.environ.get("REDIS_URL") or None)
        self.running: list[LiveServer] = []

    def start(self, name: str) -> LiveServer:
        server = launch(self.env, self.directory, name)
        self.running.append(server)
        return server


@pytest.fixture
def servers(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Servers]:
    group = Servers(tmp_path)
    failed_before = request.session.testsfailed
    try:
        yield group
    finally:
        for server in group.running:
            if server.process.poll() is None:
                server.stop()
        if request.session.testsfailed > failed_before:
            capture = request.config.pluginmanager.getplugin("capturemanager")
            with capture.global_and_fixture_disabled():
                for server in group.running:
                    print(f"\n--- {server.log.name} ---\n{server.output()}")


async def call(action: Any, *args: Any) -> tuple[int, Any]:
    result: tuple[int, Any] = await asyncio.to_thread(action, *args)
    return result


async def test_a_run_of_a_killed_server_is_interrupted_and_restarts_to_its_end(
    servers: Servers,
) -> None:
    first = servers.start("first")
    browser = first.signed_in()
    status, body = await call(browser.post_json, "/api/runs/", {"workflow_id": "live-naps"})
    assert status == 201, body
    run_id = body["run_id"]
    async with websocket(first, browser, f"/ws/runs/{run_id}/") as ws:
        await events_until(ws, lambda event: event["seq"] >= 6)
    first.kill()

    servers.env["STEPBACK_RECOVERY_ACTION"] = "mark"  # the next server only marks it
    second = servers.start("second")
    browser = second.signed_in()
    status, body = await call(browser.get_json, f"/api/runs/{run_id}/")
    assert status == 200, body
    assert body["status"] == "interrupted"
    assert 6 <= body["seq"] < EVENTS
    status, page = await call(browser.get_json, "/api/runs/?status=interrupted")
    assert [row["run_id"] for row in page["results"]] == [run_id]

    async with websocket(second, browser, f"/ws/runs/{run_id}/?after_seq={body['seq']}") as ws:
        status, restarted = await call(browser.post_json, f"/api/runs/{run_id}/restart/", {})
        assert status == 200, restarted
        events = await events_until(ws, lambda event: event["type"] == "run.succeeded")

    assert events[0]["type"] == "run.started"
    assert events[0]["payload"]["mode"] == "restart"
    status, body = await call(browser.get_json, f"/api/runs/{run_id}/")
    assert body["status"] == "success"
    assert body["result"] == {"naps": 20}


async def test_a_run_of_a_killed_server_is_resumed_to_its_end_by_the_next_server(
    servers: Servers,
) -> None:
    first = servers.start("first")
    browser = first.signed_in()
    status, body = await call(browser.post_json, "/api/runs/", {"workflow_id": "live-naps"})
    assert status == 201, body
    run_id = body["run_id"]
    async with websocket(first, browser, f"/ws/runs/{run_id}/") as ws:
        await events_until(ws, lambda event: event["seq"] >= 6)
    first.kill()

    second = servers.start("second")
    browser = second.signed_in()
    async with websocket(second, browser, f"/ws/runs/{run_id}/?after_seq=0") as ws:
        events = await events_until(ws, lambda event: event["type"] == "run.succeeded")

    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    restarts = [e for e in events if e["type"] == "run.started" and e["seq"] > 1]
    assert [e["payload"]["mode"] for e in restarts] == ["restart"]
    status, body = await call(browser.get_json, f"/api/runs/{run_id}/")
    assert body["status"] == "success"
    assert body["result"] == {"naps": 20}


async def test_a_run_a_live_server_executes_is_never_touched_by_another_starting(
    servers: Servers,
) -> None:
    first = servers.start("first")
    browser = first.signed_in()
    status, body = await call(browser.post_json, "/api/runs/", {"workflow_id": "live-hold"})
    assert status == 201, body
    run_id = body["run_id"]
    async with websocket(first, browser, f"/ws/runs/{run_id}/") as ws:
        await events_until(ws, lambda event: event["type"] == "step.started")

        second = servers.start("second")
        other = second.signed_in()
        status, seen = await call(other.get_json, f"/api/runs/{run_id}/")
        assert (status, seen["status"]) == (200, "running")
        status, refused = await call(other.post_json, f"/api/runs/{run_id}/restart/", {})
        assert status == 409, refused

        status, _ = await call(browser.post_json, f"/api/runs/{run_id}/cancel/", {})
        assert status == 200
        await events_until(ws, lambda event: event["type"] == "run.canceled")
