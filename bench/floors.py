"""The physical floor of a stored step: hand-written loops that commit, per step, one event row
and one snapshot-delta row, and nothing else (no engine, no run row, no step records).

Their tables are keyed the way a careful hand-written schema would be, and the way an ORM
creates them: an integer row id and a unique (run id, seq) index. Each step is its own
transaction, as in W4-per-step. `sqlite_chain` uses the production pragmas (WAL,
`synchronous=NORMAL`); `postgres_chain` is its psycopg twin.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from typing import Any

from bench.timing import BenchError, Subject

_encode = json.JSONEncoder(separators=(",", ":")).encode

SQLITE_SCHEMA = (
    "CREATE TABLE event (id INTEGER PRIMARY KEY, run_id VARCHAR(64) NOT NULL, "
    "seq INTEGER NOT NULL, type VARCHAR(32) NOT NULL, path VARCHAR(500) NOT NULL, "
    "ts REAL NOT NULL, payload TEXT NOT NULL)",
    "CREATE UNIQUE INDEX event_run_seq ON event (run_id, seq)",
    "CREATE TABLE snapshot (id INTEGER PRIMARY KEY, run_id VARCHAR(64) NOT NULL, "
    "seq INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE UNIQUE INDEX snapshot_run_seq ON snapshot (run_id, seq)",
)
POSTGRES_SCHEMA = (
    "CREATE TABLE floor_event (id BIGSERIAL PRIMARY KEY, run_id VARCHAR(64) NOT NULL, "
    "seq INTEGER NOT NULL, type VARCHAR(32) NOT NULL, path VARCHAR(500) NOT NULL, "
    "ts DOUBLE PRECISION NOT NULL, payload JSONB NOT NULL)",
    "CREATE UNIQUE INDEX floor_event_run_seq ON floor_event (run_id, seq)",
    "CREATE TABLE floor_snapshot (id BIGSERIAL PRIMARY KEY, run_id VARCHAR(64) NOT NULL, "
    "seq INTEGER NOT NULL, data JSONB NOT NULL)",
    "CREATE UNIQUE INDEX floor_snapshot_run_seq ON floor_snapshot (run_id, seq)",
)


def step_rows(run_id: str, k: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Step `k`'s event row and snapshot-delta row: what W4's step s{k} records as it ends."""
    output = {"i": k + 1}
    event = (run_id, k + 1, "step.succeeded", f"s{k}", time.time(), _encode({"output": output}))
    record = {"status": "success", "payload": {"i": k}, "output": output}
    delta = (run_id, k + 1, _encode({"steps": [[f"s{k}", record]]}))
    return event, delta


class SqliteFloor:
    """A SQLite file with the floor's schema."""

    def __init__(self, folder: str | None = None) -> None:
        self.folder = folder or tempfile.mkdtemp(prefix="stepback-bench-floor-")
        self.path = os.path.join(self.folder, "floor.sqlite3")
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        for statement in SQLITE_SCHEMA:
            self.connection.execute(statement)

    def chain(self, n: int) -> str:
        """Store one run of `n` steps, a commit per step; returns its id."""
        run_id = uuid.uuid4().hex
        cursor = self.connection.cursor()
        for k in range(n):
            event, delta = step_rows(run_id, k)
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(
                "INSERT INTO event (run_id, seq, type, path, ts, payload) VALUES (?,?,?,?,?,?)",
                event,
            )
            cursor.execute("INSERT INTO snapshot (run_id, seq, data) VALUES (?,?,?)", delta)
            cursor.execute("COMMIT")
        return run_id

    def count(self, run_id: str) -> int:
        row = self.connection.execute(
            "SELECT COUNT(*) FROM event WHERE run_id = ?", (run_id,)
        ).fetchone()
        return int(row[0])

    def file_size(self) -> int:
        """The database's size once the WAL is checkpointed into it."""
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return os.path.getsize(self.path)

    def close(self) -> None:
        self.connection.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _checked(floor: Any, n: int) -> Any:
    def check(run_id: str) -> None:
        if floor.count(run_id) != n:
            raise BenchError(f"the floor stored {floor.count(run_id)} events of {n}")

    return check


def sqlite_chain(n: int) -> Subject:
    """The SQLite floor of W4-per-step: `n` steps, each an event and a delta in a commit."""
    floor = SqliteFloor()

    async def run(_state: Any) -> str:
        return floor.chain(n)

    async def teardown() -> None:
        floor.close()

    return Subject(name="floor", steps=n, run=run, check=_checked(floor, n), teardown=teardown)


class PostgresFloor:
    """The floor's tables in a PostgreSQL database (created fresh, dropped by `close`)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url)
        with self.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS floor_event, floor_snapshot")
            for statement in POSTGRES_SCHEMA:
                cursor.execute(statement)
        self.connection.commit()

    def chain(self, n: int) -> str:
        run_id = uuid.uuid4().hex
        connection = self.connection
        with connection.cursor() as cursor:
            for k in range(n):
                event, delta = step_rows(run_id, k)
                cursor.execute(
                    "INSERT INTO floor_event (run_id, seq, type, path, ts, payload) "
                    "VALUES (%s,%s,%s,%s,%s,%s::jsonb)",
                    event,
                )
                cursor.execute(
                    "INSERT INTO floor_snapshot (run_id, seq, data) VALUES (%s,%s,%s::jsonb)",
                    delta,
                )
                connection.commit()
        return run_id

    def count(self, run_id: str) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM floor_event WHERE run_id = %s", (run_id,))
            row = cursor.fetchone()
        self.connection.commit()
        return int(row[0]) if row else 0

    def table_bytes(self) -> int:
        """Tables and indexes, as PostgreSQL accounts them."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_total_relation_size('floor_event') "
                "+ pg_total_relation_size('floor_snapshot')"
            )
            row = cursor.fetchone()
        self.connection.commit()
        return int(row[0]) if row else 0

    def truncate(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("TRUNCATE floor_event, floor_snapshot")
        self.connection.commit()

    def close(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS floor_event, floor_snapshot")
        self.connection.commit()
        self.connection.close()


def postgres_chain(url: str, n: int) -> Subject:
    """The PostgreSQL floor of W4-per-step."""
    floor = PostgresFloor(url)

    async def run(_state: Any) -> str:
        return floor.chain(n)

    async def teardown() -> None:
        floor.close()

    return Subject(name="floor", steps=n, run=run, check=_checked(floor, n), teardown=teardown)
