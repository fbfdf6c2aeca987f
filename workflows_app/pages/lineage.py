"""The lineage tree a run page shows: the run's root, every fork under it recursively, each fork
with the step it travelled back to and what was changed there.

What changed is read from the records the fork itself keeps, so it holds for forks made by any
client (the page, the API, the engine): the edited outputs and reused steps from its
`run.started` event (`overrides`, `reused_steps`), and whether the target's input was edited by
comparing the first recorded input of that step in the fork and in its parent. Three queries
whatever the tree's size (at most `payloads.MAX_LINEAGE` runs).
"""

from __future__ import annotations

from typing import Any

from workflows_app import payloads
from workflows_app.compare import graph_paths, json_diff
from workflows_app.models import Event, Run, StepRecord


def _started_events(fork_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each fork's first `run.started` payload (the one naming its parent)."""
    found: dict[str, dict[str, Any]] = {}
    rows = Event.objects.filter(run_id__in=fork_ids, type="run.started").order_by("seq")
    for run_id, payload in rows.values_list("run_id", "payload"):
        if run_id not in found and isinstance(payload, dict) and payload.get("parent_run_id"):
            found[run_id] = payload
    return found


def _first_inputs(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The first attempt's input of each (run id, step key)."""
    if not pairs:
        return {}
    runs = {run_id for run_id, _ in pairs}
    keys = {key for _, key in pairs}
    rows = StepRecord.objects.filter(run_id__in=runs, path__in=keys, attempt=1)
    return {(r, p): payload for r, p, payload in rows.values_list("run_id", "path", "payload")}


def changes(
    summary: dict[str, Any],
    started: dict[str, Any] | None,
    inputs: dict[tuple[str, str], Any],
    order: list[str],
) -> dict[str, Any]:
    """What a fork changed against its parent: the target's input fields, the earlier steps
    whose outputs were edited, and the steps after the target whose recorded output it reused
    (`order`: the workflow's step paths in graph order)."""
    step = summary["fork_step"] or ""
    parent = summary["parent_run_id"]
    mine, theirs = inputs.get((summary["run_id"], step)), inputs.get((parent, step))
    input_diff = json_diff(theirs, mine) if (parent, step) in inputs else []
    started = started or {}
    edited = sorted((started.get("overrides") or {}).keys())
    position = {key: i for i, key in enumerate(order)}
    at = position.get(step, len(order))
    # `reused_steps` holds every kept step; those after the target were chosen to be reused.
    reused = [
        key
        for key in started.get("reused_steps") or []
        if position.get(key, -1) > at and not key.startswith(step + ".")
    ]
    return {
        "input_fields": [d["path"] or "(the whole input)" for d in input_diff],
        "edited_outputs": edited,
        "reused_after": reused,
    }


def lineage_tree(run: Run) -> dict[str, Any] | None:
    """The tree (`{run, changes, children}` nodes from the root) when the run has a parent or
    forks; None for a run alone."""
    family = payloads.lineage(run)
    runs = family["runs"]
    if len(runs) < 2:
        return None
    forks = [r for r in runs if r["parent_run_id"]]
    started = _started_events([r["run_id"] for r in forks])
    inputs = _first_inputs(
        [(r["run_id"], r["fork_step"]) for r in forks if r["fork_step"]]
        + [(r["parent_run_id"], r["fork_step"]) for r in forks if r["fork_step"]]
    )
    order = graph_paths(run.graph or {})
    nodes: dict[str, dict[str, Any]] = {}
    for summary in runs:
        current = summary["run_id"] == run.run_id
        node: dict[str, Any] = {"run": summary, "children": [], "current": current}
        if summary["parent_run_id"]:
            found = started.get(summary["run_id"])
            node["changes"] = changes(summary, found, inputs, order)
        nodes[summary["run_id"]] = node
    root = nodes[family["root_run_id"]]
    for summary in runs:
        parent = nodes.get(summary["parent_run_id"] or "")
        if parent is not None:
            parent["children"].append(nodes[summary["run_id"]])
    return {"root": root, "count": len(runs), "truncated": family["truncated"]}
