"""Comparing runs, and a time-travel fork with its source: pure functions (no engine runs, no
database).

`services.compare_runs` hands two snapshots (as dicts) to `compare`; `services` builds the time
travel preview with `edited_outputs` and `fork_plan`.
"""

from __future__ import annotations

import math
import re
from typing import Any

from engines import RunSnapshot, StepResult, ValidationError, Workflow
from engines.core.plan import plan_fork
from engines.core.schema import validate_json

_ITEM_INDEX = re.compile(r"\[(\d+)\]")
_MISSING = object()


def json_diff(a: Any, b: Any, path: str = "") -> list[dict[str, Any]]:
    """The differences between two JSON values, one record per leaf that differs.

    Each record is `{"path": "items.0.id", "a": ..., "b": ..., "kind": "added" | "removed" |
    "changed"}`: objects are compared key by key, lists index by index, anything else by value
    and type (so `1` and `true` differ, as they do in JSON).
    """
    out: list[dict[str, Any]] = []
    _diff(a, b, path, out)
    return out


def _join(path: str, part: object) -> str:
    return f"{path}.{part}" if path else str(part)


def _same_scalar(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b  # 2 and 2.0 are one JSON number
    return type(a) is type(b) and a == b


def _diff(a: Any, b: Any, path: str, out: list[dict[str, Any]]) -> None:
    if a is _MISSING:
        out.append({"path": path, "a": None, "b": b, "kind": "added"})
    elif b is _MISSING:
        out.append({"path": path, "a": a, "b": None, "kind": "removed"})
    elif isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            _diff(a.get(key, _MISSING), b.get(key, _MISSING), _join(path, key), out)
    elif isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            left = a[index] if index < len(a) else _MISSING
            right = b[index] if index < len(b) else _MISSING
            _diff(left, right, _join(path, index), out)
    elif not _same_scalar(a, b):
        out.append({"path": path, "a": a, "b": b, "kind": "changed"})


def graph_paths(graph: dict[str, Any]) -> list[str]:
    """Every step path of a serialized workflow graph (`Workflow.graph()`), nested workflows
    and sleeps included, in the order the flow runs them (its fork and join markers left out)."""
    return [
        node["key"]
        for node in graph.get("nodes") or []
        if isinstance(node.get("key"), str) and node.get("kind") not in ("fork", "join")
    ]


def ordered_keys(graph_order: list[str], recorded: list[str]) -> list[str]:
    """The union of graph paths and recorded keys, in graph order; a foreach item's nested key
    (`proc[2].inner`) sits with its graph path (`proc.inner`), by item index."""
    position = {key: i for i, key in enumerate(graph_order)}
    keys = list(dict.fromkeys([*graph_order, *recorded]))
    arrival = {key: i for i, key in enumerate(keys)}

    def rank(key: str) -> tuple[float, list[int], int]:
        plain = _ITEM_INDEX.sub("", key)
        where = position.get(plain, math.inf)
        return (where, [int(i) for i in _ITEM_INDEX.findall(key)], arrival[key])

    return sorted(keys, key=rank)


def _duration(rec: dict[str, Any]) -> float | None:
    start, end = rec.get("started_at"), rec.get("ended_at")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return max(end - start, 0.0)
    return None


def _side(rec: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the compare view shows of one step record."""
    if rec is None:
        return None
    error = rec.get("error")
    return {
        "status": rec.get("status"),
        "attempts": rec.get("attempts", 0),
        "started_at": rec.get("started_at"),
        "ended_at": rec.get("ended_at"),
        "duration": _duration(rec),
        "input": rec.get("payload"),
        "output": rec.get("output"),
        "error": error.get("message") if isinstance(error, dict) else None,
        "error_type": error.get("type") if isinstance(error, dict) else None,
    }


def compare_steps(
    key: str, rec_a: dict[str, Any] | None, rec_b: dict[str, Any] | None
) -> dict[str, Any]:
    """One row of the comparison: both sides and what differs between them."""
    a, b = rec_a or {}, rec_b or {}
    input_diff = json_diff(a.get("payload"), b.get("payload"))
    output_diff = json_diff(a.get("output"), b.get("output"))
    status_changed = a.get("status") != b.get("status")
    return {
        "path": key.split("."),
        "key": key,
        "a": _side(rec_a),
        "b": _side(rec_b),
        "status_changed": status_changed,
        "input_diff": input_diff,
        "output_diff": output_diff,
        "state_diff": json_diff(a.get("state_delta") or {}, b.get("state_delta") or {}),
        "differs": status_changed or bool(input_diff) or bool(output_diff),
    }


def _started(row: dict[str, Any]) -> float:
    times = [
        side["started_at"]
        for side in (row["a"], row["b"])
        if side is not None and isinstance(side.get("started_at"), (int, float))
    ]
    return min(times) if times else math.inf


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Compare two snapshots (`RunSnapshot.to_dict()` form) of runs of one workflow.

    Returns the per-step rows (graph order), run-level diffs, and `first_divergence`: the path
    (a list of ids) of the first step, by start time (graph order breaking ties and standing
    in for steps that never started), whose status, input or output differs; None if none.
    """
    steps_a: dict[str, Any] = a.get("steps") or {}
    steps_b: dict[str, Any] = b.get("steps") or {}
    order = graph_paths(a.get("graph") or {})
    order += [k for k in graph_paths(b.get("graph") or {}) if k not in order]
    keys = ordered_keys(order, [*steps_a, *(k for k in steps_b if k not in steps_a)])
    rows = [compare_steps(key, steps_a.get(key), steps_b.get(key)) for key in keys]
    diverging = [(i, row) for i, row in enumerate(rows) if row["differs"]]
    first = min(diverging, key=lambda pair: (_started(pair[1]), pair[0]), default=None)
    return {
        "steps": rows,
        "first_divergence": first[1]["path"] if first is not None else None,
        "status_changed": a.get("status") != b.get("status"),
        "input_diff": json_diff(a.get("input"), b.get("input")),
        "result_diff": json_diff(a.get("result"), b.get("result")),
        "state_diff": json_diff(a.get("state") or {}, b.get("state") or {}),
    }


# -- a time-travel fork against its source run (the plan preview) ------------------------------


def prefixed_errors(errors: list[dict[str, str]], prefix: str) -> list[dict[str, str]]:
    """Field errors with `prefix` (a step path) put before each path."""
    return [
        {"path": ".".join(p for p in (prefix, e["path"]) if p), "message": e["message"]}
        for e in errors
    ]


def edited_outputs(
    workflow: Workflow,
    source: dict[str, StepResult],
    kept: set[str],
    outputs: Any,
) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """Edited outputs (`{dotted step path: output}`) as the step records time travel takes in
    `context`, each validated against its step's output schema; and the problems found (error
    paths start with the step path). Only outputs the fork keeps (`kept`) can be edited."""
    if not outputs:
        return {}, []
    if not isinstance(outputs, dict):
        return {}, [{"path": "outputs", "message": "must be an object of step path: output"}]
    records: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, str]] = []
    for raw, value in outputs.items():
        key = ".".join(p for p in str(raw).split(".") if p)
        found = workflow.find_step(tuple(key.split(".")))
        rec = source.get(key)
        if found is None:
            errors.append({"path": key, "message": "no such step in this workflow"})
        elif key not in kept or rec is None or rec.status != "success":
            errors.append(
                {
                    "path": key,
                    "message": "only outputs the fork keeps (steps before the target, or "
                    "reused steps) can be edited",
                }
            )
        else:
            try:
                output = validate_json(found.output_schema, value, f"output of {key}")
            except ValidationError as exc:
                errors.extend(
                    prefixed_errors(exc.errors, key) or [{"path": key, "message": str(exc)}]
                )
                continue
            records[key] = {**rec.to_dict(), "output": output}
    return records, errors


def fork_plan(
    workflow: Workflow,
    source: RunSnapshot,
    fork: RunSnapshot,
    target: tuple[str, ...],
    kept: set[str],
    downstream: list[str],
) -> dict[str, Any]:
    """The preview of a prepared fork: every step with its action and its recorded status,
    whether the form may edit its output or offer to reuse it, and what the edits change."""
    key = ".".join(target)
    recorded = source.steps.get(key)
    later = set(downstream)
    steps = []
    for path, action in plan_fork(workflow, fork.steps):
        rec = source.steps.get(path)
        succeeded = rec is not None and rec.status == "success"
        steps.append(
            {
                "path": path.split("."),
                "key": path,
                "action": action,
                "recorded_status": rec.status if rec is not None else None,
                "editable": succeeded and path in kept,
                "reusable": succeeded and path in later,
            }
        )
    return {
        "run_id": source.run_id,
        "workflow_id": workflow.id,
        "fork_step": key,
        "fork_path": list(target),
        "new_run": fork.parent_run_id is not None,
        "input": fork.steps[key].payload if key in fork.steps else None,
        "recorded_input": recorded.payload if recorded is not None else None,
        "output_diffs": {
            path: json_diff(source.steps[path].output, rec.output)
            for path, rec in fork.steps.items()
            if path in kept and path in source.steps and source.steps[path].output != rec.output
        },
        "steps": steps,
    }
