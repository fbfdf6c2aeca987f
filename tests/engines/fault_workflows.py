"""The workflow of the fault test: a chain whose steps write a ledger line as they start and
end (the ledger file is `STEPBACK_FAULT_LEDGER`), each taking a while."""

from __future__ import annotations

import asyncio
import os

from engines import StepContext, Workflow, step

STEPS = 6
STEP_SECONDS = 0.4


def _write(line: str) -> None:
    with open(os.environ["STEPBACK_FAULT_LEDGER"], "a") as ledger:
        ledger.write(line + "\n")


def _link(index: int) -> object:
    @step(id=f"s{index}")
    async def link(ctx: StepContext) -> dict[str, int]:
        _write(f"start s{index} {os.getpid()}")
        await asyncio.sleep(STEP_SECONDS)
        _write(f"end s{index} {os.getpid()}")
        return {"v": int(ctx.input_data.get("v", 0)) + 1}

    return link


fault_chain = Workflow("fault-chain")
for _i in range(1, STEPS + 1):
    fault_chain.then(_link(_i))  # type: ignore[arg-type]
fault_chain.commit()
