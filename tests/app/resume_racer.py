"""One of two processes racing to resume the same run (`test_resume_race`).

`python -m tests.app.resume_racer RUN_ID NAME`: prepares the resume of RUN_ID (loading the
suspended run), prints "prepared", waits for a line on stdin, then executes the resume with
`{"by": NAME}`. Prints "resumed <status>", or "refused" when the storage refused its write.
The database comes from the environment, as for any process of the app.
"""

from __future__ import annotations

import asyncio
import sys

import django

from engines import StepContext, Workflow, step


@step(id="approve")
async def approve(ctx: StepContext) -> dict[str, str]:
    if ctx.resume_data is None:
        ctx.suspend({"question": "who approves?"})
    return {"by": ctx.resume_data["by"]}


APPROVAL = Workflow("race-approval").then(approve).commit()


async def race(run_id: str, name: str) -> str:
    from engines import DefaultEngine, RunConflictError
    from engines.core.prepare import prepare_resume
    from workflows_app.storage import DjangoStorage

    engine = DefaultEngine(storage=DjangoStorage(engine_name="default"))
    execution = await prepare_resume(
        APPROVAL, engine, run_id, {"by": name}, None, None, None, None, False
    )
    print("prepared", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # both go at once
    try:
        result = await engine.execute(APPROVAL, execution)
    except RunConflictError:
        return "refused"
    return f"resumed {result.status}"


def main() -> None:
    django.setup()
    print(asyncio.run(race(sys.argv[1], sys.argv[2])), flush=True)


if __name__ == "__main__":
    main()
