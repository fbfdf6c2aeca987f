"""Segments handed to worker processes through a DBOS queue.

A web process does not run segments: it enqueues them (`DurableEngine.enqueue`, through a
`DBOSClient`, so it never launches DBOS itself), and a worker process that launched DBOS on the
same system database dequeues and walks them (`manage.py stepback_worker --engine durable`).
Queued segments carry the application version of the workflows they were prepared for, so
only workers running those same definitions take them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from dbos import DBOS

if TYPE_CHECKING:
    from engines.core.workflow import Workflow

QUEUE_NAME = "stepback-segments"
SEGMENT_WORKFLOW = "stepback.segment"
# How often an idle worker asks the queue for work.
POLLING_SECONDS = 0.2


def application_version(workflows: Iterable[Workflow]) -> str:
    """The DBOS application version of a set of workflows: a hash of their definition hashes
    (a worker recovers and dequeues only segments of its own version)."""
    digest = hashlib.sha256()
    for item in sorted(f"{w.id}={w.definition_hash}" for w in workflows):
        digest.update(item.encode())
    return "stepback-" + digest.hexdigest()[:16]


def register_queue(worker_concurrency: int) -> None:
    """Declare the segment queue in this (launched) worker process."""
    DBOS.register_queue(
        QUEUE_NAME, worker_concurrency=worker_concurrency, polling_interval_sec=POLLING_SECONDS
    )
