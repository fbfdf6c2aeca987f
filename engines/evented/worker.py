"""`Worker`: takes processor events off the transport and handles them, many at a time.

Run one per process with `python -m engines.evented.worker --redis URL --workflows MODULE`
(or `python manage.py stepback_worker --engine evented` in the Django app); the evented engine
also embeds one in the process that uses it. SIGTERM stops taking events, lets the events in
flight finish for a grace period, and hands back the rest so another worker takes them at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable

from engines.evented.processor import LEASE_TTL, Processor
from engines.evented.recorder import CONTROL
from engines.pubsub.base import Delivery, Message, PubSub

log = logging.getLogger("engines.evented.worker")


class Worker:
    """One consumer of the processor events: `run()` until `stop()`."""

    def __init__(
        self,
        pubsub: PubSub,
        processor: Processor,
        consumer: str,
        *,
        concurrency: int = 32,
        block: float = 0.1,
        grace: float = 10.0,
    ) -> None:
        self.pubsub = pubsub
        self.processor = processor
        self.consumer = consumer
        self.concurrency = concurrency
        self.block = block
        self.grace = grace
        self.handled = 0
        self._inflight: dict[str, tuple[Delivery, asyncio.Task[None]]] = {}
        self._stopping: asyncio.Event | None = None
        self._stop_listening: Callable[[], Awaitable[None]] | None = None

    def _on_message(self, channel: str, message: Message) -> None:
        if channel == CONTROL and message.get("k") == "cancel":
            self.processor.on_cancel(message["run_id"])

    async def start_listening(self) -> None:
        """Listen for cancels (call before `run` when the caller must know it is ready)."""
        if self._stop_listening is None:
            self._stop_listening = await self.pubsub.listen(self._on_message)

    def stop(self) -> None:
        """Stop taking events (safe from a signal handler on the loop)."""
        if self._stopping is not None:
            self._stopping.set()

    async def run(self) -> None:
        self._stopping = asyncio.Event()
        await self.start_listening()
        keepalive = asyncio.ensure_future(self._keepalive())
        try:
            while not self._stopping.is_set():
                room = self.concurrency - len(self._inflight)
                if room <= 0:
                    await asyncio.wait(
                        [t for _, t in self._inflight.values()],
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    continue
                taking = asyncio.ensure_future(self.pubsub.take(self.consumer, room, self.block))
                stopping = asyncio.ensure_future(self._stopping.wait())
                await asyncio.wait({taking, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not taking.done():
                    # Not cancelled mid-command (that would drop a broker connection): a take
                    # blocks for at most `block`; what it brings back is handed back.
                    taken = await taking
                    await self.pubsub.hand_back(self.consumer, taken)
                    break
                for delivery in taking.result():
                    task = asyncio.ensure_future(self._handle(delivery))
                    self._inflight[delivery.id] = (delivery, task)
        finally:
            keepalive.cancel()
            await self._wind_down()
            if self._stop_listening is not None:
                await self._stop_listening()
                self._stop_listening = None

    async def _handle(self, delivery: Delivery) -> None:
        try:
            await self.processor.handle(delivery.job, delivery.deliveries)
            await self.pubsub.ack(delivery)
            self.handled += 1
        finally:
            self._inflight.pop(delivery.id, None)

    async def _keepalive(self) -> None:
        """Keep the claims on long events and the leases of their runs alive."""
        while True:
            await asyncio.sleep(LEASE_TTL / 3)
            try:
                await self.pubsub.touch(self.consumer, [d for d, _ in self._inflight.values()])
                await self.processor.renew_leases()
            except Exception:
                log.exception("keep-alive failed")

    async def _wind_down(self) -> None:
        """Let events in flight finish for `grace` seconds, then hand the rest back."""
        if not self._inflight:
            return
        tasks = [t for _, t in self._inflight.values()]
        await asyncio.wait(tasks, timeout=self.grace)
        left = list(self._inflight.values())
        for _, task in left:
            task.cancel()
        for _, task in left:
            with contextlib.suppress(BaseException):
                await task
        if left:
            await self.pubsub.hand_back(self.consumer, [d for d, _ in left])
            log.warning("handed back %d events", len(left))


# -- the command line ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m engines.evented.worker",
        description="Run an evented-engine worker: handle runs' events from Redis.",
    )
    parser.add_argument("--redis", required=True, help="Redis URL, e.g. redis://host:6379/0")
    parser.add_argument(
        "--workflows", required=True, action="append",
        help="module whose top-level Workflow objects this worker runs (repeatable)",
    )  # fmt: skip
    parser.add_argument("--prefix", default="stepback", help="key prefix shared with the web app")
    parser.add_argument(
        "--storage", default=None,
        help="'module:callable' returning the Storage shared with the callers "
        "(default: the module's `storage` attribute of the first --workflows module)",
    )  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--claim-idle", type=float, default=5.0)
    return parser.parse_args(argv)


def serve(worker: Worker) -> None:
    """Run `worker` until SIGTERM or SIGINT."""
    serve_with(worker, None)


def serve_with(
    worker: Worker, around: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None
) -> None:
    """Run `worker` until SIGTERM or SIGINT, inside `around()` (a heartbeat) if given."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        try:
            if around is None:
                await worker.run()
            else:
                async with around():
                    await worker.run()
        finally:
            await worker.pubsub.aclose()

    asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    import importlib

    from engines.evented.workflows import WorkflowSet
    from engines.pubsub.redis import RedisPubSub, consumer_name

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    workflows = WorkflowSet.from_modules(args.workflows)
    spec = args.storage or f"{args.workflows[0]}:storage"
    module_name, _, attr = spec.partition(":")
    found = getattr(importlib.import_module(module_name), attr or "storage", None)
    if found is None:
        print(f"no storage at {spec!r}: pass --storage module:callable", file=sys.stderr)
        return 2
    storage = found() if callable(found) else found
    pubsub = RedisPubSub(args.redis, args.prefix, claim_idle=args.claim_idle)
    consumer = consumer_name()
    processor = Processor(storage, pubsub, workflows, time.time, consumer)
    worker = Worker(pubsub, processor, consumer, concurrency=args.concurrency, block=0.25)
    log.info("worker %s: %d workflows, redis %s", consumer, len(workflows), args.redis)
    serve(worker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
