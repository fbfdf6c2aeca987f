"""The one DBOS workflow every run segment is: `stepback.segment(workflow_id, run_id, execution)`.

A caller in this process registers the live segment (its engine, workflow, prepared execution)
under the segment id before starting the DBOS workflow, and the workflow walks it. When DBOS
recovers a segment (its process died), no caller waits for it: the workflow finds its workflow
by id and walks the run again with the process's recovery engine (see `DurableEngine`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbos import DBOS

from engines.core.engine import Execution, ExecutionMode, ResumeTarget
from engines.core.errors import WorkflowError
from engines.core.snapshot import RunSnapshot
from engines.durable import host
from engines.durable.journal import recorded_journal

if TYPE_CHECKING:
    from engines.core.results import RunResult
    from engines.core.workflow import Workflow
    from engines.durable.engine import DurableEngine

log = logging.getLogger("engines.durable")


@dataclass
class LiveSegment:
    """A segment started by a caller of this process, which awaits its result."""

    engine: DurableEngine
    workflow: Workflow
    execution: Execution
    result: RunResult | None = None
    error: BaseException | None = None
    task: asyncio.Task[Any] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


live_segments: dict[str, LiveSegment] = {}


def encode_execution(execution: Execution) -> dict[str, Any]:
    """The execution as the segment's recorded input (JSON-ready)."""
    resume = execution.resume
    return {
        "snapshot": execution.snapshot.to_dict(),
        "mode": execution.mode.value,
        "resume": (
            {
                "path": list(resume.path),
                "data": resume.data,
                "for_each_index": resume.for_each_index,
                "downstream": resume.downstream,
            }
            if resume is not None
            else None
        ),
        "per_step": execution.per_step,
        "fork_origin": execution.fork_origin,
    }


def decode_execution(data: dict[str, Any]) -> Execution:
    resume = data.get("resume")
    return Execution(
        RunSnapshot.from_dict(data["snapshot"]),
        ExecutionMode(data["mode"]),
        ResumeTarget(
            tuple(resume["path"]), resume["data"], resume["for_each_index"], resume["downstream"]
        )
        if resume is not None
        else None,
        per_step=bool(data.get("per_step")),
        fork_origin=data.get("fork_origin"),
    )


@DBOS.workflow(name="stepback.segment")
async def run_segment(workflow_id: str, run_id: str, execution: dict[str, Any]) -> str:
    """Walk one segment of a run; returns the status it stopped in."""
    segment_id = DBOS.workflow_id
    assert segment_id is not None
    live = live_segments.get(segment_id)
    if live is not None:
        result = await live.engine.walk(live.workflow, live.execution, live.engine.journal(), live)
        return result.status
    return await _recover(segment_id, workflow_id, run_id, execution)


async def _recover(segment_id: str, workflow_id: str, run_id: str, data: dict[str, Any]) -> str:
    engine = host.recovery_engine()
    workflow = host.find_workflow(workflow_id)
    if engine is None or workflow is None:
        raise WorkflowError(
            f"Cannot recover segment {segment_id!r}: this process has "
            + ("no durable engine" if engine is None else f"no workflow {workflow_id!r}")
        )
    journal = await recorded_journal(segment_id, engine.journal_writers)
    execution = decode_execution(data)
    stored = await engine.storage.load(run_id)
    if stored is not None and stored.seq > execution.snapshot.seq:
        # The dead process had written part of the segment: go on from what it wrote, with
        # the journal answering the steps it finished after its last write.
        if stored.status not in ("running", "waiting"):
            return stored.status
        stored.status = "running"
        execution = Execution(stored, ExecutionMode.RESTART)
    log.info("recovering segment %s of run %s", segment_id, run_id)
    result = await engine.walk(workflow, execution, journal, None)
    return result.status
