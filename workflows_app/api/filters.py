"""The runs list and the inbox as querysets, from validated query strings.

Every filter lands on an index of `workflows_app.models` (workflow, status and resource id each
lead an index that ends in `-created_at`; parents have their own), so a filtered page is one
index range scan plus a count.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, OrderBy, QuerySet

from workflows_app.api.serializers import RUN_ORDERINGS
from workflows_app.models import HumanTask, Run
from workflows_app.payloads import SUMMARY_FIELDS, summaries


def _order_terms(ordering: str) -> list[str | OrderBy]:
    terms: list[str | OrderBy] = []
    for term in RUN_ORDERINGS[ordering]:
        if term.lstrip("-") == "finished_at":
            # NULL (not finished yet) sorts after every moment, on every database: PostgreSQL
            # does so by default, SQLite needs telling; both then walk one (finished_at, run_id)
            # index in either direction.
            field = F("finished_at")
            terms.append(
                field.desc(nulls_first=True) if term[0] == "-" else field.asc(nulls_last=True)
            )
        else:
            terms.append(term)
    return terms


def filter_runs(query: dict[str, Any]) -> QuerySet[Run]:
    """Runs matching a validated `RunListQuery`, in its ordering, summary columns only."""
    runs = summaries().matching(
        workflow_id=query.get("workflow") or None,
        status=query.get("status") or None,
        resource_id=query.get("resource_id") or None,
        parent_run_id=query.get("parent_run_id") or None,
        created_after=query.get("created_after"),
        created_before=query.get("created_before"),
        run_id_prefix=query.get("search") or None,
    )
    return runs.order_by(*_order_terms(query.get("ordering") or "-created_at"))


def open_tasks(query: dict[str, Any]) -> QuerySet[HumanTask]:
    """Open human tasks (newest first) with their run's summary columns joined in."""
    tasks = (
        HumanTask.objects.filter(status=HumanTask.OPEN)
        .select_related("run", "resumed_by")
        .defer(*(f"run__{name}" for name in _RUN_HEAVY))
    )
    if query.get("workflow"):
        tasks = tasks.filter(run__workflow_id=query["workflow"])
    return tasks.order_by("-created_at", "-id")


# The run columns an inbox row never reads (it shows the run's summary only).
_RUN_HEAVY = tuple(f.name for f in Run._meta.concrete_fields if f.name not in SUMMARY_FIELDS)
