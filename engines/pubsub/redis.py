"""`RedisPubSub`: the evented engine's transport on Redis Streams, for many processes.

Jobs go to one stream read by one consumer group; each worker is a consumer named
`host:pid`. A job stays pending until acknowledged (`XACK`); a worker that dies leaves its jobs
pending, and another claims them (`XAUTOCLAIM`) once they have been idle for `claim_idle`
seconds. A worker on a long job keeps its claim alive (`touch`, an `XCLAIM` that resets the idle
time). A job delivered more than `max_deliveries` times goes to a dead-letter stream instead of
being tried again. Streams are trimmed (approximately) to `max_len` entries. Timers are a sorted
set moved onto the stream when due; broadcast messages are Redis pub/sub under one pattern.
Lost connections are retried with a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engines.pubsub.base import Delivery, Job, Message, MessageHandler

log = logging.getLogger("engines.pubsub.redis")

GROUP = "workers"
_RETRYABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# Move due timers onto the stream atomically: each member is removed by exactly one caller.
_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'j', member)
end
return #due
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def consumer_name() -> str:
    """This process's consumer name: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RedisPubSub:
    """The evented engine's transport on one Redis database, under the key prefix `prefix`."""

    def __init__(
        self,
        url: str,
        prefix: str = "stepback",
        *,
        claim_idle: float = 5.0,
        max_deliveries: int = 5,
        max_len: int = 100_000,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.claim_idle = claim_idle
        self.max_deliveries = max_deliveries
        self.max_len = max_len
        self.stream = f"{prefix}:jobs"
        self.dead = f"{prefix}:dead"
        self.timers = f"{prefix}:timers"
        self._pattern = f"{prefix}:ch:*"
        self._redis = aioredis.Redis.from_url(
            url,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), 8),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            health_check_interval=30,
        )
        self._group_ready = False
        self._last_claim = 0.0
        self._handlers: list[MessageHandler] = []
        self._reader: asyncio.Task[None] | None = None
        self._listening: asyncio.Event | None = None

    # -- the work queue -----------------------------------------------------------------------

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def enqueue(self, job: Job) -> None:
        await self._redis.xadd(
            self.stream, {"j": json.dumps(job)}, maxlen=self.max_len, approximate=True
        )

    async def take(self, consumer: str, count: int, block: float) -> list[Delivery]:
        try:
            return await self._take(consumer, count, block)
        except _RETRYABLE as exc:
            # The connection is retried by the client; a worker just tries again later.
            log.warning("redis unavailable (%s); retrying", exc)
            await asyncio.sleep(min(1.0, max(block, 0.1)))
            return []

    async def _take(self, consumer: str, count: int, block: float) -> list[Delivery]:
        await self._ensure_group()
        now = time.time()
        moved = await self._redis.eval(_MOVE_DUE, 2, self.timers, self.stream, now, self.max_len)
        out: list[Delivery] = []
        if now - self._last_claim >= self.claim_idle / 2:
            self._last_claim = now
            out.extend(await self._claim_idle(consumer, count))
            if out:
                return out
        if not moved:
            # Wake for the next timer if it is due before the block ends.
            nxt = await self._redis.zrange(self.timers, 0, 0, withscores=True)
            if nxt:
                block = max(0.0, min(block, float(nxt[0][1]) - now))
        reply = await self._redis.xreadgroup(
            GROUP, consumer, {self.stream: ">"}, count=count, block=max(1, int(block * 1000))
        )
        for _, entries in reply or []:
            for ident, fields in entries:
                out.append(Delivery(_text(ident), json.loads(fields[b"j"])))
        return out

    async def _claim_idle(self, consumer: str, count: int) -> list[Delivery]:
        """Claim jobs other consumers left idle too long; dead-letter those tried too often."""
        reply = await self._redis.xautoclaim(
            self.stream, GROUP, consumer, min_idle_time=int(self.claim_idle * 1000), count=count
        )
        entries = reply[1]
        out: list[Delivery] = []
        for ident, fields in entries:
            if fields is None:
                continue
            ident = _text(ident)
            info = await self._redis.xpending_range(self.stream, GROUP, ident, ident, 1)
            times = int(info[0]["times_delivered"]) if info else 1
            if times > self.max_deliveries:
                log.error("job %s delivered %d times: moved to %s", ident, times, self.dead)
                await self._redis.xadd(
                    self.dead,
                    {"j": fields[b"j"], "id": ident, "deliveries": times},
                    maxlen=self.max_len,
                    approximate=True,
                )
                await self._redis.xack(self.stream, GROUP, ident)
                continue
            out.append(Delivery(ident, json.loads(fields[b"j"]), times))
        return out

    async def ack(self, delivery: Delivery) -> None:
        await self._redis.xack(self.stream, GROUP, delivery.id)

    async def touch(self, consumer: str, deliveries: list[Delivery]) -> None:
        if deliveries:
            ids = [d.id for d in deliveries]
            await self._redis.xclaim(self.stream, GROUP, consumer, 0, ids, justid=True)

    async def hand_back(self, consumer: str, deliveries: list[Delivery]) -> None:
        if deliveries:
            # Marked idle for the whole claim time: the next XAUTOCLAIM of any worker takes them.
            ids = [d.id for d in deliveries]
            await self._redis.xclaim(
                self.stream, GROUP, consumer, 0, ids, idle=int(self.claim_idle * 1000) + 1,
                justid=True,
            )  # fmt: skip

    async def dead_letters(self) -> list[dict[str, Any]]:
        """The jobs moved to the dead-letter stream (for inspection)."""
        entries = await self._redis.xrange(self.dead)
        return [
            {"id": _text(i), "job": json.loads(f[b"j"]), "deliveries": int(f[b"deliveries"])}
            for i, f in entries
        ]

    # -- timers -------------------------------------------------------------------------------

    async def schedule(self, at: float, job: Job) -> None:
        # The member is the job itself: the same job scheduled twice is one timer.
        await self._redis.zadd(self.timers, {json.dumps(job, sort_keys=True): at})

    # -- broadcast ----------------------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> None:
        await self._redis.publish(f"{self.prefix}:ch:{channel}", json.dumps(message))

    async def listen(self, handler: MessageHandler) -> Callable[[], Awaitable[None]]:
        self._handlers.append(handler)
        if self._reader is None:
            self._listening = asyncio.Event()
            self._reader = asyncio.ensure_future(self._read())
        assert self._listening is not None
        await self._listening.wait()

        async def stop() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return stop

    async def _read(self) -> None:
        """Read broadcast messages for as long as this transport lives, reconnecting."""
        skip = len(self.prefix) + 4
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(self._pattern)
                while True:
                    msg = await pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
                    if msg is None:
                        continue
                    if msg["type"] == "psubscribe":
                        assert self._listening is not None
                        self._listening.set()
                        continue
                    if msg["type"] != "pmessage":
                        continue
                    channel = _text(msg["channel"])[skip:]
                    data = json.loads(msg["data"])
                    for handler in list(self._handlers):
                        try:
                            handler(channel, data)
                        except Exception:
                            log.exception("broadcast handler raised")
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except _RETRYABLE as exc:
                log.warning("redis pub/sub connection lost (%s); reconnecting", exc)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(0.2)

    # -- leases and flags ---------------------------------------------------------------------

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        done = await self._redis.set(
            f"{self.prefix}:lease:{key}", owner, nx=True, px=int(ttl * 1000)
        )
        if done:
            return True
        held = await self._redis.get(f"{self.prefix}:lease:{key}")
        return held is not None and _text(held) == owner

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        done = await self._redis.eval(
            _RENEW, 1, f"{self.prefix}:lease:{key}", owner, int(ttl * 1000)
        )
        return bool(done)

    async def release(self, key: str, owner: str) -> None:
        await self._redis.eval(_RELEASE, 1, f"{self.prefix}:lease:{key}", owner)

    async def set_flag(self, key: str, ttl: float) -> None:
        await self._redis.set(f"{self.prefix}:flag:{key}", 1, px=int(ttl * 1000))

    async def has_flag(self, key: str) -> bool:
        return bool(await self._redis.exists(f"{self.prefix}:flag:{key}"))

    # -- the end ------------------------------------------------------------------------------

    async def purge(self) -> None:
        """Delete every key under the prefix (tests give each engine its own prefix)."""
        keys = [k async for k in self._redis.scan_iter(match=f"{self.prefix}:*", count=500)]
        if keys:
            await self._redis.delete(*keys)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        await self._redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
