"""Workflows the durable worker fault tests kill processes under. Each step writes a line to
the ledger file `STEPBACK_TEST_LEDGER` when it has done its work, so a test can count how often
every step ran; `held` waits until the file `<ledger>.release` exists."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from engines import StepContext, Workflow, step

NAP_SECONDS = 2.0


def ledger(line: str) -> None:
    with open(os.environ["STEPBACK_TEST_LEDGER"], "a") as sink:
        sink.write(line + "\n")


@step(id="first")
async def first(ctx: StepContext) -> dict[str, Any]:
    ledger("first")
    return {"count": 1}


@step(id="second")
async def second(ctx: StepContext) -> dict[str, Any]:
    ledger("second")
    return {"count": int(ctx.input_data["count"]) + 1}


@step(id="held")
async def held(ctx: StepContext) -> dict[str, Any]:
    ledger("held:start")
    release = Path(os.environ["STEPBACK_TEST_LEDGER"] + ".release")
    # Another process (the test) creates the file: there is nothing in this one to wait on.
    while not release.exists():  # noqa: ASYNC240
        if ctx.is_cancelled:
            ledger("held:canceled")
            return {"count": -1}
        await asyncio.sleep(0.02)
    ledger("held")
    return {"count": int(ctx.input_data["count"]) + 1}


@step(id="last")
async def last(ctx: StepContext) -> dict[str, Any]:
    ledger("last")
    return {"count": int(ctx.input_data["count"]) + 1}


durable_held = Workflow("durable-held").then(first).then(second).then(held).then(last).commit()
durable_nap = Workflow("durable-nap").then(first).sleep(NAP_SECONDS).then(second).commit()
