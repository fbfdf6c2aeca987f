"""The durable engine's worker process: `manage.py stepback_worker --engine durable`.

It launches DBOS on the shared system database (`STEPBACK_DBOS_DATABASE_URL`) with a stable
executor id (`--executor-id`, default `<host>-durable`) and the application version of the
registered workflows, then walks the segments web processes enqueue. Launching recovers the
segments this executor id left unfinished (a worker restarted after a crash); segments of other
workers that died are taken over by `workflows_app.recovery` (`DBOS.resume_workflow`). Each
segment it begins is claimed (`Run.executed_by`), and the process beats while it runs, so no
server marks its runs interrupted. A web process cancels a run executing here by writing the
cancel to the run; this worker polls its runs' status and stops the ones canceled.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from typing import Any

from asgiref.sync import sync_to_async

from engines.durable import DurableEngine, host
from engines.durable.queue import application_version, register_queue
from workflows_app import processes, recovery, registry
from workflows_app.storage import DjangoStorage

log = logging.getLogger("workflows_app.workers.durable")


def default_executor_id() -> str:
    """Stable per machine, so a worker restarted there recovers what its predecessor left."""
    return f"{socket.gethostname()}-durable"


def build_engine(executor_id: str | None = None) -> DurableEngine:
    """The durable engine of a worker (or of a server recovering runs): Django storage, the
    registered workflows' application version."""
    workflows = registry.workflows()
    engine = DurableEngine(
        storage=DjangoStorage(engine_name="durable"),
        application_version=application_version(workflows.values()),
        executor_id=executor_id,
    )
    for workflow in workflows.values():
        host.register_workflow(workflow)

    async def claim(run_id: str) -> None:
        await sync_to_async(processes.claim)(run_id)

    engine.on_segment = claim
    host.set_recovery_engine(engine)
    return engine


CANCEL_POLL_SECONDS = 0.05


def watch_cancels(engine: DurableEngine, stop: threading.Event) -> None:
    """Tell the runs executing here that were canceled elsewhere (a web process writes the
    cancel to the run) to stop: their running steps see `ctx.is_cancelled` within a poll."""
    from django.db import close_old_connections

    from workflows_app.models import Run

    while not stop.wait(CANCEL_POLL_SECONDS):
        active = engine.active_runs()
        if not active:
            continue
        try:
            canceled = Run.objects.filter(pk__in=active, status="canceled")
            for run_id in canceled.values_list("run_id", flat=True):
                engine.cancel_here(run_id)
        except Exception:
            log.exception("checking the runs executing here for cancels failed")
        finally:
            close_old_connections()


def run(options: dict[str, Any]) -> None:
    """Run the worker until SIGTERM or SIGINT."""
    executor_id = options.get("executor_id") or default_executor_id()
    engine = build_engine(executor_id)
    processes.beat()
    engine.launch_now()  # recovers this executor id's unfinished segments
    register_queue(int(options.get("concurrency") or 16))
    recovery.resume_interrupted(engine="durable")
    log.warning("durable worker %s ready (version %s)", executor_id, engine.application_version)
    stop = threading.Event()
    threading.Thread(
        target=watch_cancels, args=(engine, stop), name="stepback-cancels", daemon=True
    ).start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(processes.lease_seconds() / 3):
        try:
            processes.beat()
        except Exception:
            log.exception("the heartbeat of this worker could not be written")
    host.shutdown()
