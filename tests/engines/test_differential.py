"""Differential test: random workflows run on every engine and must come out the same.

Each workflow (`tests.engines.differential`) runs on every engine in `engine_factories()`,
resumed as its script says after each suspension; the results, the step records and the
sequence of event types must be identical to the reference engine's. At least 200 workflows
per run; `STEPBACK_DIFF_WORKFLOWS=N` runs N (a soak), `STEPBACK_DIFF_SEED` changes the seed.
"""

from __future__ import annotations

import os
import random
from typing import Any

from engines.core.engine import Engine
from engines.registry import DEFAULT_ENGINE
from engines.testing import engine_factories
from tests.engine_choice import engine_names_under_test
from tests.engines.differential import Plan, random_workflow

COUNT = int(os.environ.get("STEPBACK_DIFF_WORKFLOWS", "200"))
SEED = int(os.environ.get("STEPBACK_DIFF_SEED", "20261202"))


async def _outcome(engine: Engine, plan: Plan, index: int) -> dict[str, Any]:
    run = plan.workflow.create_run(engine=engine, run_id=f"diff-{SEED}-{index}")
    result = await run.start(input_data=plan.input)
    resumes = list(plan.resumes)
    while result.status == "suspended" and resumes:
        result = await run.resume(resumes.pop(0))
    snap = await engine.storage.load(run.run_id)
    assert snap is not None
    events = await engine.storage.read_events(run.run_id)
    return {
        "status": result.status,
        "result": result.result,
        "error": type(result.error).__name__ if result.error is not None else None,
        "steps": {
            key: (r.status, r.payload, r.output, r.attempts, r.suspend_payload, r.resume_payload)
            for key, r in sorted(snap.steps.items())
        },
        "events": [(e.type, ".".join(e.path)) for e in events],
        "seqs": [e.seq for e in events],
    }


async def test_random_workflows_behave_the_same_on_every_engine() -> None:
    # The engines of this test pass: DBOS is one per process, so the two durable variants
    # (SQLite and PostgreSQL system databases) never share one (tests.engine_choice).
    chosen = engine_names_under_test()
    factories = {name: build for name, build in engine_factories().items() if name in chosen}
    assert DEFAULT_ENGINE in factories
    assert len(factories) > 1
    engines = {name: build() for name, build in factories.items()}
    rng = random.Random(SEED)
    statuses: dict[str, int] = {}
    try:
        for index in range(COUNT):
            plan = random_workflow(random.Random(rng.getrandbits(32)), index)
            reference = await _outcome(engines[DEFAULT_ENGINE], plan, index)
            assert reference["seqs"] == list(range(1, len(reference["seqs"]) + 1))
            statuses[reference["status"]] = statuses.get(reference["status"], 0) + 1
            for name, engine in engines.items():
                if name == DEFAULT_ENGINE:
                    continue
                got = await _outcome(engine, plan, index)
                assert got == reference, (
                    f"workflow {index} differs on {name}: {plan.workflow.graph()}"
                )
    finally:
        for engine in engines.values():
            await engine.aclose()
    # The generator reaches every way a run ends.
    assert {"success", "failed", "canceled"} <= set(statuses), statuses
