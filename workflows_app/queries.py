"""Queries over runs: the filters of the runs list and the lineage of forks, with the one
date format and the one list of summary columns every reader shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import models

from engines.storage.base import RunSummary, as_timestamp

if TYPE_CHECKING:
    from workflows_app.models import Run


def to_datetime(ts: float | None) -> datetime | None:
    """An engine timestamp (seconds since the epoch) as an aware datetime."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def iso(value: datetime | None) -> str | None:
    """A datetime as the API, the pages and bundles write it: ISO 8601, UTC as `Z`."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


# Exactly the columns `Run.summary()` reads: a runs list loads these and nothing else (a
# deferred column would cost a query per row; input, result, state and head can be large).
SUMMARY_FIELDS = (
    "run_id", "workflow_id", "status", "engine", "resource_id", "parent_run_id", "fork_step",
    "seq", "step_counts", "created_at", "updated_at", "started_at", "finished_at",
)  # fmt: skip

# A listing row for the engines' storage protocol also carries the definition hash.
LISTING_FIELDS = (*SUMMARY_FIELDS, "definition_hash")


@dataclass(frozen=True)
class Family:
    """The lineage tree a run belongs to: the run's ancestors (root first) and the whole tree
    under the root (root first, then level by level, each run's forks oldest first)."""

    ancestors: list[Run]
    runs: list[Run]
    truncated: bool

    @property
    def root(self) -> Run:
        """The run the tree starts from."""
        return self.runs[0]


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

    def delete(self) -> tuple[int, dict[str, int]]:
        """Delete these runs with their events, snapshots, step records and human tasks.

        Events and snapshots are found by their runs' key ranges (they have no index on the
        run column), a few hundred runs per statement.
        """
        from workflows_app.models import Event, Snapshot

        numbers = [n for n in self.values_list("number", flat=True) if n is not None]
        deleted: dict[str, int] = {}
        for start in range(0, len(numbers), 200):
            chunk = numbers[start : start + 200]
            for model in (Event, Snapshot):
                count, _ = model.objects.using(self.db).of_runs(chunk).delete()
                label = model._meta.label
                deleted[label] = deleted.get(label, 0) + count
        total, cascaded = super().delete()
        for label, count in cascaded.items():
            deleted[label] = deleted.get(label, 0) + count
        return total + sum(v for k, v in deleted.items() if k not in cascaded), deleted

    def for_listing(self, *, exact: bool = False) -> RunQuerySet:
        """Only the columns a runs list shows (`summary()`): no graph, state, input or result,
        which can be large. `exact=True` adds `head`, for `run_summary()`'s exact times."""
        return self.only(*LISTING_FIELDS, "head") if exact else self.only(*LISTING_FIELDS)

    def family(self, run_id: str, limit: int | None = None) -> Family | None:
        """The lineage tree of `run_id` (None when the run does not exist), one query per
        generation; with `limit`, at most that many runs, `truncated` saying some were left out.

        A parent that is not stored here (an imported fork) ends the walk up: the tree starts
        at the oldest ancestor found.
        """
        start = self.filter(pk=run_id).first()
        if start is None:
            return None
        ancestors: list[Run] = []
        seen = {start.run_id}
        root = start
        while root.parent_run_id is not None:
            parent = self.filter(pk=root.parent_run_id).first()
            if parent is None or parent.run_id in seen:
                break
            ancestors.insert(0, parent)
            seen.add(parent.run_id)
            root = parent
        tree, listed, frontier = [root], {root.run_id}, [root.run_id]
        truncated = False
        while frontier and not truncated:
            children: dict[str, list[Run]] = {}
            for row in self.filter(parent_run_id__in=frontier).exclude(pk__in=listed):
                children.setdefault(row.parent_run_id or "", []).append(row)
            level = [
                kid
                for parent_id in frontier
                for kid in sorted(children.get(parent_id, []), key=_creation_order)
            ]
            if limit is not None and len(tree) + len(level) > limit:
                level, truncated = level[: max(limit - len(tree), 0)], True
            tree.extend(level)
            listed.update(kid.run_id for kid in level)
            frontier = [kid.run_id for kid in level]
        return Family(ancestors, tree, truncated)

    def lineage(self, run_id: str) -> list[RunSummary]:
        """The engines' lineage of `run_id`: every run of its tree as a `RunSummary` (empty when
        the run does not exist)."""
        found = self.for_listing(exact=True).family(run_id)
        return [] if found is None else [row.run_summary() for row in found.runs]


def _creation_order(row: Any) -> tuple[Any, str]:
    return (row.created_at, row.run_id)
