"""`python -m bench.load`: many runs started at once against real Daphne processes, watched live.

Reproduces the table of the load issue on this machine, loopback only: N runs of the
`slow-countdown` demo started concurrently through `POST /api/runs/`, 10 websocket watchers on
the runs feed and 40 on single runs, on SQLite with the in-memory channel layer or on PostgreSQL
with the Redis layer, served by one Daphne process or several. Printed per configuration:

- POST /api/runs/ latency (p50, p95, max) and how many answers were 503 (saturated: the client
  waits `Retry-After` and tries again, as a well-behaved client does);
- live run event -> client lag (p95), for events stored after the watcher connected;
- runs feed lag (p50, p95): a run's `updated_at` to the feed frame that reports it;
- stuck runs (not ended when every watcher is done or the deadline passed), failed runs, other
  HTTP answers, lost updates (a run watcher missing a seq or ending without `run.succeeded`; a
  feed watcher missing a run's terminal status), and error lines in the servers' logs.

Timings are printed, never asserted; `tests/load/` asserts the correctness columns.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from urllib.request import HTTPCookieProcessor, ProxyHandler, Request, build_opener

REPO = Path(__file__).resolve().parents[1]
USER = "load"
PASSWORD = "load test password"
CREATE_USER = f"""
from django.contrib.auth.models import Permission, User
user = User.objects.create_user({USER!r}, password={PASSWORD!r})
user.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="workflows_app", codename__in=["view_run", "operate_run"]))
"""
STATUSES = """
import json
from workflows_app.models import Run
print("STATUSES " + json.dumps(dict(Run.objects.values_list("run_id", "status"))))
"""
ENDED = ("success", "failed", "canceled")
WORKFLOW = "slow-countdown"


def daphne_command(host: str, port: int) -> list[str]:
    """Daphne as `make serve` starts it: a listen backlog and a websocket handshake time-out
    that fit a burst of 500 clients (Twisted's default backlog is 50, the handshake 5 s)."""
    return [
        sys.executable, "-m", "daphne",
        "-e", f"tcp:port={port}:interface={host}:backlog=1024",
        "--websocket_connect_timeout", "30",
        "workflows_app.asgi:application",
    ]  # fmt: skip


@dataclass(frozen=True)
class LoadPlan:
    """One configuration of the load test."""

    runs: int = 100
    postgres: bool = False  # PostgreSQL (at `database_url`); else SQLite
    redis: bool | None = None  # the Redis channel layer; None: with PostgreSQL only
    servers: int = 1
    feed_watchers: int = 10
    run_watchers: int = 40
    ticks: int = 5
    tick_seconds: float = 0.5
    pause_seconds: float = 1.0
    deadline: float = 180.0
    database_url: str = ""  # a database this test may drop and create (PostgreSQL only)
    redis_url: str = ""

    @property
    def uses_redis(self) -> bool:
        return self.postgres if self.redis is None else self.redis

    @property
    def name(self) -> str:
        database = "PostgreSQL" if self.postgres else "SQLite"
        layer = f"{database} + {'Redis' if self.uses_redis else 'in-memory'}"
        servers = f", {self.servers} servers" if self.servers > 1 else ""
        return f"{self.runs} runs, {layer}{servers}"


@dataclass
class LoadReport:
    """What one load test measured."""

    plan: LoadPlan
    post_seconds: list[float] = field(default_factory=list)
    answers: Counter[int] = field(default_factory=Counter)
    refused: int = 0  # 503 answers (retried)
    event_lags: list[float] = field(default_factory=list)
    feed_lags: list[float] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    lost_events: list[str] = field(default_factory=list)
    lost_feed: list[str] = field(default_factory=list)
    watcher_errors: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0  # CPU seconds the servers used (the machine may be shared)

    @property
    def stuck(self) -> list[str]:
        """Runs not ended (by the servers' own database) once the test was over."""
        return [r for r in self.run_ids if self.statuses.get(r) not in ENDED]

    @property
    def failed(self) -> list[str]:
        """Runs that ended otherwise than in success."""
        return [r for r in self.run_ids if self.statuses.get(r) in ("failed", "canceled")]

    @property
    def unexpected_answers(self) -> dict[int, int]:
        return {code: n for code, n in self.answers.items() if code not in (201, 503)}

    def problems(self) -> list[str]:
        """Everything that makes this run of the load test wrong (timings excluded)."""
        out = []
        if len(self.run_ids) != self.plan.runs:
            out.append(f"{self.plan.runs - len(self.run_ids)} runs never started")
        if self.unexpected_answers:
            out.append(f"unexpected answers: {self.unexpected_answers}")
        if self.stuck:
            out.append(f"{len(self.stuck)} stuck: {self._some(self.stuck)}")
        if self.failed:
            out.append(f"{len(self.failed)} failed: {self._some(self.failed)}")
        if self.lost_events:
            out.append(f"lost run events: {self._some(self.lost_events)}")
        if self.lost_feed:
            out.append(f"lost feed updates: {self._some(self.lost_feed)}")
        if self.watcher_errors:
            out.append(f"watcher errors: {self._some(self.watcher_errors)}")
        if self.log_errors:
            out.append(f"server log errors: {self._some(self.log_errors)}")
        return out

    @staticmethod
    def _some(items: list[str]) -> str:
        return ", ".join(items[:5]) + (f" (+{len(items) - 5})" if len(items) > 5 else "")

    def lines(self) -> list[str]:
        """The figures, one per line."""
        post = self.post_seconds
        return [
            f"== {self.plan.name} ({self.seconds:.0f} s; servers used {self.server_cpu:.0f} s "
            f"of CPU; load average {os.getloadavg()[0]:.1f})",
            f"   POST /api/runs/ p50 / p95 / max: {ms(pct(post, 50))} / {ms(pct(post, 95))} / "
            f"{ms(max(post, default=0))}; 503 then retried: {self.refused}",
            f"   live event -> client p50 / p95: {ms(pct(self.event_lags, 50))} / "
            f"{ms(pct(self.event_lags, 95))} ({len(self.event_lags)} events)",
            f"   runs feed lag p50 / p95 / max: {ms(pct(self.feed_lags, 50))} / "
            f"{ms(pct(self.feed_lags, 95))} / {ms(max(self.feed_lags, default=0))} "
            f"({len(self.feed_lags)} frames)",
            f"   ended: {Counter(self.statuses.get(r, '?') for r in self.run_ids)}; "
            f"stuck: {len(self.stuck)}; lost run events: {len(self.lost_events)}; "
            f"lost feed updates: {len(self.lost_feed)}; errors in server logs: "
            f"{len(self.log_errors)}",
        ]


def pct(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


# -- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(plan: LoadPlan, directory: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STEPBACK_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="workflows_app.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=uuid.uuid4().hex * 2,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        STEPBACK_WORKFLOWS="workflows_app.examples",
        STEPBACK_SQLITE_PATH=str(directory / "db.sqlite3"),
    )
    if plan.postgres:
        env["DATABASE_URL"] = plan.database_url
    if plan.uses_redis:
        env["REDIS_URL"] = plan.redis_url
        env["STEPBACK_CHANNEL_PREFIX"] = f"stepback-load-{uuid.uuid4().hex[:12]}"
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _recreate_database(url: str) -> None:
    """Drop and create the (test-only) PostgreSQL database `url` names."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    cpu: float = 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux), 0 where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


@contextlib.contextmanager
def serving(plan: LoadPlan, directory: Path) -> Iterator[tuple[list[Server], dict[str, str]]]:
    """Migrated database, one user, `plan.servers` Daphne processes on it; stopped after."""
    env = _environment(plan, directory)
    if plan.postgres:
        _recreate_database(plan.database_url)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "shell", "-c", CREATE_USER)
    servers: list[Server] = []
    try:
        for index in range(plan.servers):
            port = free_port()
            log = directory / f"daphne-{index}.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(
                    daphne_command("127.0.0.1", port),
                    cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
                )  # fmt: skip
            servers.append(Server(port, process, log))
        for server in servers:
            _wait_listening(server)
        yield servers, env
    finally:
        for server in servers:
            server.cpu = _cpu_seconds(server.process.pid)
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(5)


def _wait_listening(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"daphne exited:\n{server.log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)  # a poll interval while the server imports
    raise RuntimeError("daphne did not listen within 60 s")


def _sign_in(port: int) -> dict[str, str]:
    """Sign in once; every client reuses the session (its cookies and CSRF token)."""
    jar = CookieJar()
    opener = build_opener(ProxyHandler({}), HTTPCookieProcessor(jar))
    url = f"http://127.0.0.1:{port}/accounts/login/"
    with opener.open(url, timeout=30) as page:
        page.read()
    cookies = {c.name: c.value or "" for c in jar}
    form = urlencode(
        {"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": cookies["csrftoken"]}
    ).encode()
    with opener.open(Request(url, data=form, headers={"Referer": url}), timeout=30) as page:
        page.read()
    return {c.name: c.value or "" for c in jar}


# -- clients -------------------------------------------------------------------------------------


async def http_post(
    port: int, path: str, body: Any, cookies: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 POST of JSON on its own connection: status, headers, body."""
    payload = json.dumps(body).encode()
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(payload)}\r\nCookie: {cookie}\r\n"
        f"X-CSRFToken: {cookies['csrftoken']}\r\nConnection: close\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + payload)
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    header_block, _, content = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, content


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class Watchers:
    """The websocket clients of one load test and what they saw."""

    def __init__(self, plan: LoadPlan, servers: list[Server], cookies: dict[str, str]) -> None:
        self.plan = plan
        self.servers = servers
        self.cookies = cookies
        self.report = LoadReport(plan)
        self.started: list[str] = []
        self.all_started = asyncio.Event()
        self.feeds: list[dict[str, str]] = []

    def _connect(self, index: int, path: str) -> Any:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin

        server = self.servers[index % len(self.servers)]
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return connect(
            f"ws://127.0.0.1:{server.port}{path}",
            origin=Origin(f"http://127.0.0.1:{server.port}"),
            additional_headers={"Cookie": cookie},
            proxy=None,
            open_timeout=60,
            max_queue=None,
        )

    def _feed_done(self, seen: dict[str, str]) -> bool:
        return self.all_started.is_set() and all(
            seen.get(run_id) in ENDED for run_id in self.started
        )

    async def feed(self, index: int, ready: asyncio.Event) -> None:
        """A runs-feed watcher: the last status it was told of each run, and each frame's lag."""
        seen: dict[str, str] = {}
        self.feeds.append(seen)
        async with self._connect(index, "/ws/runs/") as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            ready.set()
            while not self._feed_done(seen):
                try:
                    text = await asyncio.wait_for(ws.recv(), 2.0)
                except TimeoutError:
                    continue  # look again whether every started run has ended
                now = time.time()
                message = json.loads(text)
                if message.get("type") != "run":
                    continue
                run = message["run"]
                seen[run["run_id"]] = run["status"]
                self.report.feed_lags.append(now - _epoch(run["updated_at"]))

    async def run_watcher(self, index: int, run_id: str) -> None:
        """A single-run watcher from seq 0: every seq once and in order, ending in success."""
        seqs: list[int] = []
        last_type = ""
        # The next server from the one that started the run: with several, the events of a run
        # reach watchers on another process through the layer.
        async with self._connect(index + 1, f"/ws/runs/{run_id}/?after_seq=0") as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            connected = time.time()
            while last_type not in ("run.succeeded", "run.failed", "run.canceled"):
                message = json.loads(await ws.recv())
                now = time.time()
                if message.get("type") != "event":
                    continue
                event = message["event"]
                seqs.append(event["seq"])
                last_type = event["type"]
                if event["ts"] >= connected:
                    self.report.event_lags.append(now - event["ts"])
        if seqs != list(range(1, len(seqs) + 1)) or last_type != "run.succeeded":
            self.report.lost_events.append(f"{run_id}: seqs {seqs[:3]}..{seqs[-3:]} {last_type}")

    async def start(self, index: int) -> str | None:
        """Start one run, waiting out 503s; the run id, or None when refused otherwise."""
        body = {
            "workflow_id": WORKFLOW,
            "input": {
                "ticks": self.plan.ticks,
                "tick_seconds": self.plan.tick_seconds,
                "pause_seconds": self.plan.pause_seconds,
            },
        }
        port = self.servers[index % len(self.servers)].port
        while True:
            began = time.monotonic()
            status, headers, content = await http_post(port, "/api/runs/", body, self.cookies)
            self.report.answers[status] += 1
            if status != 503:
                break
            self.report.refused += 1
            await asyncio.sleep(float(headers.get("retry-after", "1")))
        self.report.post_seconds.append(time.monotonic() - began)
        if status != 201:
            self.report.watcher_errors.append(f"POST answered {status}: {content[:200]!r}")
            return None
        run_id: str = json.loads(content)["run_id"]
        return run_id


async def _guarded(report: LoadReport, what: str, coroutine: Any) -> None:
    try:
        await coroutine
    except Exception as exc:
        report.watcher_errors.append(f"{what}: {type(exc).__name__}: {exc}")


async def drive(plan: LoadPlan, servers: list[Server], cookies: dict[str, str]) -> LoadReport:
    """Connect the feed watchers, start every run at once, watch the first runs, wait."""
    watchers = Watchers(plan, servers, cookies)
    report = watchers.report
    readies = [asyncio.Event() for _ in range(plan.feed_watchers)]
    feeds = [
        asyncio.create_task(_guarded(report, f"feed {i}", watchers.feed(i, readies[i])))
        for i in range(plan.feed_watchers)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    run_watchers: list[asyncio.Task[None]] = []

    async def start_and_watch(index: int) -> None:
        run_id = await watchers.start(index)
        if run_id is None:
            return
        watchers.started.append(run_id)
        if index < plan.run_watchers:
            what = f"watcher of {run_id}"
            run_watchers.append(
                asyncio.create_task(_guarded(report, what, watchers.run_watcher(index, run_id)))
            )

    await asyncio.gather(*(start_and_watch(i) for i in range(plan.runs)))
    watchers.all_started.set()
    report.run_ids = list(watchers.started)
    everything = [*feeds, *run_watchers]
    _, late = await asyncio.wait(everything, timeout=plan.deadline)
    for task in late:
        task.cancel()
    if late:
        report.watcher_errors.append(f"{len(late)} watchers not done after {plan.deadline} s")
    # Whether done or cut off by the deadline: what each feed watcher never heard end.
    for index, seen in enumerate(watchers.feeds):
        missing = [r for r in watchers.started if seen.get(r) not in ENDED]
        report.lost_feed.extend(f"feed {index}: {r}" for r in missing)
    return report


def run_load(plan: LoadPlan) -> LoadReport:
    """Serve, drive and check one configuration; the report of what was seen."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stepback-load-") as tmp:
        directory = Path(tmp)
        with serving(plan, directory) as (servers, env):
            cookies = _sign_in(servers[0].port)
            report = asyncio.run(drive(plan, servers, cookies))
            out = _manage(env, "shell", "-c", STATUSES)
            line = next(x for x in out.splitlines() if x.startswith("STATUSES "))
            report.statuses = json.loads(line.removeprefix("STATUSES "))
        report.server_cpu = sum(server.cpu for server in servers)
        for server in servers:
            report.log_errors.extend(_log_errors(server.log.read_text(errors="replace")))
    report.seconds = time.monotonic() - began
    return report


# Daphne logs this (with a traceback) when a watcher closes its socket while a frame to it is
# on its way: the watcher left, nothing was lost.
_BENIGN = ("Attempt to send on a closed protocol",)


def _log_errors(log: str) -> list[str]:
    """The error lines of a server's log, without 503 answers (counted above) and without
    the benign ones, tracebacks included."""
    errors: list[str] = []
    skipping = False
    for text in log.splitlines():
        starts_record = text[:4].isdigit() or text.startswith("127.0.0.1")
        if skipping and not starts_record:
            continue  # the traceback of a benign record
        skipping = any(benign in text for benign in _BENIGN)
        # Django logs every 5xx answer as an error; a 503 is counted (and retried) above.
        if skipping or "Service Unavailable" in text:
            continue
        if "Traceback" in text or " ERROR " in text or text.startswith("ERROR"):
            errors.append(text.strip()[:300])
    return errors


def main(argv: list[str] | None = None) -> int:
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=summary)
    parser.add_argument("--runs", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--config", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("STEPBACK_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stepback_load"),
        help="a PostgreSQL database the test drops and creates",
    )  # fmt: skip
    parser.add_argument(
        "--redis-url", default=os.environ.get("STEPBACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args(argv)
    configs = {"sqlite": [False], "postgres": [True], "both": [False, True]}[args.config]
    failures = 0
    for runs in args.runs:
        for postgres in configs:
            plan = LoadPlan(
                runs=runs,
                postgres=postgres,
                servers=args.servers,
                database_url=args.database_url + "_load" if postgres else "",
                redis_url=args.redis_url,
            )
            report = run_load(plan)
            print("\n".join(report.lines()), flush=True)
            for problem in report.problems():
                failures += 1
                print(f"   PROBLEM: {problem}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
