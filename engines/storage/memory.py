"""`InMemoryStorage`: the embedded default, for tests, scripts and the reference engine."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from engines.core.events import Event
from engines.core.snapshot import RunSnapshot, StepRecords
from engines.storage.base import RunPage, RunSummary, as_timestamp, check_append


class InMemoryStorage:
    """Keeps runs in this process.

    By default it stores snapshot copies as objects (fast; in-process errors stay the original
    exception objects). With `serialize=True` every write goes through JSON, exactly as a
    database would see it; the conformance suite runs both ways.
    """

    def __init__(self, serialize: bool = False) -> None:
        self.serialize = serialize
        # A threading lock: engines may be used from successive event loops and threads.
        self._lock = threading.Lock()
        self._snapshots: dict[str, Any] = {}
        # Listing rows; kept up to date only when serializing (objects are summarized on read).
        self._summaries: dict[str, RunSummary] = {}
        self._events: dict[str, list[Any]] = {}
        # Each run's stored version: a new number at every save (see `StepRecords`).
        self._versions: dict[str, int] = {}
        self._writes = itertools.count(1)

    async def save(self, snapshot: RunSnapshot, events: Sequence[Event] = ()) -> None:
        run_id = snapshot.run_id
        if self.serialize:
            text = json.dumps(snapshot.to_dict())
            encoded: list[Any] = [json.dumps(e.to_dict()) for e in events]
            with self._lock:
                self._check(snapshot, events)
                self._snapshots[run_id] = text
                self._append(snapshot, encoded)
            return
        with self._lock:
            self._check(snapshot, events)
            stored = self._snapshots.get(run_id)
            records = snapshot.steps
            if (
                isinstance(stored, RunSnapshot)
                and isinstance(records, StepRecords)
                and records.delta_from(self._versions.get(run_id))
            ):
                # Records in step with the stored ones but for the tracked changes: copy only
                # those, so a save costs O(changed records), not O(run size).
                stored_steps = stored.steps
                for key in records.removed:
                    stored_steps.pop(key, None)
                put = dict.__setitem__  # the stored copy needs no change tracking
                for key in records.changed or ():
                    put(stored_steps, key, records[key])
                _copy_all_but_steps(snapshot, stored)
            else:
                stored = snapshot.copy()
                self._snapshots[run_id] = stored
            version = self._versions[run_id] = next(self._writes)
            if isinstance(records, StepRecords):
                records.mark_synced(version)
            self._append(snapshot, list(events))

    def _check(self, snapshot: RunSnapshot, events: Sequence[Event]) -> None:
        known = snapshot.run_id in self._snapshots
        stored_seq = self._seq_of(snapshot.run_id) if known else 0
        check_append(snapshot.run_id, stored_seq, snapshot.seq, events)

    def _append(self, snapshot: RunSnapshot, events: list[Any]) -> None:
        if self.serialize:
            self._summaries[snapshot.run_id] = RunSummary.of(snapshot)
        if events:
            self._events.setdefault(snapshot.run_id, []).extend(events)

    def _rows(self) -> list[RunSummary]:
        if self.serialize:
            return list(self._summaries.values())
        return [RunSummary.of(s) for s in self._snapshots.values()]

    def _seq_of(self, run_id: str) -> int:
        stored = self._snapshots[run_id]
        if isinstance(stored, str):
            return int(json.loads(stored)["seq"])
        return int(stored.seq)

    async def load(self, run_id: str) -> RunSnapshot | None:
        with self._lock:
            stored = self._snapshots.get(run_id)
        if stored is None:
            return None
        snap = (
            RunSnapshot.from_dict(json.loads(stored)) if isinstance(stored, str) else stored.copy()
        )
        # The copy holds what is stored at its seq: a save of it writes only what changes.
        snap.records.mark_synced(snap.seq)
        return snap

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        with self._lock:
            log = self._events.get(run_id, [])
            # seq n sits at index n - 1: the log is gap-free from 1.
            chunk = log[max(after_seq, 0) :]
        if limit is not None:
            chunk = chunk[:limit]
        if self.serialize:
            return [Event.from_dict(json.loads(e)) for e in chunk]
        return list(chunk)

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
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must be >= 0")
        statuses = {status} if isinstance(status, str) else set(status) if status else None
        after = as_timestamp(created_after)
        before = as_timestamp(created_before)
        with self._lock:
            rows = self._rows()
        matched = [
            r
            for r in rows
            if (workflow_id is None or r.workflow_id == workflow_id)
            and (statuses is None or r.status in statuses)
            and (resource_id is None or r.resource_id == resource_id)
            and (parent_run_id is None or r.parent_run_id == parent_run_id)
            and (after is None or r.created_at >= after)
            and (before is None or r.created_at <= before)
            and (run_id_prefix is None or r.run_id.startswith(run_id_prefix))
        ]
        matched.sort(key=lambda r: (r.created_at, r.run_id), reverse=True)
        return RunPage(runs=matched[offset : offset + limit], total=len(matched))

    async def delete_run(self, run_id: str) -> bool:
        with self._lock:
            existed = self._snapshots.pop(run_id, None) is not None
            self._summaries.pop(run_id, None)
            self._events.pop(run_id, None)
            self._versions.pop(run_id, None)
        return existed

    async def lineage(self, run_id: str) -> list[RunSummary]:
        with self._lock:
            rows = {r.run_id: r for r in self._rows()}
        start = rows.get(run_id)
        if start is None:
            return []
        root = start
        seen = {root.run_id}
        while root.parent_run_id is not None and root.parent_run_id in rows:
            root = rows[root.parent_run_id]
            if root.run_id in seen:
                break
            seen.add(root.run_id)
        children: dict[str, list[RunSummary]] = {}
        for r in rows.values():
            if r.parent_run_id is not None:
                children.setdefault(r.parent_run_id, []).append(r)
        family = [root]
        frontier = [root]
        while frontier:
            nxt: list[RunSummary] = []
            for r in frontier:
                kids = sorted(children.get(r.run_id, []), key=lambda k: (k.created_at, k.run_id))
                family.extend(kids)
                nxt.extend(kids)
            frontier = nxt
        return family


def _copy_all_but_steps(source: RunSnapshot, target: RunSnapshot) -> None:
    """Every field but the step records, copied so later changes to `source` stay out."""
    fresh = source.copy(with_steps=False)
    for name in RunSnapshot.__slots__:
        if name != "steps":
            setattr(target, name, getattr(fresh, name))
