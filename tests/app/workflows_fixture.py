"""Small workflows for the API tests (registered with STEPBACK_WORKFLOWS in those tests)."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field

from engines import StepContext, Workflow, step


class Name(BaseModel):
    """Who to greet."""

    name: str = Field(min_length=1)


class Answer(BaseModel):
    """What a person answers."""

    approved: bool


@step(input_schema=Name)
def hello(ctx: StepContext) -> dict[str, str]:
    """Greet."""
    return {"greeting": f"Hello {ctx.input_data.name}"}


@step
def shout(ctx: StepContext) -> dict[str, str]:
    """Louder."""
    return {"greeting": ctx.input_data["greeting"].upper()}


@step(input_schema=Name, resume_schema=Answer)
def ask(ctx: StepContext) -> dict[str, bool]:
    """Wait for a person."""
    if ctx.resume_data is None:
        ctx.suspend({"question": f"May {ctx.input_data.name} pass?"}, label="gate")
    return {"approved": ctx.resume_data.approved}


@step
def explode(ctx: StepContext) -> None:
    """Fail with a typed error."""
    raise ValueError("boom")


greet = Workflow("greet", input_schema=Name, description="Greets.").then(hello).then(shout).commit()
approval = Workflow("approval", input_schema=Name).then(ask).commit()
failing = Workflow("failing").then(explode).commit()


# Each event put here makes the next `stall` step set it and hang until its task is canceled:
# the test then cancels it, as a process killed mid-step would stop.
STALL_NEXT: list[asyncio.Event] = []


@step
async def stall(ctx: StepContext) -> dict[str, bool]:
    """Hang once when asked to (see STALL_NEXT), else finish at once."""
    if STALL_NEXT:
        STALL_NEXT.pop().set()
        await asyncio.Event().wait()
    return {"done": True}


@step
def finish(ctx: StepContext) -> dict[str, object]:
    """Report what the step before returned."""
    return {"finished": ctx.input_data}


stalling = Workflow("stalling").then(stall).then(finish).commit()
