"""The storage protocol: snapshots, the append-only event log, run listing and lineage."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from engines.core.errors import RunConflictError

if TYPE_CHECKING:
    from engines.core.events import Event
    from engines.core.snapshot import RunSnapshot


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One row of a run listing."""

    run_id: str
    workflow_id: str
    status: str
    resource_id: str | None
    parent_run_id: str | None
    fork_step: str | None
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    definition_hash: str

    @classmethod
    def of(cls, snapshot: RunSnapshot) -> RunSummary:
        return cls(
            run_id=snapshot.run_id,
            workflow_id=snapshot.workflow_id,
            status=snapshot.status,
            resource_id=snapshot.resource_id,
            parent_run_id=snapshot.parent_run_id,
            fork_step=snapshot.fork_step,
            created_at=snapshot.created_at,
            updated_at=snapshot.updated_at,
            started_at=snapshot.started_at,
            finished_at=snapshot.finished_at,
            definition_hash=snapshot.definition_hash,
        )


@dataclass(frozen=True, slots=True)
class RunPage:
    """A page of runs, newest first, and how many matched before paging."""

    runs: list[RunSummary]
    total: int


def as_timestamp(value: datetime | float | None) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def check_append(run_id: str, stored_seq: int, snapshot_seq: int, events: Sequence[Event]) -> None:
    """Refuse a write whose events do not continue the stored log without a gap.

    Two callers that loaded the same snapshot number their events alike, so the second write
    is refused: this is the compare-and-set that guards concurrent resumes.
    """
    if events:
        first = events[0].seq
        if first != stored_seq + 1:
            raise RunConflictError(
                f"Run {run_id!r} was changed by another caller "
                f"(stored seq {stored_seq}, write starts at {first})"
            )
        for before, after in itertools.pairwise(events):
            if after.seq != before.seq + 1:
                raise ValueError(f"events of run {run_id!r} are not numbered without gaps")
        if snapshot_seq != events[-1].seq:
            raise ValueError(f"snapshot of run {run_id!r} does not include its last event")
    elif snapshot_seq != stored_seq:
        raise RunConflictError(
            f"Run {run_id!r} was changed by another caller "
            f"(stored seq {stored_seq}, snapshot seq {snapshot_seq})"
        )


@runtime_checkable
class Storage(Protocol):
    """Persists runs. Every engine writes through it; every storage passes one suite."""

    async def save(self, snapshot: RunSnapshot, events: Sequence[Event] = ()) -> None:
        """Append `events` and store `snapshot` atomically.

        The events must continue the stored log (`seq` = stored seq + 1, ...) and the snapshot
        must include the last of them; otherwise `RunConflictError` and nothing is written.
        """
        ...

    async def load(self, run_id: str) -> RunSnapshot | None:
        """The latest snapshot of a run, or None."""
        ...

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        """The run's events with `seq > after_seq`, in order."""
        ...

    async def list_runs(
        self,
        *,
        workflow_id: str | None = None,
        status: str | Sequence[str] | None = None,
        resource_id: str | None = None,
        parent_run_id: str | None = None,
        created_after: datetime | float | None = None,
        created_before: datetime | float | None = None,
        run_id_prefix: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> RunPage:
        """Runs matching every given filter, newest first; `total` counts before paging."""
        ...

    async def delete_run(self, run_id: str) -> bool:
        """Remove a run with its events; True when it existed."""
        ...

    async def lineage(self, run_id: str) -> list[RunSummary]:
        """The run's family of forks: its root first, then every descendant, oldest first."""
        ...
