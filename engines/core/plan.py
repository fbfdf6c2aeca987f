"""The plan preview of a time travel: what a prepared fork does with every step.

It reads the fork's records with the engine's own replay rule (`engines.core.replay`), so the
preview and the execution cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from engines.core.engine import ResumeTarget
from engines.core.graph import BranchEntry, ForeachEntry, SleepEntry, StepLike, entry_steps
from engines.core.replay import Replay, Targets, replay
from engines.core.results import StepResult
from engines.core.snapshot import path_key
from engines.core.workflow import Workflow

PlanAction = Literal["reused", "re-executed", "skipped", "fails", "canceled", "stays suspended"]

# A foreach item of a nested workflow records its inner steps under "step[3].inner".
_ITEM_INDEX = re.compile(r"\[\d+\]")


def _plain_records(steps: Mapping[str, StepResult]) -> dict[str, StepResult]:
    """Each record by its graph path (foreach item indexes dropped; an item that did not
    succeed speaks for all of them)."""
    out: dict[str, StepResult] = {}
    for key, rec in steps.items():
        plain = _ITEM_INDEX.sub("", key)
        held = out.get(plain)
        if held is None or held.status == "success":
            out[plain] = rec
    return out


def plan_fork(
    workflow: Workflow,
    steps: Mapping[str, StepResult],
    resume: ResumeTarget | None = None,
) -> list[tuple[str, PlanAction]]:
    """What running `workflow` over prepared records (`prepare_time_travel`'s snapshot, and its
    `resume` target) does with every step path, nested workflows and sleeps included, in
    graph order.

    Each record is read with the engine's own replay rule (`engines.core.replay`): a successful
    record is replayed ("reused"); a recorded failure, cancel or suspension that the fork does
    not resume stops it there ("fails", "canceled", "stays suspended"); every other step on
    the path runs ("re-executed": the target, the workflows enclosing it, and what follows it
    unless reused). A branch whose arms were recorded runs those arms only, so the others,
    like everything inside a replayed nested workflow, are "skipped". A foreach that runs
    again over items of which some are kept lists each item after it (`step[0]`, ...):
    "reused" or "re-executed".
    """
    targets: Targets = resume.path if resume is not None and not resume.downstream else None
    out: list[tuple[str, PlanAction]] = []
    _plan_flow(workflow, (), _plain_records(steps), steps, targets, True, out)
    return out


def _plan_flow(
    flow: Workflow,
    prefix: tuple[str, ...],
    records: dict[str, StepResult],
    steps: Mapping[str, StepResult],
    targets: Targets,
    runs: bool,
    out: list[tuple[str, PlanAction]],
) -> bool:
    """Plan a flow's entries; True when the flow stops at one of them (what follows is
    skipped, in this flow and in the flows enclosing it)."""
    stopped = False
    for entry in flow.entries:
        if isinstance(entry, SleepEntry):
            if _plan_node(None, (*prefix, entry.id), records, steps, targets, runs, out):
                stopped, runs = True, False
            continue
        members = entry_steps(entry)
        chosen: set[str] = set()
        if isinstance(entry, BranchEntry):
            chosen = {
                s.id
                for s in members
                if (r := records.get(path_key((*prefix, s.id)))) is not None
                and r.status != "skipped"
            }
        foreach = isinstance(entry, ForeachEntry)
        block_stops = False
        for s in members:
            # Recorded arms stay chosen (their conditions are not evaluated again).
            arm_runs = runs and (not chosen or s.id in chosen)
            if _plan_node(s, (*prefix, s.id), records, steps, targets, arm_runs, out, foreach):
                block_stops = True
        if block_stops:
            stopped, runs = True, False
    return stopped


_STOPS: dict[Replay, PlanAction] = {
    Replay.FAIL: "fails",
    Replay.CANCEL: "canceled",
    Replay.STAY_SUSPENDED: "stays suspended",
}


def _plan_node(
    step: StepLike | None,
    path: tuple[str, ...],
    records: dict[str, StepResult],
    steps: Mapping[str, StepResult],
    targets: Targets,
    runs: bool,
    out: list[tuple[str, PlanAction]],
    foreach: bool = False,
) -> bool:
    """Plan one step (and a nested workflow's steps); True when the walk stops there."""
    key = path_key(path)
    record = records.get(key)
    decision = replay(record, targets, path)
    action: PlanAction
    if decision is Replay.REUSE:
        action = "skipped" if record is not None and record.status == "skipped" else "reused"
    elif not runs:
        action = "skipped"
    elif decision.runs:
        action = "re-executed"
    else:
        action = _STOPS[decision]
    out.append((key, action))
    rec = steps.get(key)
    if foreach and action == "re-executed" and rec is not None and rec.items is not None:
        for index, item in enumerate(rec.items):
            kept = item is not None and item.status == "success"
            out.append((f"{key}[{index}]", "reused" if kept else "re-executed"))
    stops = action in _STOPS.values()
    if isinstance(step, Workflow):
        inner_stops = _plan_flow(step, path, records, steps, targets, action == "re-executed", out)
        stops = stops or inner_stops
    return stops
