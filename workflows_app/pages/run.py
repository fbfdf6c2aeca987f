"""One run's page (`/runs/<run_id>/`) and its side panel (`/runs/<run_id>/panel/?step=<key>`).

The page is complete on first paint: the header (status, who did what, the actions the reader
may take) and the panel of the chosen step are rendered here. `frontend/run/` draws the graph,
the timeline and the event log from the run's outline (every step's status and timings, none of
its data) and keeps them live from the seq the page was rendered at. The panel is fetched again,
as HTML, for each step the reader opens, and the event log reads the events API a page at a
time: the page asks for the data it shows, never the whole run's data at once.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse

from engines import StepNotFoundError
from engines.core.events import EVENT_TYPES
from workflows_app import payloads
from workflows_app.models import Run
from workflows_app.pages import run_moment
from workflows_app.pages.access import can_operate, viewer_required
from workflows_app.pages.lineage import lineage_tree
from workflows_app.pages.run_panel import run_panel, step_panel

ACTIVE = ("pending", "running", "waiting")
# Which run statuses show which action (the browser shows and hides them as the status moves).
ACTIONS = (
    ("resume", "Resume…", ("suspended",), "btn-primary"),
    ("continue", "Continue", ("paused",), "btn-primary"),
    ("cancel", "Cancel", (*ACTIVE, "suspended", "paused"), "btn-danger"),
    ("restart", "Restart", ACTIVE, ""),
    ("rerun", "Re-run", (), ""),
)
# What the graph widget reads of each node (the schemas stay on the server: the panel has them).
NODE_FIELDS = ("key", "id", "kind", "parent", "entry", "block", "condition", "loop_type",
               "concurrency", "seconds", "until", "retries", "description")  # fmt: skip
RECORD_TIMES = ("suspended_at", "resumed_at", "wake_at", "iteration")
# The page's scripts (frontend/), preloaded together: imported one level after another they
# would take a round trip per level.
MODULES = tuple(
    f"{name}.js"
    for name in (
        "run/page", "run/state", "run/graph", "run/timeline", "run/events", "run/event-store",
        "run/step-panel", "run/header", "widgets/graph", "widgets/graph-layout", "widgets/live",
        "widgets/dom", "widgets/api", "widgets/status", "widgets/time", "widgets/json-view",
        "run/scrubber", "run/shortcuts", "run/debug", "widgets/keys",
    )
)  # fmt: skip


def drawable(graph: dict[str, Any]) -> dict[str, Any]:
    """The run's graph without its JSON Schemas: the nodes and edges the widget draws."""
    nodes = [
        {name: node[name] for name in NODE_FIELDS if node.get(name) is not None}
        for node in graph.get("nodes") or ()
    ]
    return {"nodes": nodes, "edges": list(graph.get("edges") or ())}


def _item(item: dict[str, Any] | None) -> list[Any] | None:
    if item is None:
        return None
    return [item.get("status"), item.get("started_at"), item.get("ended_at"), item.get("attempts")]


def outline(rows: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each step path's record as the page's scripts read it (`frontend/run/state.js`):
    status, seq, timings, its attempts as `[attempt, status, started_at, ended_at]` (left out
    when the only attempt is the record itself), the error's type, loop iteration, suspension
    times, and foreach items as `[status, started_at, ended_at, attempts]` (null for an item
    not started)."""
    steps: dict[str, dict[str, Any]] = {}
    for key, tries in rows.items():
        last = tries[-1]
        extra = last["extra"]
        step: dict[str, Any] = {
            "status": last["status"],
            "seq": max(t["seq"] for t in tries),
            "started_at": last["started_at"],
            "ended_at": last["ended_at"],
        }
        if len(tries) > 1 or last["attempt"] != 1:
            step["attempts"] = [
                [try_["attempt"], try_["status"], try_["started_at"], try_["ended_at"]]
                for try_ in tries
            ]
        if last["error_type"]:
            step["error"] = last["error_type"]
        for name in RECORD_TIMES:
            if extra.get(name) is not None:
                step[name] = extra[name]
        if extra.get("labels"):
            step["labels"] = extra["labels"]
        if extra.get("items") is not None:
            step["items"] = [_item(item) for item in extra["items"]]
        steps[key] = step
    return steps


def _inside(key: str, other: str) -> bool:
    return other.startswith(key + ".") or other.startswith(key + "[")


def first_failure(steps: dict[str, dict[str, Any]]) -> str | None:
    """The failed step that failed first (a step whose failure made its enclosing workflow
    fail is preferred to that workflow). The same rule as `firstFailure` in state.js."""
    failed = [key for key, step in steps.items() if step["status"] == "failed"]
    leaves = [key for key in failed if not any(_inside(key, other) for other in failed)]
    if not leaves:
        return None
    return min(leaves, key=lambda k: (steps[k]["ended_at"] or float("inf"), -len(k)))


def chosen_step(head: dict[str, Any], steps: dict[str, dict[str, Any]]) -> str | None:
    """The step the page opens on: a failed run's first failure, a suspended run's first open
    question; otherwise none (the run's own panel)."""
    if head["status"] == "failed":
        return first_failure(steps)
    if head["status"] == "suspended":
        waiting = [task["key"] for task in head["human_tasks"] if task["status"] == "open"]
        if waiting:
            return str(waiting[0])
        suspended = [k for k, s in steps.items() if s["status"] == "suspended"]
        leaves = [k for k in suspended if not any(_inside(k, o) for o in suspended)]
        return leaves[0] if leaves else None
    return None


def actions(head: dict[str, Any], operator: bool) -> list[dict[str, Any]]:
    """The operate buttons (none for a viewer), each with the statuses it is shown in."""
    if not operator:
        return []
    run_id = head["run_id"]
    api = {
        "cancel": reverse("api:run-cancel", args=[run_id]),
        "restart": reverse("api:run-restart", args=[run_id]),
        "continue": reverse("api:run-resume", args=[run_id]),
        "rerun": reverse("api:run-list"),
        "resume": "",
    }
    return [
        {
            "name": name,
            "label": label,
            "when": " ".join(when),
            "shown": not when or head["status"] in when,
            "style": style,
            "api": api[name],
        }
        for name, label, when, style in ACTIONS
    ]


def page_data(run: Run, head: dict[str, Any], steps: dict[str, Any], operator: bool) -> Any:
    """What `frontend/run/page.js` starts from (a `json_script`)."""
    data: dict[str, Any] = {
        "run": run.summary(),
        "graph": drawable(head["graph"]),
        "steps": steps,
        "can_operate": operator,
        "urls": {
            "panel": reverse("run-panel", args=[run.run_id]),
            "events": reverse("api:run-events", args=[run.run_id]),
            "snapshots": reverse("api:run-snapshots", args=[run.run_id]),
        },
    }
    if operator:
        # Re-run starts a new run with the same input.
        data["rerun"] = {"workflow_id": run.workflow_id, "input": head["input"]}
        if run.resource_id:
            data["rerun"]["resource_id"] = run.resource_id
    return data


def history(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Who did what, as the header lists it."""
    return [{**action, "label": action["action"].replace("_", " ")} for action in actions]


@viewer_required()
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run as stored now; the page follows it live from its seq. `?step=<key>` opens a step
    (`&tab=` one of its tabs)."""
    run = payloads.get_run(run_id)
    head = payloads.run_head(run)
    steps = outline(payloads.step_outline(run))
    wanted = request.GET.get("step", "").strip()
    tab = request.GET.get("tab") or None
    key = wanted or chosen_step(head, steps)
    missing = None
    panel = None
    try:
        at = run_moment.parse_at(request.GET.get("at"), run)
    except ValueError as error:
        return HttpResponseBadRequest(str(error))
    if at is not None:
        panel = moment_panel(run, wanted, tab, at, head["actions"])
    elif key:
        try:
            panel = step_panel(run, key, tab, actions=head["actions"])
        except StepNotFoundError:
            missing = key
    if panel is None:
        panel = run_panel(head, tab)
    operator = can_operate(request.user)
    context = {
        "run": head,
        "history": history(head["actions"]),
        "modules": MODULES,
        "event_types": sorted(EVENT_TYPES),
        "panel": panel,
        "missing_step": missing,
        "actions": actions(head, operator),
        "page_data": {**page_data(run, head, steps, operator), "at": at},
        "at": at,
        "lineage": lineage_tree(run),
    }
    return render(request, "runs/detail.html", context)


@viewer_required()
def run_panel_fragment(request: HttpRequest, run_id: str) -> HttpResponse:
    """The side panel alone (HTML), for `?step=<key>` or the run itself: what the page fetches
    when the reader opens another step, or when the open one changes. `&at=<seq>`: as the run
    was after that event (the scrubber)."""
    run = payloads.get_run(run_id)
    key = request.GET.get("step", "").strip()
    tab = request.GET.get("tab") or None
    try:
        at = run_moment.parse_at(request.GET.get("at"), run)
    except ValueError as error:
        return HttpResponseBadRequest(str(error))
    actions = payloads.actions_of(run)
    if at is not None:
        panel = moment_panel(run, key, tab, at, actions)
    elif key:
        panel = step_panel(run, key, tab, actions=actions)
    else:
        panel = run_panel(payloads.run_head(run), tab)
    # Who did what rides along: the page puts it in its header (a resume may have added to it).
    context = {"run": run.summary(), "panel": panel, "history": history(actions), "at": at}
    return render(request, "runs/detail_panel.html", context)


def moment_panel(
    run: Run, key: str, tab: str | None, at: int, actions: list[dict[str, Any]]
) -> dict[str, Any]:
    """The panel of step `key` (or the run) as it was at seq `at`."""
    try:
        head, records = run_moment.folded(run, at)
    except run_moment.NoMoment as error:
        raise Http404(str(error)) from error
    if not key:
        return run_panel(run_moment.head_at(run, head), tab)
    step = run_moment.step_at(run, key, run_moment.record_of(records, key), head["seq"])
    try:
        panel = step_panel(run, key, tab, step=step, actions=actions, lookup=False)
    except StepNotFoundError as error:
        raise Http404(str(error)) from error
    if panel.get("resume"):
        # Questions of the past are shown, never answered from there.
        panel["resume"] = {**panel["resume"], "open": []}
    return panel
