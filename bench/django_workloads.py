"""The workloads that store runs through `workflows_app.storage.DjangoStorage` on SQLite.

- W4: the W1 chain with every event and snapshot persisted. W1's steps never wait, so group
  commit stores the chain in a few writes; "W4-per-step" makes each step await once, so the
  engine commits at every step boundary (what the peer's sync durability does).
- L1: the runs list over 100,000 stored runs (filter, newest first, count, the first page of 50
  and each row's `summary()`), as the API computes it.

Django is set up in this process on first use, with the project's settings (so the production
SQLite pragmas: WAL, synchronous=NORMAL) pointed at fresh files in a temporary directory, and
migrated before anything is timed. Only one Django configuration can exist per process, so
this refuses to run where Django was configured already.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib
import os
import random
import shutil
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bench import workloads
from bench.timing import BenchError, Subject
from engines import DefaultEngine, RunResult, Step, StepContext, Workflow

T = TypeVar("T")

LISTING_DB = "listing"  # the database alias of L1 (its own file, apart from W4's runs)
POSTGRES_DB = "pg"  # the alias of the PostgreSQL workloads, when a database is given
POSTGRES_ENV = "STEPBACK_BENCH_DATABASE_URL"
LISTING_RUNS = 100_000
PAGE = 50

_configured: list[str] = []


def setup_django() -> str:
    """Configure and migrate Django on temporary SQLite files (once); returns their folder."""
    if _configured:
        return _configured[0]
    folder = tempfile.mkdtemp(prefix="stepback-bench-")
    atexit.register(shutil.rmtree, folder, True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "workflows_app.settings"
    os.environ["STEPBACK_SQLITE_PATH"] = os.path.join(folder, "w4.sqlite3")
    os.environ["DATABASE_URL"] = ""  # these workloads measure the embedded SQLite default
    os.environ["REDIS_URL"] = ""
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG records every query: not what production runs

    import django
    from django.conf import settings

    if settings.configured:
        raise BenchError("Django is already configured in this process: run the bench alone")
    django.setup()
    _configured.append(folder)
    default = settings.DATABASES["default"]
    settings.DATABASES[LISTING_DB] = {**default, "NAME": os.path.join(folder, "l1.sqlite3")}
    aliases = ["default", LISTING_DB]
    url = postgres_url()
    if url is not None:
        import dj_database_url

        settings.DATABASES[POSTGRES_DB] = {
            **dj_database_url.parse(url),
            "CONN_HEALTH_CHECKS": False,
            "TIME_ZONE": None,
            "ATOMIC_REQUESTS": False,
            "AUTOCOMMIT": True,
            "OPTIONS": {},
            "TEST": {},
        }
        aliases.append(POSTGRES_DB)
    from django.core.management import call_command

    def migrate() -> None:
        for alias in aliases:
            call_command("migrate", database=alias, verbosity=0, interactive=False)

    in_thread(migrate)  # the bench's callers are coroutines: Django wants its own thread
    return folder


def postgres_url() -> str | None:
    """The PostgreSQL database of the PostgreSQL workloads (`STEPBACK_BENCH_DATABASE_URL`), or
    None: they are skipped. Its tables are created (migrated) and emptied by the bench."""
    return os.environ.get(POSTGRES_ENV, "").strip() or None


def require_postgres() -> str:
    url = postgres_url()
    if url is None:
        raise BenchError(f"set {POSTGRES_ENV} to a PostgreSQL database for this workload")
    return url


def app(module: str) -> Any:
    """A `workflows_app` module, imported once Django is set up. Imported by name: the web app
    is outside the bench's type check (`mypy` follows plain imports into it)."""
    return importlib.import_module(f"workflows_app.{module}")


def in_thread(fn: Callable[[], T]) -> T:
    """`fn()` on a thread of its own: Django refuses database calls from an event loop."""
    out: list[T] = []
    errors: list[BaseException] = []

    def call() -> None:
        from django.db import connections

        try:
            out.append(fn())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=call)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return out[0]


# -- W4: the chain, persisted -------------------------------------------------------------------


async def increment_after_a_wait(ctx: StepContext) -> dict[str, int]:
    await asyncio.sleep(0)  # a step that waits: the engine commits before it goes on
    return {"i": ctx.input_data["i"] + 1}


def persisted_chain_workflow(n: int, wait: bool) -> Workflow:
    """W1's chain; with `wait`, each step awaits once."""
    if not wait:
        return workloads.chain_workflow(n, id="bench-chain-grouped")
    wf = Workflow("bench-chain-persisted")
    for k in range(n):
        wf.then(Step(f"s{k}", increment_after_a_wait))
    return wf.commit()


def _check_stored(result: RunResult, n: int, per_step: bool, using: str = "default") -> None:
    run_model = app("models").Run
    workloads.expect(result, {"i": n})

    def counts() -> tuple[int, int, int, int, str]:
        row = run_model.objects.using(using).get(pk=result.run_id)
        return (
            row.seq,
            row.events.count(),
            row.step_records.count(),
            row.snapshots.count(),
            row.status,
        )

    seq, events, records, snapshots, status = in_thread(counts)
    # run.started, step.started + step.succeeded per step, run.succeeded: all stored.
    if (status, seq, events, records) != ("success", 2 * n + 2, 2 * n + 2, n):
        raise BenchError(
            f"stored run {result.run_id}: status {status}, seq {seq}, {events} events, "
            f"{records} step records (expected success, {2 * n + 2}, {2 * n + 2}, {n})"
        )
    if per_step and snapshots < n:
        raise BenchError(f"expected a write per step, got {snapshots} snapshot rows for {n}")


def chain(n: int, per_step: bool = False, using: str = "default") -> Subject:
    """W4 (or W4-per-step with `per_step`): the `n`-step chain on `DjangoStorage` over SQLite
    (or the database `using`), run as the thread executor runs it: on a loop of its own, whose
    saves commit on its thread (`writes_on_this_loop`)."""
    setup_django()
    storage = app("storage")
    wf = persisted_chain_workflow(n, wait=per_step)

    async def prepare() -> DefaultEngine:
        return DefaultEngine(storage=storage.DjangoStorage(using=using, engine_name="default"))

    async def run(engine: DefaultEngine) -> RunResult:
        with storage.writes_on_this_loop():
            return await wf.create_run(engine=engine).start(input_data={"i": 0})

    async def finish(engine: DefaultEngine) -> None:
        await engine.aclose()

    return Subject(
        name="stepback",
        steps=n,
        run=run,
        prepare=prepare,
        finish=finish,
        check=lambda result: _check_stored(result, n, per_step, using),
    )


def chain_per_step(n: int) -> Subject:
    """W4-per-step: every step waits once, so every step boundary is a commit."""
    return chain(n, per_step=True)


def chain_per_step_postgres(n: int) -> Subject:
    """W4-per-step on PostgreSQL (`STEPBACK_BENCH_DATABASE_URL`)."""
    require_postgres()
    setup_django()
    return chain(n, per_step=True, using=POSTGRES_DB)


# -- L1: the runs list ------------------------------------------------------------------------


def fill_runs(count: int, using: str = LISTING_DB) -> None:
    """Bulk-insert `count` finished runs of a few workflows over 30 days (untimed)."""
    models = app("models")
    rng = random.Random(7)
    statuses = ["success"] * 7 + ["failed"] * 2 + ["suspended"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    graph = models.WorkflowGraph.store(
        workloads.chain_workflow(20).graph(), "bench-chain", using=using
    )
    rows = []
    for k in range(count):
        created = start + timedelta(seconds=rng.uniform(0, 30 * 86400))
        status = rng.choice(statuses)
        rows.append(
            models.Run(
                run_id=f"run-{k:06d}",
                workflow_id=f"workflow-{k % 5}",
                definition_hash="bench",
                engine="default",
                status=status,
                input={"i": k},
                state={},
                context={},
                resource_id=f"user-{k % 100}",
                seq=42,
                step_counts={status: 1, "success": 19},
                stored_graph=graph,
                head={"status": status, "seq": 42},
                created_at=created,
                updated_at=created + timedelta(seconds=3),
                started_at=created,
                finished_at=created + timedelta(seconds=3),
            )
        )
    models.Run.objects.using(using).bulk_create(rows, batch_size=2000)


def runs_page(using: str = LISTING_DB, status: str = "success") -> tuple[int, list[dict[str, Any]]]:
    """What the runs list computes for one request: the count and the first page's rows."""
    matching = app("models").Run.objects.using(using).matching(status=status)
    total: int = matching.count()
    return total, [run.summary() for run in matching.for_listing()[:PAGE]]


def runs_list(n: int) -> Subject:
    """L1: the first page of the `status=success` runs among `n` stored runs."""
    setup_django()
    from asgiref.sync import sync_to_async

    expected: list[int] = []

    async def setup() -> None:
        def fill() -> int:
            runs = app("models").Run.objects.using(LISTING_DB)
            runs.all().delete()
            fill_runs(n)
            count: int = runs.filter(status="success").count()
            return count

        expected.append(in_thread(fill))

    async def run(_state: Any) -> tuple[int, list[dict[str, Any]]]:
        return await sync_to_async(runs_page, thread_sensitive=False)()

    def check(result: tuple[int, list[dict[str, Any]]]) -> None:
        total, rows = result
        if total != expected[0] or len(rows) != min(PAGE, total):
            raise BenchError(f"runs list gave {total} / {len(rows)} rows, expected {expected[0]}")
        created = [row["created_at"] for row in rows]
        if created != sorted(created, reverse=True):
            raise BenchError("runs list is not newest first")

    return Subject(name="stepback", steps=1, run=run, check=check, setup=setup)
