"""Run actions: resume, continue, cancel, restart, re-run, time travel (and its plan preview),
import.

Each validates its body, calls one `workflows_app.services` function (the only code that
drives engines) and answers the run's detail. The services validate before they write, so a
refused call leaves nothing behind; the error mapping is in `workflows_app.api.errors`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows_app import json_input, payloads, services
from workflows_app.api.permissions import CanOperate, CanView
from workflows_app.api.responses import (
    RunDetailSerializer,
    TimeTravelPlanSerializer,
)
from workflows_app.api.serializers import (
    ContinueRequest,
    ImportQuery,
    RerunRequest,
    RestartRequest,
    ResumeRequest,
    TimeTravelRequest,
)
from workflows_app.api.views import created, errors, validated
from workflows_app.models import Run


def detail(run: Run) -> Response:
    """200 with the run's detail as stored now."""
    return Response(payloads.run_detail(payloads.get_run(run.run_id)))


class RunResumeView(APIView):
    """Resume a suspended run (or continue a paused one)."""

    permission_classes = [CanOperate]

    @extend_schema(
        operation_id="runs_resume",
        summary="Resume a suspended step with data",
        request=ResumeRequest,
        responses={200: RunDetailSerializer, **errors(400, 404, 409)},
    )
    def post(self, request: Request, run_id: str) -> Response:
        body = validated(ResumeRequest, request.data)
        run = services.resume_run(
            run_id,
            body.get("data"),
            step=body.get("step"),
            label=body.get("label"),
            for_each_index=body.get("for_each_index"),
            user=request.user,
            breakpoints=body.get("breakpoints"),
            per_step=body.get("per_step", False),
        )
        return detail(run)


class RunContinueView(APIView):
    """Continue a paused run: by one step (`next`) or to the next breakpoint (`continue`)."""

    permission_classes = [CanOperate]

    @extend_schema(
        operation_id="runs_continue",
        summary="Continue a paused run (next step, or to the next breakpoint)",
        request=ContinueRequest,
        responses={202: RunDetailSerializer, **errors(400, 404, 409)},
    )
    def post(self, request: Request, run_id: str) -> Response:
        body = validated(ContinueRequest, request.data)
        run = services.continue_run(
            run_id, body["mode"], breakpoints=body.get("breakpoints"), user=request.user
        )
        return Response(
            payloads.run_detail(payloads.get_run(run.run_id)), status=status.HTTP_202_ACCEPTED
        )


class RunRerunView(APIView):
    """Start a new run of the run's workflow with the same input."""

    permission_classes = [CanOperate]

    @extend_schema(
        operation_id="runs_rerun",
        summary="Re-run: a new run of the same workflow with the same input",
        request=RerunRequest,
        responses={201: RunDetailSerializer, **errors(400, 404)},
    )
    def post(self, request: Request, run_id: str) -> Response:
        body = validated(RerunRequest, request.data)
        run = services.rerun(
            run_id,
            breakpoints=body.get("breakpoints"),
            per_step=body.get("per_step", False),
            user=request.user,
        )
        return created(run)


class RunCancelView(APIView):
    """Cancel a run that has not finished."""

    permission_classes = [CanOperate]

    @extend_schema(
        operation_id="runs_cancel",
        summary="Cancel a run",
        request=None,
        responses={200: RunDetailSerializer, **errors(404, 409)},
    )
    def post(self, request: Request, run_id: str) -> Response:
        return detail(services.cancel_run(run_id, user=request.user))


class RunRestartView(APIView):
    """Re-run an interrupted run from where its record stops."""

    permission_classes = [CanOperate]

    @extend_schema(
        operation_id="runs_restart",
        summary="Restart an interrupted run",
        request=RestartRequest,
        responses={200: RunDetailSerializer, **errors(400, 404, 409)},
    )
    def post(self, request: Request, run_id: str) -> Response:
        body = validated(RestartRequest, request.data)
        run = services.restart_run(
            run_id,
            user=request.user,
            breakpoints=body.get("breakpoints"),
            per_step=body.get("per_step"),
        )
        return detail(run)


def _time_travel_arguments(request: Request) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The step to travel to, the keyword arguments of the services' time travel calls, and
    the debugger's (breakpoints, per_step: the new run's, not the preview's)."""
    body = validated(TimeTravelRequest, request.data)
    debug = {"breakpoints": body.get("breakpoints"), "per_step": body.get("per_step", False)}
    return (
        body["step"],
        {
            "input_data": body.get("input"),
            "outputs": body.get("outputs"),
            "reuse": tuple(body.get("reuse") or ()),
        },
        debug,
    )


class RunTimeTravelView(APIView):
    """Re-execute a run from one of its steps as a new linked run."""

    permission_classes = [CanOperate]

    @extend_schema(
        operation_id="runs_time_travel",
        summary="Time-travel: a new run re-executing from a recorded step",
        request=TimeTravelRequest,
        responses={201: RunDetailSerializer, **errors(400, 404, 409)},
    )
    def post(self, request: Request, run_id: str) -> Response:
        step, arguments, debug = _time_travel_arguments(request)
        run = services.time_travel(run_id, step, user=request.user, **arguments, **debug)
        return created(run)


class RunTimeTravelPreviewView(APIView):
    """What a time travel would do, without doing it (viewing is enough: nothing is written)."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="runs_time_travel_preview",
        summary="Plan of a time travel: which steps are reused, re-executed or skipped",
        request=TimeTravelRequest,
        responses={200: TimeTravelPlanSerializer, **errors(400, 404, 409)},
    )
    def post(self, request: Request, run_id: str) -> Response:
        step, arguments, _ = _time_travel_arguments(request)
        plan = services.preview_time_travel(run_id, step, **arguments)
        return Response(plan)


class RunImportView(APIView):
    """Store a run exported by `GET /api/runs/<run_id>/export/`."""

    permission_classes = [CanOperate]
    # A bundle holds a run's values a few levels down (see `json_input`).
    json_depth_allowance = json_input.BUNDLE_DEPTH_ALLOWANCE

    @extend_schema(
        operation_id="runs_import",
        summary="Import a run bundle (the body is the bundle)",
        parameters=[ImportQuery],
        request=OpenApiTypes.OBJECT,
        responses={201: RunDetailSerializer, **errors(400, 409)},
    )
    def post(self, request: Request) -> Response:
        query = validated(ImportQuery, request.query_params)
        # The bundle's own checks (services/bundles) name each bad field.
        run = services.import_run(request.data, new_id=query["new_id"], user=request.user)
        return created(run)
