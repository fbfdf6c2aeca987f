"""broadcast.publish: from any thread or loop, in order, to the right groups, never raising."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer

from tests.app.conftest import use_redis_layer
from workflows_app import broadcast
from workflows_app.broadcast import (
    MAX_EVENTS_BYTES,
    RUNS_GROUP,
    Broadcaster,
    run_group,
)


def event(run_id: str, seq: int, **payload: Any) -> dict[str, Any]:
    return {
        "type": "step.started",
        "run_id": run_id,
        "seq": seq,
        "ts": 1.0,
        "path": ["a"],
        "payload": payload,
    }


def summary(run_id: str, seq: int) -> dict[str, Any]:
    return {"run_id": run_id, "status": "running", "seq": seq}


class FailingForBadRunLayer(InMemoryChannelLayer):
    """An in-memory layer whose sends to the group of run "bad" fail."""

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if group == run_group("bad"):
            raise RuntimeError("the layer is down")
        await super().group_send(group, message)


class BlockedLoop:
    """An event loop on a thread of its own, busy until `release()`: a server that lags."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._released = threading.Event()
        self._thread = threading.Thread(target=self.loop.run_forever)
        self._thread.start()
        self.loop.call_soon_threadsafe(self._released.wait)

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        """Stop the loop, cancelling what it still runs, as a server shutting down does."""
        self.release()
        asyncio.run_coroutine_threadsafe(self._cancel_the_rest(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()

    @staticmethod
    async def _cancel_the_rest() -> None:
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)


@pytest.fixture
def blocked_loop() -> Iterator[BlockedLoop]:
    built = BlockedLoop()
    yield built
    if not built.loop.is_closed():
        built.close()


class HangingLayer(InMemoryChannelLayer):
    """An in-memory layer whose sends never finish off the main thread (a server that hangs)."""

    hanging = threading.Event()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if threading.current_thread() is not threading.main_thread():
            HangingLayer.hanging.set()
            await asyncio.Event().wait()
        await super().group_send(group, message)


@pytest.fixture
def memory_layer(settings: Any) -> Any:
    """The in-memory channel layer (whatever the environment configured)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return get_channel_layer()


@pytest.fixture
def redis_layer(settings: Any) -> Any:
    """The Redis channel layer, with a prefix of its own. Redis must be running."""
    use_redis_layer(settings)
    return get_channel_layer()


@pytest.fixture
def broadcaster() -> Iterator[Broadcaster]:
    """A broadcaster of its own (no loop attached), closed afterwards."""
    built = Broadcaster()
    yield built
    built.close()


@pytest.fixture
async def watcher(memory_layer: Any) -> str:
    """A channel in the group of run "r1", on the test's loop."""
    channel: str = await memory_layer.new_channel()
    await memory_layer.group_add(run_group("r1"), channel)
    return channel


async def receive(layer: Any, channel: str, count: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(count)]


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for m in messages for e in m["events"]]


async def test_publish_from_another_thread_reaches_the_group_in_publish_order(
    memory_layer: Any, watcher: str, broadcaster: Broadcaster
) -> None:
    broadcaster.attach_loop()

    def publish_all() -> None:
        for seq in range(1, 41):
            broadcaster.publish("r1", [event("r1", seq)], summary("r1", seq))

    await asyncio.to_thread(publish_all)

    assert seqs(await receive(memory_layer, watcher, 40)) == list(range(1, 41))


async def test_publish_from_another_event_loop_reaches_the_group_in_publish_order(
    memory_layer: Any, watcher: str, broadcaster: Broadcaster
) -> None:
    broadcaster.attach_loop()

    async def publish_all() -> None:
        for seq in range(1, 21):
            broadcaster.publish("r1", [event("r1", seq), event("r1", seq + 100)], {})
            await asyncio.sleep(0)

    await asyncio.to_thread(asyncio.run, publish_all())

    expected = [s for seq in range(1, 21) for s in (seq, seq + 100)]
    assert seqs(await receive(memory_layer, watcher, 20)) == expected


async def test_publish_sends_events_to_the_run_group_and_the_summary_to_the_runs_group(
    memory_layer: Any, watcher: str, broadcaster: Broadcaster
) -> None:
    feed = await memory_layer.new_channel()
    await memory_layer.group_add(RUNS_GROUP, feed)
    broadcaster.attach_loop()

    broadcaster.publish("r1", [event("r1", 1)], summary("r1", 1))

    assert await receive(memory_layer, watcher, 1) == [
        {"type": "run.events", "run_id": "r1", "events": [event("r1", 1)]}
    ]
    [message] = await receive(memory_layer, feed, 1)
    assert message["type"] == "runs.changed"
    assert message["runs"] == [summary("r1", 1)]


async def test_one_round_sends_the_runs_feed_the_newest_summary_of_each_run_numbered(
    memory_layer: Any,
    broadcaster: Broadcaster,
    blocked_loop: BlockedLoop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broadcast, "TAIL_SECONDS", 60.0)  # no tail between the two rounds
    feed = await memory_layer.new_channel()
    await memory_layer.group_add(RUNS_GROUP, feed)
    broadcaster.attach_loop(blocked_loop.loop)  # everything below queues into one round
    for seq in range(1, 4):
        for run_id in ("r1", "r2"):
            broadcaster.publish(run_id, [event(run_id, seq)], summary(run_id, seq))
    blocked_loop.release()
    assert await asyncio.to_thread(broadcaster.flush, 5.0)
    broadcaster.publish("r1", [], summary("r1", 4))
    assert await asyncio.to_thread(broadcaster.flush, 5.0)

    first, second = await receive(memory_layer, feed, 2)

    assert first["runs"] == [summary("r1", 3), summary("r2", 3)]
    assert second["runs"] == [summary("r1", 4)]
    assert (first["origin"], second["origin"]) == (broadcaster._origin, broadcaster._origin)
    assert second["seq"] == first["seq"] + 1


async def test_the_last_round_is_followed_by_a_numbered_feed_message_without_runs(
    memory_layer: Any, broadcaster: Broadcaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watcher that lost the last round hears nothing more from this process unless
    something follows it: the tail's number shows the gap, and the watcher resyncs."""
    monkeypatch.setattr(broadcast, "TAIL_SECONDS", 0.05)
    feed = await memory_layer.new_channel()
    await memory_layer.group_add(RUNS_GROUP, feed)
    broadcaster.attach_loop()

    broadcaster.publish("r1", [], summary("r1", 1))

    last, tail = await receive(memory_layer, feed, 2)
    assert last["runs"] == [summary("r1", 1)]
    assert tail["runs"] == []
    assert (tail["origin"], tail["seq"]) == (last["origin"], last["seq"] + 1)


async def test_a_batch_too_large_to_carry_is_sent_as_its_last_seq(
    memory_layer: Any, watcher: str, broadcaster: Broadcaster
) -> None:
    broadcaster.attach_loop()
    big = "x" * MAX_EVENTS_BYTES

    broadcaster.publish("r1", [event("r1", 7), event("r1", 8, blob=big)], summary("r1", 8))

    assert await receive(memory_layer, watcher, 1) == [
        {"type": "run.events", "run_id": "r1", "events": [], "last_seq": 8}
    ]


async def test_events_that_are_not_json_are_sent_as_their_last_seq_without_raising(
    memory_layer: Any, watcher: str, broadcaster: Broadcaster
) -> None:
    broadcaster.attach_loop()

    broadcaster.publish("r1", [event("r1", 3, when=object())], summary("r1", 3))

    assert await receive(memory_layer, watcher, 1) == [
        {"type": "run.events", "run_id": "r1", "events": [], "last_seq": 3}
    ]


async def test_a_failing_layer_never_raises_and_later_messages_still_go_out(
    settings: Any, broadcaster: Broadcaster, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "tests.app.test_broadcast.FailingForBadRunLayer"}
    }
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(run_group("good"), channel)
    broadcaster.attach_loop()

    with caplog.at_level(logging.ERROR, logger="workflows_app.broadcast"):
        broadcaster.publish("bad", [event("bad", 1)], summary("bad", 1))
        broadcaster.publish("good", [event("good", 1)], summary("good", 1))
        assert seqs(await receive(layer, channel, 1)) == [1]

    assert "could not send a live message to group run.bad" in caplog.text


async def test_flush_waits_until_every_published_message_was_sent(
    memory_layer: Any, broadcaster: Broadcaster
) -> None:
    broadcaster.attach_loop()
    for seq in range(1, 6):
        broadcaster.publish("r1", [event("r1", seq)], summary("r1", seq))

    assert await asyncio.to_thread(broadcaster.flush, 5.0) is True
    assert broadcaster.pending == 0


def test_flush_gives_up_after_its_timeout_while_the_loop_cannot_send(
    memory_layer: Any, broadcaster: Broadcaster, blocked_loop: BlockedLoop
) -> None:
    broadcaster.attach_loop(blocked_loop.loop)
    broadcaster.publish("r1", [event("r1", 1)], summary("r1", 1))

    assert broadcaster.flush(0.05) is False
    blocked_loop.release()
    assert broadcaster.flush(5.0) is True


def test_a_lagging_server_keeps_only_the_newest_messages(
    memory_layer: Any,
    broadcaster: Broadcaster,
    blocked_loop: BlockedLoop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broadcast, "MAX_OUTBOX", 4)
    broadcaster.attach_loop(blocked_loop.loop)

    for seq in range(1, 11):
        broadcaster.publish("r1", [event("r1", seq)], summary("r1", seq))

    assert broadcaster.pending == 4


async def test_messages_queued_for_a_server_loop_that_closed_go_out_on_the_next_one(
    memory_layer: Any, watcher: str, broadcaster: Broadcaster
) -> None:
    gone = asyncio.new_event_loop()  # a server loop that closes before it ever drains
    broadcaster.attach_loop(gone)
    for seq in range(1, 4):
        broadcaster.publish("r1", [event("r1", seq)], summary("r1", seq))
    gone.close()

    broadcaster.attach_loop()

    assert seqs(await receive(memory_layer, watcher, 3)) == [1, 2, 3]


async def test_the_message_in_flight_when_its_loop_shuts_down_goes_out_on_the_next_loop(
    settings: Any, broadcaster: Broadcaster, blocked_loop: BlockedLoop
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.app.test_broadcast.HangingLayer"}}
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(run_group("r1"), channel)
    broadcaster.attach_loop(blocked_loop.loop)
    for seq in range(1, 4):
        broadcaster.publish("r1", [event("r1", seq)], summary("r1", seq))
    blocked_loop.release()
    assert await asyncio.to_thread(HangingLayer.hanging.wait, 5)
    await asyncio.to_thread(blocked_loop.close)  # cancels the send in flight

    broadcaster.attach_loop()

    assert seqs(await receive(layer, channel, 3)) == [1, 2, 3]


def test_without_a_server_loop_the_in_memory_layer_drops_messages_at_once(
    memory_layer: Any, broadcaster: Broadcaster
) -> None:
    broadcaster.publish("r1", [event("r1", 1)], summary("r1", 1))

    assert broadcaster.pending == 0
    assert broadcaster.flush(0) is True


async def test_without_a_server_loop_redis_messages_go_out_from_the_broadcasters_thread(
    redis_layer: Any, broadcaster: Broadcaster
) -> None:
    channel = await redis_layer.new_channel()
    await redis_layer.group_add(run_group("r1"), channel)

    for seq in range(1, 11):
        broadcaster.publish("r1", [event("r1", seq)], summary("r1", seq))
    assert await asyncio.to_thread(broadcaster.flush, 5.0) is True

    assert seqs(await receive(redis_layer, channel, 10)) == list(range(1, 11))


async def test_publish_from_another_thread_reaches_a_redis_group_in_publish_order(
    redis_layer: Any, broadcaster: Broadcaster
) -> None:
    channel = await redis_layer.new_channel()
    await redis_layer.group_add(run_group("r1"), channel)
    broadcaster.attach_loop()

    def publish_all() -> None:
        for seq in range(1, 31):
            broadcaster.publish("r1", [event("r1", seq)], summary("r1", seq))

    await asyncio.to_thread(publish_all)

    assert seqs(await receive(redis_layer, channel, 30)) == list(range(1, 31))


@pytest.mark.parametrize("run_id", ["0f3a9c", "run_1.a-b", "has space/and:colon", "é" * 64])
def test_every_run_id_gets_a_valid_group_name(memory_layer: Any, run_id: str) -> None:
    assert memory_layer.require_valid_group_name(run_group(run_id))


def test_run_ids_that_are_not_group_names_get_distinct_groups() -> None:
    assert run_group("a b") != run_group("a:b")
    assert run_group("a b") != run_group("ab")


# -- skipping messages nobody can receive ---------------------------------------------------


def test_nothing_is_wanted_without_a_server_loop_on_the_in_memory_layer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert Broadcaster()._deliverable() is False


def test_a_server_loop_makes_messages_wanted() -> None:
    caster = Broadcaster()
    loop = asyncio.new_event_loop()
    try:
        caster.attach_loop(loop)
        assert caster._deliverable() is True
    finally:
        loop.close()


def test_a_cross_process_layer_is_wanted_even_without_a_server_loop(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"]},
        }
    }
    assert Broadcaster()._deliverable() is True
