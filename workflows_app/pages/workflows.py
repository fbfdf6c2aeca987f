"""The workflows: a list with run counts, and each workflow's page (its graph, schemas, recent
runs and the start form generated from its input schema)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from engines import ValidationError
from workflows_app import payloads, registry, services
from workflows_app.pages.access import can_operate, viewer_required
from workflows_app.pages.forms import NotJSON, json_field, refusal


@viewer_required()
def workflow_list(request: HttpRequest) -> HttpResponse:
    """Every registered workflow with its run counts by status."""
    registered = registry.workflows()
    counts = payloads.run_counts(registered)
    items = [payloads.workflow_payload(registered[wid], counts[wid]) for wid in sorted(registered)]
    return render(request, "workflows/list.html", {"workflows": items})


@viewer_required("GET", "POST")
def workflow_detail(request: HttpRequest, workflow_id: str) -> HttpResponse:
    """A workflow's page; POST starts a run (operators) and opens its page."""
    workflow = registry.get(workflow_id)
    refused: dict[str, Any] | None = None
    typed = ""
    if request.method == "POST":
        if not can_operate(request.user):
            raise PermissionDenied
        typed = request.POST.get("input", "")
        try:
            run = services.start_run(
                workflow.id,
                json_field(typed, "input"),
                resource_id=request.POST.get("resource_id", "").strip() or None,
                user=request.user,
            )
        except (ValidationError, NotJSON) as exc:
            refused = refusal(exc)
        else:
            return HttpResponseRedirect(reverse("run-detail", args=[run.run_id]))
    detail = payloads.workflow_detail(workflow)
    context = {
        "workflow": detail,
        "steps": [n for n in detail["graph"]["nodes"] if n["kind"] not in ("fork", "join")],
        "refused": refused,
        "typed": typed,
        "start_url": reverse("api:run-list"),
    }
    return render(request, "workflows/detail.html", context, status=400 if refused else 200)
