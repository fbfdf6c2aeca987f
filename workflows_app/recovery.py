"""Runs left active by a process that died are marked `interrupted`.

A server killed while it executes runs leaves them `running` (or `pending`, `waiting`) in the
database with nobody to finish them. When a server starts, and then every
`STEPBACK_LEASE_SECONDS`, `mark_interrupted` gives each such run the status `interrupted`:
the runs whose executing process (`Run.executed_by`) is dead, or who have none (stored by code
that executed them outside any registered process, or imported). A run executing in a live
process, here or in another process sharing the database, is never touched. The periodic check
also forgets processes dead for a day that no run under way names.

Then, unless `STEPBACK_RECOVERY_ACTION` is "mark", each interrupted run is resumed
(`resume_interrupted`), by what its engine does best (`RESUMERS`): the default engine restarts
it from its last snapshot in this process; the durable engine hands its unfinished DBOS segments
to a worker (`DBOS.resume_workflow`), or restarts it when it has none; the evented engine on
Redis leaves the run to the stream's redelivery to a live worker, and in one process restarts
it. An engine with no entry keeps its runs marked.

Marking changes only the run's status column. The engine's record (`Run.head`, the snapshots, the
events) still says where the run stopped, so `restart` re-runs it from its last snapshot
(storing it `running` again) and `cancel` ends it; the event log gains nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, transaction

from workflows_app import broadcast, processes
from workflows_app.models import Run

log = logging.getLogger("workflows_app.recovery")

ACTIVE = ("pending", "running", "waiting")
INTERRUPTED = "interrupted"
# Dead processes are forgotten this long after they were last heard from.
FORGET_AFTER = timedelta(days=1)

_started = threading.Lock()
_running = False


def mark_interrupted() -> list[str]:
    """Mark every active run whose executing process is gone; the ids marked."""
    candidates = list(
        Run.objects.filter(status__in=ACTIVE).values_list("run_id", "executed_by", "seq")
    )
    if not candidates:
        return []
    living = processes.alive(owner for _, owner, _ in candidates)
    marked = []
    for run_id, owner, seq in candidates:
        if owner in living:
            continue
        with transaction.atomic():
            # Only as it was read: a run restarted meanwhile has a new owner or seq.
            changed = Run.objects.filter(
                pk=run_id, status__in=ACTIVE, executed_by=owner, seq=seq
            ).update(status=INTERRUPTED)
        if changed:
            marked.append(run_id)
    for run_id in marked:
        run = Run.objects.filter(pk=run_id).first()
        if run is not None:
            broadcast.publish(run_id, [], run.summary())
    if marked:
        log.warning("marked %d run(s) interrupted: %s", len(marked), ", ".join(marked))
    return marked


def _restart(run_id: str) -> None:
    from workflows_app import services

    services.restart_run(run_id)


def _durable(run_id: str) -> None:
    from asgiref.sync import async_to_sync

    from engines.durable import DurableEngine
    from workflows_app import services

    engine = services.engine()
    if not isinstance(engine, DurableEngine):
        from workflows_app.workers.durable import build_engine

        engine = build_engine()
    if not async_to_sync(engine.take_over)(run_id):
        services.restart_run(run_id)


def _evented(run_id: str) -> None:
    # On Redis the dead worker's unacknowledged walk goes to a live worker once its claim
    # idles out (XAUTOCLAIM), and that worker carries the interrupted run on: restarting it
    # here as well would walk it twice. In one process nothing else will, so it restarts here.
    if os.environ.get("STEPBACK_REDIS_URL") or os.environ.get("REDIS_URL"):
        return
    _restart(run_id)


# How each engine resumes a run interrupted by a dead process (by `Run.engine`).
RESUMERS: dict[str, Callable[[str], None]] = {
    "default": _restart,
    "durable": _durable,
    "evented": _evented,
}


def resume_interrupted(engine: str | None = None) -> list[str]:
    """Mark what dead processes left (`mark_interrupted`), then resume every interrupted run
    (of `engine` only, when given) unless `STEPBACK_RECOVERY_ACTION` is "mark"; the ids
    resumed."""
    mark_interrupted()
    if settings.STEPBACK_RECOVERY_ACTION == "mark":
        return []
    rows = Run.objects.filter(status=INTERRUPTED)
    if engine is not None:
        rows = rows.filter(engine=engine)
    resumed = []
    for run_id, engine_name in rows.values_list("run_id", "engine"):
        resume = RESUMERS.get(engine_name)
        if resume is None:
            continue
        try:
            resume(run_id)
            resumed.append(run_id)
        except Exception:
            log.exception("interrupted run %s could not be resumed", run_id)
    if resumed:
        log.warning("resumed %d interrupted run(s): %s", len(resumed), ", ".join(resumed))
    return resumed


def start() -> None:
    """At server start-up: mark what the last server left behind now, then keep checking
    every lease period on a thread of its own (once per process; off when
    `settings.STEPBACK_RECOVERY` is false)."""
    global _running
    if not settings.STEPBACK_RECOVERY:
        return
    with _started:
        if _running:
            return
        _running = True
    try:
        mark_interrupted()
    except Exception:
        # Serving goes on (an unmigrated database, say); the next period tries again.
        log.exception("marking interrupted runs at start-up failed")
    if settings.STEPBACK_RECOVERY_ACTION != "mark":
        # On a thread of its own: resuming executes runs, which the caller (a server's first
        # request, on asgiref's thread for sync code) must not wait for or block.
        global resuming
        resuming = threading.Thread(target=_resume, name="stepback-resume", daemon=True)
        resuming.start()
    threading.Thread(target=_keep_checking, name="stepback-recovery", daemon=True).start()


resuming: threading.Thread | None = None
"""The thread resuming what dead processes left, started by `start`."""


def _resume() -> None:
    try:
        resume_interrupted(engine=settings.STEPBACK_ENGINE)
    except Exception:
        log.exception("resuming interrupted runs at start-up failed")
    finally:
        close_old_connections()


def _keep_checking() -> None:
    stop = threading.Event()
    while not stop.wait(processes.lease_seconds()):
        try:
            mark_interrupted()
            processes.forget_dead(datetime.now(UTC) - FORGET_AFTER)
        except Exception:
            log.exception("checking for interrupted runs failed")
        finally:
            close_old_connections()
