"""The evented engine on Redis: W1 (a 1,000-step chain) per step, beside a Celery chain.

    python -m bench.evented [--redis URL] [--steps 1000] [--celery/--no-celery]

- W1 on `evented-redis` with one worker, and with two workers consuming the same streams
  (one of them walks the run; the other competes for the events);
- a Celery chain of the same trivial task on the same Redis (a worker subprocess, solo pool);
- events per second with four workers: many short runs at once.

Each figure is the best of a few rounds. Celery is a bench-only extra (`.[bench]`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from typing import Any

from engines import StepContext, Workflow, step
from engines.evented import EventedEngine
from engines.evented.processor import Processor
from engines.evented.worker import Worker
from engines.pubsub.redis import RedisPubSub
from engines.storage.memory import InMemoryStorage

REDIS = os.environ.get("STEPBACK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@step
async def bump(ctx: StepContext) -> dict[str, int]:
    return {"v": int(ctx.input_data["v"]) + 1}


def chain(steps: int, wid: str = "w1") -> Workflow:
    wf = Workflow(wid)
    for index in range(steps):
        wf.then(bump.clone(id=f"s{index}"))
    return wf.commit()


Extra = list[tuple[Worker, asyncio.Task[None]]]


async def _engine(url: str, workers: int) -> tuple[EventedEngine, Extra]:
    prefix = f"stepback:bench:{uuid.uuid4().hex[:8]}"
    engine = EventedEngine(
        InMemoryStorage(), lambda: RedisPubSub(url, prefix), name="evented-redis",
        purge_on_close=True,
    )  # fmt: skip
    await engine.runtime()
    extra: Extra = []
    for index in range(workers - 1):
        pubsub = RedisPubSub(url, prefix)
        name = f"bench-extra-{index}"
        processor = Processor(engine.storage, pubsub, engine.workflows, time.time, name)
        worker = Worker(pubsub, processor, name)
        extra.append((worker, asyncio.ensure_future(worker.run())))
    return engine, extra


async def w1(url: str, steps: int, workers: int, rounds: int = 3) -> float:
    """Best seconds per step of a `steps`-step chain on evented-redis with `workers`."""
    engine, extra = await _engine(url, workers)
    wf = chain(steps)
    best = float("inf")
    try:
        for _ in range(rounds):
            began = time.perf_counter()
            result = await wf.create_run(engine=engine).start(input_data={"v": 0})
            elapsed = time.perf_counter() - began
            assert result.status == "success", result.status
            assert result.result == {"v": steps}
            best = min(best, elapsed / steps)
    finally:
        await _close(engine, extra)
    return best


async def events_per_second(url: str, runs: int = 200, steps: int = 10) -> float:
    """Stored events per second with four workers and `runs` short runs at once."""
    engine, extra = await _engine(url, 4)
    wf = chain(steps, "eps")
    try:
        began = time.perf_counter()
        results = await asyncio.gather(
            *(wf.create_run(engine=engine).start(input_data={"v": 0}) for _ in range(runs))
        )
        elapsed = time.perf_counter() - began
        assert all(r.status == "success" for r in results)
        events = 0
        for r in results:
            events += len(await engine.storage.read_events(r.run_id))
    finally:
        await _close(engine, extra)
    return events / elapsed


async def _close(engine: EventedEngine, extra: Extra) -> None:
    for worker, task in extra:
        worker.stop()
        await task
        await worker.pubsub.aclose()
    await engine.aclose()


# -- Celery ---------------------------------------------------------------------------------------


def celery_app() -> Any:
    from celery import Celery

    app = Celery("stepback_bench", broker=REDIS, backend=REDIS)
    # Every link of a chain goes to the bench's own queue (not only the first).
    app.conf.task_default_queue = os.environ.get("STEPBACK_BENCH_QUEUE", "stepback-bench")
    app.conf.update(
        task_serializer="json", result_serializer="json", worker_hijack_root_logger=False
    )

    @app.task(name="bench.bump")  # type: ignore[untyped-decorator]  # Celery has no types
    def bump_task(value: int) -> int:
        return value + 1

    return app


app = celery_app() if "celery" in sys.modules or os.environ.get("STEPBACK_BENCH_CELERY") else None


def celery_chain(url: str, steps: int, rounds: int = 2) -> float:
    """Best seconds per task of a Celery chain of `steps` trivial tasks on the same Redis."""
    from celery import chain as celery_chain_of

    queue = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ["STEPBACK_BENCH_QUEUE"] = queue
    env = dict(os.environ, STEPBACK_BENCH_REDIS_URL=url, STEPBACK_BENCH_CELERY="1")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench.evented:app", "worker", "-P", "solo",
         "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-l", "WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.environ["STEPBACK_BENCH_REDIS_URL"] = url
    local = celery_app()
    task = local.tasks["bench.bump"]
    best = float("inf")
    try:
        warm = task.apply_async((0,), queue=queue)
        warm.get(timeout=60)
        for _ in range(rounds):
            began = time.perf_counter()
            sig = celery_chain_of(task.s(0), *(task.s() for _ in range(steps - 1)))
            result = sig.apply_async(queue=queue)
            assert result.get(timeout=600) == steps
            best = min(best, (time.perf_counter() - began) / steps)
    finally:
        worker.terminate()
        worker.wait(30)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evented")
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--no-celery", action="store_true")
    parser.add_argument(
        "--celery-steps", type=int, default=200,
        help="tasks in the Celery chain (a chain message carries the rest of the chain, so "
        "a 1,000-task chain costs Celery far more per task than this)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    one = asyncio.run(w1(args.redis, args.steps, 1))
    print(f"W1 {args.steps} steps, evented-redis, 1 worker : {one * 1000:.3f} ms/step", flush=True)
    two = asyncio.run(w1(args.redis, args.steps, 2))
    print(f"W1 {args.steps} steps, evented-redis, 2 workers: {two * 1000:.3f} ms/step", flush=True)
    eps = asyncio.run(events_per_second(args.redis))
    print(f"events/s, evented-redis, 4 workers, 200 runs of 10 steps: {eps:,.0f}", flush=True)
    if not args.no_celery:
        cel = celery_chain(args.redis, args.celery_steps)
        print(f"Celery chain, {args.celery_steps} tasks, same Redis: {cel * 1000:.3f} ms/task")
        print(f"evented-redis (1 worker) is {cel / one:.1f}x faster per step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
