"""Cancelling a run that is executing nowhere: a suspended, paused or interrupted one.

No engine holds such a run, so there is no running step to tell: the cancel is written to
storage directly. Every engine cancels a run it is not executing this way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engines.core import payloads
from engines.core.errors import RunNotFoundError
from engines.core.events import RUN_CANCELED, STEP_CANCELED
from engines.core.lifecycle import notify
from engines.core.recorder import Publish, Recorder
from engines.core.results import ACTIVE_RUN_STATUSES
from engines.core.snapshot import key_path

if TYPE_CHECKING:
    from collections.abc import Callable

    from engines.core.context import CancelToken
    from engines.core.snapshot import RunSnapshot
    from engines.core.workflow import Workflow
    from engines.storage.base import Storage

# A step in one of these states was left open by the process that stopped executing the run.
OPEN_STEP_STATUSES = frozenset({"running", "waiting", "paused"})


async def cancel_in_storage(
    workflow: Workflow,
    snap: RunSnapshot,
    storage: Storage,
    publish: Publish,
    clock: Callable[[], float],
) -> None:
    """Write `snap` (loaded from `storage`) as canceled: each step left open ends canceled
    (innermost first) with its `step.canceled` event, then `run.canceled`; then `on_finish`.

    The write continues the stored seq, so a process that still executes the run after all
    has its next write refused.
    """
    now = clock()
    recorder = Recorder(snap, storage, publish, clock)
    steps = snap.steps
    open_keys = [k for k, r in steps.items() if r.status in OPEN_STEP_STATUSES]
    # Deepest first (a nested workflow closes after its steps); stable, so else record order.
    open_keys.sort(key=lambda k: -k.count("."))
    for key in open_keys:
        steps[key] = steps[key].evolve(status="canceled", ended_at=now)
        recorder.emit(STEP_CANCELED, key_path(key), payloads.step_canceled())
    snap.status = "canceled"
    snap.suspended = []
    snap.resume_labels = {}
    snap.paused_at = []
    snap.finished_at = now
    recorder.emit(RUN_CANCELED, (), payloads.run_canceled())
    await recorder.commit()
    await notify(workflow, snap.to_result())


async def cancel_here_or_in_storage(
    workflow: Workflow,
    run_id: str,
    token: CancelToken | None,
    storage: Storage,
    publish: Publish,
    clock: Callable[[], float],
) -> bool:
    """An engine's `cancel`: a run executing in this process is told through its `token`;
    one that is not (suspended, paused, or left by a stopped process) is canceled in storage.
    False when the run has ended already."""
    if token is not None:
        token.cancel()
        return True
    snap = await storage.load(run_id)
    if snap is None:
        raise RunNotFoundError(f"No run {run_id!r} in storage")
    if snap.status not in ("suspended", "paused", *ACTIVE_RUN_STATUSES):
        return False
    await cancel_in_storage(workflow, snap, storage, publish, clock)
    return True
