"""What the API answers and the pages show, built from the models with a fixed number of
queries: one place for each read, shared by `workflows_app.api` and `workflows_app.pages`.

Each function documents its shape by naming the response serializer it matches
(`workflows_app.api.responses`). Lists load only the columns `Run.summary()` reads, so a page
of runs never drags the input, result, graph or head columns out of the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count
from django.http import Http404

from engines import RunNotFoundError
from workflows_app import step_source
from workflows_app.models import (
    SUMMARY_FIELDS,
    Event,
    HumanTask,
    Run,
    RunAction,
    RunQuerySet,
    Snapshot,
    StepRecord,
    iso,
    path_of,
)

__all__ = ["SUMMARY_FIELDS", "iso"]  # re-exported: the pages and the API read them from here

RECENT_RUNS = 10
MAX_LINEAGE = 1000


def summaries() -> RunQuerySet:
    """Runs with only the summary columns loaded."""
    return Run.objects.only(*SUMMARY_FIELDS)


def get_run(run_id: str) -> Run:
    """The stored run; `RunNotFoundError` (a 404 for the API and the pages) otherwise."""
    run = Run.objects.filter(run_id=run_id).first()
    if run is None:
        raise RunNotFoundError(f"No run {run_id!r}.")
    return run


def run_seq(run_id: str) -> int:
    """The seq of the run's last stored event; `RunNotFoundError` when there is no such run."""
    seq = Run.objects.filter(run_id=run_id).values_list("seq", flat=True).first()
    if seq is None:
        raise RunNotFoundError(f"No run {run_id!r}.")
    return seq


def _seq_and_number(run_id: str) -> tuple[int, int]:
    """The run's last seq and its number (the key range of its rows); `RunNotFoundError`."""
    found = Run.objects.filter(run_id=run_id).values_list("seq", "number").first()
    if found is None:
        raise RunNotFoundError(f"No run {run_id!r}.")
    return found


def get_task(task_id: int) -> HumanTask:
    """The human task (any status) with its run and who answered it; `Http404` otherwise."""
    task = HumanTask.objects.select_related("run", "resumed_by").filter(pk=task_id).first()
    if task is None:
        raise Http404(f"No human task {task_id}.")
    return task


# -- workflows ----------------------------------------------------------------------------------


def run_counts(workflow_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`RunCountsSerializer` per workflow id, from one grouped query."""
    ids = list(workflow_ids)
    counts: dict[str, dict[str, Any]] = {wid: {"total": 0, "by_status": {}} for wid in ids}
    rows = (
        Run.objects.filter(workflow_id__in=ids)
        .values("workflow_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        entry = counts[row["workflow_id"]]
        entry["by_status"][row["status"]] = row["n"]
        entry["total"] += row["n"]
    return counts


def workflow_payload(workflow: Any, counts: dict[str, Any]) -> dict[str, Any]:
    """`WorkflowSerializer` for a registered `engines.Workflow`."""
    graph = workflow.graph()
    return {
        "id": workflow.id,
        "description": workflow.description,
        "definition_hash": workflow.definition_hash,
        "input_schema": graph.get("input_schema"),
        "output_schema": graph.get("output_schema"),
        "state_schema": graph.get("state_schema"),
        "step_count": len(workflow.steps),
        "run_counts": counts,
    }


def workflow_detail(workflow: Any) -> dict[str, Any]:
    """`WorkflowDetailSerializer`: the workflow, its graph and its latest runs."""
    data = workflow_payload(workflow, run_counts([workflow.id])[workflow.id])
    recent = summaries().filter(workflow_id=workflow.id).order_by("-created_at", "-run_id")
    data["graph"] = workflow.graph()
    data["sources"] = step_source.sources(workflow)
    data["recent_runs"] = [run.summary() for run in recent[:RECENT_RUNS]]
    return data


# -- runs ---------------------------------------------------------------------------------------


def _attempt(record: StepRecord) -> dict[str, Any]:
    return {
        "attempt": record.attempt,
        "status": record.status,
        "payload": record.payload,
        "output": record.output,
        "error": record.error,
        "error_type": record.error_type,
        "traceback": record.traceback,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "duration": record.duration,
        "extra": record.extra,
        "seq": record.seq,
    }


def steps_of(run: Run, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    """`StepSerializer` rows: each step path's latest attempt, with all its attempts, in the
    order the engine recorded the steps (nested steps follow the workflow step holding them);
    with `offset` and `limit`, that many paths after skipping `offset` (a path's attempts
    share its position)."""
    attempts: dict[str, list[dict[str, Any]]] = {}
    records = StepRecord.objects.filter(run=run)
    if offset or limit is not None:
        if limit == 0:
            return []
        positions = records.order_by("position").values_list("position", flat=True).distinct()
        window = list(positions[offset : None if limit is None else offset + limit])
        if not window:
            return []
        records = records.filter(position__gte=window[0], position__lte=window[-1])
    for record in records.order_by("position", "path", "attempt"):
        attempts.setdefault(record.path, []).append(_attempt(record))
    return [
        {**tries[-1], "key": key, "path": path_of(key), "attempts": tries}
        for key, tries in attempts.items()
    ]


def step_of(run: Run, key: str) -> dict[str, Any] | None:
    """The `StepSerializer` row of one step path (all its attempts), as `steps_of` gives it;
    None when the path has no record. One query, whatever the run's length."""
    records = StepRecord.objects.filter(run=run, path=key).order_by("attempt")
    tries = [_attempt(record) for record in records]
    if not tries:
        return None
    return {**tries[-1], "key": key, "path": path_of(key), "attempts": tries}


def task_payload(task: HumanTask) -> dict[str, Any]:
    """`HumanTaskSerializer`."""
    return {
        "id": task.pk,
        "run_id": task.run_id,
        "key": task.path,
        "path": path_of(task.path),
        "label": task.label,
        "for_each_index": task.for_each_index,
        "status": task.status,
        "suspend_payload": task.suspend_payload,
        "resume_schema": task.resume_schema,
        "created_at": iso(task.created_at),
        "closed_at": iso(task.closed_at),
        "resumed_by": task.resumed_by.get_username() if task.resumed_by else None,
        "resume_data": task.resume_data,
    }


def step_tasks(run: Run, key: str) -> list[dict[str, Any]]:
    """`HumanTaskSerializer` rows of one step path (each foreach item's too), oldest first."""
    tasks = run.human_tasks.filter(path=key).select_related("resumed_by")
    return [task_payload(task) for task in tasks.order_by("created_at", "pk")]


def inbox_item(task: HumanTask) -> dict[str, Any]:
    """`InboxItemSerializer`: the task and its run's summary."""
    return {**task_payload(task), "run": task.run.summary()}


def action_payload(action: RunAction) -> dict[str, Any]:
    """`RunActionSerializer`: who did what, and when."""
    return {
        "action": action.action,
        "user": action.username or None,
        "at": iso(action.at),
        "detail": action.detail,
    }


def actions_of(run: Run) -> list[dict[str, Any]]:
    """Every operate call recorded on the run, oldest first."""
    return [action_payload(action) for action in run.actions.order_by("at", "pk")]


def started_by(actions: list[dict[str, Any]]) -> str | None:
    """Who created the run (started, time-travelled or imported it), from `actions_of`."""
    created = next((a for a in actions if a["action"] in RunAction.CREATIONS), None)
    return None if created is None else created["user"]


def links(run: Run) -> dict[str, Any]:
    """`RunLinksSerializer`: the parent (null when none, or not stored here) and the forks."""
    parent = None
    if run.parent_run_id:
        found = summaries().filter(run_id=run.parent_run_id).first()
        parent = found.summary() if found is not None else None
    forks = summaries().filter(parent_run_id=run.run_id).order_by("created_at", "run_id")
    return {"parent": parent, "forks": [fork.summary() for fork in forks]}


def run_head(run: Run, *, graph: bool = True) -> dict[str, Any]:
    """`RunDetailSerializer` without its steps: the run, its data, tasks, lineage and actions
    (without the graph, `{}`, when not `graph`)."""
    head: dict[str, Any] = run.head or {}
    tasks = run.human_tasks.select_related("resumed_by").order_by("created_at", "pk")
    actions = actions_of(run)
    return {
        **run.summary(),
        "definition_hash": run.definition_hash,
        "input": run.input,
        "result": run.result,
        "error": run.error,
        "traceback": run.traceback,
        "state": run.state,
        "context": run.context,
        "suspended": head.get("suspended") or [],
        "resume_labels": head.get("resume_labels") or {},
        "paused_at": head.get("paused_at") or [],
        "breakpoints": head.get("breakpoints") or [],
        "per_step": bool(head.get("per_step", False)),
        "graph": run.graph if graph else {},
        "graph_key": run.stored_graph_id,
        "human_tasks": [task_payload(task) for task in tasks],
        "lineage": links(run),
        "started_by": started_by(actions),
        "actions": actions,
    }


def run_detail(
    run: Run, *, steps_offset: int = 0, steps_limit: int | None = None, graph: bool = True
) -> dict[str, Any]:
    """`RunDetailSerializer`: everything the run page shows; `steps_offset` and `steps_limit`
    page its steps (`steps_total` counts them all), `graph=False` leaves the graph out."""
    return {
        **run_head(run, graph=graph),
        "steps": steps_of(run, steps_offset, steps_limit),
        "steps_total": sum((run.step_counts or {}).values()),
        "steps_offset": steps_offset,
    }


def step_outline(run: Run) -> dict[str, list[dict[str, Any]]]:
    """Every step path's attempts without their input, output, error or traceback columns, in
    `steps_of` order: what a drawing of the whole run needs (status, timings, error type, and
    the record's `extra`: loop iteration, foreach items, suspension times)."""
    rows = (
        StepRecord.objects.filter(run=run)
        .order_by("position", "path", "attempt")
        .values_list(
            "path", "attempt", "status", "started_at", "ended_at", "error_type", "seq", "extra"
        )
    )
    outline: dict[str, list[dict[str, Any]]] = {}
    for path, attempt, status, started, ended, error_type, seq, extra in rows:
        outline.setdefault(path, []).append(
            {
                "attempt": attempt,
                "status": status,
                "started_at": started,
                "ended_at": ended,
                "error_type": error_type,
                "seq": seq,
                "extra": extra or {},
            }
        )
    for tries in outline.values():
        began_at(tries)
    return outline


def began_at(tries: list[dict[str, Any]]) -> None:
    """Set each attempt's `began_at`: a retried attempt's own start; the last row (the step's
    record, whose start is the first attempt's) began when the retry before it was due (or,
    in runs recorded before retries said when, when that attempt failed)."""
    previous: float | None = None
    last = len(tries) - 1
    for index, attempt in enumerate(tries):
        own = attempt["started_at"] if index < last or attempt["attempt"] == 1 else None
        attempt["began_at"] = own if own is not None else (previous or attempt["started_at"])
        previous = (attempt.get("extra") or {}).get("retry_at") or attempt["ended_at"]


def events_page(
    run_id: str,
    after_seq: int,
    limit: int,
    *,
    kinds: list[str] | None = None,
    step: str | None = None,
) -> dict[str, Any]:
    """`EventPageSerializer`: up to `limit` events after `after_seq`, oldest first; only
    those of the types `kinds` and of the step path `step` when given."""
    last, number = _seq_and_number(run_id)
    found = Event.objects.of_run(number, after_seq)
    if kinds is not None:
        found = found.filter(type__in=kinds)
    if step is not None:
        found = found.filter(path=step)
    # Plain values, not model instances: a page is up to 1,000 events.
    rows = list(
        found.order_by("id").values_list("type", "seq", "ts", "path", "payload")[: limit + 1]
    )
    events = [
        {"type": kind, "run_id": run_id, "seq": seq, "ts": ts, "path": path_of(path),
         "payload": payload}
        for kind, seq, ts, path, payload in rows[:limit]
    ]  # fmt: skip
    if (kinds is not None or step is not None) and not events:
        # Nothing matches up to the run's last event: the cursor moves there.
        return {
            "run_id": run_id,
            "after_seq": after_seq,
            "last_seq": last,
            "run_seq": last,
            "has_more": False,
            "events": [],
        }
    return {
        "run_id": run_id,
        "after_seq": after_seq,
        # Past the end, the cursor is the run's last seq: resuming from after_seq would skip
        # the events still to come.
        "last_seq": events[-1]["seq"] if events else min(after_seq, last),
        "run_seq": last,
        "has_more": len(rows) > limit,
        "events": events,
    }


def snapshot_list(run_id: str) -> dict[str, Any]:
    """`SnapshotListSerializer`: the stored moments of a run."""
    last, number = _seq_and_number(run_id)
    rows = Snapshot.objects.of_run(number).order_by("id").values_list("seq", "full")
    return {
        "run_id": run_id,
        "seq": last,
        "snapshots": [{"seq": seq, "full": full} for seq, full in rows],
    }


def lineage(run: Run) -> dict[str, Any]:
    """`LineageSerializer`: the run's ancestors, and the whole tree under the root, flat.

    One query per generation; at most `MAX_LINEAGE` runs are returned.
    """
    family = summaries().family(run.run_id, limit=MAX_LINEAGE)
    if family is None:
        raise RunNotFoundError(f"No run {run.run_id!r}.")
    return {
        "run_id": run.run_id,
        "root_run_id": family.root.run_id,
        "ancestors": [ancestor.run_id for ancestor in family.ancestors],
        "runs": [node.summary() for node in family.runs],
        "truncated": family.truncated,
    }
