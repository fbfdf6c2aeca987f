"""Fan a run's stored events out to the websocket consumers that watch it.

`publish()` is called by the storage after each write commits, from whatever thread or event
loop the run executes on. It only queues: one ordered outbox per process, drained by a single
task on one event loop, so messages leave in the order they were published and a slow or
broken channel layer never holds up (or breaks) a run.

Which loop drains the outbox:

- The server's loop, when this process serves websockets. The ASGI application records it on
  every connection (`attach_loop()`), and consumers record theirs on connect. The in-memory
  channel layer is plain asyncio objects owned by that loop and is not thread-safe, so for it
  this is the only correct place to send from.
- With a cross-process layer (Redis) and no server loop (a worker process, a management
  command), a small loop on a daemon thread owned by this module. Not the publisher's own loop:
  that loop may be closed right after the publish (`asyncio.run` in a command, a DBOS step
  thread that has no loop at all), taking queued sends with it; a long-lived loop of our own
  keeps one connection pool, one ordered drainer, and lets `flush()` wait for delivery from any
  thread before the process exits.
- With the in-memory layer and no server loop nobody in this process can listen, so messages
  are dropped; watchers read what they missed from the database when they connect.

The drainer sends in rounds (everything queued at once): sends to different groups overlap,
so a slow layer (Redis, a round trip per send) costs one round trip per round rather than per
message, and a round's run summaries go to the runs feed as one numbered message.

Consumers never trust delivery: they number what they send by `seq` and read any gap from the
database, so a dropped message costs a query, never a missing event.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from typing import Any

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

RUNS_GROUP = "runs"
"""The group of every runs-list watcher (`runs.changed` messages)."""

MAX_EVENTS_BYTES = 256 * 1024
"""A batch whose JSON is larger is sent as `{"events": [], "last_seq": N}`: read the DB."""

MAX_OUTBOX = 10_000
"""Queued messages kept while the layer cannot keep up; past it the oldest are dropped."""

MAX_ROUND = 2_000
"""Messages taken from the outbox in one drain round (sent together, see `_drain`)."""

PARALLEL_SENDS = 64
# A runs-feed message with no runs follows the last round after this long: a watcher that lost
# that round (and would otherwise hear nothing more) sees the gap in the numbers and resyncs.
TAIL_SECONDS = 1.0
"""Groups sent to at once in a round: the layer's round trips overlap instead of queueing."""

# Channel group names: ASCII letters, digits, hyphens, underscores and periods, under 100 chars.
_GROUP_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,90}$")

_Item = tuple[str, dict[str, Any]]  # (group, message)


def run_group(run_id: str) -> str:
    """The channel group of one run's watchers (`run.<run_id>`; hashed when not a valid name)."""
    if _GROUP_SAFE.match(run_id):
        return f"run.{run_id}"
    # A distinct prefix, so a hashed name can never equal the group of another run's plain id.
    return "runh." + hashlib.sha256(run_id.encode()).hexdigest()[:40]


def _detached(value: Any) -> tuple[Any, int]:
    """A JSON-only deep copy of `value` and its encoded size.

    The copy matters: the drainer sends later, on another thread, and the caller's dicts may be
    shared with a snapshot the engine keeps changing. JSON also guarantees every layer (the
    in-memory deepcopy, Redis' msgpack) can carry it.
    """
    encoded = json.dumps(value)
    return json.loads(encoded), len(encoded)


def build_messages(
    run_id: str, events: list[dict[str, Any]], summary: dict[str, Any]
) -> list[_Item]:
    """The (group, message) pairs one stored write produces."""
    items: list[_Item] = []
    if events:
        batch: dict[str, Any] = {"type": "run.events", "run_id": run_id}
        try:
            copied, size = _detached(list(events))
        except (TypeError, ValueError):
            copied, size = None, MAX_EVENTS_BYTES + 1  # not JSON: let the watchers read the DB
        if copied is not None and size <= MAX_EVENTS_BYTES:
            batch["events"] = copied
        else:
            seqs = [e.get("seq") for e in events if isinstance(e, dict)]
            batch["events"] = []
            batch["last_seq"] = max((s for s in seqs if isinstance(s, int)), default=0)
        items.append((run_group(run_id), batch))
    run, _ = _detached(summary)
    items.append((RUNS_GROUP, {"type": "runs.changed", "runs": [run]}))
    return items


def _batched(items: list[_Item]) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """One drain round's messages per group, each group's in publish order, and apart from them
    the round's run summaries (the newest of each run): a watcher of the feed wants where each
    run is now, and one message per round keeps the feed to one send however many runs change."""
    groups: dict[str, list[dict[str, Any]]] = {}
    runs: dict[str, dict[str, Any]] = {}
    for group, message in items:
        if group == RUNS_GROUP and message.get("type") == "runs.changed":
            for run in message["runs"]:
                runs.pop(run.get("run_id"), None)  # re-inserted last: the order of the news
                runs[run.get("run_id")] = run
        else:
            groups.setdefault(group, []).append(message)
    return groups, list(runs.values())


class _LoopThread:
    """An event loop running forever on a daemon thread (the drainer's home without a server)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="stepback-broadcast", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()


class Broadcaster:
    """One process's ordered outbox to the channel layer (see the module docstring)."""

    def __init__(self, alias: str = DEFAULT_CHANNEL_LAYER) -> None:
        self._alias = alias
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._outbox: collections.deque[_Item] = collections.deque()
        self._unsent = 0  # queued or in flight; flush() waits for zero
        self._server_loop: asyncio.AbstractEventLoop | None = None
        # The drainer currently responsible for the outbox: its loop and a token it checks before
        # every message, so a drainer whose loop was given up on can never run alongside its
        # successor and reorder messages.
        self._drain_loop: asyncio.AbstractEventLoop | None = None
        self._drain_token: object | None = None
        self._thread: _LoopThread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Runs-feed messages are numbered per process (origin), so a watcher that misses one
        # (a full channel) sees the gap and resyncs from the database (`consumers`).
        self._origin = uuid.uuid4().hex[:16]
        self._feed_seq = 0
        # (the CHANNEL_LAYERS setting it was read from, whether that layer is process-local)
        self._local_layer: tuple[object, bool] | None = None

    # -- registration --------------------------------------------------------------------------

    def attach_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Record the loop websocket consumers run on (default: the running loop).

        Cheap enough to call on every connection; the latest loop wins, which is what a process
        that outlives one server loop (tests, a restarted server) needs.
        """
        loop = loop or asyncio.get_running_loop()
        with self._lock:
            if loop is self._server_loop:
                return
            self._server_loop = loop
        self._kick()

    # -- publishing ----------------------------------------------------------------------------

    def publish(self, run_id: str, events: list[dict[str, Any]], summary: dict[str, Any]) -> None:
        """Queue one write's events and run summary for the watchers. Never blocks or raises."""
        try:
            if not self._deliverable():
                return  # nobody in reach: skip the copying (watchers read the database)
            items = build_messages(run_id, events, summary)
            with self._lock:
                self._outbox.extend(items)
                self._unsent += len(items)
                overflow = len(self._outbox) - MAX_OUTBOX
                if overflow > 0:
                    # Bounded memory when the layer is down or slow. Watchers read dropped
                    # events from the database when the next live event shows the gap.
                    for _ in range(overflow):
                        self._outbox.popleft()
                    self._unsent -= overflow
                    self._settled.notify_all()
            if overflow > 0:
                logger.warning("live outbox full: dropped the %d oldest messages", overflow)
            self._kick()
        except Exception:
            # The run's write has committed; a lost notification is repaired by the consumers'
            # gap filling, a raised one would fail the run.
            logger.exception("could not queue the live messages of run %s", run_id)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every published message was sent (or dropped); False on timeout.

        For processes about to exit (management commands, workers). Do not call it from the
        loop that drains (it cannot make progress while you wait).
        """
        self._kick()
        deadline = time.monotonic() + timeout
        with self._settled:
            if self._unsent and self._on_drain_loop():
                return False
            while self._unsent:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._settled.wait(remaining)
            return True

    def close(self, timeout: float = 2.0) -> None:
        """Flush, then stop the loop thread this broadcaster started, if any.

        Closing that loop closes the layer's connections made from it (channels-redis ties its
        pools to their loop), so a process or a test can end without dangling sockets.
        """
        self.flush(timeout)
        with self._lock:
            worker, self._thread = self._thread, None
            if worker is not None and self._drain_loop is worker.loop:
                self._drain_loop = self._drain_token = None
        if worker is None:
            return
        worker.loop.call_soon_threadsafe(worker.loop.stop)
        worker.thread.join(timeout)
        if not worker.thread.is_alive():
            worker.loop.close()

    @property
    def pending(self) -> int:
        """How many messages are queued or in flight."""
        with self._lock:
            return self._unsent

    # -- draining ------------------------------------------------------------------------------

    def _kick(self) -> None:
        """Make sure exactly one drainer is responsible for a non-empty outbox."""
        for _attempt in range(3):
            with self._lock:
                if not self._outbox:
                    return
                if self._drain_loop is not None and not self._drain_loop.is_closed():
                    return
                loop = self._target_loop()
                if loop is None:
                    self._drop_all()
                    return
                token = object()
                self._drain_loop, self._drain_token = loop, token
            try:
                loop.call_soon_threadsafe(self._start_drainer, token)
                return
            except RuntimeError:
                # The loop closed between the check and the call; forget it and choose again.
                with self._lock:
                    if self._drain_token is token:
                        self._drain_loop = self._drain_token = None
                    if self._server_loop is loop:
                        self._server_loop = None
        logger.warning("no event loop accepted the live messages; they wait for the next one")

    def _target_loop(self) -> asyncio.AbstractEventLoop | None:
        server = self._server_loop
        if server is not None and not server.is_closed():
            return server
        if self._process_local_layer():
            return None
        if self._thread is None or self._thread.loop.is_closed():
            self._thread = _LoopThread()
        return self._thread.loop

    def _deliverable(self) -> bool:
        """False when messages could only be dropped: no server loop here and a layer that
        reaches no other process."""
        server = self._server_loop
        if server is not None and not server.is_closed():
            return True
        return not self._process_local_layer()

    def _process_local_layer(self) -> bool:
        layers = settings.CHANNEL_LAYERS
        known = self._local_layer
        if known is not None and known[0] is layers:
            return known[1]  # settings replace the dict when they change, so identity suffices
        try:
            backend = import_string(layers[self._alias]["BACKEND"])
            local = isinstance(backend, type) and issubclass(backend, InMemoryChannelLayer)
        except Exception:
            local = True  # no usable layer: nothing to deliver to
        self._local_layer = (layers, local)
        return local

    def _drop_all(self) -> None:
        dropped = len(self._outbox)
        self._outbox.clear()
        self._unsent -= dropped
        self._settled.notify_all()
        logger.debug("dropped %d live messages: no server loop in this process", dropped)

    def _start_drainer(self, token: object) -> None:
        task = asyncio.get_running_loop().create_task(self._drain(token))
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, token: object) -> None:
        """Send the outbox in rounds: everything queued (up to `MAX_ROUND`) goes out together,
        each group's messages in publish order, different groups' sends overlapping, the run
        summaries merged into one runs-feed message. A round ends before the next begins, so
        publish order holds per group."""
        layer: Any = None
        while True:
            with self._lock:
                if self._drain_token is not token:
                    return
                if not self._outbox:
                    self._drain_loop = self._drain_token = None
                    if layer is not None:
                        self._schedule_tail(layer)
                    return
                count = min(len(self._outbox), MAX_ROUND)
                items = [self._outbox.popleft() for _ in range(count)]
            try:
                layer = layer or get_channel_layer(self._alias)
                if layer is not None:
                    await self._send_round(layer, items)
            except asyncio.CancelledError:
                # The loop is shutting down: keep the round for whichever loop drains next (a
                # message sent twice is dropped by the watchers as already seen).
                with self._lock:
                    self._outbox.extendleft(reversed(items))
                    if self._drain_token is token:
                        self._drain_loop = self._drain_token = None
                raise
            except Exception:
                logger.exception("could not send a round of %d live messages", len(items))
            with self._lock:
                self._unsent -= len(items)
                self._settled.notify_all()

    def _schedule_tail(self, layer: Any) -> None:
        seq = self._feed_seq
        if seq == 0:
            return

        def tail() -> None:
            if self._feed_seq != seq:  # another round went out: it carries the numbers on
                return
            self._feed_seq += 1
            message = {
                "type": "runs.changed",
                "runs": [],
                "origin": self._origin,
                "seq": self._feed_seq,
                "sent_at": time.time(),
            }
            task = asyncio.get_running_loop().create_task(
                self._send_in_order(layer, RUNS_GROUP, [message])
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        asyncio.get_running_loop().call_later(TAIL_SECONDS, tail)

    async def _send_round(self, layer: Any, items: list[_Item]) -> None:
        groups, runs = _batched(items)
        if runs:
            self._feed_seq += 1
            feed = {"origin": self._origin, "seq": self._feed_seq, "sent_at": time.time()}
            groups[RUNS_GROUP] = [{"type": "runs.changed", "runs": runs, **feed}]
        sends = [self._send_in_order(layer, group, ms) for group, ms in groups.items()]
        for start in range(0, len(sends), PARALLEL_SENDS):
            await asyncio.gather(*sends[start : start + PARALLEL_SENDS])

    @staticmethod
    async def _send_in_order(layer: Any, group: str, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            try:
                await layer.group_send(group, message)
            except Exception:
                logger.exception("could not send a live message to group %s", group)

    def _on_drain_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._drain_loop
        except RuntimeError:
            return False

    def _after_fork(self) -> None:
        # A forked child has neither the parent's threads nor its loops; it starts afresh.
        self._reset()

    def _close_at_exit(self) -> None:
        if self._thread is not None:
            self.close(2.0)


_default = Broadcaster()
atexit.register(_default._close_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_default._after_fork)


def publish(run_id: str, events: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """Queue one stored write for the live watchers: its events and the run's summary.

    Sends `{"type": "run.events", "run_id", "events"}` to `run.<run_id>` and
    `{"type": "runs.changed", "runs": [summary, ...], "origin", "seq", "sent_at"}` to `runs`
    (the summaries of one drain round; `seq` numbers this process's runs-feed messages).
    Callable from any thread or loop; never blocks, never raises, keeps this process's
    publish order.
    """
    _default.publish(run_id, events, summary)


def wanted() -> bool:
    """False when a publish could only be dropped here (no server loop, a process-local layer),
    so a publisher can skip building its messages."""
    return _default._deliverable()


def attach_loop(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Record the server's event loop (the ASGI application and consumers call this)."""
    _default.attach_loop(loop)


def flush(timeout: float = 5.0) -> bool:
    """Wait until this process's published messages went out; False if `timeout` passed first."""
    return _default.flush(timeout)
