"""The durable engine against raw DBOS, side by side in one process: `python -m bench.durable`.

- W1: a 1,000-step chain of trivial steps (`bench.workloads.chain_workflow`) on
  `DurableEngine(storage=InMemoryStorage())`, against one raw DBOS workflow running the same
  trivial function as 1,000 named steps (`DBOS.run_step_async`). The figure is the time per
  step of each and their ratio (goal: durable <= 1.25 x raw DBOS).
- W5: time travel of that chain from step 900 (100 steps run again) on the durable engine.

Both on an SQLite system database (a temporary file, WAL) and, when
`STEPBACK_BENCH_DBOS_POSTGRES_URL` is set (or `--postgres URL`), on PostgreSQL. DBOS is one
per process, so the two run one after the other with DBOS relaunched in between. Each figure is
the median of `--repeat` runs, after one warm-up run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from dbos import DBOS

from bench.workloads import chain_workflow
from engines import InMemoryStorage
from engines.durable import DurableEngine, host

STEPS = 1000
FORK_AT = 900


async def _trivial(value: dict[str, int]) -> dict[str, int]:
    return {"i": value["i"] + 1}


@DBOS.workflow(name="bench.raw_chain")
async def raw_chain(n: int) -> dict[str, int]:
    """The raw DBOS peer of W1: `n` named steps, each the trivial increment."""
    value = {"i": 0}
    for k in range(n):
        value = await DBOS.run_step_async({"name": f"s{k}"}, _trivial, value)
    return value


async def _median(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    await call()  # warm-up
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        await call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def measure(url: str, repeat: int) -> dict[str, float]:
    """W1 (durable and raw DBOS, seconds per step) and W5 (seconds) on system database `url`."""
    engine = DurableEngine(url, InMemoryStorage())
    await engine.launch()
    wf = chain_workflow(STEPS, "bench-durable-chain")

    async def durable() -> None:
        result = await wf.create_run(engine=engine).start(input_data={"i": 0})
        await engine.settled()  # every step in the journal, as raw DBOS has them
        if result.result != {"i": STEPS}:
            raise RuntimeError(f"the durable chain ended {result.status}: {result.result!r}")

    async def raw() -> None:
        if await raw_chain(STEPS) != {"i": STEPS}:
            raise RuntimeError("the raw DBOS chain returned the wrong value")

    source = await wf.create_run(engine=engine).start(input_data={"i": 0})

    async def time_travel() -> None:
        result = await wf.create_run(engine=engine, run_id=source.run_id).time_travel(
            f"s{FORK_AT}", input_data={"i": FORK_AT}
        )
        await engine.settled()
        if result.result != {"i": STEPS}:
            raise RuntimeError(f"the time travel ended {result.status}: {result.result!r}")

    figures = {
        "durable": await _median(durable, repeat) / STEPS,
        "raw": await _median(raw, repeat) / STEPS,
        "w5": await _median(time_travel, repeat),
    }
    await engine.aclose()
    host.shutdown()
    return figures


def _report(name: str, figures: dict[str, float]) -> None:
    ratio = figures["durable"] / figures["raw"]
    print(
        f"{name:10} W1 durable {figures['durable'] * 1000:7.3f} ms/step   "
        f"raw DBOS {figures['raw'] * 1000:7.3f} ms/step   ratio {ratio:5.2f}x (goal <= 1.25x)   "
        f"W5 from step {FORK_AT}: {figures['w5'] * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("STEPBACK_BENCH_DBOS_POSTGRES_URL"))
    options = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="stepback-bench-dbos-")
    try:
        url = host.sqlite_url(os.path.join(folder, "dbos.sqlite"))
        _report("sqlite", asyncio.run(measure(url, options.repeat)))
        if options.postgres:
            _report("postgres", asyncio.run(measure(options.postgres, options.repeat)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
