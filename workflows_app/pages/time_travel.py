"""The time-travel page (`/runs/<run_id>/time-travel/?step=<key>`): re-execute a run from one of
its recorded steps as a new linked run.

The page is complete on first paint: the step, its recorded input, the earlier steps whose
recorded outputs may be edited, and the plan of a time travel without edits (which steps are
reused, re-executed, skipped), all from `services.preview_time_travel`, the same call the API's
preview answers. `frontend/timetravel/` adds the forms generated from the schemas, asks the
preview again as the user edits, and submits to `POST /api/runs/<id>/time-travel/`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from engines import InvalidRunStateError, StepNotFoundError, ValidationError
from workflows_app import payloads, services
from workflows_app.models import Run, path_of
from workflows_app.pages.access import can_operate, viewer_required
from workflows_app.pages.run import drawable

ACTION_LABELS = {
    "reused": "reused",
    "re-executed": "runs again",
    "skipped": "skipped",
}


def _schema(node: dict[str, Any] | None, name: str) -> Any:
    return (node or {}).get(name)


def editable_steps(run: Run, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps before the target whose recorded output the fork keeps, each with its output
    schema and recorded output: what the "earlier outputs" part of the form edits."""
    out = []
    for step in plan["steps"]:
        if not step["editable"]:
            continue
        record = payloads.step_of(run, step["key"])
        node = run.node_at(path_of(step["key"]))
        out.append(
            {
                "key": step["key"],
                "schema": _schema(node, "output_schema"),
                "output": record["output"] if record is not None else None,
            }
        )
    return out


def planned(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's steps as the page lists them (the label of each action)."""
    return [
        {**step, "label": ACTION_LABELS.get(step["action"], step["action"])}
        for step in plan["steps"]
    ]


@viewer_required()
def time_travel_page(request: HttpRequest, run_id: str) -> HttpResponse:
    """The form of a time travel from `?step=<key>` (404 for a step the run does not have).
    Viewers see the plan; only operators may submit."""
    run = payloads.get_run(run_id)
    head = payloads.run_head(run)
    key = request.GET.get("step", "").strip()
    context: dict[str, Any] = {"run": head, "step_key": key, "refused": None}
    if not key:
        context["refused"] = "Choose the step to travel back to: open it on the run's page."
        return render(request, "debugger/time_travel.html", context, status=400)
    try:
        plan = services.preview_time_travel(run_id, key)
    except StepNotFoundError:
        raise
    except (InvalidRunStateError, ValidationError) as exc:
        # A run still executing cannot be forked; a step that is not a step (a fork marker).
        context["refused"] = str(exc)
        return render(request, "debugger/time_travel.html", context, status=409)
    node = run.node_at(path_of(key))
    operator = can_operate(request.user)
    data = {
        "run_id": run.run_id,
        "step": key,
        "graph": drawable(head["graph"]),
        "input_schema": _schema(node, "input_schema"),
        "recorded_input": plan["recorded_input"],
        "editable": editable_steps(run, plan),
        "plan": plan,
        "can_operate": operator,
        "urls": {
            "preview": reverse("api:run-time-travel-preview", args=[run.run_id]),
            "submit": reverse("api:run-time-travel", args=[run.run_id]),
            "run": reverse("run-detail", args=["RUN_ID"]),
        },
    }
    context.update(
        {
            "plan": plan,
            "steps": planned(plan),
            "page_data": data,
            "can_submit": operator,
            "editable": data["editable"],
        }
    )
    return render(request, "debugger/time_travel.html", context)
