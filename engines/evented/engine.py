"""`EventedEngine`: executions travel as events through a pub/sub transport to workers.

`execute` publishes one `walk` event carrying the prepared execution and waits for the run's
next stop; a worker (embedded in this process, or any number of worker processes sharing the
transport and the storage) handles it with the event processor (`engines.evented.processor`),
which walks the graph with the reference interpreter. Live events come back on the run's
broadcast channel and reach this process's listeners; the end of the execution (after the
workflow's `on_finish`) comes back the same way, and the result is read from storage.

`cancel` sets a durable flag (a walk that starts later sees it), broadcasts the cancel to the
worker walking the run (its running step sees `ctx.is_cancelled` within milliseconds), and
queues a `cancel` event for a run that no worker walks (a sleeping one).

With `embedded=False` this process only prepares and publishes: workers elsewhere execute.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from engines.core.cancel import cancel_in_storage
from engines.core.engine import Execution
from engines.core.error_codec import error_from_dict
from engines.core.errors import InvalidRunStateError, RunNotFoundError
from engines.core.events import Event
from engines.core.listeners import Listener, Listeners
from engines.core.results import ACTIVE_RUN_STATUSES, RunResult
from engines.core.workflow import Workflow
from engines.evented import jobs
from engines.evented.processor import CANCEL_FLAG_TTL, LEASE_TTL, Processor, cancel_flag
from engines.evented.recorder import CONTROL, Outbox
from engines.evented.worker import Worker
from engines.evented.workflows import WorkflowSet
from engines.pubsub.base import Message, PubSub
from engines.storage.base import Storage
from engines.storage.memory import InMemoryStorage

PubSubFactory = Callable[[], PubSub]
T = TypeVar("T")


def _resolve(waiter: asyncio.Future[Message], message: Message) -> None:
    if not waiter.done():
        waiter.set_result(message)


@dataclass
class _Runtime:
    """What the engine holds on one event loop: its transport, its listener, its worker."""

    loop: asyncio.AbstractEventLoop
    pubsub: PubSub
    stop_listening: Callable[[], Awaitable[None]] | None = None
    worker: Worker | None = None
    holder: asyncio.Task[None] | None = None


class EventedEngine:
    """Runs workflows by events over `pubsub_factory()`'s transport (see the module docstring).

    The transport is made per event loop (so the engine works from successive `asyncio.run`
    calls, like the reference engine). `purge_on_close` deletes the transport's keys when the
    engine closes (tests give each engine a private prefix).
    """

    def __init__(
        self,
        storage: Storage | None = None,
        pubsub_factory: PubSubFactory | None = None,
        *,
        name: str = "evented",
        embedded: bool = True,
        workflows: WorkflowSet | None = None,
        clock: Callable[[], float] = time.time,
        timer_threshold: float = 0.05,
        purge_on_close: bool = False,
    ) -> None:
        from engines.pubsub.memory import InMemoryPubSub

        self.name = name
        self.storage: Storage = storage if storage is not None else InMemoryStorage()
        self.clock = clock
        self.pubsub_factory: PubSubFactory = pubsub_factory or InMemoryPubSub
        self.embedded = embedded
        self.workflows = workflows if workflows is not None else WorkflowSet()
        self.timer_threshold = timer_threshold
        self.purge_on_close = purge_on_close
        self.consumer = f"{name}:{uuid.uuid4().hex[:8]}"
        self._listeners = Listeners()
        self._active: set[str] = set()
        self._runtime: _Runtime | None = None
        # The callers waiting for the end of an execution, by run id (on their own loops).
        self._waiters: dict[str, asyncio.Future[Message]] = {}
        self._starting: asyncio.Task[_Runtime] | None = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            # Built on a running loop: connect and start the worker now, not in the first call.
            self._starting = loop.create_task(self._create(loop))

    # -- the runtime on this loop ---------------------------------------------------------------

    async def runtime(self) -> _Runtime:
        """The engine's transport, listener and worker: on the loop that first needed them
        while that loop runs (a web app's executor thread), else on this loop (the sync
        facade's successive `asyncio.run` calls)."""
        loop = asyncio.get_running_loop()
        rt = self._runtime
        if rt is not None and (rt.loop is loop or rt.loop.is_running()):
            return rt
        starting = self._starting
        if starting is None or starting.get_loop() is not loop:
            # One creation per loop, however many callers ask at once.
            starting = self._starting = loop.create_task(self._create(loop))
        return await starting

    async def _create(self, loop: asyncio.AbstractEventLoop) -> _Runtime:
        rt = _Runtime(loop, self.pubsub_factory())
        rt.stop_listening = await rt.pubsub.listen(self._on_message)
        if self.embedded:
            processor = Processor(
                self.storage, rt.pubsub, self.workflows, self.clock, self.consumer,
                self.timer_threshold,
            )  # fmt: skip
            rt.worker = Worker(rt.pubsub, processor, self.consumer)
            await rt.worker.start_listening()
        rt.holder = asyncio.ensure_future(self._hold(rt))
        # Published only once listening: a caller never waits on a runtime that could miss
        # the end of its execution.
        self._runtime = rt
        return rt

    async def _hold(self, rt: _Runtime) -> None:
        """Run the embedded worker (or just wait) for as long as the loop lives; then close
        the transport, also when the loop ends without `aclose` (the sync facade's
        `asyncio.run` cancels this task on its way out)."""
        try:
            if rt.worker is not None:
                await rt.worker.run()
            else:
                await asyncio.Event().wait()
        finally:
            if rt.stop_listening is not None:
                await rt.stop_listening()
            if self.purge_on_close:
                purge: Any = getattr(rt.pubsub, "purge", None)
                if purge is not None:
                    with contextlib.suppress(Exception):
                        await purge()
            await rt.pubsub.aclose()

    def _on_message(self, channel: str, message: Message) -> None:
        if not channel.startswith("run:"):
            return
        run_id = channel[4:]
        kind = message.get("k")
        if kind == "events":
            events = [Event.from_dict(e) for e in message["events"]]
            if events:
                self._listeners.publish(events)
            return
        waiter = self._waiters.get(run_id)
        if waiter is not None and not waiter.done():
            # The caller may wait on another loop (a request thread) than this listener's.
            waiter.get_loop().call_soon_threadsafe(_resolve, waiter, message)

    # -- the Engine protocol ----------------------------------------------------------------------

    async def execute(self, workflow: Workflow, execution: Execution) -> RunResult:
        run_id = execution.snapshot.run_id
        if run_id in self._active:
            raise InvalidRunStateError(f"Run {run_id!r} is already executing")
        self._active.add(run_id)
        try:
            self.workflows.add(workflow)
            waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
            self._waiters[run_id] = waiter
            try:
                await self._on_runtime_loop(self._enqueue(jobs.walk_job(workflow, execution)))
                message = await waiter
            finally:
                self._waiters.pop(run_id, None)
        finally:
            self._active.discard(run_id)
        if message.get("k") == "error":
            raise error_from_dict(message["error"])
        snap = await self.storage.load(run_id)
        if snap is None:
            raise RunNotFoundError(f"No run {run_id!r} in storage")
        return snap.to_result()

    async def submit(self, workflow: Workflow, execution: Execution) -> None:
        """Publish `execution` and return at once: workers execute it (the web process's
        way when workers run elsewhere)."""
        self.workflows.add(workflow)
        await self._on_runtime_loop(self._enqueue(jobs.walk_job(workflow, execution)))

    async def _enqueue(self, job: dict[str, Any]) -> None:
        rt = await self.runtime()
        await rt.pubsub.enqueue(job)

    async def _on_runtime_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on the runtime's loop (the transport is bound to it)."""
        rt = await self.runtime()
        if rt.loop is asyncio.get_running_loop():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, rt.loop))

    async def cancel(self, workflow: Workflow, run_id: str) -> bool:
        return await self._on_runtime_loop(self._cancel(workflow, run_id))

    async def _cancel(self, workflow: Workflow, run_id: str) -> bool:
        snap = await self.storage.load(run_id)
        if snap is None and run_id not in self._active:
            raise RunNotFoundError(f"No run {run_id!r} in storage")
        rt = await self.runtime()
        pubsub = rt.pubsub
        if run_id in self._active or (snap is not None and snap.status in ACTIVE_RUN_STATUSES):
            # A walk that starts from now on sees the flag; one under way gets the broadcast.
            await pubsub.set_flag(cancel_flag(run_id), CANCEL_FLAG_TTL)
            await pubsub.publish(CONTROL, {"k": "cancel", "run_id": run_id})
        lease, owner = f"run:{run_id}", f"{self.consumer}:cancel:{uuid.uuid4().hex[:8]}"
        if not await pubsub.acquire(lease, owner, LEASE_TTL):
            # A worker walks it now and has been told; should its walk end idle (handed off to
            # a timer), the cancel event ends the run once the lease is free.
            await pubsub.enqueue(jobs.cancel_job(workflow, run_id))
            return True
        try:
            snap = await self.storage.load(run_id)
            if snap is None:
                return True  # queued, not yet stored: its walk will see the flag
            if snap.status not in ("suspended", "paused", *ACTIVE_RUN_STATUSES):
                return False
            # Walked by no one (sleeping on a timer, suspended, interrupted): canceled in
            # storage, its events sent to every watcher, its waiting caller told.
            outbox = Outbox(pubsub, run_id)
            await cancel_in_storage(workflow, snap, self.storage, outbox.events, self.clock)
            outbox.send({"k": "stopped"})
            await outbox.flush()
            return True
        finally:
            await pubsub.release(lease, owner)

    def is_active(self, run_id: str) -> bool:
        return run_id in self._active

    def subscribe(self, run_id: str, listener: Listener) -> Callable[[], None]:
        return self._listeners.subscribe(run_id, listener)

    async def aclose(self) -> None:
        rt = self._runtime
        self._runtime = None
        starting, self._starting = self._starting, None
        if rt is None and starting is not None and not starting.done():
            # Closed while still connecting: let it finish, then close what it made.
            with contextlib.suppress(Exception):
                rt = await starting
        if rt is not None and rt.holder is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is rt.loop:
                if rt.worker is not None:
                    rt.worker.stop()  # it winds down, then the holder closes the transport
                else:
                    rt.holder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await rt.holder
        await self._listeners.drain()
