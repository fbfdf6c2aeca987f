"""`Recorder`: numbers a run's events, batches them with snapshot writes, and publishes them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from engines.core.events import Event

if TYPE_CHECKING:
    from engines.core.results import StepResult
    from engines.core.snapshot import RunSnapshot
    from engines.storage.base import Storage

Publish = Callable[[Sequence[Event]], None]


class Recorder:
    """Owns the working snapshot's `seq`. Events are stored with the snapshot at each commit
    (a step boundary) and published to listeners only once stored, so a listener that reads
    storage finds every event it was told about."""

    __slots__ = (
        "_loop",
        "_pending",
        "_thread",
        "clock",
        "live",
        "publish",
        "snapshot",
        "staged",
        "storage",
    )

    def __init__(
        self,
        snapshot: RunSnapshot,
        storage: Storage,
        publish: Publish,
        clock: Callable[[], float],
    ) -> None:
        self.snapshot = snapshot
        self.storage = storage
        self.publish = publish
        self.clock = clock
        self._pending: list[Event] = []
        # Records of running steps, written into the snapshot only if a commit happens while
        # they still run (a step that ends first replaces its record before anyone could see).
        self.staged: dict[str, StepResult] = {}
        # Records built on demand at each commit (a foreach with the items finished so far):
        # each source returns the current record, or None when it has not changed.
        self.live: dict[str, Callable[[], StepResult | None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    def bind(self) -> None:
        """Remember the loop this run executes on (events from worker threads hop onto it)."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    def emit(
        self, type: str, path: tuple[str, ...] = (), payload: Mapping[str, Any] | None = None
    ) -> Event:
        """Number and queue an event; it is stored and published at the next commit."""
        snap = self.snapshot
        snap.seq += 1
        event = Event(type, snap.run_id, snap.seq, self.clock(), path, payload or {})
        self._pending.append(event)
        return event

    def emit_threadsafe(self, type: str, path: tuple[str, ...], payload: Mapping[str, Any]) -> None:
        """`emit` from any thread (sync steps run in worker threads)."""
        if self._loop is None or threading.get_ident() == self._thread:
            self.emit(type, path, payload)
        else:
            self._loop.call_soon_threadsafe(self.emit, type, path, payload)

    async def commit_pending(self) -> None:
        """Commit if events are waiting (a step about to wait makes its start visible)."""
        if self._pending:
            await self.commit()

    async def commit(self) -> None:
        """Store the snapshot with the queued events, then publish those events."""
        events = self._pending
        self._pending = []
        if self.staged:
            steps = self.snapshot.steps
            for key, record in self.staged.items():
                steps[key] = record
            self.staged.clear()
        if self.live:
            steps = self.snapshot.steps
            for key, current in self.live.items():
                live = current()
                if live is not None:
                    steps[key] = live
        self.snapshot.updated_at = self.clock()
        await self.storage.save(self.snapshot, events)
        if events:
            self.publish(events)
