"""The workflows the run page benchmark serves (`python -m bench.run_page` registers this module
with STEPBACK_WORKFLOWS).

- `bench-page-chain`: 1,000 steps one after the other (a big graph, a thousand timeline rows).
- `bench-page-log`: a loop of 5,000 quick iterations: about 10,000 events on one node.
- `bench-page-pulse`: a loop whose iterations each take 40 ms, so the run emits about 50 step
  events a second for as long as it is asked to.
"""

from __future__ import annotations

import asyncio

from engines import Step, StepContext, Workflow

CHAIN_STEPS = 1000
LOG_ITERATIONS = 5000
PULSE_SECONDS = 0.04


async def increment(ctx: StepContext) -> dict[str, int]:
    return {"i": ctx.input_data["i"] + 1}


def _chain() -> Workflow:
    wf = Workflow("bench-page-chain", description="A thousand steps in a row.")
    for k in range(CHAIN_STEPS):
        wf.then(Step(f"s{k:04d}", increment))
    return wf.commit()


def count(ctx: StepContext) -> dict[str, int]:
    return {"i": ctx.input_data["i"] + 1, "n": ctx.input_data["n"]}


def more(ctx: StepContext) -> bool:
    return bool(ctx.input_data["i"] < ctx.input_data["n"])


async def pulse(ctx: StepContext) -> dict[str, int]:
    await asyncio.sleep(PULSE_SECONDS)
    return {"i": ctx.input_data["i"] + 1, "n": ctx.input_data["n"]}


bench_page_chain = _chain()
bench_page_log = (
    Workflow("bench-page-log", description="A loop of quick iterations: a long event log.")
    .dowhile(Step("count", count), more)
    .commit()
)
bench_page_pulse = (
    Workflow("bench-page-pulse", description="About 50 step events a second.")
    .dowhile(Step("pulse", pulse), more)
    .commit()
)
