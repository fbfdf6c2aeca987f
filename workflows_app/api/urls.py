"""The API's routes (included under /api/ with the `api` namespace)."""

from __future__ import annotations

from django.urls import path

from workflows_app.api import actions, inbox, views

app_name = "api"

urlpatterns = [
    path("workflows/", views.WorkflowListView.as_view(), name="workflow-list"),
    path(
        "workflows/<path:workflow_id>/", views.WorkflowDetailView.as_view(), name="workflow-detail"
    ),
    path("runs/", views.RunListView.as_view(), name="run-list"),
    # Before runs/<run_id>/ so that "import" is never read as a run id.
    path("runs/import/", actions.RunImportView.as_view(), name="run-import"),
    path("runs/<str:run_id>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<str:run_id>/events/", views.RunEventsView.as_view(), name="run-events"),
    path("runs/<str:run_id>/snapshots/", views.RunSnapshotListView.as_view(), name="run-snapshots"),
    path(
        "runs/<str:run_id>/snapshots/<int:seq>/",
        views.RunSnapshotView.as_view(),
        name="run-snapshot",
    ),
    path("runs/<str:run_id>/lineage/", views.RunLineageView.as_view(), name="run-lineage"),
    path("runs/<str:run_id>/export/", views.RunExportView.as_view(), name="run-export"),
    path("runs/<str:run_id>/resume/", actions.RunResumeView.as_view(), name="run-resume"),
    path("runs/<str:run_id>/cancel/", actions.RunCancelView.as_view(), name="run-cancel"),
    path("runs/<str:run_id>/restart/", actions.RunRestartView.as_view(), name="run-restart"),
    path(
        "runs/<str:run_id>/time-travel/",
        actions.RunTimeTravelView.as_view(),
        name="run-time-travel",
    ),
    path(
        "runs/<str:run_id>/time-travel/preview/",
        actions.RunTimeTravelPreviewView.as_view(),
        name="run-time-travel-preview",
    ),
    path("compare/", views.CompareView.as_view(), name="compare"),
    path("inbox/", inbox.InboxListView.as_view(), name="inbox-list"),
    path("inbox/<int:task_id>/", inbox.InboxDetailView.as_view(), name="inbox-detail"),
    path("inbox/<int:task_id>/resume/", inbox.InboxResumeView.as_view(), name="inbox-resume"),
]
