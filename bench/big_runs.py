"""`python -m bench.big_runs [--database sqlite|postgres] [--quick]`: stored runs at scale, each
figure beside its target (issue "Storage at the physical floor, and runs of 10,000 steps").

Stores, through `DjangoStorage` with every step boundary its own commit (W4-per-step), a chain
of N steps (twice, for compare), a foreach over N items and a chain of 1,000 steps, then times
what the debugger's pages ask of them through the API (Django's test client, signed in, so
middleware, permissions and rendering are counted): the run detail (whole, and paged with
`steps_limit` and without the graph), the first 1,000 events, the snapshot at several seqs
(the scrubber), the export (streamed; its size beside the event log's), compare of the two
chains, the snapshot list of the 1,000-step run (its whole history), and time travel from
100 steps before the end of the chain. Then bytes per step (`bench.storage_bytes`) and the
runs list over `--runs` stored runs, built with bulk SQL: every filter and ordering the API
offers, first page. Each figure is the best of a few calls.

`--database postgres` runs it all on `STEPBACK_BENCH_DATABASE_URL` (whose tables the bench
empties). W4-per-step's ratio to the floor is `python -m bench --only W4-per-step,...`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.django_workloads import in_thread

POSTGRES_ENV = "STEPBACK_BENCH_DATABASE_URL"
rows: list[tuple[str, str, str, str]] = []


def setup(database: str) -> None:
    """Django on a temporary SQLite file, or on the bench's PostgreSQL database, migrated."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "workflows_app.settings"
    os.environ["REDIS_URL"] = ""
    os.environ["DJANGO_DEBUG"] = "0"
    if database == "postgres":
        url = os.environ.get(POSTGRES_ENV, "").strip()
        if not url:
            raise SystemExit(f"set {POSTGRES_ENV} to a PostgreSQL database for --database postgres")
        os.environ["DATABASE_URL"] = url
    else:
        folder = tempfile.mkdtemp(prefix="stepback-big-runs-")
        os.environ["DATABASE_URL"] = ""
        os.environ["STEPBACK_SQLITE_PATH"] = os.path.join(folder, "big.sqlite3")
        import atexit

        atexit.register(shutil.rmtree, folder, True)
    import django

    django.setup()
    from django.core.management import call_command

    def migrate() -> None:
        call_command("migrate", verbosity=0, interactive=False)
        if database == "postgres":
            from django.db import connection

            names = ", ".join(
                f"workflows_app_{t}"
                for t in ("run", "event", "snapshot", "steprecord", "humantask", "runaction")
            )
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {names} CASCADE")

    in_thread(migrate)


def report(figure: str, value: str, target: str, met: bool | None) -> None:
    verdict = "-" if met is None else ("PASS" if met else "MISS")
    rows.append((figure, value, target, verdict))
    print(f"  {figure}: {value} (target {target}) {verdict}", file=sys.stderr, flush=True)


def best_ms(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """The best wall time of `repeat` calls after one warm-up, in ms, and the last result."""
    result = fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000, result


# -- storing the runs ---------------------------------------------------------------------------


def foreach_workflow(n: int) -> Any:
    from engines import Step, StepContext, Workflow

    async def item(ctx: StepContext) -> dict[str, int]:
        await asyncio.sleep(0)  # each item waits, so it is written as it finishes
        return {"v": ctx.input_data * 2}

    return Workflow("bench-big-foreach").foreach(Step("item", item), concurrency=1).commit()


async def store(workflow: Any, input_data: Any) -> str:
    from engines import DefaultEngine
    from workflows_app.storage import DjangoStorage, writes_on_this_loop

    engine = DefaultEngine(storage=DjangoStorage(engine_name="default"))
    with writes_on_this_loop():
        result = await workflow.create_run(engine=engine).start(input_data=input_data)
    await engine.aclose()
    if result.status != "success":
        raise SystemExit(f"a stored run ended {result.status}: {result.error}")
    return str(result.run_id)


# -- the API ----------------------------------------------------------------------------------


def client() -> Any:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user_model = get_user_model()
    user = user_model.objects.filter(username="bench").first()
    if user is None:
        user = user_model.objects.create_superuser("bench", "bench@example.com", "bench")
    http = Client()
    http.force_login(user)
    return http


def get(http: Any, url: str) -> Any:
    response = http.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code} {response.content[:300]!r}")
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def measure_api(chain_a: str, chain_b: str, foreach: str, small: str, n: int, items: int) -> None:
    from workflows_app.models import Event, Run

    http = client()
    for label, run_id, size in (("chain", chain_a, n), ("foreach", foreach, items)):
        steps = Run.objects.get(pk=run_id).step_records.count()
        ms, body = best_ms(partial(get, http, f"/api/runs/{run_id}/"))
        report(
            f"run detail, {label} of {size} ({steps} step rows), every step",
            f"{ms:.0f} ms, {len(body) / 1024:.0f} KB",
            "<= 50 ms (paged)",
            None,
        )
        url = f"/api/runs/{run_id}/?steps_limit=200&graph=false"
        ms, body = best_ms(partial(get, http, url))
        report(
            f"run detail, {label} of {size}, first 200 steps, no graph",
            f"{ms:.1f} ms, {len(body) / 1024:.0f} KB",
            "<= 50 ms",
            ms <= 50,
        )
    ms, _ = best_ms(lambda: get(http, f"/api/runs/{chain_a}/events/?after_seq=0&limit=1000"))
    report(f"first 1,000 events of the {n}-step chain", f"{ms:.1f} ms", "<= 20 ms", ms <= 20)
    seq = Run.objects.get(pk=chain_a).seq
    worst = 0.0
    for at in (1, seq // 3, seq // 2 + 7, seq - 1, seq):
        ms, _ = best_ms(partial(get, http, f"/api/runs/{chain_a}/snapshots/{at}/"))
        worst = max(worst, ms)
    report(f"snapshot at any seq of the {n}-step chain (worst of 5)", f"{worst:.1f} ms",
           "<= 20 ms", worst <= 20)  # fmt: skip
    ms, body = best_ms(lambda: get(http, f"/api/runs/{chain_a}/export/"), repeat=1)
    number = Run.objects.get(pk=chain_a).number
    log_bytes = sum(
        len(str(p)) + 40 for p in Event.objects.of_run(number).values_list("payload", flat=True)
    )
    report(
        f"export of the {n}-step chain",
        f"{ms:.0f} ms, {len(body) / 1e6:.1f} MB ({len(body) / max(log_bytes, 1):.1f}x the log)",
        "<= 1000 ms, a few times the log",
        ms <= 1000,
    )
    ms, _ = best_ms(lambda: get(http, f"/api/compare/?a={chain_a}&b={chain_b}"), repeat=2)
    report(f"compare two {n}-step chains", f"{ms:.0f} ms", "<= 200 ms", ms <= 200)
    ms, body = best_ms(lambda: get(http, f"/api/runs/{small}/snapshots/"))
    report("history of a 1,000-step run (every stored moment)", f"{ms:.1f} ms", "<= 50 ms",
           ms <= 50)  # fmt: skip


async def time_travel_ms(workflow: Any, run_id: str, n: int) -> float:
    from engines import DefaultEngine
    from workflows_app.storage import DjangoStorage, writes_on_this_loop

    engine = DefaultEngine(storage=DjangoStorage(engine_name="default"))
    best = float("inf")
    with writes_on_this_loop():
        for _ in range(3):
            start = time.perf_counter()
            result = await workflow.create_run(engine=engine, run_id=run_id).time_travel(
                f"s{n - 100}", input_data={"i": 0}
            )
            best = min(best, time.perf_counter() - start)
            if result.status != "success":
                raise SystemExit(f"time travel ended {result.status}")
    await engine.aclose()
    return best * 1000


# -- the runs list ----------------------------------------------------------------------------


def measure_runs_list(count: int) -> None:
    from bench import runs_list

    built = runs_list.build(count)
    http = client()
    worst = ("", 0.0)
    for query in runs_list.QUERIES:
        ms, _ = best_ms(partial(get, http, f"/api/runs/?{query}"), repeat=2)
        print(f"    /api/runs/?{query}: {ms:.0f} ms", file=sys.stderr, flush=True)
        if ms > worst[1]:
            worst = (query or "(no filter)", ms)
    report(
        f"runs list over {count:,} runs: worst first page of {len(runs_list.QUERIES)} "
        f"filters/orderings ({worst[0]}); built in {built:.0f} s",
        f"{worst[1]:.0f} ms",
        "< 200 ms",
        worst[1] < 200,
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.big_runs")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="1,000 steps, 10,000 runs")
    parser.add_argument("--runs", type=int, default=None, help="runs for the runs list")
    parser.add_argument("--skip-bytes", action="store_true")
    parser.add_argument("--runs-list-only", action="store_true", help="only the runs list")
    parser.add_argument(
        "--foreach",
        type=int,
        default=None,
        help="items of the stored foreach (default: the chain's length); its record holds every "
        "item, rewritten at each item's write, so its cost grows with the square of the items",
    )
    args = parser.parse_args(argv)
    n = 1000 if args.quick else 10_000
    runs = args.runs if args.runs is not None else (10_000 if args.quick else 1_000_000)
    parser_only = args.runs_list_only
    setup(args.database)
    from bench import django_workloads as dw

    if parser_only:
        in_thread(lambda: measure_runs_list(runs))
        print_rows(args.database)
        return 0

    print(f"storing runs of {n:,} steps on {args.database} ...", file=sys.stderr, flush=True)
    chain_wf = dw.persisted_chain_workflow(n, wait=True)
    start = time.perf_counter()
    chain_a = await store(chain_wf, {"i": 0})
    per_step = (time.perf_counter() - start) * 1e6 / n
    report(f"store a {n}-step chain, a commit per step", f"{per_step:.0f} us/step",
           "see W4-per-step", None)  # fmt: skip
    chain_b = await store(chain_wf, {"i": 0})
    items = args.foreach if args.foreach is not None else n
    foreach = await store(foreach_workflow(items), list(range(items)))
    small = await store(dw.persisted_chain_workflow(1000, wait=True), {"i": 0})
    in_thread(lambda: measure_api(chain_a, chain_b, foreach, small, n, items))
    ms = await time_travel_ms(chain_wf, chain_a, n)
    report(f"time travel 100 steps before the end of the {n}-step chain", f"{ms:.1f} ms",
           "as W5 (<= 20 ms in memory)", None)  # fmt: skip
    if not args.skip_bytes:
        from bench import storage_bytes

        size = storage_bytes.sqlite_size if args.database == "sqlite" else _postgres_size
        for steps in (1000, 10_000) if not args.quick else (1000,):
            per = await storage_bytes.per_step(steps, "default", size)
            report(f"bytes per stored step, {steps:,}-step chain", f"{per:.0f} B", "<= 1 KB",
                   per <= 1024)  # fmt: skip
    in_thread(lambda: measure_runs_list(runs))
    print_rows(args.database)
    return 0


def print_rows(database: str) -> None:
    print(f"\nBig stored runs on {database}")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def _postgres_size() -> int:
    from bench import storage_bytes

    return storage_bytes.postgres_size("default")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
