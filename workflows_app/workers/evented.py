"""The evented engine's worker for the web app: Redis from `REDIS_URL`, the Django storage,
the registered workflows. It registers as an `ExecutorProcess`, beats while it runs, and
records itself as the executing process of every run it walks (so `recovery` marks the runs
of a dead worker interrupted, and never those a live worker executes)."""

from __future__ import annotations

import logging
import os
import time

from asgiref.sync import sync_to_async
from django.core.management.base import CommandError

from engines.evented.factory import redis_url
from engines.evented.processor import Processor
from engines.evented.worker import Worker, serve_with
from engines.evented.workflows import WorkflowSet
from workflows_app import processes, registry, services

log = logging.getLogger("workflows_app.workers.evented")


def serve(concurrency: int = 32) -> None:
    from engines.pubsub.redis import RedisPubSub

    if not (os.environ.get("STEPBACK_REDIS_URL") or os.environ.get("REDIS_URL")):
        raise CommandError("the evented worker needs REDIS_URL (the web app's Redis)")
    workflows = WorkflowSet(list(registry.workflows().values()))
    prefix = os.environ.get("STEPBACK_EVENTED_PREFIX", "stepback")
    # How long a dead worker's events wait before another worker claims them.
    claim_idle = float(os.environ.get("STEPBACK_EVENTED_CLAIM_IDLE", "5"))
    pubsub = RedisPubSub(redis_url(), prefix, claim_idle=claim_idle)
    me = processes.beat()  # registered before the first run is taken
    processor = Processor(
        services.storage(), pubsub, workflows, time.time, me,
        on_walk=sync_to_async(processes.claim),
    )  # fmt: skip
    worker = Worker(pubsub, processor, me, concurrency=concurrency, block=0.25)
    log.info("evented worker %s: %d workflows, prefix %r", me, len(workflows), prefix)
    serve_with(worker, processes.keeping_alive)
