"""The pages' routes. Every view has its own address: filters, sort and page are in the query
string, so any view of a list is a link."""

from __future__ import annotations

from django.urls import path

from workflows_app.pages import compare, inbox, run, runs, time_travel, workflows

urlpatterns = [
    path("", runs.run_list, name="runs"),
    path("runs/cancel/", runs.cancel_runs, name="runs-cancel"),
    path("runs/rows/", runs.run_rows, name="run-rows"),
    path("runs/<str:run_id>/", run.run_detail, name="run-detail"),
    path("runs/<str:run_id>/panel/", run.run_panel_fragment, name="run-panel"),
    path("runs/<str:run_id>/time-travel/", time_travel.time_travel_page, name="run-time-travel"),
    path("compare/", compare.compare_page, name="compare"),
    path("workflows/", workflows.workflow_list, name="workflows"),
    path("workflows/<path:workflow_id>/", workflows.workflow_detail, name="workflow-detail"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/<int:task_id>/", inbox.task_page, name="inbox-task"),
]
