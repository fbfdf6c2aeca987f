"""The live protocol: the runs list feed and one run's event stream.

`/ws/runs/` forwards every run summary change as `{"type": "run", "run": summary}`; when it
finds it missed some, it says `{"type": "resync", "since": iso, "complete": bool}` and sends the
summaries of the runs changed since then from the database (`complete` false: more changed
than it sends; reload the list).

`/ws/runs/<run_id>/?after_seq=N` sends `{"type": "hello", "run": summary, "last_seq": n}`, then
every stored event after N, then the live events, each as `{"type": "event", "event": {...}}`:
strictly in `seq` order, never twice. The consumer remembers the last seq it sent; a live event
at or below it is dropped, and one beyond the next expected seq means something was missed (a
full channel, a batch too large to carry) so the gap is read from the database first. The client
may send `{"type": "catch_up", "after_seq": N}` to have everything after N sent again.

Refusals are sent as close codes after accepting, because a browser never sees the code of a
handshake the server refused: 4400 bad query, 4401 not signed in, 4403 no `view_run`
permission, 4404 unknown run or an address that is no run (`NoSuchAddressConsumer`). Watching
never holds a run: consumers only read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from workflows_app import broadcast
from workflows_app.models import SUMMARY_FIELDS, Event, Run

logger = logging.getLogger(__name__)

VIEW_PERMISSION = "workflows_app.view_run"
CATCH_UP_CHUNK = 500

# A runs-feed resync reads the runs changed since a little before the last message received
# (a run's summary is stamped before its write commits and is published after), at most this many.
RESYNC_MARGIN_SECONDS = 5.0
RESYNC_LIMIT = 2000
RESYNC_EVERY_SECONDS = 2.0

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _can_view(user: Any) -> bool:
    return bool(user.has_perm(VIEW_PERMISSION))


@database_sync_to_async
def _run_summary(run_id: str) -> dict[str, Any] | None:
    # Only the summary's columns: the run row also holds its (possibly large) state and head.
    values = Run.objects.filter(pk=run_id).values(*SUMMARY_FIELDS).first()
    return None if values is None else Run.summary_of(values)


@database_sync_to_async
def _events_after(run_id: str, after_seq: int, limit: int) -> list[dict[str, Any]]:
    return [event.to_dict() for event in Event.read(run_id, after_seq, limit)]


@database_sync_to_async
def _runs_changed_since(since: float) -> tuple[list[dict[str, Any]], bool]:
    """Summaries of the runs updated at or after `since` (oldest first, at most
    `RESYNC_LIMIT`), and whether that is all of them."""
    rows = list(
        Run.objects.filter(updated_at__gte=datetime.fromtimestamp(since, UTC))
        .order_by("updated_at")
        .values(*SUMMARY_FIELDS)[: RESYNC_LIMIT + 1]
    )
    return [Run.summary_of(v) for v in rows[:RESYNC_LIMIT]], len(rows) <= RESYNC_LIMIT


def _non_negative_int(value: Any) -> int | None:
    """`value` as a seq (an int >= 0, also from a query string), or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    return value if isinstance(value, int) and value >= 0 else None


class _WatcherConsumer(AsyncJsonWebsocketConsumer):
    """Shared refusal logic: accept, then close with a code unless a viewer is signed in."""

    group: str | None = None

    async def _admit(self) -> bool:
        # The latest server loop is where broadcast must send for the in-memory layer.
        broadcast.attach_loop()
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return False
        if not await _can_view(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return False
        return True

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.group = group

    async def _leave(self) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None

    async def disconnect(self, code: int) -> None:
        """Leave the group; the run goes on regardless."""
        await self._leave()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Decode a client frame; a malformed one gets an error reply, not a dropped socket."""
        if self.group is None:
            return
        try:
            content = await self.decode_json(text_data or "")
        except ValueError:
            await self._error("messages are JSON text frames")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The runs feed takes no requests."""
        await self._error("unknown message")

    async def _error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})


class NoSuchAddressConsumer(AsyncJsonWebsocketConsumer):
    """Any websocket address the routes do not know (a run id longer than any stored one
    included): accepted, then closed with 4404, like an unknown run."""

    async def connect(self) -> None:
        """Accept and close at once: the address names nothing."""
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)


class RunsConsumer(_WatcherConsumer):
    """`/ws/runs/`: every change of any run's summary, for the live runs list.

    Each server process numbers its runs-feed messages (`origin`, `seq`); a gap means this
    watcher missed some (its channel was full, the layer dropped them). It is then told so
    (`{"type": "resync", "since": iso}`) and sent, from the database, the summary of every run
    changed since shortly before the last message it did get, so no run's last status (a
    terminal one above all) is ever missing from the page.
    """

    async def connect(self) -> None:
        """Admit a viewer, join `runs`, then say hello (from here on nothing is missed)."""
        self.feed_seen: dict[str, tuple[int, float]] = {}  # origin -> (seq, sent_at)
        self.resync_since: float | None = None  # missed something changed after this
        self.resynced_at = -RESYNC_EVERY_SECONDS
        self.resync_reminded = False
        if not await self._admit():
            return
        await self._join(broadcast.RUNS_GROUP)
        await self.send_json({"type": "hello"})

    async def runs_changed(self, message: dict[str, Any]) -> None:
        """Forward the new summaries; resync from the database first when some were missed."""
        origin, seq, sent_at = message.get("origin"), message.get("seq"), message.get("sent_at")
        if isinstance(origin, str) and isinstance(seq, int) and isinstance(sent_at, float):
            seen = self.feed_seen.get(origin)
            self.feed_seen[origin] = (seq, sent_at)
            if seen is not None and seq > seen[0] + 1:
                since = seen[1] - RESYNC_MARGIN_SECONDS
                self.resync_since = min(since, self.resync_since or since)
        if self.resync_since is not None:
            await self._resync_when_due()
        for run in message.get("runs") or ():
            await self.send_json({"type": "run", "run": run})

    async def runs_resync(self, message: dict[str, Any]) -> None:
        """The reminder `_resync_when_due` scheduled: resync if still needed."""
        self.resync_reminded = False
        if self.resync_since is not None:
            await self._resync_when_due()

    async def _resync_when_due(self) -> None:
        # At most one resync per RESYNC_EVERY_SECONDS: a watcher that fell behind would fall
        # further behind resending the whole list at every gap. Done in line with the feed's
        # messages (never from a task of its own), so a summary read from the database is never
        # sent after a newer one that came live.
        wait = self.resynced_at + RESYNC_EVERY_SECONDS - time.monotonic()
        if wait <= 0:
            await self._resync()
        elif not self.resync_reminded:
            self.resync_reminded = True
            reminder = {"type": "runs.resync"}
            send = self.channel_layer.send
            asyncio.get_running_loop().call_later(
                wait, lambda: asyncio.ensure_future(send(self.channel_name, reminder))
            )

    async def _resync(self) -> None:
        since = self.resync_since
        if since is None:
            return
        self.resync_since = None
        self.resynced_at = time.monotonic()
        logger.info("a runs feed watcher missed messages; resyncing from the database")
        runs, complete = await _runs_changed_since(since)
        when = datetime.fromtimestamp(since, UTC).isoformat().replace("+00:00", "Z")
        await self.send_json({"type": "resync", "since": when, "complete": complete})
        for run in runs:
            await self.send_json({"type": "run", "run": run})


class RunConsumer(_WatcherConsumer):
    """`/ws/runs/<run_id>/?after_seq=N`: one run's events, stored ones first, then live."""

    run_id: str = ""
    last_sent: int = 0

    async def connect(self) -> None:
        """Admit a viewer, join the run's group, say hello, then send everything after N."""
        if not await self._admit():
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        after_seq = _non_negative_int((query.get("after_seq") or ["0"])[-1])
        if after_seq is None:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.run_id = self.scope["url_route"]["kwargs"]["run_id"]
        # Join before reading the database: an event stored meanwhile then arrives live (and is
        # dropped as already sent if the read saw it too) instead of falling between the two.
        await self._join(broadcast.run_group(self.run_id))
        summary = await _run_summary(self.run_id)
        if summary is None:
            await self._leave()
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.send_json({"type": "hello", "run": summary, "last_seq": summary["seq"]})
        self.last_sent = after_seq
        await self._catch_up()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """`{"type": "catch_up", "after_seq": N}`: send every stored event after N again."""
        if not isinstance(content, dict) or content.get("type") != "catch_up":
            await self._error('expected {"type": "catch_up", "after_seq": N}')
            return
        after_seq = _non_negative_int(content.get("after_seq"))
        if after_seq is None:
            await self._error("after_seq must be an integer >= 0")
            return
        self.last_sent = after_seq
        await self._catch_up()

    async def run_events(self, message: dict[str, Any]) -> None:
        """Forward live events in seq order, dropping repeats and reading gaps from the DB."""
        if message.get("run_id") != self.run_id:
            return  # a hashed group name shared by another id
        events = sorted(message.get("events") or [], key=lambda e: e["seq"])
        for event in events:
            if event["seq"] > self.last_sent + 1:
                await self._catch_up()
            if event["seq"] <= self.last_sent:
                continue
            if event["seq"] > self.last_sent + 1:
                # Published after commit, so the gap should be stored; send what we have rather
                # than withhold the live stream, and let the client ask for a catch-up.
                logger.warning(
                    "run %s: events %d..%d not in the database",
                    self.run_id,
                    self.last_sent + 1,
                    event["seq"] - 1,
                )
            await self._send_event(event)
        last_seq = message.get("last_seq")
        if isinstance(last_seq, int) and last_seq > self.last_sent:
            await self._catch_up()  # a batch too large to carry: it is in the database

    async def _catch_up(self) -> None:
        """Send every stored event after the last one sent, in chunks."""
        while True:
            chunk = await _events_after(self.run_id, self.last_sent, CATCH_UP_CHUNK)
            for event in chunk:
                await self._send_event(event)
            if len(chunk) < CATCH_UP_CHUNK:
                return

    async def _send_event(self, event: dict[str, Any]) -> None:
        self.last_sent = event["seq"]
        await self.send_json({"type": "event", "event": event})
