"""Queries over runs: the filters of the runs list and the lineage of forks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.db import models

from engines.storage.base import RunSummary, as_timestamp

if TYPE_CHECKING:
    from workflows_app.models import Run  # noqa: F401  (the base class names it, as a string)


def to_datetime(ts: float | None) -> datetime | None:
    """An engine timestamp (seconds since the epoch) as an aware datetime."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


# The columns of a runs list row.
LISTING_FIELDS = (
    "run_id", "workflow_id", "definition_hash", "engine", "status", "resource_id",
    "parent_run_id", "fork_step", "seq", "step_counts", "created_at", "updated_at", "started_at",
    "finished_at",
)  # fmt: skip


class RunQuerySet(models.QuerySet["Run", "Run"]):
    """Runs, with the filters of the runs list."""

    def matching(
        self,
        *,
        workflow_id: str | None = None,
        status: str | Sequence[str] | None = None,
        resource_id: str | None = None,
        parent_run_id: str | None = None,
        created_after: datetime | float | None = None,
        created_before: datetime | float | None = None,
        run_id_prefix: str | None = None,
    ) -> RunQuerySet:
        """Runs matching every given filter (None: not filtered), newest first."""
        qs = self
        if workflow_id is not None:
            qs = qs.filter(workflow_id=workflow_id)
        if isinstance(status, str):
            qs = qs.filter(status=status)
        elif status:
            qs = qs.filter(status__in=list(status))
        if resource_id is not None:
            qs = qs.filter(resource_id=resource_id)
        if parent_run_id is not None:
            qs = qs.filter(parent_run_id=parent_run_id)
        after = as_timestamp(created_after)
        if after is not None:
            qs = qs.filter(created_at__gte=to_datetime(after))
        before = as_timestamp(created_before)
        if before is not None:
            qs = qs.filter(created_at__lte=to_datetime(before))
        if run_id_prefix is not None:
            qs = qs.filter(run_id__startswith=run_id_prefix)
        return qs.order_by("-created_at", "-run_id")

    def for_listing(self, *, exact: bool = False) -> RunQuerySet:
        """Only the columns a runs list shows (`summary()`): no graph, state, input or result,
        which can be large. `exact=True` adds `head`, for `run_summary()`'s exact times."""
        return self.only(*LISTING_FIELDS, "head") if exact else self.only(*LISTING_FIELDS)

    def lineage(self, run_id: str) -> list[RunSummary]:
        """The family of forks of `run_id`: its root first, then every descendant level by
        level, each run's forks oldest first (empty when the run does not exist)."""
        runs = self.for_listing(exact=True)
        start = runs.filter(pk=run_id).first()
        if start is None:
            return []
        root, seen = start, {start.run_id}
        while root.parent_run_id is not None:
            parent = runs.filter(pk=root.parent_run_id).first()
            if parent is None or parent.run_id in seen:
                break
            root = parent
            seen.add(root.run_id)
        family = [root.run_summary()]
        listed = {root.run_id}
        frontier = [root.run_id]
        while frontier:
            children: dict[str, list[RunSummary]] = {}
            for row in runs.filter(parent_run_id__in=frontier).exclude(pk__in=listed):
                summary = row.run_summary()
                children.setdefault(row.parent_run_id or "", []).append(summary)
            next_level: list[str] = []
            for parent_id in frontier:
                for kid in sorted(children.get(parent_id, []), key=_creation_order):
                    family.append(kid)
                    listed.add(kid.run_id)
                    next_level.append(kid.run_id)
            frontier = next_level
        return family


def _creation_order(summary: RunSummary) -> tuple[float, str]:
    return (summary.created_at, summary.run_id)
