"""A read-only admin over everything runs leave behind: records are evidence, never edited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from workflows_app.models import Event, ExecutorProcess, HumanTask, Run, Snapshot, StepRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and search, but never add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = (
        "run_id", "workflow_id", "status", "engine", "resource_id", "created_at", "executed_by",
    )  # fmt: skip
    list_filter = ("status", "workflow_id", "engine")
    search_fields = ("run_id", "resource_id", "parent_run_id")
    date_hierarchy = "created_at"


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("run", "seq", "type", "path", "ts")
    list_filter = ("type",)
    search_fields = ("run__run_id", "path")
    list_select_related = ("run",)


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("run", "seq", "full")
    search_fields = ("run__run_id",)
    list_select_related = ("run",)


@admin.register(StepRecord)
class StepRecordAdmin(ReadOnlyAdmin):
    list_display = ("run", "path", "attempt", "status", "error_type", "started_at", "ended_at")
    list_filter = ("status",)
    search_fields = ("run__run_id", "path", "error_type")
    list_select_related = ("run",)


@admin.register(HumanTask)
class HumanTaskAdmin(ReadOnlyAdmin):
    list_display = ("run", "path", "label", "status", "created_at", "closed_at", "resumed_by")
    list_filter = ("status",)
    search_fields = ("run__run_id", "path", "label")
    list_select_related = ("run", "resumed_by")


@admin.register(ExecutorProcess)
class ExecutorProcessAdmin(ReadOnlyAdmin):
    list_display = ("id", "host", "pid", "started_at", "heartbeat_at")
    search_fields = ("id", "host")
