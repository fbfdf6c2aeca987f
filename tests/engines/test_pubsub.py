"""The transports: at-least-once jobs, claims of a dead consumer's jobs, dead letters, timers,
hand-back, leases and flags, on Redis (each test under its own key prefix) and in memory."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from engines.pubsub.memory import InMemoryPubSub
from engines.pubsub.redis import RedisPubSub

REDIS = os.environ.get("STEPBACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_pubsub() -> AsyncIterator[RedisPubSub]:
    pubsub = RedisPubSub(
        REDIS, f"stepback:test:{uuid.uuid4().hex[:10]}", claim_idle=0.2, max_deliveries=2
    )
    yield pubsub
    await pubsub.purge()
    await pubsub.aclose()


async def test_a_job_taken_and_acknowledged_is_not_handed_out_again(
    redis_pubsub: RedisPubSub,
) -> None:
    await redis_pubsub.enqueue({"n": 1})
    taken = await redis_pubsub.take("a", 10, 0.5)
    assert [d.job for d in taken] == [{"n": 1}]
    await redis_pubsub.ack(taken[0])
    await asyncio.sleep(0.3)
    assert await redis_pubsub.take("b", 10, 0.1) == []


async def test_a_dead_consumer_s_job_is_claimed_then_dead_lettered(
    redis_pubsub: RedisPubSub,
) -> None:
    await redis_pubsub.enqueue({"n": 2})
    first = await redis_pubsub.take("dead-1", 10, 0.5)
    assert first[0].deliveries == 1
    await asyncio.sleep(0.3)  # idle longer than the claim time: another consumer takes it
    redis_pubsub._last_claim = 0.0
    second = await redis_pubsub.take("alive", 10, 0.1)
    assert [(d.job, d.deliveries) for d in second] == [({"n": 2}, 2)]
    await asyncio.sleep(0.3)  # the second consumer dies too: a third delivery is one too many
    redis_pubsub._last_claim = 0.0
    assert await redis_pubsub.take("third", 10, 0.1) == []
    dead = await redis_pubsub.dead_letters()
    assert [(d["job"], d["deliveries"]) for d in dead] == [({"n": 2}, 3)]


async def test_a_touched_job_keeps_its_claim(redis_pubsub: RedisPubSub) -> None:
    await redis_pubsub.enqueue({"n": 3})
    taken = await redis_pubsub.take("busy", 10, 0.5)
    for _ in range(3):
        await asyncio.sleep(0.1)
        await redis_pubsub.touch("busy", taken)
        redis_pubsub._last_claim = 0.0
        assert await redis_pubsub.take("other", 10, 0.01) == []


async def test_a_handed_back_job_is_taken_by_another_at_once(redis_pubsub: RedisPubSub) -> None:
    redis_pubsub.claim_idle = 30.0
    await redis_pubsub.enqueue({"n": 4})
    taken = await redis_pubsub.take("stopping", 10, 0.5)
    await redis_pubsub.hand_back("stopping", taken)
    redis_pubsub._last_claim = 0.0
    again = await redis_pubsub.take("other", 10, 0.1)
    assert [d.job for d in again] == [{"n": 4}]


async def test_timers_fire_once_when_due(redis_pubsub: RedisPubSub) -> None:
    at = time.time() + 0.2
    await redis_pubsub.schedule(at, {"n": 5, "at": at})
    await redis_pubsub.schedule(at, {"n": 5, "at": at})  # the same timer
    assert await redis_pubsub.take("a", 10, 0.05) == []
    got: list[dict[str, object]] = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not got:
        got = [d.job for d in await redis_pubsub.take("a", 10, 0.1)]
    assert got == [{"n": 5, "at": at}]
    assert await redis_pubsub.take("a", 10, 0.3) == []


@pytest.mark.parametrize("kind", ["redis", "memory"])
async def test_a_lease_has_one_holder_until_released_or_expired(
    kind: str, redis_pubsub: RedisPubSub
) -> None:
    pubsub = redis_pubsub if kind == "redis" else InMemoryPubSub()
    assert await pubsub.acquire("run:x", "a", 0.3)
    assert not await pubsub.acquire("run:x", "b", 0.3)
    assert await pubsub.renew("run:x", "a", 0.3)
    assert not await pubsub.renew("run:x", "b", 0.3)
    await pubsub.release("run:x", "b")  # not the holder: nothing happens
    assert not await pubsub.acquire("run:x", "b", 0.3)
    await pubsub.release("run:x", "a")
    assert await pubsub.acquire("run:x", "b", 0.2)
    await asyncio.sleep(0.3)
    assert await pubsub.acquire("run:x", "c", 0.2)  # b's lease expired
    await pubsub.set_flag("cancel:x", 5)
    assert await pubsub.has_flag("cancel:x")
    assert not await pubsub.has_flag("cancel:y")


async def test_broadcast_messages_reach_listeners(redis_pubsub: RedisPubSub) -> None:
    got: list[tuple[str, object]] = []
    arrived = asyncio.Event()

    def heard(channel: str, message: object) -> None:
        got.append((channel, message))
        arrived.set()

    stop = await redis_pubsub.listen(heard)
    await redis_pubsub.publish("run:z", {"k": "events"})
    await asyncio.wait_for(arrived.wait(), 3)
    await stop()
    assert got == [("run:z", {"k": "events"})]
