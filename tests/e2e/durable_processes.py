"""Durable worker processes on a database of their own, for the fault and end-to-end tests.

The app's database is an SQLite file read directly here (runs, events); the DBOS system
database is an SQLite file too, or a fresh PostgreSQL database (`<test db>_sys_<random>`,
dropped afterwards) when the environment names a PostgreSQL server.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import REPO, manage, server_environment

READY_SECONDS = 60.0


def system_databases() -> list[str]:
    """The DBOS system databases to test on: SQLite, and PostgreSQL when the pass has it."""
    url = os.environ.get("DATABASE_URL", "")
    return (
        ["sqlite", "postgres"] if url.startswith(("postgres://", "postgresql://")) else ["sqlite"]
    )


def _postgres_url() -> str:
    base = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    return f"{base.rstrip('/')}_sys_{uuid.uuid4().hex[:8]}"


def _drop(url: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Workers:
    """Worker processes sharing one app database and one DBOS system database."""

    def __init__(self, directory: Path, system: str) -> None:
        self.directory = directory
        self.database = directory / "db.sqlite3"
        self.ledger = directory / "ledger.txt"
        self.system_url = (
            f"sqlite:///{directory / 'dbos.sqlite'}" if system == "sqlite" else _postgres_url()
        )
        env = server_environment(self.database, None, "tests.e2e.durable_workflows")
        env.update(
            STEPBACK_ENGINE="durable",
            STEPBACK_DBOS_DATABASE_URL=self.system_url,
            STEPBACK_TEST_LEDGER=str(self.ledger),
            STEPBACK_LEASE_SECONDS="3",
        )
        self.env = env
        self.running: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        manage(env, "migrate", "--noinput", "-v", "0")

    def start(self, name: str, executor_id: str = "fault-test-worker") -> subprocess.Popen[bytes]:
        """A worker; by default always the same executor id (the machine's worker, restarted:
        DBOS recovers its segments at launch), else another worker taking over."""
        log = self.directory / f"{name}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "stepback_worker", "--engine", "durable",
                 "--executor-id", executor_id],
                cwd=REPO, env=self.env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.running.append(process)
        self.logs.append(log)
        self.wait_for(lambda: b"ready" in log.read_bytes(), f"worker {name} to be ready", process)
        return process

    def wait_for(
        self,
        check: Callable[[], bool],
        what: str,
        process: subprocess.Popen[bytes] | None = None,
        seconds: float = READY_SECONDS,
    ) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            if process is not None and process.poll() is not None:
                pytest.fail(f"the worker exited while waiting for {what}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}:\n{self.output()}")
            time.sleep(0.05)  # a poll interval of a check on another process

    def manage_shell(self, code: str) -> str:
        """Run `code` in `manage.py shell` on these workers' databases; its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"manage.py shell failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start_run(self, workflow_id: str) -> str:
        """Start a run the way the web process does (stored, then enqueued); its id."""
        code = (
            "from workflows_app import services; "
            f"print('RUN', services.start_run({workflow_id!r}).run_id)"
        )
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        lines = [line for line in done.stdout.splitlines() if line.startswith("RUN ")]
        if done.returncode != 0 or not lines:
            pytest.fail(f"starting a run failed:\n{done.stdout}\n{done.stderr}")
        return lines[-1].split()[1]

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.database, timeout=30)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def status(self, run_id: str) -> str:
        rows = self.query("SELECT status FROM workflows_app_run WHERE run_id = ?", run_id)
        return str(rows[0][0]) if rows else ""

    def events(self, run_id: str) -> list[tuple[int, str, str]]:
        return [
            (int(seq), str(kind), str(path))
            for seq, kind, path in self.query(
                "SELECT seq, type, path FROM workflows_app_event WHERE run_id = ? ORDER BY seq",
                run_id,
            )
        ]

    def ledger_lines(self) -> list[str]:
        return self.ledger.read_text().split() if self.ledger.exists() else []

    def output(self) -> str:
        return "\n".join(
            f"--- {log.name} ---\n{log.read_text(errors='replace')}" for log in self.logs
        )

    def close(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        if self.system_url.startswith("postgresql"):
            _drop(self.system_url)


def workers_fixture(tmp_path: Path, system: str) -> Iterator[Workers]:
    group = Workers(tmp_path, system)
    try:
        yield group
    finally:
        group.close()


def result_of(workers: Workers, run_id: str) -> Any:
    rows = workers.query("SELECT result FROM workflows_app_run WHERE run_id = ?", run_id)
    return json.loads(rows[0][0]) if rows and rows[0][0] is not None else None
