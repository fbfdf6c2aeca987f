"""Read endpoints: workflows, runs (and starting one), events, snapshots, lineage, compare,
export.

Views stay thin: validate the query string, read through `payloads` (ORM, fixed query counts)
or call `workflows_app.services`, answer. Errors are mapped to statuses in `errors` only.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows_app import payloads, registry, services
from workflows_app.api.filters import filter_runs
from workflows_app.api.pagination import paginate
from workflows_app.api.permissions import CanOperate, CanView
from workflows_app.api.responses import (
    ComparisonSerializer,
    ErrorResponse,
    EventPageSerializer,
    LineageSerializer,
    RunDetailSerializer,
    RunPageSerializer,
    RunSnapshotSerializer,
    SnapshotListSerializer,
    WorkflowDetailSerializer,
    WorkflowSerializer,
)
from workflows_app.api.serializers import (
    CompareQuery,
    EventsQuery,
    RunDetailQuery,
    RunListQuery,
    StartRunRequest,
)
from workflows_app.models import Run


def errors(*codes: int) -> dict[int, Any]:
    """OpenAPI responses for error statuses (403 is listed on every endpoint)."""
    described = {
        400: "Bad input: `errors` maps each field path to its messages.",
        403: "Not signed in, or missing the permission.",
        404: "Unknown id.",
        409: "The run's state forbids the call.",
    }
    return {
        code: OpenApiResponse(ErrorResponse, description=described[code])
        for code in sorted({403, *codes})
    }


def validated(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """Validated data, or 400 with field errors."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def created(run: Run) -> Response:
    """201 with the run's detail and its address."""
    fresh = payloads.get_run(run.run_id)
    location = reverse("api:run-detail", args=[fresh.run_id])
    return Response(
        payloads.run_detail(fresh), status=status.HTTP_201_CREATED, headers={"Location": location}
    )


class WorkflowListView(APIView):
    """The registered workflows."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="workflows_list",
        summary="List the registered workflows",
        responses={200: WorkflowSerializer(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        registered = registry.workflows()
        counts = payloads.run_counts(registered)
        return Response(
            [payloads.workflow_payload(registered[wid], counts[wid]) for wid in sorted(registered)]
        )


class WorkflowDetailView(APIView):
    """One registered workflow."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="workflows_retrieve",
        summary="A workflow with its graph, JSON Schemas and latest runs",
        responses={200: WorkflowDetailSerializer, **errors(404)},
    )
    def get(self, request: Request, workflow_id: str) -> Response:
        return Response(payloads.workflow_detail(registry.get(workflow_id)))


class RunListView(APIView):
    """The runs list (view) and starting a run (operate)."""

    def get_permissions(self) -> list[Any]:
        return [CanOperate()] if self.request.method == "POST" else [CanView()]

    @extend_schema(
        operation_id="runs_list",
        summary="List runs: filter, search, sort, paginate",
        parameters=[RunListQuery],
        responses={200: RunPageSerializer, **errors(400)},
    )
    def get(self, request: Request) -> Response:
        query = validated(RunListQuery, request.query_params)
        runs = filter_runs(query)
        return Response(paginate(request, runs, query["page"], query["page_size"], Run.summary))

    @extend_schema(
        operation_id="runs_start",
        summary="Start a run of a registered workflow",
        request=StartRunRequest,
        responses={201: RunDetailSerializer, **errors(400, 404)},
    )
    def post(self, request: Request) -> Response:
        body = validated(StartRunRequest, request.data)
        run = services.start_run(
            body["workflow_id"],
            body.get("input"),
            initial_state=body.get("initial_state"),
            context=body.get("context"),
            resource_id=body.get("resource_id"),
            user=request.user,
            breakpoints=body.get("breakpoints"),
            per_step=body.get("per_step", False),
        )
        return created(run)


class RunDetailView(APIView):
    """One run, with everything the run page shows."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="runs_retrieve",
        summary="A run: summary, input, result, error, state, graph, steps, tasks, lineage",
        parameters=[RunDetailQuery],
        responses={200: RunDetailSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, run_id: str) -> Response:
        query = validated(RunDetailQuery, request.query_params)
        return Response(
            payloads.run_detail(
                payloads.get_run(run_id),
                steps_offset=query["steps_offset"],
                steps_limit=query.get("steps_limit"),
                graph=query["graph"],
            )
        )


class RunEventsView(APIView):
    """A run's event log after a seq (what a reconnecting client catches up with)."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="runs_events",
        summary="Events after a seq, oldest first",
        parameters=[EventsQuery],
        responses={200: EventPageSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, run_id: str) -> Response:
        query = validated(EventsQuery, request.query_params)
        kinds = query["type"].split(",") if "type" in query else None
        return Response(
            payloads.events_page(
                run_id, query["after_seq"], query["limit"], kinds=kinds, step=query.get("step")
            )
        )


class RunSnapshotListView(APIView):
    """The stored moments of a run."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="runs_snapshots",
        summary="The seqs at which a snapshot is stored",
        responses={200: SnapshotListSerializer, **errors(404)},
    )
    def get(self, request: Request, run_id: str) -> Response:
        return Response(payloads.snapshot_list(run_id))


class RunSnapshotView(APIView):
    """The run as it was at one seq (the scrubber)."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="runs_snapshot_at",
        summary="The run as of a seq",
        responses={200: RunSnapshotSerializer, **errors(404)},
    )
    def get(self, request: Request, run_id: str, seq: int) -> Response:
        run = payloads.get_run(run_id)
        if seq > run.seq:
            raise Http404(f"Run {run_id!r} has no event {seq}; its last is {run.seq}.")
        snapshot = run.snapshot_at(seq)
        if snapshot is None:
            raise Http404(f"Run {run_id!r} has no snapshot stored at or before seq {seq}.")
        return Response(snapshot.to_dict())


class RunLineageView(APIView):
    """The lineage tree a run belongs to."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="runs_lineage",
        summary="The run's ancestors and the whole tree of forks under the root",
        responses={200: LineageSerializer, **errors(404)},
    )
    def get(self, request: Request, run_id: str) -> Response:
        return Response(payloads.lineage(payloads.get_run(run_id)))


class RunExportView(APIView):
    """A run as a JSON bundle, for `POST /api/runs/import/` on another installation."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="runs_export",
        summary="Download a run as a JSON bundle",
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The versioned bundle."),
            **errors(404),
        },
    )
    def get(self, request: Request, run_id: str) -> StreamingHttpResponse:
        # Streamed as it is read: a run of 10,000 steps is megabytes of rows.
        chunks = services.export_run_stream(run_id)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
        response = StreamingHttpResponse(chunks, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="stepback-run-{safe}.json"'
        return response


class CompareView(APIView):
    """Two runs side by side, step by step."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="runs_compare",
        summary="Compare two runs step by step, with the first divergence",
        parameters=[CompareQuery],
        responses={200: ComparisonSerializer, **errors(400, 404)},
    )
    def get(self, request: Request) -> Response:
        query = validated(CompareQuery, request.query_params)
        return Response(services.compare_runs(query["a"], query["b"]))
