"""Faults with real processes: two evented workers on Redis, one killed in the middle of a step.

A third process starts the run through the app's services (`manage.py start_run`): it only
prepares and publishes, and waits for the end. The workers are `manage.py stepback_worker
--engine evented` on one SQLite file. The worker executing step s3 is killed with SIGKILL while
the step runs; the other claims its event after the claim time and finishes the run. The
ledger the steps write shows every finished step ran to its end exactly once (only the step in
flight started twice), and the run's event log has no gap.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.engines.fault_workflows import STEPS

ROOT = Path(__file__).resolve().parents[2]
REDIS = os.environ.get("STEPBACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "STEPBACK_"))}
    env.update(
        STEPBACK_SQLITE_PATH=str(tmp / "db.sqlite3"),
        STEPBACK_WORKFLOWS="tests.engines.fault_workflows",
        STEPBACK_ENGINE="evented",
        REDIS_URL=REDIS,
        STEPBACK_EVENTED_PREFIX=f"stepback:fault:{uuid.uuid4().hex[:8]}",
        STEPBACK_EVENTED_CLAIM_IDLE="1.0",
        STEPBACK_FAULT_LEDGER=str(tmp / "ledger.txt"),
        STEPBACK_RECOVERY="0",
        PYTHONPATH=str(ROOT),
    )
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    # Its log goes to a file: nobody reads a pipe while it runs.
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "stepback_worker", "--engine", "evented"],
            cwd=ROOT, env=env, text=True, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _ledger(path: Path) -> list[tuple[str, str, int]]:
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(kind, sid, int(pid)) for kind, sid, pid in rows]


def test_a_killed_worker_s_run_is_finished_by_the_other_exactly_once(tmp_path: Path) -> None:
    env = _env(tmp_path)
    migrate = _manage(env, "migrate", "-v", "0")
    _, err = migrate.communicate(timeout=120)
    assert migrate.returncode == 0, err
    workers = [_worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
    starter = None
    try:
        starter = _manage(env, "start_run", "fault-chain", "--input", '{"v": 0}', "--wait")
        ledger = tmp_path / "ledger.txt"
        deadline = time.monotonic() + 90
        victim = None
        while victim is None and time.monotonic() < deadline:
            for kind, sid, pid in _ledger(ledger):
                if kind == "start" and sid == "s3":
                    victim = pid
            time.sleep(0.02)
        assert victim is not None, "step s3 never started"
        assert victim in {w.pid for w in workers}
        os.kill(victim, signal.SIGKILL)  # in the middle of s3

        out, err = starter.communicate(timeout=90)
        assert starter.returncode == 0, err
        outcome = json.loads(out[out.index("{") :])
        assert outcome["status"] == "success", outcome
        assert outcome["result"] == {"v": STEPS}

        rows = _ledger(ledger)
        for index in range(1, STEPS + 1):
            ends = [r for r in rows if r[0] == "end" and r[1] == f"s{index}"]
            assert len(ends) == 1, (index, rows)
        starts = {f"s{i}": sum(1 for r in rows if r[:2] == ("start", f"s{i}")) for i in range(1, 7)}
        assert starts["s3"] == 2  # the step in flight ran again, on the other worker
        assert all(n == 1 for sid, n in starts.items() if sid != "s3"), starts
        survivor = next(w.pid for w in workers if w.pid != victim)
        assert all(pid == survivor for kind, sid, pid in rows if sid in ("s4", "s5", "s6"))

        export = _manage(env, "export_run", outcome["run_id"])
        text, err = export.communicate(timeout=60)
        assert export.returncode == 0, err
        seqs = [event["seq"] for event in json.loads(text)["events"]]
        assert seqs == list(range(1, len(seqs) + 1))  # no gap in the event log
    finally:
        for proc in [*workers, *([starter] if starter else [])]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*workers, *([starter] if starter else [])]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
