"""`InMemoryPubSub`: the evented engine's transport inside one process (no broker).

Jobs are kept until acknowledged, like a stream's pending entries: a job handed back (or
never acknowledged by a handler that crashed) is handed out again. It lives on the event loop
that first uses it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable

from engines.pubsub.base import Delivery, Job, Message, MessageHandler


class InMemoryPubSub:
    """A work queue, timers, broadcast handlers, leases and flags in this process."""

    def __init__(self) -> None:
        self._ready: deque[tuple[str, Job, int]] = deque()
        self._pending: dict[str, tuple[Job, int]] = {}
        self._ids = itertools.count(1)
        self._wakeup: asyncio.Event | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._handlers: list[MessageHandler] = []
        self._leases: dict[str, tuple[str, float]] = {}
        self._flags: dict[str, float] = {}
        self._lease_freed: asyncio.Event | None = None

    def _signal(self) -> asyncio.Event:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        return self._wakeup

    # -- the work queue -----------------------------------------------------------------------

    async def enqueue(self, job: Job) -> None:
        self._ready.append((f"{next(self._ids)}-0", job, 1))
        self._signal().set()

    async def take(self, consumer: str, count: int, block: float) -> list[Delivery]:
        signal = self._signal()
        if not self._ready and block > 0:
            signal.clear()
            try:
                await asyncio.wait_for(signal.wait(), block)
            except TimeoutError:
                return []
        out: list[Delivery] = []
        while self._ready and len(out) < count:
            ident, job, deliveries = self._ready.popleft()
            self._pending[ident] = (job, deliveries)
            out.append(Delivery(ident, job, deliveries))
        return out

    async def ack(self, delivery: Delivery) -> None:
        self._pending.pop(delivery.id, None)

    async def touch(self, consumer: str, deliveries: list[Delivery]) -> None:
        return None  # nothing expires here: a job is pending until acked or handed back

    async def hand_back(self, consumer: str, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            held = self._pending.pop(delivery.id, None)
            if held is not None:
                self._ready.appendleft((delivery.id, held[0], held[1] + 1))
        self._signal().set()

    # -- timers -------------------------------------------------------------------------------

    async def schedule(self, at: float, job: Job) -> None:
        key = json.dumps([at, job], sort_keys=True)
        if key in self._timers:
            return  # the same job at the same time is one timer
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.pop(key, None)
            self._ready.append((f"{next(self._ids)}-0", job, 1))
            self._signal().set()

        self._timers[key] = loop.call_later(max(0.0, at - time.time()), fire)

    # -- broadcast ----------------------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> None:
        for handler in list(self._handlers):
            handler(channel, message)

    async def listen(self, handler: MessageHandler) -> Callable[[], Awaitable[None]]:
        self._handlers.append(handler)

        async def stop() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return stop

    # -- leases and flags ---------------------------------------------------------------------

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        held = self._leases.get(key)
        now = time.monotonic()
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self._leases[key] = (owner, now + ttl)
        return True

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        held = self._leases.get(key)
        if held is None or held[0] != owner:
            return False
        self._leases[key] = (owner, time.monotonic() + ttl)
        return True

    async def release(self, key: str, owner: str) -> None:
        held = self._leases.get(key)
        if held is not None and held[0] == owner:
            del self._leases[key]

    async def set_flag(self, key: str, ttl: float) -> None:
        self._flags[key] = time.monotonic() + ttl

    async def has_flag(self, key: str) -> bool:
        expires = self._flags.get(key)
        return expires is not None and expires > time.monotonic()

    async def aclose(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
