"""Admission control for HTTP requests: a bounded number handled at once, a bounded queue, and
503 with `Retry-After` beyond it.

Django runs each request's sync code on a thread of its own (one per request under ASGI), and
each of those threads holds a database connection while it works. Left unbounded, a burst of
500 requests means 500 threads fighting over two cores and the database's connection limit, and
every request finishes late. Here at most `STEPBACK_HTTP_CONCURRENCY` requests are inside
Django at once; the others wait their turn in arrival order (a short wait each, instead of all
of them waiting for all the others). A request that would wait longer than
`STEPBACK_HTTP_QUEUE_SECONDS`, or find `STEPBACK_HTTP_QUEUE` others already waiting, is refused
before it reaches Django: 503, `Retry-After`, nothing written.

`saturated_response()` gives the same answer to a view that finds the database saturated (a
connection pool with no free connection, a lock it cannot get): see `workflows_app.api.errors`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.conf import settings

RETRY_AFTER_SECONDS = 1
SATURATED = {
    "detail": "The server is busy; try again in a moment.",
    "code": "saturated",
}


def saturated_response() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The 503 answer: status, headers and the API's JSON error body."""
    body = json.dumps(SATURATED).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return 503, headers, body


class AdmissionLimit:
    """ASGI middleware: HTTP requests enter `application` at most `concurrency` at a time."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.waiting = 0

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            # One per server loop (a test may run several loops one after the other).
            self._slots = asyncio.Semaphore(max(1, settings.STEPBACK_HTTP_CONCURRENCY))
            self._loop = loop
            self.waiting = 0
        return self._slots

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.application(scope, receive, send)
            return
        slots = self._semaphore()
        if slots.locked() and self.waiting >= settings.STEPBACK_HTTP_QUEUE:
            await self._refuse(send)
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), settings.STEPBACK_HTTP_QUEUE_SECONDS)
        except TimeoutError:
            await self._refuse(send)
            return
        finally:
            self.waiting -= 1
        try:
            await self.application(scope, receive, send)
        finally:
            slots.release()

    @staticmethod
    async def _refuse(send: Any) -> None:
        status, headers, body = saturated_response()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
