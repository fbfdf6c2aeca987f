"""What the run page's side panel shows: one step (its input, output, error with the cause chain
and traceback, attempts, state change, suspension and resumption, foreach items) or, with no
step chosen, the run itself. Built from `workflows_app.payloads` rows; rendered by
`templates/runs/detail_panel.html`.
"""

from __future__ import annotations

from typing import Any

from engines import StepNotFoundError
from workflows_app import payloads, registry, step_source
from workflows_app.models import Run, path_of

# Foreach items listed in the panel; the rest are counted (the timeline shows them all).
MAX_ITEMS = 200
# How deep a cause chain is followed (the engine stores at most eight levels).
MAX_CAUSES = 10
TAB_LABELS = {
    "input": "Input",
    "output": "Output",
    "result": "Result",
    "error": "Error",
    "attempts": "Attempts",
    "state": "State",
    "resume": "Resume",
    "items": "Items",
    "context": "Context",
}


def error_chain(error: Any) -> list[dict[str, Any]]:
    """An error and its causes, outermost first, each `{type, module, message, attributes,
    args}` as the engine's error codec stores them."""
    chain: list[dict[str, Any]] = []
    while isinstance(error, dict) and len(chain) < MAX_CAUSES:
        chain.append(
            {
                "type": error.get("type") or "Exception",
                "module": error.get("module") or "",
                "message": error.get("message") or "",
                "attributes": error.get("attributes") or None,
                "args": error.get("args"),
            }
        )
        error = error.get("cause")
    return chain


def _tabs(names: list[str], wanted: str | None, default: str) -> tuple[list[dict[str, str]], str]:
    tabs = [{"name": name, "label": TAB_LABELS[name]} for name in names]
    chosen = wanted if wanted in names else default
    return tabs, chosen


def _seconds(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return max(end - start, 0.0)


def attempts_of(step: dict[str, Any]) -> list[dict[str, Any]]:
    """Each attempt with when it began: a failed attempt that was retried is stored with its
    own start; the last attempt began when the one before it said the retry was due (or, in
    runs recorded before retries carried that, when it failed)."""
    rows = []
    previous_end = None
    tries = step["attempts"]
    for index, attempt in enumerate(tries):
        # The last row is the step's record, whose start is the first attempt's.
        own = attempt["started_at"] if index < len(tries) - 1 or attempt["attempt"] == 1 else None
        start = own if own is not None else previous_end
        if start is None:
            start = attempt["started_at"]
        rows.append(
            {
                **attempt,
                "began_at": start,
                "seconds": _seconds(start, attempt["ended_at"]),
                "errors": error_chain(attempt["error"]),
            }
        )
        previous_end = (attempt.get("extra") or {}).get("retry_at") or attempt["ended_at"]
    return rows


def _item(index: int, item: dict[str, Any] | None) -> dict[str, Any]:
    if item is None:
        return {"index": index, "status": "pending"}
    return {
        "index": index,
        "status": item.get("status") or "pending",
        "input": item.get("payload"),
        "output": item.get("output"),
        "errors": error_chain(item.get("error")),
        "traceback": item.get("traceback"),
        "attempts": item.get("attempts") or 0,
        "started_at": item.get("started_at"),
        "seconds": _seconds(item.get("started_at"), item.get("ended_at")),
        "suspend_payload": item.get("suspend_payload"),
        "resume_payload": item.get("resume_payload"),
        "has_input": "payload" in item,
        "has_output": "output" in item,
    }


def _items(extra: dict[str, Any]) -> dict[str, Any] | None:
    items = extra.get("items")
    if items is None:
        return None
    counts: dict[str, int] = {}
    for item in items:
        status = (item or {}).get("status") or "pending"
        counts[status] = counts.get(status, 0) + 1
    return {
        "total": len(items),
        "counts": counts,
        "shown": [_item(i, item) for i, item in enumerate(items[:MAX_ITEMS])],
        "hidden": max(len(items) - MAX_ITEMS, 0),
    }


def _resume(
    extra: dict[str, Any],
    tasks: list[dict[str, Any]],
    resumes: list[dict[str, Any]],
    node: dict[str, Any],
) -> dict[str, Any] | None:
    """What the step asked, what it was answered, by whom, and the open questions (each with
    the JSON Schema of its answer: the task's own, else the step's)."""
    asked = "suspend_payload" in extra or "suspended_at" in extra or tasks
    if not asked:
        return None
    open_tasks = [
        {
            **task,
            "resume_schema": task["resume_schema"] or node.get("resume_schema"),
            "schema_id": f"resume-schema-{task['id']}",
        }
        for task in tasks
        if task["status"] == "open"
    ]
    return {
        "suspend_payload": extra.get("suspend_payload"),
        "resume_payload": extra.get("resume_payload"),
        "labels": extra.get("labels") or [],
        "suspended_at": extra.get("suspended_at"),
        "resumed_at": extra.get("resumed_at"),
        "answered": "resume_payload" in extra,
        "open": open_tasks,
        "closed": [task for task in tasks if task["status"] != "open"],
        "resumes": resumes,
    }


def _source(run: Run, key: str) -> step_source.StepSource | None:
    """The step's source, when its workflow is registered here and sources are shown."""
    if not step_source.enabled():
        return None
    try:
        workflow = registry.get(run.workflow_id)
    except registry.UnknownWorkflowError:
        return None  # an imported run of a workflow this app does not have
    return step_source.source_of(workflow, key)


def step_panel(
    run: Run,
    key: str,
    wanted_tab: str | None = None,
    *,
    step: dict[str, Any] | None = None,
    actions: list[dict[str, Any]] | None = None,
    lookup: bool = True,
) -> dict[str, Any]:
    """The panel of step `key` (a dotted path; foreach item paths too). `step` is its
    `steps_of` row when the caller has it (with `lookup` False, None means not reached).
    `StepNotFoundError` when the run's graph has no such step and nothing was recorded under
    that path."""
    node = run.node_at(path_of(key))
    if step is None and lookup:
        step = payloads.step_of(run, key)
    if step is None and node is None:
        raise StepNotFoundError(f"Run {run.run_id!r} has no step {key!r}.")
    node = node or {}
    tasks = payloads.step_tasks(run, key)
    if actions is None:
        actions = payloads.actions_of(run)
    resumes = [
        a for a in actions if a["action"] == "resume" and (a["detail"] or {}).get("step") == key
    ]
    panel: dict[str, Any] = {
        "kind": "step",
        "key": key,
        "path": path_of(key),
        "node": {
            "kind": node.get("kind"),
            "block": node.get("block"),
            "description": node.get("description"),
            "retries": node.get("retries"),
            "condition": node.get("condition"),
            "loop_type": node.get("loop_type"),
            "concurrency": node.get("concurrency"),
        },
        "recorded": step is not None,
        "source": _source(run, key),
    }
    if step is None:
        # In the graph but not reached (yet), or a branch arm that was not taken.
        tabs, chosen = _tabs(["input"], wanted_tab, "input")
        return {**panel, "status": None, "tabs": tabs, "tab": chosen}
    extra = step["extra"] or {}
    attempts = attempts_of(step)
    items = _items(extra)
    resume = _resume(extra, tasks, resumes, node)
    errors = error_chain(step["error"])
    item_failed = bool(items and items["counts"].get("failed"))
    failed_attempts = any(a["status"] == "failed" for a in attempts)
    names = ["input", "output"]
    if errors or failed_attempts or item_failed:
        names.append("error")
    names += ["attempts", "state"]
    if resume:
        names.append("resume")
    if items:
        names.append("items")
    status = step["status"]
    default = {
        "failed": "error",
        "suspended": "resume" if resume else "input",
        "success": "output",
    }.get(status, "items" if items else "input")
    tabs, chosen = _tabs(names, wanted_tab, default)
    return {
        **panel,
        "status": status,
        "tabs": tabs,
        "tab": chosen,
        "input": step["payload"],
        "has_output": step["output"] is not None or status == "success",
        "output": step["output"],
        "errors": errors,
        "traceback": step["traceback"],
        "failed_attempts": [a for a in attempts if a["status"] == "failed" and a["errors"]],
        "attempts": attempts,
        "began_at": step["started_at"],
        "ended_at": step["ended_at"],
        "seconds": _seconds(step["started_at"], step["ended_at"]),
        "iteration": extra.get("iteration"),
        "state_delta": extra.get("state_delta"),
        "wake_at": extra.get("wake_at"),
        "items": items,
        "resume": resume,
    }


def run_panel(head: dict[str, Any], wanted_tab: str | None = None) -> dict[str, Any]:
    """The panel of the run itself (`payloads.run_head`): its input, result or error, state
    and context."""
    names = ["input", "result"]
    if head["error"]:
        names.append("error")
    names.append("state")
    if head["context"]:
        names.append("context")
    default = "error" if head["error"] else ("result" if head["status"] == "success" else "input")
    tabs, chosen = _tabs(names, wanted_tab, default)
    return {
        "kind": "run",
        "key": "",
        "status": head["status"],
        "tabs": tabs,
        "tab": chosen,
        "input": head["input"],
        "result": head["result"],
        "errors": error_chain(head["error"]),
        "traceback": head["traceback"],
        "state": head["state"],
        "context": head["context"],
        "forks": head["lineage"]["forks"],
    }
