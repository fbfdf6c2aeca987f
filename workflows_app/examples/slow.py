"""A slow workflow to watch live: sleeps between steps and a loop that reports its progress.

plan -> sleep -> countdown (a dowhile loop; each tick waits and emits progress) -> sleep ->
report. With the defaults it takes about five seconds.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field

from engines import StepContext, Workflow, step


class SlowInput(BaseModel):
    """How long to take."""

    ticks: int = Field(5, ge=1, le=50, description="Loop iterations")
    tick_seconds: float = Field(0.5, ge=0, le=5, description="Time per iteration")
    pause_seconds: float = Field(1.0, ge=0, le=30, description="Each of the two sleeps")


class Countdown(BaseModel):
    """The loop's running value."""

    remaining: int
    done: int = 0
    tick_seconds: float


class Report(BaseModel):
    """The result."""

    ticks: int
    message: str


@step(input_schema=SlowInput, output_schema=Countdown)
async def plan(ctx: StepContext) -> Countdown:
    """Decide how many ticks to count down."""
    request: SlowInput = ctx.input_data
    return Countdown(remaining=request.ticks, tick_seconds=request.tick_seconds)


@step(input_schema=Countdown, output_schema=Countdown)
async def tick(ctx: StepContext) -> Countdown:
    """One iteration: wait a little (cancellation ends the wait), then report progress."""
    current: Countdown = ctx.input_data
    try:
        await asyncio.wait_for(ctx.cancel_event.wait(), current.tick_seconds)
    except TimeoutError:
        pass
    done = current.done + 1
    remaining = current.remaining - 1
    ctx.emit(
        {
            "iteration": ctx.iteration,
            "done": done,
            "remaining": remaining,
            "message": f"tick {done}",
        }
    )
    return Countdown(remaining=remaining, done=done, tick_seconds=current.tick_seconds)


def more_to_go(ctx: StepContext) -> bool:
    """Loop while ticks remain."""
    return bool(ctx.input_data["remaining"] > 0)


def pause(ctx: StepContext) -> float:
    """The pause the run was started with."""
    return float(ctx.get_init_data()["pause_seconds"])


@step(input_schema=Countdown, output_schema=Report)
async def report(ctx: StepContext) -> Report:
    """Say what happened."""
    final: Countdown = ctx.input_data
    return Report(ticks=final.done, message=f"counted down {final.done} ticks")


slow_countdown = (
    Workflow(
        "slow-countdown",
        input_schema=SlowInput,
        output_schema=Report,
        description=(
            "Takes its time on purpose (sleeps and a loop emitting progress) so a run can be "
            "watched live, cancelled or restarted."
        ),
    )
    .then(plan)
    .sleep(pause, id="warm_up")
    .dowhile(tick, more_to_go)
    .sleep(pause, id="cool_down")
    .then(report)
    .commit()
)
