"""The README's examples run as written."""

from __future__ import annotations

from pydantic import BaseModel

from engines import StepContext, Workflow, compute, const, from_init, from_step, step


class Order(BaseModel):
    amount: int


async def test_the_five_minute_example_suspends_then_succeeds_on_resume() -> None:
    """The approval example suspends for a large order and finishes after the resume."""

    @step(input_schema=Order, resume_schema=dict)
    async def approve(ctx: StepContext) -> dict:
        if ctx.input_data.amount > 100 and ctx.resume_data is None:
            ctx.suspend({"reason": "needs a manager"}, label="manager")
        return {"approved": True}

    @step
    def total(amount: int, tax: float = 0.2) -> float:
        return amount * (1 + tax)

    wf = Workflow("orders", input_schema=Order).then(approve).commit()
    run = wf.create_run()
    result = await run.start(input_data={"amount": 500})
    assert result.status == "suspended"
    assert result.suspended == [["approve"]]
    result = await run.resume({"ok": True}, label="manager")
    assert result.status == "success"
    assert result.result == {"approved": True}

    priced = await Workflow("price").then(total).commit().create_run().start({"amount": 10})
    assert priced.result == 12.0


async def test_the_map_sources_example_builds_its_output() -> None:
    """Every kind of map source in the README resolves."""

    @step
    async def lookup(ctx: StepContext) -> dict:
        return {"address": {"city": "Oslo"}, "name": "ada"}

    wf = (
        Workflow("mapping")
        .then(lookup)
        .map(
            {
                "city": from_step(lookup, "address.city"),
                "user": from_init("user.id"),
                "retries": const(3),
                "label": compute(lambda ctx: ctx.input_data["name"].upper()),
            }
        )
        .commit()
    )
    result = await wf.create_run().start({"user": {"id": 7}})
    assert result.result == {"city": "Oslo", "user": 7, "retries": 3, "label": "ADA"}
