"""The `PubSub` protocol the evented engine talks to, whatever carries the messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

Job = dict[str, Any]
"""A unit of work on the queue: a JSON object (the evented engine's processor events)."""

Message = dict[str, Any]
"""A broadcast message: a JSON object."""

MessageHandler = Callable[[str, Message], None]
"""Called with (channel, message) for each broadcast message this process receives."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a job to a consumer. `deliveries` counts how often the job was handed
    out (1 the first time); a job not acknowledged is handed out again."""

    id: str
    job: Job
    deliveries: int = 1


@runtime_checkable
class PubSub(Protocol):
    """What the evented engine needs from a transport.

    - a work queue with at-least-once delivery: `enqueue`, `take`, `ack`, `touch` (a long job
      keeps its claim), `hand_back` (a stopping worker returns its jobs at once);
    - timers that survive a restart: `schedule` puts a job on the queue at a given time (the
      same job scheduled twice for the same time is one timer);
    - broadcast channels, at most once (live events, cancels): `publish`, `listen`;
    - leases (one holder per key, with a time to live) and flags: `acquire`, `renew`,
      `release`, `set_flag`, `has_flag`.
    """

    async def enqueue(self, job: Job) -> None: ...

    async def take(self, consumer: str, count: int, block: float) -> list[Delivery]:
        """Up to `count` jobs for `consumer`, waiting up to `block` seconds for the first."""
        ...

    async def ack(self, delivery: Delivery) -> None: ...

    async def touch(self, consumer: str, deliveries: list[Delivery]) -> None:
        """Keep `consumer`'s claim on jobs still being worked on."""
        ...

    async def hand_back(self, consumer: str, deliveries: list[Delivery]) -> None:
        """Give unfinished jobs back so another consumer takes them now."""
        ...

    async def schedule(self, at: float, job: Job) -> None: ...

    async def publish(self, channel: str, message: Message) -> None: ...

    async def listen(self, handler: MessageHandler) -> Callable[[], Awaitable[None]]:
        """Call `handler` for every broadcast message from now on; returns a stop function."""
        ...

    async def acquire(self, key: str, owner: str, ttl: float) -> bool: ...

    async def renew(self, key: str, owner: str, ttl: float) -> bool: ...

    async def release(self, key: str, owner: str) -> None: ...

    async def set_flag(self, key: str, ttl: float) -> None: ...

    async def has_flag(self, key: str) -> bool: ...

    async def aclose(self) -> None: ...
