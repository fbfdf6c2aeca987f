"""One run's page (`/runs/<run_id>/`): its summary, steps, tasks and data, watched live.

A plain first version: the run page with its graph, timeline, step panel and event log
replaces it (`templates/runs/detail.html`, `frontend/run/`).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from workflows_app import payloads
from workflows_app.pages.access import viewer_required


@viewer_required()
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run as stored now; the page then follows it live from its seq."""
    run = payloads.run_detail(payloads.get_run(run_id))
    return render(request, "runs/detail.html", {"run": run})
