"""What a worker's walk uses beside the interpreter: its recorder, its waits, its outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engines.core.context import CancelToken
from engines.core.events import RUN_STARTED, Event
from engines.core.hooks import Waited, WaitReason
from engines.core.recorder import Recorder
from engines.pubsub.base import Message, PubSub


def run_channel(run_id: str) -> str:
    """The broadcast channel of a run's live events and of the end of its executions."""
    return f"run:{run_id}"


CONTROL = "control"
"""The broadcast channel of cancels: each worker stops the run's step if it holds it."""


class Outbox:
    """Sends a walk's messages on the broadcast channel in the order they were stored.

    The recorder's publish hook is synchronous; messages queue here and one task sends them,
    so a watcher sees a run's events in order, and `flush` waits until all are sent.
    """

    def __init__(self, pubsub: PubSub, run_id: str) -> None:
        self.pubsub = pubsub
        self.channel = run_channel(run_id)
        self._queue: list[Message] = []
        # The message that ends the execution, sent after the walk's lease is released.
        self.final: Message | None = None
        self._sender: asyncio.Task[None] | None = None

    def events(self, events: Sequence[Event]) -> None:
        self.send({"k": "events", "events": [e.to_dict() for e in events]})

    def send(self, message: Message) -> None:
        self._queue.append(message)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send())

    async def _send(self) -> None:
        while self._queue:
            message = self._queue.pop(0)
            await self.pubsub.publish(self.channel, message)

    async def flush(self) -> None:
        while self._sender is not None and not self._sender.done():
            await self._sender
        if self._sender is not None:
            self._sender.result()
        if self._queue:
            await self._send()


class WalkRecorder(Recorder):
    """The core recorder; a walk the engine makes on its own (a timer fired, a crash
    recovered) continues the execution the caller started, so it announces no new
    `run.started`."""

    __slots__ = ("quiet_start",)

    def __init__(
        self,
        snapshot: Any,
        storage: Any,
        publish: Callable[[Sequence[Event]], None],
        clock: Callable[[], float],
        quiet_start: bool,
    ) -> None:
        super().__init__(snapshot, storage, publish, clock)
        self.quiet_start = quiet_start

    def emit(
        self, type: str, path: tuple[str, ...] = (), payload: Mapping[str, Any] | None = None
    ) -> Event:
        if self.quiet_start and type == RUN_STARTED:
            self.quiet_start = False
            snap = self.snapshot
            return Event(type, snap.run_id, snap.seq, self.clock(), path, payload or {})
        return super().emit(type, path, payload)


class TimerWaits:
    """The evented wait hook: a sleep longer than `threshold` seconds becomes a durable timer
    (the walk hands off and a `continue` event is scheduled for the wake time); shorter sleeps
    and retry delays wait here, cut short by a cancel."""

    def __init__(self, cancel: CancelToken, clock: Callable[[], float], threshold: float) -> None:
        self.cancel = cancel
        self.clock = clock
        self.threshold = threshold
        self.timers: list[float] = []

    async def wait(self, until: float, path: tuple[str, ...], reason: WaitReason) -> Waited:
        remaining = until - self.clock()
        if reason == "sleep" and remaining > self.threshold and not self.cancel.is_set:
            self.timers.append(until)
            return Waited.HANDED_OFF
        if await self.cancel.wait(max(0.0, remaining)):
            return Waited.CANCELED
        return Waited.ELAPSED
