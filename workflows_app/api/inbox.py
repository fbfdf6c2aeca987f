"""The inbox: every open human task across runs, and answering one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows_app import payloads, services
from workflows_app.api.actions import detail
from workflows_app.api.errors import Conflict
from workflows_app.api.filters import open_tasks
from workflows_app.api.pagination import paginate
from workflows_app.api.permissions import CanOperate, CanView
from workflows_app.api.responses import (
    InboxItemSerializer,
    InboxPageSerializer,
    RunDetailSerializer,
)
from workflows_app.api.serializers import (
    InboxQuery,
    InboxResumeRequest,
)
from workflows_app.api.views import errors, validated
from workflows_app.models import HumanTask


class InboxListView(APIView):
    """Open human tasks, newest first."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="inbox_list",
        summary="Open human tasks across runs",
        parameters=[InboxQuery],
        responses={200: InboxPageSerializer, **errors(400)},
    )
    def get(self, request: Request) -> Response:
        query = validated(InboxQuery, request.query_params)
        tasks = open_tasks(query)
        return Response(
            paginate(request, tasks, query["page"], query["page_size"], payloads.inbox_item)
        )


class InboxDetailView(APIView):
    """One human task, open or closed (with its audit trail)."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="inbox_retrieve",
        summary="A human task",
        responses={200: InboxItemSerializer, **errors(404)},
    )
    def get(self, request: Request, task_id: int) -> Response:
        return Response(payloads.inbox_item(payloads.get_task(task_id)))


class InboxResumeView(APIView):
    """Answer a human task: resume its run at its step."""

    permission_classes = [CanOperate]

    @extend_schema(
        operation_id="inbox_resume",
        summary="Answer a human task (resumes its run)",
        request=InboxResumeRequest,
        responses={200: RunDetailSerializer, **errors(400, 404, 409)},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = payloads.get_task(task_id)
        if task.status != HumanTask.OPEN:
            raise Conflict(f"Human task {task_id} is already {task.status}.")
        body = validated(InboxResumeRequest, request.data)
        # The path and item index name the task exactly (a label could be shared by two).
        run = services.resume_run(
            task.run_id,
            body.get("data"),
            step=task.path,
            for_each_index=task.for_each_index,
            user=request.user,
        )
        return detail(run)
