"""`DjangoStorage`: the engines' storage protocol on the Django ORM (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import DatabaseError, DataError, IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from engines.core.errors import RunConflictError
from engines.core.events import Event
from engines.core.snapshot import RunSnapshot
from engines.storage.base import RunPage, RunSummary
from workflows_app import snapshots
from workflows_app.models import SUMMARY_FIELDS, Run, RunQuerySet, to_datetime
from workflows_app.models import Event as EventRow
from workflows_app.storage import loop_writes
from workflows_app.storage.plan import GraphMemo, RunCache, WritePlan, plan_save, unsync
from workflows_app.storage.sql import Statements, apply_task_changes

log = logging.getLogger("workflows_app.storage")
T = TypeVar("T")

# Runs whose delta bookkeeping is kept; beyond it the oldest is dropped (its next save is full).
_MAX_CACHED_RUNS = 10_000


class DjangoStorage:
    """Stores runs in the Django database `using`; `engine_name` fills `Run.engine`.

    A save is planned on the caller's event loop (see `workflows_app.storage.plan`), then
    written in one transaction on Django's thread for sync code (one `sync_to_async` hop), then
    broadcast to watchers. Every other method wraps the sync logic of the models.
    """

    def __init__(self, using: str = "default", engine_name: str = "") -> None:
        self.using = using
        self.engine_name = engine_name
        self._runs: dict[str, RunCache] = {}
        self._statements: Statements | None = None
        self._graphs = GraphMemo()
        self._sync_guarded = sync_to_async(self._guarded, thread_sensitive=True)

    def __repr__(self) -> str:
        return f"DjangoStorage(using={self.using!r}, engine_name={self.engine_name!r})"

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on Django's thread for sync code (`sync_to_async(thread_sensitive=True)`).

        The call runs in a task of its own: asgiref marks the calling context while a
        thread-sensitive call is in flight, and the engine starts sibling steps eagerly in one
        shared context, so a second sibling saving would be refused as a deadlock.
        """
        return await asyncio.ensure_future(self._sync_guarded(fn, *args))

    def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except DatabaseError:
            # A broken connection is replaced at the next call instead of failing every one.
            connections[self.using].close_if_unusable_or_obsolete()
            raise

    def _runs_qs(self) -> RunQuerySet:
        return Run.objects.using(self.using)

    # -- save -----------------------------------------------------------------------------------

    async def save(self, snapshot: RunSnapshot, events: Sequence[Event] = ()) -> None:
        """Append `events` and store `snapshot` atomically (a compare-and-set on the run's seq:
        `RunConflictError` and nothing written when the events do not continue the log)."""
        run_id = snapshot.run_id
        records = snapshot.steps
        plan = plan_save(snapshot, events, self._runs.get(run_id), self.engine_name, self._graphs)
        cache = plan.cache
        self._remember(run_id, cache)
        try:
            if loop_writes.wanted():
                await self._write_on_this_loop(plan)
            else:
                await self._call(self._write, plan)
        except BaseException:
            # The records are marked synced but may not be stored: write everything next time.
            if self._runs.get(run_id) is cache:
                del self._runs[run_id]
            unsync(records, cache)
            raise
        if plan.status not in snapshots.ACTIVE_STATUSES and self._runs.get(run_id) is cache:
            del self._runs[run_id]  # the run stopped: its next save starts from a load anyway

    def _remember(self, run_id: str, cache: RunCache) -> None:
        runs = self._runs
        runs.pop(run_id, None)
        runs[run_id] = cache
        if len(runs) > _MAX_CACHED_RUNS:
            del runs[next(iter(runs))]

    def _statements_for(self, connection: BaseDatabaseWrapper) -> Statements:
        statements = self._statements
        if statements is None or statements.vendor != connection.vendor:
            statements = self._statements = Statements(connection)
        return statements

    async def _write_on_this_loop(self, plan: WritePlan) -> None:
        """Write one planned save on this thread (see `loop_writes`), then publish it."""
        connection = await loop_writes.connection(self.using)
        if connection.in_atomic_block or plan.tasks:
            # Human tasks are written through the ORM, which runs on Django's own thread.
            await self._call(self._write, plan)
            return
        try:
            self._write_raw(connection, self._statements_for(connection), plan)
        except IntegrityError as exc:
            raise RunConflictError(f"Run {plan.run_id!r} was changed by another caller") from exc
        except DatabaseError:
            await loop_writes.discard(connection)
            raise
        self._publish(plan)

    def _write(self, plan: WritePlan) -> None:
        """Write one planned save in a transaction, then publish it (on the DB thread)."""
        connection = connections[self.using]
        statements = self._statements_for(connection)
        outer = connection.in_atomic_block
        try:
            if plan.tasks or outer or connection.queries_logged:
                self._write_in_atomic(connection, statements, plan)
            else:
                connection.ensure_connection()
                self._write_raw(connection, statements, plan)
        except IntegrityError as exc:
            # Another writer created the run, or numbered its events, first.
            raise RunConflictError(f"Run {plan.run_id!r} was changed by another caller") from exc
        except DatabaseError:
            connection.close_if_unusable_or_obsolete()
            raise
        if outer:
            # Inside the caller's transaction: watchers hear of it once it commits, if it does.
            transaction.on_commit(lambda: self._publish(plan), using=self.using)
        else:
            self._publish(plan)

    def _write_in_atomic(
        self, connection: BaseDatabaseWrapper, statements: Statements, plan: WritePlan
    ) -> None:
        """The write inside `transaction.atomic` (nested in the caller's transaction, if any),
        through Django's cursor when Django records queries."""
        with transaction.atomic(using=self.using):
            if connection.queries_logged:
                with connection.cursor() as cursor:
                    statements.write(cursor, plan, raw=False)
            else:
                with connection.wrap_database_errors:
                    raw = statements.cursor(connection.connection)
                    try:
                        statements.write(raw, plan, raw=True)
                    finally:
                        raw.close()
            if plan.tasks:
                apply_task_changes(self.using, plan)

    def _write_raw(
        self, connection: BaseDatabaseWrapper, statements: Statements, plan: WritePlan
    ) -> None:
        """The common write, outside any transaction of the caller: its own BEGIN and COMMIT
        on the driver's cursor (Django's `atomic` and cursor wrappers cost more than the
        statements of a step boundary). The connection is open."""
        if plan.delta and statements.pipelined:
            self._write_pipelined(connection, statements, plan)
            return
        with connection.wrap_database_errors:
            cursor = statements.cursor(connection.connection)
            try:
                cursor.execute(statements.begin)
                try:
                    statements.write(cursor, plan, raw=True)
                except BaseException:
                    with contextlib.suppress(Exception):  # a broken connection cannot
                        cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def _write_pipelined(
        self, connection: BaseDatabaseWrapper, statements: Statements, plan: WritePlan
    ) -> None:
        """A delta write on PostgreSQL sent as one message (`Statements.one_message`): one
        round trip, one implicit transaction."""
        raw = connection.connection
        text = statements.one_message(raw, plan)
        cursor = raw.cursor()
        try:
            try:
                with connection.wrap_database_errors:
                    # No parameters: psycopg sends the text as one simple query.
                    cursor.execute(text.encode(), prepare=False)
            except DataError:  # the compare-and-set's division by zero: nothing was written
                statements.refuse(statements.cursor(raw), plan)
                raise
        finally:
            cursor.close()

    def _publish(self, plan: WritePlan) -> None:
        """Tell watchers (never raises: they catch up from the database)."""
        try:
            from workflows_app import broadcast

            if not broadcast.wanted():
                return
            values = {name: plan.run.get(name) for name in SUMMARY_FIELDS}
            values["run_id"] = plan.run_id
            values["step_counts"] = json.loads(plan.run["step_counts"])
            for name in ("created_at", "updated_at", "started_at", "finished_at"):
                values[name] = to_datetime(values[name])
            summary = Run.summary_of(values)
            broadcast.publish(plan.run_id, [e.to_dict() for e in plan.events], summary)
        except Exception:
            log.exception("broadcasting run %s failed", plan.run_id)

    # -- reads ----------------------------------------------------------------------------------

    async def load(self, run_id: str) -> RunSnapshot | None:
        """The run's latest snapshot, or None. When this storage wrote the run last, the
        records come back in step with what it wrote, so saving them writes only changes."""
        snap = await self._call(self._load, run_id)
        cache = self._runs.get(run_id)
        if snap is not None and cache is not None and cache.seq == snap.seq:
            snap.records.mark_synced(cache.version)
        return snap

    def _load(self, run_id: str) -> RunSnapshot | None:
        run = self._runs_qs().select_related("stored_graph").filter(pk=run_id).first()
        return None if run is None else run.to_snapshot()

    async def snapshot_at(self, run_id: str, seq: int) -> RunSnapshot | None:
        """The run as stored at `seq` (the greatest stored snapshot at or before it), or None."""
        return await self._call(self._snapshot_at, run_id, seq)

    def _snapshot_at(self, run_id: str, seq: int) -> RunSnapshot | None:
        run = self._runs_qs().filter(pk=run_id).first()
        return None if run is None else run.snapshot_at(seq)

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        """The run's events with `seq > after_seq`, in order (at most `limit`)."""
        return await self._call(self._read_events, run_id, after_seq, limit)

    def _read_events(self, run_id: str, after_seq: int, limit: int | None) -> list[Event]:
        return EventRow.read(run_id, after_seq, limit, using=self.using)

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
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must be >= 0")
        filters = {
            "workflow_id": workflow_id,
            "status": status,
            "resource_id": resource_id,
            "parent_run_id": parent_run_id,
            "created_after": created_after,
            "created_before": created_before,
            "run_id_prefix": run_id_prefix,
        }
        return await self._call(self._list_runs, filters, limit, offset)

    def _list_runs(self, filters: dict[str, Any], limit: int, offset: int) -> RunPage:
        qs = self._runs_qs().matching(**filters)
        total = qs.count()
        rows = qs.for_listing(exact=True)[offset : offset + limit] if limit else []
        return RunPage(runs=[r.run_summary() for r in rows], total=total)

    async def delete_run(self, run_id: str) -> bool:
        """Remove a run with its events, snapshots, step records and tasks; True if it existed."""
        self._runs.pop(run_id, None)
        return await self._call(self._delete_run, run_id)

    def _delete_run(self, run_id: str) -> bool:
        with transaction.atomic(using=self.using):
            count, _ = self._runs_qs().filter(pk=run_id).delete()
        return count > 0

    async def lineage(self, run_id: str) -> list[RunSummary]:
        """The run's family of forks: its root first, then every descendant, oldest first."""
        return await self._call(self._lineage, run_id)

    def _lineage(self, run_id: str) -> list[RunSummary]:
        return self._runs_qs().lineage(run_id)
