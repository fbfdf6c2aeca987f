"""Runs left active by a process that died are marked `interrupted`.

A server killed while it executes runs leaves them `running` (or `pending`, `waiting`) in the
database with nobody to finish them. When a server starts, and then every
`STEPBACK_LEASE_SECONDS`, `mark_interrupted` gives each such run the status `interrupted`:
the runs whose executing process (`Run.executed_by`) is dead, or who have none (stored by code
that executed them outside any registered process, or imported). A run executing in a live
process, here or in another process sharing the database, is never touched. The periodic check
also forgets processes dead for a day that no run under way names.

Only the run's status column changes. The engine's record (`Run.head`, the snapshots, the
events) still says where the run stopped, so `restart` re-runs it from its last snapshot
(storing it `running` again) and `cancel` ends it; the event log gains nothing.
"""

from __future__ import annotations

import logging
import threading
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
    threading.Thread(target=_keep_checking, name="stepback-recovery", daemon=True).start()


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
