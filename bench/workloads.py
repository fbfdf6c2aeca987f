"""The Stepback side of each workload, on `DefaultEngine(storage=InMemoryStorage())`.

Every factory returns a `Subject`: the timed call creates a run and drives it to its end on a
fresh engine, and the check refuses a run that did not produce the expected result.
"""

from __future__ import annotations

from typing import Any

from bench.timing import BenchError, Subject
from engines import DefaultEngine, InMemoryStorage, Run, RunResult, Step, StepContext, Workflow


def new_engine() -> DefaultEngine:
    """The engine every workload runs on."""
    return DefaultEngine(storage=InMemoryStorage())


def expect(result: RunResult, value: Any) -> None:
    """Refuse a run that did not succeed with `value` as its result."""
    if result.status != "success":
        raise BenchError(f"run {result.run_id} ended {result.status!r}: {result.error!r}")
    if result.result != value:
        shown = repr(result.result)
        raise BenchError(f"run {result.run_id} returned {shown[:200]}, expected {value!r:.200}")


async def _prepare() -> DefaultEngine:
    return new_engine()


async def _close(engine: DefaultEngine) -> None:
    await engine.aclose()


# -- W1: a chain of trivial steps ---------------------------------------------------------------


async def increment(ctx: StepContext) -> dict[str, int]:
    return {"i": ctx.input_data["i"] + 1}


def chain_workflow(n: int, id: str = "bench-chain") -> Workflow:
    """`s0` -> `s1` -> ... -> `s{n-1}`; step `sk` receives {"i": k} when started from {"i": 0}."""
    wf = Workflow(id)
    for k in range(n):
        wf.then(Step(f"s{k}", increment))
    return wf.commit()


def chain(n: int) -> Subject:
    """W1: run a chain of `n` steps from {"i": 0}; the result is {"i": n}."""
    wf = chain_workflow(n)

    async def run(engine: DefaultEngine) -> RunResult:
        return await wf.create_run(engine=engine).start(input_data={"i": 0})

    def check(result: RunResult) -> None:
        expect(result, {"i": n})
        if len(result.steps) != n:
            raise BenchError(f"expected {n} step records, got {len(result.steps)}")

    return Subject(name="stepback", steps=n, run=run, prepare=_prepare, finish=_close, check=check)


# -- W2: fan-out and join -----------------------------------------------------------------------


async def branch(ctx: StepContext) -> int:
    return int(ctx.input_data["x"]) + 1


async def join(ctx: StepContext) -> dict[str, int]:
    outputs: dict[str, int] = ctx.input_data
    return {"count": len(outputs), "total": sum(outputs.values())}


def fanout_workflow(n: int, id: str = "bench-fanout") -> Workflow:
    """`n` parallel branches `p0`..`p{n-1}`, each returning x + 1, then a `join` step."""
    branches = [Step(f"p{k}", branch) for k in range(n)]
    return Workflow(id).parallel(branches).then(Step("join", join)).commit()


def fanout(n: int) -> Subject:
    """W2: fan out to `n` branches from {"x": 1} and join; the result counts and sums them."""
    wf = fanout_workflow(n)

    async def run(engine: DefaultEngine) -> RunResult:
        return await wf.create_run(engine=engine).start(input_data={"x": 1})

    def check(result: RunResult) -> None:
        expect(result, {"count": n, "total": 2 * n})

    return Subject(
        name="stepback", steps=n + 1, run=run, prepare=_prepare, finish=_close, check=check
    )


# -- W3: foreach over many items ----------------------------------------------------------------


async def item(ctx: StepContext) -> int:
    return int(ctx.input_data) + 1


def foreach_workflow(id: str = "bench-foreach") -> Workflow:
    """`.foreach(item)` with concurrency 1: the output is the list of item + 1."""
    return Workflow(id).foreach(Step("item", item), concurrency=1).commit()


def foreach(n: int) -> Subject:
    """W3: foreach over range(n), one item at a time; the result is [1, ..., n]."""
    wf = foreach_workflow()
    items = list(range(n))
    expected = [i + 1 for i in items]

    async def run(engine: DefaultEngine) -> RunResult:
        return await wf.create_run(engine=engine).start(input_data=items)

    def check(result: RunResult) -> None:
        expect(result, expected)

    return Subject(name="stepback", steps=n, run=run, prepare=_prepare, finish=_close, check=check)


# -- W5: time travel into a finished chain ------------------------------------------------------


def fork_point(n: int) -> int:
    """The step W5 travels back to: 90% into the chain (900 of 1,000)."""
    return n - max(n // 10, 1)


def time_travel(n: int, at: int | None = None) -> Subject:
    """W5: run the `n`-step chain once (untimed), then time `time_travel(f"s{at}")` with
    input {"i": 0}: the fork re-runs steps `at`..`n-1` and returns {"i": n - at}."""
    at = fork_point(n) if at is None else at
    if not 0 <= at < n:
        raise ValueError(f"fork step {at} is outside a chain of {n} steps")
    wf = chain_workflow(n)
    engine = new_engine()
    source: list[str] = []

    async def setup() -> None:
        result = await wf.create_run(engine=engine).start(input_data={"i": 0})
        expect(result, {"i": n})
        source.append(result.run_id)

    async def prepare() -> Run:
        return wf.create_run(engine=engine, run_id=source[0])

    async def run(handle: Run) -> RunResult:
        return await handle.time_travel(f"s{at}", input_data={"i": 0})

    def check(result: RunResult) -> None:
        expect(result, {"i": n - at})
        if result.parent_run_id != source[0] or result.run_id == source[0]:
            raise BenchError(
                f"time travel did not fork: run {result.run_id}, parent {result.parent_run_id}"
            )
        if result.fork_step != f"s{at}":
            raise BenchError(f"fork step is {result.fork_step!r}, expected 's{at}'")

    async def teardown() -> None:
        await engine.aclose()

    return Subject(
        name="stepback",
        steps=n - at,
        run=run,
        prepare=prepare,
        check=check,
        setup=setup,
        teardown=teardown,
    )
