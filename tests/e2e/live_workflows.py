"""The workflows the live end-to-end tests watch: twenty steps of 50 ms each (about a second),
and one that holds until it is canceled."""

from __future__ import annotations

import asyncio
from typing import Any

from engines import StepContext, Workflow, step

STEPS = 20
STEP_SECONDS = 0.05
EVENTS = 2 + 2 * STEPS  # run.started, started + succeeded per step, run.succeeded


@step
async def nap(ctx: StepContext) -> dict[str, Any]:
    """Wait a little, then count the naps so far."""
    await asyncio.sleep(STEP_SECONDS)
    previous = ctx.input_data if isinstance(ctx.input_data, dict) else {}
    return {"naps": int(previous.get("naps", 0)) + 1}


def _naps() -> Workflow:
    workflow = Workflow("live-naps", description="Twenty short naps, to watch live.")
    for number in range(1, STEPS + 1):
        workflow = workflow.then(nap.clone(id=f"nap_{number:02d}"))
    return workflow.commit()


live_naps = _naps()


HOLD_SECONDS = 120


@step
async def hold(ctx: StepContext) -> dict[str, Any]:
    """Wait until the run is canceled (or, at the latest, HOLD_SECONDS)."""
    try:
        await asyncio.wait_for(ctx.cancel_event.wait(), HOLD_SECONDS)
    except TimeoutError:
        return {"held": False}
    return {"held": True}


live_hold = Workflow("live-hold", description="Holds until canceled.").then(hold).commit()
