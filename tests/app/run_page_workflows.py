"""Workflows for the run page tests (registered with STEPBACK_WORKFLOWS in those tests)."""

from __future__ import annotations

from engines import StepContext, Workflow, step


@step(retries=1)
def wobble(ctx: StepContext) -> dict[str, int]:
    """Fail the first attempt, succeed on the retry."""
    if ctx.retry_count == 0:
        raise ConnectionError("the first attempt always drops")
    return {"attempts": ctx.retry_count + 1}


class Unpaid(RuntimeError):
    """An error with an attribute of its own."""

    def __init__(self, invoice: str) -> None:
        super().__init__(f"invoice {invoice} is unpaid")
        self.invoice = invoice


@step
def collect(ctx: StepContext) -> None:
    """Fail with an error raised from another (a cause chain)."""
    try:
        raise TimeoutError("the bank did not answer")
    except TimeoutError as exc:
        raise Unpaid("INV-7") from exc


@step
def echo(ctx: StepContext) -> object:
    """Give back its input."""
    return ctx.input_data


flaky = Workflow("flaky").then(wobble).commit()
unpaid = Workflow("unpaid").then(collect).commit()
parrot = Workflow("parrot").then(echo).commit()
