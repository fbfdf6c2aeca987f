"""Running a `WritePlan`: the few bulk statements of one save, inside the caller's transaction.

Raw SQL, portable between SQLite and PostgreSQL (both have `INSERT ... ON CONFLICT`), because
this runs at every step boundary of every run and the ORM's per-call overhead costs more than
the writes. The statements go straight to the driver's cursor, unless Django is recording
queries (`DEBUG`, `CaptureQueriesContext`), in which case they go through Django's cursor so
they show up. Human tasks change rarely and use the ORM.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from engines.core.errors import RunConflictError
from engines.storage.base import check_append
from workflows_app.models import (
    Counter,
    Event,
    HumanTask,
    Run,
    Snapshot,
    StepRecord,
    WorkflowGraph,
    row_key,
    to_datetime,
)
from workflows_app.snapshots import TaskOpen
from workflows_app.storage.plan import WritePlan

STEP_COLUMNS = (
    "path", "attempt", "status", "payload", "output", "error", "error_type", "traceback",
    "started_at", "ended_at", "extra", "seq", "position",
)  # fmt: skip
EVENT_COLUMNS = ("seq", "type", "path", "ts", "payload")
SNAPSHOT_COLUMNS = ("seq", "full", "level", "base", "data")
_TIMES = frozenset({"created_at", "updated_at", "started_at", "finished_at"})


class Statements:
    """The SQL of a save for one database connection (Django's `%s` placeholders, turned
    into `?` for a raw sqlite3 cursor)."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.vendor = connection.vendor
        self.adapt_time = self._time_adapter(connection)
        self.quote = connection.ops.quote_name
        # PostgreSQL stores JSON as jsonb: the encoded text is cast; SQLite keeps the text.
        self.as_json = "%s::jsonb" if self.vendor == "postgresql" else "%s"
        # PostgreSQL: a delta write goes as one batch (`DjangoStorage._write_pipelined`).
        self.pipelined = self.vendor == "postgresql"
        mode = getattr(connection, "transaction_mode", None)  # SQLite: IMMEDIATE in settings
        self.begin = f"BEGIN {mode}" if mode else "BEGIN"
        quote = self.quote
        fk, seq = quote("run_id"), quote("seq")
        self.run_table, self.run_pk = self.table(Run), quote(Run._meta.pk.column)
        self._updates: dict[tuple[str, ...], str] = {}

        columns, marks = self.spec(Run, (Run._meta.pk.name, "number", *self.run_columns))
        self.insert_run = f"INSERT INTO {self.run_table} ({columns}) VALUES ({marks})"
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        self.select_run = (
            f"SELECT {seq}, {quote('number')} FROM {self.run_table} WHERE {self.run_pk} = %s{lock}"
        )
        # Fails (division by zero) unless the run now has the seq the write gives it.
        self.check_run = (
            f"SELECT 1 / (SELECT COUNT(*) FROM {self.run_table} "
            f"WHERE {self.run_pk} = %s AND {seq} = %s)"
        )
        self.number_run = (
            f"UPDATE {self.run_table} SET {quote('number')} = %s WHERE {self.run_pk} = %s"
        )
        self.take_number = Counter.next_sql(self.vendor)
        self.insert_counter = (
            f"INSERT INTO {self.table(Counter)} ({quote('name')}, {quote('value')}) "
            f"VALUES (%s, 0) ON CONFLICT ({quote('name')}) DO NOTHING"
        )

        columns, marks = self.spec(WorkflowGraph, ("key", "workflow_id", "graph"))
        self.insert_graph = (
            f"INSERT INTO {self.table(WorkflowGraph)} ({columns}) VALUES ({marks}) "
            f"ON CONFLICT ({quote('key')}) DO NOTHING"
        )
        columns, marks = self.spec(Event, ("id", "run", *EVENT_COLUMNS))
        self.insert_event = f"INSERT INTO {self.table(Event)} ({columns}) VALUES ({marks})"

        steps = self.table(StepRecord)
        columns, marks = self.spec(StepRecord, STEP_COLUMNS)
        updates = ", ".join(
            f"{quote(c)} = excluded.{quote(c)}"
            for c in STEP_COLUMNS
            if c not in ("path", "attempt")
        )
        self.upsert_step = (
            f"INSERT INTO {steps} ({fk}, {columns}) VALUES (%s, {marks}) "
            f"ON CONFLICT ({fk}, {quote('path')}, {quote('attempt')}) DO UPDATE SET {updates}"
        )
        self.select_steps = (
            f"SELECT {quote('path')}, {quote('attempt')} FROM {steps} WHERE {fk} = %s"
        )
        self.delete_step = f"DELETE FROM {steps} WHERE {fk} = %s AND {quote('path')} = %s"
        columns, marks = self.spec(Snapshot, ("id", "run", *SNAPSHOT_COLUMNS))
        replaced = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in SNAPSHOT_COLUMNS[1:])
        self.upsert_snapshot = (
            f"INSERT INTO {self.table(Snapshot)} ({columns}) VALUES ({marks}) "
            f"ON CONFLICT ({quote('id')}) DO UPDATE SET {replaced}"
        )

    @staticmethod
    def _time_adapter(connection: BaseDatabaseWrapper) -> Callable[[float | None], Any]:
        """An epoch timestamp as the driver's parameter for a datetime column.

        SQLite keeps naive UTC text, which is written here directly: Django's adapter goes
        through the time zone machinery for each of the few times a step boundary sets."""
        adapt = connection.ops.adapt_datetimefield_value
        if connection.vendor == "sqlite" and connection.timezone is UTC:

            def utc_text(ts: float | None) -> Any:
                return (
                    None
                    if ts is None
                    else str(datetime.fromtimestamp(ts, UTC)).removesuffix("+00:00")
                )

            return utc_text

        def adapted(ts: float | None) -> Any:
            return adapt(to_datetime(ts))

        return adapted

    def cursor(self, driver_connection: Any) -> Any:
        """A cursor of the driver's connection for the write's statements.

        On PostgreSQL, one that binds parameters on the server and prepares each statement
        once per connection: Django's cursors send every query as new text, which the server
        parses and plans again at every step boundary.
        """
        if self.vendor != "postgresql":
            return driver_connection.cursor()
        import psycopg

        driver_connection.prepare_threshold = 0
        return psycopg.Cursor(driver_connection)

    run_columns = (
        "workflow_id", "definition_hash", "engine", "status", "input", "result", "error",
        "traceback", "state", "context", "resource_id", "parent_run_id", "fork_step", "seq",
        "step_counts", "stored_graph_id", "head", "created_at", "updated_at", "started_at",
        "finished_at",
    )  # fmt: skip

    def table(self, model: type[Model]) -> str:
        return self.quote(model._meta.db_table)

    def _marks(self, model: type[Model], names: tuple[str, ...]) -> list[tuple[str, str]]:
        fields = [model._meta.get_field(name) for name in names]
        return [
            (self.quote(f.column), self.as_json if f.get_internal_type() == "JSONField" else "%s")
            for f in fields
        ]

    def spec(self, model: type[Model], names: tuple[str, ...]) -> tuple[str, str]:
        """The quoted columns of `names` and their placeholders, comma-joined."""
        pairs = self._marks(model, names)
        return ", ".join(c for c, _ in pairs), ", ".join(m for _, m in pairs)

    def update_run(self, names: tuple[str, ...], compare_seq: bool) -> str:
        """`UPDATE run SET <names> WHERE pk = %s [AND seq = %s]`, built once per column set."""
        key = (*names, "?" if compare_seq else "")
        sql = self._updates.get(key)
        if sql is None:
            sets = ", ".join(f"{c} = {m}" for c, m in self._marks(Run, names))
            sql = f"UPDATE {self.run_table} SET {sets} WHERE {self.run_pk} = %s"
            if compare_seq:
                # The compare-and-set of a delta save: only the seq it continues matches.
                sql += f" AND {self.quote('seq')} = %s"
            self._updates[key] = sql
        return sql

    def run_values(self, plan: WritePlan, names: tuple[str, ...]) -> list[Any]:
        values = plan.run
        adapt = self.adapt_time
        return [adapt(values[n]) if n in _TIMES else values[n] for n in names]

    def write(self, cursor: Any, plan: WritePlan, *, raw: bool, pipelined: bool = False) -> None:
        """Execute `plan` (the caller holds the transaction); `RunConflictError` when the
        stored seq is not the one the plan continues. `raw`: `cursor` is the driver's own.
        `pipelined`: results arrive only at the end, so a failing statement stands in for
        reading the update's row count."""
        execute, executemany = self._executors(cursor, raw)
        self._write_statements(execute, executemany, cursor, plan, pipelined)

    def _write_statements(
        self,
        execute: Callable[..., Any],
        executemany: Callable[..., Any],
        cursor: Any,
        plan: WritePlan,
        pipelined: bool,
    ) -> None:
        run_id = plan.run_id
        if plan.graph is not None:
            key, text = plan.graph
            execute(self.insert_graph, [key, plan.run["workflow_id"], text])
        if plan.delta:
            names = plan.run_update
            values = self.run_values(plan, names)
            execute(self.update_run(names, True), [*values, run_id, plan.expected_seq])
            if pipelined:
                execute(self.check_run, [run_id, plan.seq])
            elif cursor.rowcount != 1:
                self._refuse(execute, cursor, plan)
        else:
            self._write_run(execute, cursor, plan)
        number = plan.cache.number
        assert number is not None  # a delta follows a full write, which numbered the run
        if plan.event_rows:
            executemany(
                self.insert_event,
                [(row_key(number, row[0]), run_id, *row) for row in plan.event_rows],
            )
        removed = plan.removed if plan.delta else self._resolve_full(execute, cursor, plan)
        if removed:
            executemany(self.delete_step, [(run_id, key) for key in removed])
        if plan.steps:
            executemany(self.upsert_step, [(run_id, *row) for row in plan.steps])
        execute(
            self.upsert_snapshot,
            [
                row_key(number, plan.seq), run_id, plan.seq, plan.snapshot_full,
                plan.snapshot_level, plan.snapshot_base, plan.snapshot_data,
            ],
        )  # fmt: skip

    def one_message(self, driver_connection: Any, plan: WritePlan) -> str:
        """A delta write on PostgreSQL as one text of statements, bound on the client, which
        the server runs as one implicit transaction (a simple query): one round trip, and none
        of the per-statement work of the extended protocol. The seq compare-and-set is a
        statement that fails (division by zero, rolling everything back) when the update found
        nothing."""
        mogrify: Callable[[str, Any], str] = _bind
        if driver_connection.info.parameter_status("standard_conforming_strings") != "on":
            # `_literal` relies on it (a quote doubled is the only escape); psycopg's own
            # client-side binding is slower but right whatever the setting.
            import psycopg

            mogrify = psycopg.ClientCursor(driver_connection).mogrify
        parts: list[str] = []

        def execute(sql: str, params: Any) -> None:
            parts.append(mogrify(sql, params))

        def executemany(sql: str, rows: Any) -> None:
            parts.extend(mogrify(sql, row) for row in rows)

        self._write_statements(execute, executemany, None, plan, pipelined=True)
        return ";\n".join(parts)

    def _executors(self, cursor: Any, raw: bool) -> tuple[Callable[..., Any], Callable[..., Any]]:
        if not (raw and self.vendor == "sqlite"):
            return cursor.execute, cursor.executemany

        def execute(sql: str, params: Any) -> Any:
            return cursor.execute(_qmarks(sql), params)

        def executemany(sql: str, params: Any) -> Any:
            return cursor.executemany(_qmarks(sql), params)

        return execute, executemany

    def refuse(self, cursor: Any, plan: WritePlan) -> None:
        """Raise the `RunConflictError` of a refused write, from a raw cursor (after rollback)."""
        execute, _ = self._executors(cursor, True)
        self._refuse(execute, cursor, plan)

    def _refuse(self, execute: Callable[..., Any], cursor: Any, plan: WritePlan) -> None:
        execute(self.select_run, [plan.run_id])
        row = cursor.fetchone()
        check_append(plan.run_id, row[0] if row else 0, plan.seq, plan.events)
        raise RunConflictError(f"Run {plan.run_id!r} was changed by another caller")

    def _write_run(self, execute: Callable[..., Any], cursor: Any, plan: WritePlan) -> None:
        """Insert or update the run row after checking its stored seq (full saves), and learn
        (or give) the run's number."""
        execute(self.select_run, [plan.run_id])
        row = cursor.fetchone()
        check_append(plan.run_id, row[0] if row else 0, plan.seq, plan.events)
        values = self.run_values(plan, self.run_columns)
        number = row[1] if row is not None else None
        if number is None:
            number = self._take_number(execute, cursor)
            if row is not None:
                execute(self.number_run, [number, plan.run_id])
        plan.cache.number = number
        if row is None:
            execute(self.insert_run, [plan.run_id, number, *values])
        else:
            execute(self.update_run(self.run_columns, False), [*values, plan.run_id])

    def _take_number(self, execute: Callable[..., Any], cursor: Any) -> int:
        execute(self.take_number, ["run"])
        row = cursor.fetchone()
        if row is None:  # the counter's first use
            execute(self.insert_counter, ["run"])
            execute(self.take_number, ["run"])
            row = cursor.fetchone()
        return int(row[0])

    def _resolve_full(self, execute: Callable[..., Any], cursor: Any, plan: WritePlan) -> list[str]:
        """For a full write: the stored paths the snapshot no longer has (to delete), and the
        attempt of each running record (its path's latest stored attempt)."""
        execute(self.select_steps, [plan.run_id])
        latest: dict[str, int] = {}
        for path, attempt in cursor.fetchall():
            latest[path] = max(attempt, latest.get(path, 0))
        kept = set()
        for row in plan.steps:
            path = row[0]
            kept.add(path)
            if row[1] == 0:
                row[1] = latest.get(path, 1)
                plan.cache.attempts[path] = row[1]
        return [path for path in latest if path not in kept]


_split: dict[str, list[str]] = {}


def _bind(sql: str, params: Any) -> str:
    """`sql` with each `%s` replaced by its parameter as a PostgreSQL literal."""
    pieces = _split.get(sql)
    if pieces is None:
        pieces = _split[sql] = sql.split("%s")
    literal = _literal
    return pieces[0] + "".join([literal(v) + p for v, p in zip(params, pieces[1:], strict=True)])


def _literal(value: Any) -> str:
    """A parameter of a save as a PostgreSQL literal (standard_conforming_strings on: inside
    quotes, only a quote is special, and is doubled). The values a save binds are None,
    booleans, integers, finite floats, text and aware datetimes; anything else is refused."""
    kind = type(value)
    if kind is str:
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "NULL"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"cannot store the float {value!r}")
        return repr(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return f"'{value.isoformat()}'"
    raise TypeError(f"cannot bind a {kind.__name__} in a save")


_converted: dict[str, str] = {}


def _qmarks(sql: str) -> str:
    """Django's `%s` placeholders as sqlite3's `?` (converted once per statement)."""
    out = _converted.get(sql)
    if out is None:
        out = _converted[sql] = sql.replace("%s", "?")
    return out


def apply_task_changes(using: str, plan: WritePlan) -> None:
    """Open and close the run's human tasks as the plan's events say (in event order)."""
    tasks = HumanTask.objects.using(using)
    open_tasks = {
        (t.path, t.for_each_index): t
        for t in tasks.filter(run_id=plan.run_id, status=HumanTask.OPEN)
    }
    created: list[HumanTask] = []
    closed: list[HumanTask] = []
    for change in plan.tasks.changes:
        key = (change.path, change.for_each_index)
        if isinstance(change, TaskOpen):
            if key not in open_tasks:
                task = HumanTask(
                    run_id=plan.run_id,
                    path=change.path,
                    for_each_index=change.for_each_index,
                    label=change.label,
                    suspend_payload=change.suspend_payload,
                    resume_schema=change.resume_schema,
                    status=HumanTask.OPEN,
                    created_at=to_datetime(change.ts),
                )
                open_tasks[key] = task
                created.append(task)
            continue
        task = open_tasks.pop(key, None)
        if task is not None:
            task.status = HumanTask.RESUMED
            task.closed_at = to_datetime(change.ts)
            if task.resume_data is None:  # the services layer may have recorded it already
                task.resume_data = change.data
            if task.pk is not None:
                closed.append(task)
    if plan.tasks.ended_at is not None:
        for task in open_tasks.values():
            task.status = HumanTask.CANCELED
            task.closed_at = to_datetime(plan.tasks.ended_at)
            if task.pk is not None:
                closed.append(task)
    if created:
        tasks.bulk_create(created)
    if closed:
        tasks.bulk_update(closed, ["status", "closed_at", "resume_data"])
