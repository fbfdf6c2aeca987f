"""The live protocol through the real ASGI application (origin check, session auth, routing),
on the in-memory and the Redis channel layer alike."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from django.utils import timezone

from tests.app.conftest import use_redis_layer
from workflows_app import broadcast
from workflows_app.asgi import application
from workflows_app.broadcast import MAX_EVENTS_BYTES
from workflows_app.models import Event, Run

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")
TIMEOUT = 5


@pytest.fixture(autouse=True, params=["memory", "redis"])
def layer(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    """Every test runs on both channel layers; Redis must be running (no skipping)."""
    if request.param == "memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        use_redis_layer(settings)
    yield request.param
    # Whatever this test published went out before the next test changes the layer.
    assert broadcast.flush(TIMEOUT)


@pytest.fixture(autouse=True)
async def close_consumer_connections() -> AsyncIterator[None]:
    """Close the database connections the consumers opened on asgiref's sync thread.

    With a persistent connection (`conn_max_age`, as for PostgreSQL) they would outlive the
    test and keep the test database from being dropped.
    """
    yield
    await sync_to_async(connections.close_all)()


def headers_for(user: User | None, origin: tuple[bytes, bytes] = ORIGIN) -> list[Any]:
    """An Origin header, and the session cookie of `user` signed in (none for None)."""
    headers = [origin]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


@pytest.fixture
def as_viewer(viewer: User) -> list[Any]:
    return headers_for(viewer)


@pytest.fixture
def as_outsider(outsider: User) -> list[Any]:
    return headers_for(outsider)


def stored(run_id: str, seq: int) -> dict[str, Any]:
    """Event `seq` of a run as the database holds it (and as the storage publishes it)."""
    return {
        "type": "step.started",
        "run_id": run_id,
        "seq": seq,
        "ts": float(seq),
        "path": ["a"],
        "payload": {"n": seq},
    }


@sync_to_async
def store_events(run_id: str, seqs: Iterable[int]) -> None:
    """Write the run (when new) and events `seqs`, as a storage write would."""
    seqs = list(seqs)
    now = timezone.now()
    Run.objects.get_or_create(
        run_id=run_id,
        defaults={"workflow_id": "live", "status": "running", "created_at": now, "updated_at": now},
    )
    Event.objects.bulk_create(
        Event(run_id=run_id, seq=s, type="step.started", path="a", ts=float(s), payload={"n": s})
        for s in seqs
    )
    Run.objects.filter(pk=run_id).update(seq=max(seqs, default=0))


async def new_run(seqs: Iterable[int] = range(1, 4)) -> str:
    run_id = uuid.uuid4().hex
    await store_events(run_id, seqs)
    return run_id


@asynccontextmanager
async def socket(path: str, headers: list[Any]) -> AsyncIterator[WebsocketCommunicator]:
    """An accepted websocket on the real application, disconnected afterwards."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    try:
        yield communicator
    finally:
        await communicator.disconnect()


@asynccontextmanager
async def watching(
    run_id: str, headers: list[Any], after_seq: int = 0
) -> AsyncIterator[WebsocketCommunicator]:
    """A run socket past its hello (so it has joined the run's group)."""
    async with socket(f"/ws/runs/{run_id}/?after_seq={after_seq}", headers) as communicator:
        hello = await communicator.receive_json_from(TIMEOUT)
        assert hello["type"] == "hello"
        yield communicator


async def close_code(path: str, headers: list[Any]) -> int | None:
    async with socket(path, headers) as communicator:
        message = await communicator.receive_output(TIMEOUT)
    assert message["type"] == "websocket.close"
    return message.get("code")


async def received_seqs(communicator: WebsocketCommunicator, count: int) -> list[int]:
    messages = [await communicator.receive_json_from(TIMEOUT) for _ in range(count)]
    assert {m["type"] for m in messages} == {"event"}
    return [m["event"]["seq"] for m in messages]


def publish(run_id: str, seqs: Iterable[int], summary: dict[str, Any] | None = None) -> None:
    broadcast.publish(run_id, [stored(run_id, s) for s in seqs], summary or {"run_id": run_id})


# -- who may watch ---------------------------------------------------------------------------


async def test_an_anonymous_visitor_is_closed_with_4401() -> None:
    run_id = await new_run()
    assert await close_code(f"/ws/runs/{run_id}/", headers_for(None)) == 4401


async def test_an_anonymous_visitor_of_the_runs_feed_is_closed_with_4401() -> None:
    assert await close_code("/ws/runs/", headers_for(None)) == 4401


async def test_a_foreign_origin_is_refused_before_the_handshake(as_viewer: list[Any]) -> None:
    run_id = await new_run()
    headers = [h for h in as_viewer if h[0] != b"origin"] + [(b"origin", b"http://evil.example")]
    communicator = WebsocketCommunicator(application, f"/ws/runs/{run_id}/", headers=headers)

    connected, _ = await communicator.connect(timeout=TIMEOUT)

    assert connected is False


async def test_a_user_without_view_permission_is_closed_with_4403(as_outsider: list[Any]) -> None:
    run_id = await new_run()
    assert await close_code(f"/ws/runs/{run_id}/", as_outsider) == 4403


async def test_an_unknown_run_is_closed_with_4404(as_viewer: list[Any]) -> None:
    assert await close_code("/ws/runs/no-such-run/", as_viewer) == 4404


@pytest.mark.parametrize(
    "path",
    ["/ws/nothing-here/", "/ws/runs/a/b/", "/ws/runs/" + "r" * 65 + "/", "/ws/runs/a%00b/"],
    ids=["unknown path", "nested path", "run id over 64 characters", "NUL in the run id"],
)
async def test_an_address_that_is_no_run_is_closed_with_4404(
    as_viewer: list[Any], path: str
) -> None:
    assert await close_code(path, as_viewer) == 4404


async def test_an_after_seq_that_is_not_a_seq_is_closed_with_4400(as_viewer: list[Any]) -> None:
    run_id = await new_run()
    assert await close_code(f"/ws/runs/{run_id}/?after_seq=-1", as_viewer) == 4400


# -- catch-up ----------------------------------------------------------------------------------


async def test_hello_carries_the_run_summary_and_its_last_seq(as_viewer: list[Any]) -> None:
    run_id = await new_run(range(1, 8))
    async with socket(f"/ws/runs/{run_id}/?after_seq=7", as_viewer) as communicator:
        hello = await communicator.receive_json_from(TIMEOUT)

    assert hello["type"] == "hello"
    assert hello["last_seq"] == 7
    assert hello["run"]["run_id"] == run_id
    assert hello["run"]["status"] == "running"


async def test_catch_up_sends_every_stored_event_after_after_seq_in_order(
    as_viewer: list[Any],
) -> None:
    run_id = await new_run(range(1, 1101))  # more than two chunks of 500
    async with watching(run_id, as_viewer, after_seq=2) as communicator:
        messages = [await communicator.receive_json_from(TIMEOUT) for _ in range(1098)]

    assert [m["event"]["seq"] for m in messages] == list(range(3, 1101))
    assert messages[0] == {"type": "event", "event": stored(run_id, 3)}


async def test_a_client_catch_up_request_sends_the_stored_events_again(
    as_viewer: list[Any],
) -> None:
    run_id = await new_run(range(1, 4))
    async with watching(run_id, as_viewer) as communicator:
        assert await received_seqs(communicator, 3) == [1, 2, 3]

        await communicator.send_json_to({"type": "catch_up", "after_seq": 1})

        assert await received_seqs(communicator, 2) == [2, 3]


async def test_a_malformed_client_message_gets_an_error_and_the_socket_stays_open(
    as_viewer: list[Any],
) -> None:
    run_id = await new_run(range(1, 2))
    async with watching(run_id, as_viewer) as communicator:
        assert await received_seqs(communicator, 1) == [1]

        await communicator.send_to(text_data="not json")
        assert (await communicator.receive_json_from(TIMEOUT))["type"] == "error"
        await communicator.send_json_to({"type": "catch_up", "after_seq": "one"})
        assert (await communicator.receive_json_from(TIMEOUT))["type"] == "error"

        await communicator.send_json_to({"type": "catch_up", "after_seq": 0})
        assert await received_seqs(communicator, 1) == [1]


# -- live --------------------------------------------------------------------------------------


async def test_live_events_follow_the_catch_up_in_order_without_duplicates(
    as_viewer: list[Any],
) -> None:
    run_id = await new_run(range(1, 4))
    async with watching(run_id, as_viewer) as communicator:
        assert await received_seqs(communicator, 3) == [1, 2, 3]

        await store_events(run_id, range(4, 7))
        publish(run_id, [2, 3, 4])  # 2 and 3 were already sent by the catch-up
        publish(run_id, [4, 5])
        publish(run_id, [5, 6])

        assert await received_seqs(communicator, 3) == [4, 5, 6]


async def test_a_gap_in_the_live_events_is_read_from_the_database(as_viewer: list[Any]) -> None:
    run_id = await new_run(range(1, 4))
    async with watching(run_id, as_viewer) as communicator:
        assert await received_seqs(communicator, 3) == [1, 2, 3]

        await store_events(run_id, range(4, 8))
        publish(run_id, [7])  # 4..6 never arrived live

        assert await received_seqs(communicator, 4) == [4, 5, 6, 7]


async def test_a_batch_too_large_to_carry_is_read_from_the_database(as_viewer: list[Any]) -> None:
    run_id = await new_run(range(1, 3))
    async with watching(run_id, as_viewer) as communicator:
        assert await received_seqs(communicator, 2) == [1, 2]

        await store_events(run_id, range(3, 5))
        big = stored(run_id, 4) | {"payload": {"blob": "x" * MAX_EVENTS_BYTES}}
        broadcast.publish(run_id, [stored(run_id, 3), big], {"run_id": run_id})

        messages = [await communicator.receive_json_from(TIMEOUT) for _ in range(2)]
        assert messages == [
            {"type": "event", "event": stored(run_id, 3)},
            {"type": "event", "event": stored(run_id, 4)},
        ]


async def test_events_published_from_a_run_thread_arrive_in_seq_order(
    as_viewer: list[Any],
) -> None:
    run_id = await new_run(range(1, 2))
    async with watching(run_id, as_viewer) as communicator:
        assert await received_seqs(communicator, 1) == [1]

        def run_thread() -> None:  # as the executor's loop thread stores, then publishes
            try:
                for first in range(2, 62, 3):
                    seqs = range(first, first + 3)
                    Event.objects.bulk_create(
                        Event(run_id=run_id, seq=s, type="step.started", path="a", ts=float(s))
                        for s in seqs
                    )
                    publish(run_id, seqs)
            finally:
                connections.close_all()

        await asyncio.to_thread(run_thread)

        assert await received_seqs(communicator, 60) == list(range(2, 62))


async def test_the_runs_feed_forwards_every_summary_change(as_viewer: list[Any]) -> None:
    async with socket("/ws/runs/", as_viewer) as communicator:
        assert await communicator.receive_json_from(TIMEOUT) == {"type": "hello"}

        summary = {"run_id": "r1", "status": "success", "seq": 9}
        broadcast.publish("r1", [], summary)

        assert await communicator.receive_json_from(TIMEOUT) == {"type": "run", "run": summary}


def feed_message(origin: str, seq: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    sent_at = timezone.now().timestamp()
    return {"type": "runs.changed", "runs": runs, "origin": origin, "seq": seq, "sent_at": sent_at}


async def test_a_runs_feed_watcher_that_missed_messages_is_told_and_resynced_from_the_database(
    as_viewer: list[Any],
) -> None:
    missed_run = await new_run(range(1, 2))  # its summary travels in the message that is lost
    await sync_to_async(Run.objects.filter(pk=missed_run).update)(status="success")
    layer = get_channel_layer()
    async with socket("/ws/runs/", as_viewer) as communicator:
        assert await communicator.receive_json_from(TIMEOUT) == {"type": "hello"}

        await layer.group_send(broadcast.RUNS_GROUP, feed_message("p1", 1, [{"run_id": "a"}]))
        first = await communicator.receive_json_from(TIMEOUT)
        assert first == {"type": "run", "run": {"run_id": "a"}}
        await layer.group_send(broadcast.RUNS_GROUP, feed_message("p1", 3, [{"run_id": "b"}]))

        told = await communicator.receive_json_from(TIMEOUT)
        assert told["type"] == "resync"
        assert told["complete"] is True
        resent = [await communicator.receive_json_from(TIMEOUT)]
        while resent[-1]["run"]["run_id"] != "b":
            resent.append(await communicator.receive_json_from(TIMEOUT))
        statuses = {m["run"]["run_id"]: m["run"]["status"] for m in resent[:-1]}
        assert statuses[missed_run] == "success"


async def test_a_second_gap_soon_after_a_resync_is_resynced_once_its_interval_passed(
    as_viewer: list[Any],
) -> None:
    layer = get_channel_layer()
    async with socket("/ws/runs/", as_viewer) as communicator:
        assert await communicator.receive_json_from(TIMEOUT) == {"type": "hello"}
        for seq in (1, 3, 5):  # two gaps, the second right after the first resync
            await layer.group_send(broadcast.RUNS_GROUP, feed_message("p1", seq, []))

        types = []
        while types.count("resync") < 2:
            types.append((await communicator.receive_json_from(TIMEOUT))["type"])

        assert types[0] == "resync"
        assert types.count("resync") == 2


async def test_runs_feed_messages_of_two_processes_are_numbered_apart(
    as_viewer: list[Any],
) -> None:
    layer = get_channel_layer()
    async with socket("/ws/runs/", as_viewer) as communicator:
        assert await communicator.receive_json_from(TIMEOUT) == {"type": "hello"}

        for origin, seq, run_id in (("p1", 5, "a"), ("p2", 1, "b"), ("p1", 6, "c")):
            message = feed_message(origin, seq, [{"run_id": run_id}])
            await layer.group_send(broadcast.RUNS_GROUP, message)

        received = [await communicator.receive_json_from(TIMEOUT) for _ in range(3)]
        assert [m["type"] for m in received] == ["run", "run", "run"]


async def test_a_watcher_leaving_does_not_stop_the_others(as_viewer: list[Any]) -> None:
    run_id = await new_run(range(1, 2))
    async with watching(run_id, as_viewer) as staying:
        assert await received_seqs(staying, 1) == [1]
        async with watching(run_id, as_viewer) as leaving:
            assert await received_seqs(leaving, 1) == [1]

        await store_events(run_id, [2])
        publish(run_id, [2])

        assert await received_seqs(staying, 1) == [2]
