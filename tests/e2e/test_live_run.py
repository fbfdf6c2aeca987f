"""Watching a real run over real websockets served by Daphne: a watcher that leaves and comes
back with its last seq ends up with every event exactly once, and the run never waits for it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import Browser, LiveServer
from tests.e2e.live_workflows import EVENTS

DEADLINE = 30.0


@asynccontextmanager
async def websocket(
    server: LiveServer, browser: Browser, path: str
) -> AsyncIterator[ClientConnection]:
    """A websocket with the browser's session cookie and the site's own origin, past its hello."""
    async with connect(
        f"{server.ws_url}{path}",
        origin=server.base_url,
        additional_headers={"Cookie": browser.cookie_header},
        proxy=None,
        open_timeout=DEADLINE,
    ) as ws:
        hello = await receive(ws)
        assert hello["type"] == "hello", hello
        yield ws


async def receive(ws: ClientConnection, seconds: float = DEADLINE) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), seconds))
    return message


async def events_until(ws: ClientConnection, done: Any) -> list[dict[str, Any]]:
    """Events off the socket until `done(event)` holds for one (that one included)."""
    deadline = time.monotonic() + DEADLINE
    events: list[dict[str, Any]] = []
    while not events or not done(events[-1]):
        message = await receive(ws, deadline - time.monotonic())
        assert message["type"] == "event", message
        events.append(message["event"])
    return events


async def start_run(browser: Browser) -> str:
    status, body = await asyncio.to_thread(
        browser.post_json, "/api/runs/", {"workflow_id": "live-naps", "input": {}}
    )
    assert status == 201, body
    run_id: str = body["run_id"]
    return run_id


async def wait_for_status(feed: ClientConnection, run_id: str, status: str) -> None:
    """Read the runs feed until it reports `run_id` with `status`."""
    deadline = time.monotonic() + DEADLINE
    while True:
        message = await receive(feed, deadline - time.monotonic())
        if message["run"]["run_id"] == run_id and message["run"]["status"] == status:
            return


def assert_every_event_once_ending_in_success(events: list[dict[str, Any]]) -> None:
    assert [e["seq"] for e in events] == list(range(1, EVENTS + 1))
    assert events[0]["type"] == "run.started"
    assert events[-1]["type"] == "run.succeeded"


async def test_a_watcher_back_after_the_run_finished_unwatched_gets_the_rest_once(
    daphne: LiveServer,
) -> None:
    browser = await asyncio.to_thread(daphne.signed_in)
    async with websocket(daphne, browser, "/ws/runs/") as feed:
        run_id = await start_run(browser)
        async with websocket(daphne, browser, f"/ws/runs/{run_id}/?after_seq=0") as ws:
            first_half = await events_until(ws, lambda e: e["seq"] >= EVENTS // 2)

        # Nobody watches the run now; it finishes anyway.
        await wait_for_status(feed, run_id, "success")

        last_seq = first_half[-1]["seq"]
        async with websocket(daphne, browser, f"/ws/runs/{run_id}/?after_seq={last_seq}") as ws:
            rest = await events_until(ws, lambda e: e["type"] == "run.succeeded")

    assert_every_event_once_ending_in_success(first_half + rest)


async def test_a_watcher_reconnecting_at_once_gets_every_event_once_in_order(
    daphne: LiveServer,
) -> None:
    browser = await asyncio.to_thread(daphne.signed_in)
    run_id = await start_run(browser)
    async with websocket(daphne, browser, f"/ws/runs/{run_id}/?after_seq=0") as ws:
        first = await events_until(ws, lambda e: e["seq"] >= 5)

    after = first[-1]["seq"]
    async with websocket(daphne, browser, f"/ws/runs/{run_id}/?after_seq={after}") as ws:
        rest = await events_until(ws, lambda e: e["type"] == "run.succeeded")

    assert_every_event_once_ending_in_success(first + rest)


async def test_a_websocket_without_a_session_is_closed_with_4401(daphne: LiveServer) -> None:
    anonymous = Browser(daphne.base_url)
    async with connect(
        f"{daphne.ws_url}/ws/runs/",
        origin=daphne.base_url,
        additional_headers={"Cookie": anonymous.cookie_header},
        proxy=None,
    ) as ws:
        await asyncio.wait_for(ws.wait_closed(), DEADLINE)

    assert ws.close_code == 4401
