"""Which process executes a run, and whether that process is still alive.

Several processes (servers, commands) may execute runs against one database. Each registers
itself once as an `ExecutorProcess` row and writes its id into every run it takes
(`Run.executed_by`), in the same transaction that stores the run's prepared snapshot, so no
active run is ever without its owner. Whether an owner is alive is then checked, not guessed:

- on the machine it runs on (same host name, same boot, same PID namespace) it is alive while
  a process with its pid exists and started when it did (a pid reused later is another
  process);
- from another machine, while its heartbeat is younger than `STEPBACK_LEASE_SECONDS`: a
  process beats every third of that while it executes anything.

`workflows_app.recovery` marks the runs of dead owners interrupted; `services` refuses to
restart a run whose owner is alive elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings

from workflows_app.models import ExecutorProcess, Run

log = logging.getLogger("workflows_app.processes")


@dataclass(frozen=True)
class Identity:
    """Who this process is, as other processes can check it."""

    id: str
    host: str
    machine: str
    pid: int
    pid_started: int | None


_lock = threading.Lock()
_identity: Identity | None = None
_last_beat = 0.0


def lease_seconds() -> float:
    """How long a heartbeat vouches for a process seen from another machine."""
    return float(settings.STEPBACK_LEASE_SECONDS)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _pid_started(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (None when it does not exist, has
    died unreaped (a zombie), or the system does not say)."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _machine(host: str) -> str:
    boot = _read("/proc/sys/kernel/random/boot_id") or ""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{host}|{boot}|{namespace}"


def identity() -> Identity:
    """This process (a forked child is a new one)."""
    global _identity
    with _lock:
        if _identity is None or _identity.pid != os.getpid():
            pid = os.getpid()
            host = socket.gethostname()
            machine = _machine(host)[:255]  # as its column holds it, so the two compare
            _identity = Identity(uuid.uuid4().hex, host[:255], machine, pid, _pid_started(pid))
        return _identity


def beat() -> str:
    """Renew this process's heartbeat (registering it, or registering it again if its row was
    removed); its id."""
    me = identity()
    now = datetime.now(UTC)
    if not ExecutorProcess.objects.filter(id=me.id).update(heartbeat_at=now):
        ExecutorProcess.objects.get_or_create(
            id=me.id,
            defaults={
                "host": me.host,
                "machine": me.machine,
                "pid": me.pid,
                "pid_started": me.pid_started,
                "started_at": now,
                "heartbeat_at": now,
            },
        )
    return me.id


def claim(run_id: str) -> None:
    """Record that this process executes `run_id` (call it where the prepared run is stored,
    in the same transaction)."""
    Run.objects.filter(pk=run_id).update(executed_by=beat())


@contextlib.asynccontextmanager
async def keeping_alive() -> AsyncIterator[None]:
    """Beat every third of the lease while the block runs (an execution); executions running
    side by side share the beats."""

    async def beating() -> None:
        global _last_beat
        while True:
            await asyncio.sleep(lease_seconds() / 3)
            now = time.monotonic()
            if now - _last_beat >= lease_seconds() / 6:
                _last_beat = now
                try:
                    await sync_to_async(beat)()
                except Exception:
                    log.exception("the heartbeat of this process could not be written")

    task = asyncio.ensure_future(beating())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def is_alive(process: ExecutorProcess, now: datetime | None = None) -> bool:
    """Whether `process` still runs: by its pid on this machine, by its heartbeat elsewhere."""
    if process.machine == identity().machine:
        if process.pid == os.getpid():
            return process.id == identity().id
        started = _pid_started(process.pid)
        if started is not None:
            return process.pid_started is None or started == process.pid_started
        if Path("/proc").is_dir():
            return False  # no such pid
        return _signal_reaches(process.pid)
    moment = now or datetime.now(UTC)
    return process.heartbeat_at >= moment - timedelta(seconds=lease_seconds())


def _signal_reaches(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def alive(process_ids: Iterable[str | None]) -> set[str]:
    """Which of these processes are alive."""
    wanted = {pid for pid in process_ids if pid}
    now = datetime.now(UTC)
    return {p.id for p in ExecutorProcess.objects.filter(id__in=wanted) if is_alive(p, now)}


def forget_dead(heard_before: datetime) -> int:
    """Remove the rows of dead processes last heard from before `heard_before` that no run
    under way names (each command that executed a run leaves one); how many went."""
    owners = (
        Run.objects.filter(status__in=("pending", "running", "waiting"))
        .exclude(executed_by=None)
        .values("executed_by")
    )
    stale = ExecutorProcess.objects.filter(heartbeat_at__lt=heard_before).exclude(id__in=owners)
    dead = [process.id for process in stale if not is_alive(process)]
    removed, _ = ExecutorProcess.objects.filter(id__in=dead).delete()
    return removed


def describe(process_id: str | None) -> str:
    """A process as people name it (`host pid 1234`)."""
    process = ExecutorProcess.objects.filter(id=process_id).first() if process_id else None
    return str(process) if process is not None else "an unknown process"
