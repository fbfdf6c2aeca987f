"""Random workflows for the differential test: every shape the engines must agree on.

`random_workflow(rng, index)` builds a workflow from a seeded generator, with a script of what
to do after each stop (resume a suspended step with given data). Every step is a pure function
of its input (and its attempt number), so every engine must produce the same results, records
and events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from engines import NonRetryableError, StepContext, Workflow
from engines.core.step import Step, step


class Ids:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def __call__(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.n}"


def _add(sid: str, k: int) -> Step:
    @step(id=sid)
    async def add(ctx: StepContext) -> dict[str, int]:
        return {"v": int(ctx.input_data["v"]) + k}

    return add


def _flaky(sid: str, k: int, fail_times: int, retries: int) -> Step:
    @step(id=sid, retries=retries)
    async def flaky(ctx: StepContext) -> dict[str, int]:
        if ctx.retry_count < fail_times:
            raise ValueError(f"{sid} attempt {ctx.retry_count} fails")
        return {"v": int(ctx.input_data["v"]) + k}

    return flaky


def _fatal(sid: str) -> Step:
    @step(id=sid, retries=2)
    async def fatal(ctx: StepContext) -> dict[str, int]:
        raise NonRetryableError(f"{sid} cannot go on")

    return fatal


def _asks(sid: str) -> Step:
    @step(id=sid)
    async def asks(ctx: StepContext) -> dict[str, int]:
        if ctx.resume_data is None:
            ctx.suspend({"question": sid})
        return {"v": int(ctx.input_data["v"]) + int(ctx.resume_data["add"])}

    return asks


def _cancels(sid: str) -> Step:
    @step(id=sid)
    async def cancels(ctx: StepContext) -> dict[str, int]:
        ctx.cancel()
        return {"v": int(ctx.input_data["v"])}

    return cancels


def _total(value: Any) -> dict[str, int]:
    """Folds a block's output ({id: {"v"}} or a list of {"v"}) back into one {"v"}."""
    if isinstance(value, dict) and "v" in value:
        return {"v": int(value["v"])}
    items = value.values() if isinstance(value, dict) else value
    return {"v": sum(int(item["v"]) for item in items if isinstance(item, dict))}


@dataclass
class Plan:
    """A workflow with the resume data to answer each suspension with, in order."""

    workflow: Workflow
    resumes: list[dict[str, int]] = field(default_factory=list)
    input: dict[str, int] = field(default_factory=lambda: {"v": 1})


def random_workflow(rng: random.Random, index: int) -> Plan:
    ids = Ids(f"w{index}")
    resumes: list[dict[str, int]] = []
    wf = _flow(rng, ids, f"diff-{index}", depth=0, resumes=resumes)
    return Plan(wf.commit(), resumes, {"v": rng.randint(0, 9)})


def _flow(rng: random.Random, ids: Ids, wid: str, depth: int, resumes: list[Any]) -> Workflow:
    wf = Workflow(wid)
    for _ in range(rng.randint(1, 4)):
        _entry(rng, ids, wf, depth, resumes)
    return wf


def _entry(rng: random.Random, ids: Ids, wf: Workflow, depth: int, resumes: list[Any]) -> None:
    kind = rng.choice(
        ["then", "then", "parallel", "branch", "loop", "foreach", "nested", "sleep", "ask",
         "flaky", "fatal", "cancel"]
    )  # fmt: skip
    if kind == "nested" and depth >= 1:
        kind = "then"
    if kind in ("fatal", "cancel") and rng.random() < 0.6:
        kind = "then"  # rarer: they end the run
    if kind == "then":
        wf.then(_add(ids("s"), rng.randint(1, 5)))
    elif kind == "parallel":
        wf.parallel([_add(ids("p"), rng.randint(1, 5)) for _ in range(rng.randint(2, 3))])
        wf.map(_total, id=ids("m"))
    elif kind == "branch":
        cut = rng.randint(0, 12)
        high, low = _add(ids("b"), 1), _add(ids("b"), 2)

        async def is_high(ctx: Any, cut: int = cut) -> bool:
            return int(ctx.input_data["v"]) >= cut

        async def is_low(ctx: Any, cut: int = cut) -> bool:
            return int(ctx.input_data["v"]) < cut

        wf.branch([(is_high, high), (is_low, low)])
        wf.map(_total, id=ids("m"))
    elif kind == "loop":
        limit = rng.randint(1, 4)
        body = _add(ids("l"), 1)
        start = {"n": 0}

        async def done(ctx: Any, limit: int = limit, start: dict[str, int] = start) -> bool:
            return ctx.iteration >= limit

        wf.dountil(body, done)
    elif kind == "foreach":
        n, concurrency = rng.randint(0, 5), rng.randint(1, 3)

        def spread(ctx: Any, n: int = n) -> list[dict[str, int]]:
            return [{"v": int(ctx.input_data["v"]) + i} for i in range(n)]

        wf.map(spread, id=ids("m"))
        wf.foreach(_add(ids("f"), rng.randint(1, 3)), concurrency=concurrency)
        wf.map(_total, id=ids("m"))
    elif kind == "nested":
        inner = _flow(rng, ids, ids("n"), depth + 1, resumes)
        wf.then(inner.commit())
    elif kind == "sleep":
        wf.sleep(0, id=ids("z"))
    elif kind == "ask":
        wf.then(_asks(ids("a")))
        resumes.append({"add": rng.randint(1, 9)})
    elif kind == "flaky":
        fails = rng.randint(0, 2)
        wf.then(_flaky(ids("r"), rng.randint(1, 3), fails, retries=rng.choice([fails, fails + 1])))
    elif kind == "fatal":
        wf.then(_fatal(ids("x")))
    else:
        wf.then(_cancels(ids("c")))
