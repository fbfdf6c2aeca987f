"""The API's routes (included under /api/ with the `api` namespace).

An address that matches no route is answered by `errors.JSONErrorsMiddleware` (404 in the API's
error shape); so is one without its trailing slash, which is not redirected: a redirected POST
would lose its body.
"""

from __future__ import annotations

from typing import Any

from django.urls import path, register_converter
from django.views.decorators.common import no_append_slash

from workflows_app.api import actions, inbox, views

app_name = "api"


class RunIdConverter:
    """A run id as `Run.run_id` can hold it: 1 to 64 characters, no slash, no NUL."""

    regex = "[^/\x00]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RunIdConverter, "run_id")


def route(view: Any) -> Any:
    """The view function of an API view class."""
    return no_append_slash(view.as_view())


urlpatterns = [
    path("workflows/", route(views.WorkflowListView), name="workflow-list"),
    path("workflows/<path:workflow_id>/", route(views.WorkflowDetailView), name="workflow-detail"),
    path("runs/", route(views.RunListView), name="run-list"),
    # Before runs/<run_id>/ so that "import" is never read as a run id.
    path("runs/import/", route(actions.RunImportView), name="run-import"),
    path("runs/<run_id:run_id>/", route(views.RunDetailView), name="run-detail"),
    path("runs/<run_id:run_id>/events/", route(views.RunEventsView), name="run-events"),
    path("runs/<run_id:run_id>/snapshots/", route(views.RunSnapshotListView), name="run-snapshots"),
    path(
        "runs/<run_id:run_id>/snapshots/<int:seq>/",
        route(views.RunSnapshotView),
        name="run-snapshot",
    ),
    path("runs/<run_id:run_id>/lineage/", route(views.RunLineageView), name="run-lineage"),
    path("runs/<run_id:run_id>/export/", route(views.RunExportView), name="run-export"),
    path("runs/<run_id:run_id>/resume/", route(actions.RunResumeView), name="run-resume"),
    path("runs/<run_id:run_id>/continue/", route(actions.RunContinueView), name="run-continue"),
    path("runs/<run_id:run_id>/rerun/", route(actions.RunRerunView), name="run-rerun"),
    path("runs/<run_id:run_id>/cancel/", route(actions.RunCancelView), name="run-cancel"),
    path("runs/<run_id:run_id>/restart/", route(actions.RunRestartView), name="run-restart"),
    path(
        "runs/<run_id:run_id>/time-travel/",
        route(actions.RunTimeTravelView),
        name="run-time-travel",
    ),
    path(
        "runs/<run_id:run_id>/time-travel/preview/",
        route(actions.RunTimeTravelPreviewView),
        name="run-time-travel-preview",
    ),
    path("compare/", route(views.CompareView), name="compare"),
    path("inbox/", route(inbox.InboxListView), name="inbox-list"),
    path("inbox/<int:task_id>/", route(inbox.InboxDetailView), name="inbox-detail"),
    path("inbox/<int:task_id>/resume/", route(inbox.InboxResumeView), name="inbox-resume"),
]
