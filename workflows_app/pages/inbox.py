"""The inbox: every open human task across runs (what the step asked and a form generated from
its resume schema), the answered ones with who answered, when and with what, and one task's
own page."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from engines import InvalidRunStateError, ValidationError
from workflows_app import payloads, registry, services, snapshots
from workflows_app.api.filters import open_tasks
from workflows_app.models import HumanTask, Run, WorkflowGraph, path_of
from workflows_app.pages.access import can_operate, viewer_required
from workflows_app.pages.forms import NotJSON, json_field, refusal

PAGE_SIZE = 25


def _items(tasks: list[HumanTask]) -> list[dict[str, Any]]:
    """Inbox items with their step's node (description, schemas): two queries for the page."""
    graph_of = dict(
        Run.objects.filter(pk__in={t.run_id for t in tasks}).values_list("pk", "stored_graph_id")
    )
    graphs = WorkflowGraph.objects.in_bulk({g for g in graph_of.values() if g})
    items = []
    for task in tasks:
        stored = graphs.get(graph_of.get(task.run_id))
        node = snapshots.node_at(stored.graph if stored else None, path_of(task.path)) or {}
        items.append(
            {
                **payloads.inbox_item(task),
                "description": node.get("description"),
                "resume_schema": task.resume_schema or node.get("resume_schema"),
                "schema_id": f"resume-schema-{task.pk}",
            }
        )
    return items


def _page(request: HttpRequest, total: int) -> tuple[int, int]:
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    pages = max(1, -(-total // PAGE_SIZE))
    return min(page, pages), pages


@viewer_required()
def inbox(request: HttpRequest) -> HttpResponse:
    """Open tasks (newest first) or, with `?show=answered`, closed ones (latest first);
    `?workflow=` keeps one workflow's."""
    workflow = request.GET.get("workflow", "").strip()
    answered = request.GET.get("show") == "answered"
    if answered:
        tasks = HumanTask.objects.exclude(status=HumanTask.OPEN).select_related("run", "resumed_by")
        if workflow:
            tasks = tasks.filter(run__workflow_id=workflow)
        tasks = tasks.order_by("-closed_at", "-id")
    else:
        tasks = open_tasks({"workflow": workflow})
    total = tasks.count()
    page, pages = _page(request, total)
    chosen = list(tasks[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    query = {"workflow": workflow} if workflow else {}
    context = {
        "items": _items(chosen),
        "answered": answered,
        "total": total,
        "page": page,
        "pages": pages,
        "workflow": workflow,
        "workflow_ids": sorted(registry.workflows()),
        "query": query,
    }
    return render(request, "inbox/list.html", context)


@viewer_required("GET", "POST")
def task_page(request: HttpRequest, task_id: int) -> HttpResponse:
    """One task; POST answers it (operators) and opens its run."""
    task = payloads.get_task(task_id)
    refused: dict[str, Any] | None = None
    typed = ""
    if request.method == "POST":
        if not can_operate(request.user):
            raise PermissionDenied
        typed = request.POST.get("data", "")
        try:
            if task.status != HumanTask.OPEN:
                raise InvalidRunStateError(f"This task is already {task.status}.")
            services.resume_run(
                task.run_id,
                json_field(typed, "data"),
                step=task.path,
                for_each_index=task.for_each_index,
                user=request.user,
            )
        except (ValidationError, NotJSON) as exc:
            refused = refusal(exc)
        except InvalidRunStateError as exc:
            refused = {"detail": str(exc), "errors": {}}
        else:
            return HttpResponseRedirect(reverse("run-detail", args=[task.run_id]))
        task = payloads.get_task(task_id)
    context = {"item": _items([task])[0], "refused": refused, "typed": typed}
    return render(request, "inbox/task.html", context, status=400 if refused else 200)
