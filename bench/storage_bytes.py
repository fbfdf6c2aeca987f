"""`python -m bench.storage_bytes`: what a stored step costs on disk, beside the floor's.

A chain of N steps that each wait (W4-per-step: every step boundary is a commit) is stored
through `DjangoStorage`; the figure is the database's growth divided by N. The workflow's graph
is stored once per definition and shared by all its runs, so the run measured is the
definition's second (its first stores the graph). SQLite's size is taken after a WAL
checkpoint; PostgreSQL's is the size of the app's tables and indexes
(`STEPBACK_BENCH_DATABASE_URL`, whose Stepback tables are emptied first). The floor stores one
event row and one snapshot-delta row per step (`bench.floors`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

from bench import django_workloads as dw
from bench import floors
from engines import DefaultEngine

SIZES = (1000, 10_000)
TABLES = ("run", "event", "snapshot", "steprecord", "humantask", "workflowgraph")


async def store_chain(n: int, using: str) -> None:
    storage = dw.app("storage")
    wf = dw.persisted_chain_workflow(n, wait=True)
    engine = DefaultEngine(storage=storage.DjangoStorage(using=using, engine_name="default"))
    with storage.writes_on_this_loop():
        result = await wf.create_run(engine=engine).start(input_data={"i": 0})
    await engine.aclose()
    if result.status != "success":
        raise SystemExit(f"the {n}-step chain ended {result.status}")


def sqlite_size(using: str = "default") -> int:
    from django.db import connections

    def size() -> int:
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return os.path.getsize(connection.settings_dict["NAME"])

    return dw.in_thread(size)


def postgres_size(using: str = dw.POSTGRES_DB) -> int:
    from django.db import connections

    def size() -> int:
        with connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c "
                "WHERE c.relkind = 'r' AND c.relname = ANY(%s)",
                [[f"workflows_app_{name}" for name in TABLES]],
            )
            row = cursor.fetchone()
        return int(row[0] or 0)

    return dw.in_thread(size)


def empty_postgres(using: str = dw.POSTGRES_DB) -> None:
    from django.db import connections

    def truncate() -> None:
        with connections[using].cursor() as cursor:
            names = ", ".join(f"workflows_app_{name}" for name in TABLES)
            cursor.execute(f"TRUNCATE {names} CASCADE")

    dw.in_thread(truncate)


async def per_step(n: int, using: str, size: Callable[[], int]) -> float:
    await store_chain(n, using)  # the definition's first run stores its graph
    before = size()
    await store_chain(n, using)
    return (size() - before) / n


def floor_sqlite(n: int) -> float:
    floor = floors.SqliteFloor()
    try:
        before = floor.file_size()
        floor.chain(n)
        return (floor.file_size() - before) / n
    finally:
        floor.close()


def floor_postgres(url: str, n: int) -> float:
    floor = floors.PostgresFloor(url)
    try:
        before = floor.table_bytes()
        floor.chain(n)
        return (floor.table_bytes() - before) / n
    finally:
        floor.close()


async def main() -> int:
    dw.setup_django()
    url = dw.postgres_url()
    print("bytes per stored step (database growth / steps), W4-per-step chain; target <= 1 KB")
    print(f"{'database':<12}{'steps':>8}{'Stepback':>10}{'floor':>8}")
    for n in SIZES:
        stepback = await per_step(n, "default", sqlite_size)
        print(f"{'SQLite':<12}{n:>8}{stepback:>10.0f}{floor_sqlite(n):>8.0f}")
    if url is None:
        print(f"PostgreSQL: skipped (set {dw.POSTGRES_ENV})")
        return 0
    for n in SIZES:
        empty_postgres()
        stepback = await per_step(n, dw.POSTGRES_DB, postgres_size)
        print(f"{'PostgreSQL':<12}{n:>8}{stepback:>10.0f}{floor_postgres(url, n):>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
