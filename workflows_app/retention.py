"""Retention: deleting old runs with everything they recorded, a batch at a time.

A run is old when it ended (or, for a run that waits for a person or is paused, last changed)
before a cutoff. Runs that are executing (pending, running, waiting) are never pruned. A run
that has a fork which is kept is kept too, so that every kept run still has its parent (the
lineage shown by the debugger); the report names how many were kept for that reason.

Each batch is its own short transaction: a busy server goes on recording between batches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from workflows_app.models import Event, Run, Snapshot, StepRecord

ACTIVE = ("pending", "running", "waiting")
ENDED = ("success", "failed", "canceled")
PRUNABLE = (*ENDED, "suspended", "paused")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `45s` or `2w` as a duration; `ValueError` for anything else."""
    found = _AGE.match(text or "")
    if found is None or int(found.group(1)) <= 0:
        raise ValueError(
            f"{text!r} is not an age: use a whole number and a unit, e.g. 30d, 12h, 90m, 2w"
        )
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def check_statuses(statuses: Sequence[str]) -> list[str]:
    """The statuses to prune, refusing executing and unknown ones."""
    refused = [s for s in statuses if s in ACTIVE]
    if refused:
        raise ValueError(f"runs that are {', '.join(refused)} are executing and never pruned")
    unknown = [s for s in statuses if s not in PRUNABLE]
    if unknown:
        raise ValueError(f"unknown status {', '.join(unknown)}; use {', '.join(PRUNABLE)}")
    return list(dict.fromkeys(statuses))


@dataclass
class PruneReport:
    """What a prune deleted (or, with `dry_run`, would delete)."""

    runs: int = 0
    events: int = 0
    snapshots: int = 0
    step_records: int = 0
    kept_for_forks: list[str] = field(default_factory=list)
    dry_run: bool = False


def _old(cutoff: datetime, statuses: Sequence[str]) -> Q:
    ended = Q(status__in=[s for s in statuses if s in ENDED], finished_at__lt=cutoff)
    waiting = Q(status__in=[s for s in statuses if s not in ENDED], updated_at__lt=cutoff)
    return ended | waiting


def prune_runs(
    cutoff: datetime,
    statuses: Sequence[str] = ENDED,
    *,
    dry_run: bool = False,
    batch_size: int = 500,
    using: str = "default",
    progress: Callable[[PruneReport], None] | None = None,
) -> PruneReport:
    """Delete the runs in `statuses` that ended (or last changed) before `cutoff`, oldest
    first, `batch_size` per transaction, keeping the parents of kept forks."""
    statuses = check_statuses(statuses)
    report = PruneReport(dry_run=dry_run)
    runs = Run.objects.using(using)
    old = _old(cutoff, statuses)
    after: tuple[datetime, str] | None = None
    while True:
        batch_qs = runs.filter(old).order_by("created_at", "run_id")
        if after is not None:
            created, run_id = after
            batch_qs = batch_qs.filter(
                Q(created_at__gt=created) | Q(created_at=created, run_id__gt=run_id)
            )
        batch = list(batch_qs.values_list("run_id", "created_at", "number")[:batch_size])
        if not batch:
            return report
        after = (batch[-1][1], batch[-1][0])
        ids = [run_id for run_id, _, _ in batch]
        protected = _parents_of_kept(ids, old, using)
        report.kept_for_forks.extend(sorted(protected))
        doomed = [(run_id, number) for run_id, _, number in batch if run_id not in protected]
        if doomed:
            _delete(doomed, report, dry_run, using)
        if progress is not None:
            progress(report)


def _parents_of_kept(ids: list[str], old: Q, using: str) -> set[str]:
    """The runs among `ids` that have a fork (at any depth) that is not pruned."""
    runs = Run.objects.using(using)
    protected: set[str] = set()
    children = list(runs.filter(parent_run_id__in=ids).values_list("run_id", "parent_run_id"))
    if not children:
        return protected
    prunable = set(runs.filter(old, pk__in=[c for c, _ in children]).values_list("pk", flat=True))
    # A prunable child is kept when it has a kept fork itself.
    kept_below = _parents_of_kept(sorted(prunable), old, using) if prunable else set()
    for child, parent in children:
        if child not in prunable or child in kept_below:
            protected.add(str(parent))
    # A protected run's own parent, if also in this batch, is protected too.
    parents = dict(runs.filter(pk__in=protected).values_list("pk", "parent_run_id"))
    frontier = [p for p in parents.values() if p in ids and p not in protected]
    while frontier:
        protected.update(frontier)
        parents = dict(runs.filter(pk__in=frontier).values_list("pk", "parent_run_id"))
        frontier = [p for p in parents.values() if p in ids and p not in protected]
    return protected


def _delete(
    doomed: list[tuple[str, int | None]], report: PruneReport, dry_run: bool, using: str
) -> None:
    ids = [run_id for run_id, _ in doomed]
    numbers = [number for _, number in doomed if number is not None]
    if dry_run:
        report.runs += len(ids)
        report.events += Event.objects.using(using).of_runs(numbers).count()
        report.snapshots += Snapshot.objects.using(using).of_runs(numbers).count()
        report.step_records += StepRecord.objects.using(using).filter(run_id__in=ids).count()
        return
    with transaction.atomic(using=using):
        _, deleted = Run.objects.using(using).filter(pk__in=ids).delete()
    report.runs += deleted.get(Run._meta.label, 0)
    report.events += deleted.get(Event._meta.label, 0)
    report.snapshots += deleted.get(Snapshot._meta.label, 0)
    report.step_records += deleted.get(StepRecord._meta.label, 0)
