"""Restart of a finished run returns its stored result (engine semantics §3.5).

`restart()` on a run that ended `success` or `failed` re-executes nothing and writes nothing: it
returns the stored result (status, result, the error as an exception, the steps). A run that
never started, is suspended or was canceled is still refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from engines import InvalidRunStateError, RunNotFoundError, StepContext, Workflow, step
from engines.testing import Calls


class OutOfStock(Exception):
    """A step's own error class, to see it come back from storage."""


def _order(calls: Calls, fail: bool) -> Workflow:
    @step(id="reserve")
    async def reserve(ctx: StepContext) -> dict[str, int]:
        calls.hit("reserve")
        return {"reserved": 2}

    @step(id="ship")
    async def ship(ctx: StepContext) -> dict[str, Any]:
        calls.hit("ship")
        if fail:
            raise OutOfStock("nothing left to ship")
        return {"shipped": ctx.input_data["reserved"]}

    return Workflow(f"restart-finished-{fail}").then(reserve).then(ship).commit()


async def _stored(engine: Any, run_id: str) -> tuple[dict[str, Any], int]:
    snap = await engine.storage.load(run_id)
    assert snap is not None
    return snap.to_dict(), len(await engine.storage.read_events(run_id))


async def test_restart_of_a_succeeded_run_returns_its_stored_result(
    engine: Any, calls: Calls
) -> None:
    """Nothing runs again; status, result and steps are the stored ones; nothing is written."""
    wf = _order(calls, fail=False)
    first = await wf.create_run(engine=engine).start(input_data={})
    assert first.status == "success"
    before = await _stored(engine, first.run_id)

    result = await wf.create_run(engine=engine, run_id=first.run_id).restart()

    assert result.status == "success"
    assert result.run_id == first.run_id
    assert result.result == {"shipped": 2}
    assert result.error is None
    assert set(result.steps) == {"reserve", "ship"}
    assert result.steps["ship"].output == {"shipped": 2}
    assert calls["reserve"] == 1
    assert calls["ship"] == 1
    assert await _stored(engine, first.run_id) == before


async def test_restart_of_a_failed_run_returns_its_stored_error_as_an_exception(
    engine: Any, calls: Calls
) -> None:
    """The stored error comes back as an exception with its class name and message."""
    wf = _order(calls, fail=True)
    first = await wf.create_run(engine=engine).start(input_data={})
    assert first.status == "failed"
    before = await _stored(engine, first.run_id)

    result = await wf.create_run(engine=engine, run_id=first.run_id).restart()

    assert result.status == "failed"
    assert isinstance(result.error, Exception)
    assert type(result.error).__name__ == "OutOfStock"
    assert str(result.error) == "nothing left to ship"
    assert result.result is None
    assert result.steps["ship"].status == "failed"
    assert type(result.steps["ship"].error).__name__ == "OutOfStock"
    assert result.steps["reserve"].output == {"reserved": 2}
    assert calls["ship"] == 1
    assert await _stored(engine, first.run_id) == before


async def test_restart_of_a_run_that_never_started_is_still_refused(engine: Any) -> None:
    """A run id with nothing stored is refused (RunNotFoundError)."""
    wf = _order(Calls(), fail=False)

    with pytest.raises(RunNotFoundError):
        await wf.create_run(engine=engine, run_id="restart-never-started").restart()


async def test_restart_of_a_canceled_run_is_still_refused(engine: Any, calls: Calls) -> None:
    """A canceled run is refused with InvalidRunStateError and nothing runs."""

    @step(id="wait")
    async def wait(ctx: StepContext) -> None:
        ctx.suspend({})

    wf = Workflow("restart-canceled").then(wait).commit()
    run = wf.create_run(engine=engine)
    assert (await run.start(input_data={})).status == "suspended"
    assert await run.cancel() is True

    with pytest.raises(InvalidRunStateError):
        await wf.create_run(engine=engine, run_id=run.run_id).restart()
