"""The event processor: how a worker handles one processor event of a run.

A state machine over stored state: each event takes the run's lease (one event per run at a
time, on any number of workers), loads what it needs (the execution in a `walk` event, else the
stored snapshot), decides what runs with the reference interpreter, and stores the result with
the storage's seq compare-and-set. Steps run inside the event, as the reference engine's group
commit runs consecutive quick steps in one go; a sleep longer than the timer threshold ends the
event with the run handed off (its record `waiting`) and a durable timer schedules the next one.

Delivery is at least once, so the handler is idempotent: a `walk` event whose run has moved on
since it was prepared (a redelivery after a crash) walks the stored run again instead, which
reuses every finished step; a `continue` or `cancel` event for a run that is no longer active is
dropped. Saving and publishing are not atomic: the event is acknowledged only after its timers
are scheduled and its messages sent, so a crash in between redelivers the event, and the
re-walk schedules the same timers again (the same job at the same time is one timer).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from engines.core.cancel import cancel_in_storage
from engines.core.context import CancelToken
from engines.core.engine import Execution, ExecutionMode
from engines.core.error_codec import error_to_dict
from engines.core.errors import RunConflictError
from engines.core.interpreter import Interpreter
from engines.core.lifecycle import notify
from engines.core.results import ACTIVE_RUN_STATUSES
from engines.core.workflow import Workflow
from engines.evented import jobs
from engines.evented.recorder import Outbox, TimerWaits, WalkRecorder
from engines.evented.workflows import WorkflowSet
from engines.pubsub.base import PubSub
from engines.storage.base import Storage

log = logging.getLogger("engines.evented")

LEASE_TTL = 10.0
"""Seconds a run's lease lives without renewal (a worker renews it while it works)."""
CANCEL_FLAG_TTL = 3600.0
# A run left active by a worker that died may have been marked `interrupted` by an app's
# recovery meanwhile: the worker that claims the dead one's event goes on with it.
REWALKABLE = frozenset({"running", "waiting", "interrupted"})


def cancel_flag(run_id: str) -> str:
    return f"cancel:{run_id}"


class Processor:
    """Handles processor events on one worker (see the module docstring)."""

    def __init__(
        self,
        storage: Storage,
        pubsub: PubSub,
        workflows: WorkflowSet,
        clock: Callable[[], float],
        owner: str,
        timer_threshold: float = 0.05,
        on_walk: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.storage = storage
        self.pubsub = pubsub
        self.workflows = workflows
        self.clock = clock
        self.owner = owner
        self.timer_threshold = timer_threshold
        # Called with the run id before each walk (the Django worker records itself as the
        # run's executing process there).
        self.on_walk = on_walk
        # The runs this worker walks now, with their cancel tokens: a broadcast cancel sets it.
        self.executing: dict[str, CancelToken] = {}
        # Leases held now (renewed by the worker's keep-alive), by run id.
        self.leases: dict[str, str] = {}

    def on_cancel(self, run_id: str) -> None:
        token = self.executing.get(run_id)
        if token is not None:
            token.cancel()

    async def renew_leases(self) -> None:
        for run_id, owner in list(self.leases.items()):
            await self.pubsub.renew(f"run:{run_id}", owner, LEASE_TTL)

    async def handle(self, job: dict[str, Any], deliveries: int = 1) -> None:
        run_id = job["run_id"]
        owner = f"{self.owner}:{uuid.uuid4().hex[:8]}"
        key = f"run:{run_id}"
        # The holder may be another process: nothing here to wait on but the lease itself.
        while not await self.pubsub.acquire(key, owner, LEASE_TTL):  # noqa: ASYNC110
            await asyncio.sleep(0.005)  # another worker handles an event of this run
        self.leases[run_id] = owner
        outbox = Outbox(self.pubsub, run_id)
        try:
            await self._handle(job, deliveries, outbox)
        except Exception as exc:
            log.exception("event %s of run %s failed", job.get("kind"), run_id)
            outbox.final = {"k": "error", "error": error_to_dict(exc)}
        finally:
            try:
                await outbox.flush()
            finally:
                self.leases.pop(run_id, None)
                await self.pubsub.release(key, owner)
        if outbox.final is not None:
            # Told last, once the lease is free: the caller may act on the run at once.
            await self.pubsub.publish(outbox.channel, outbox.final)

    async def _handle(self, job: dict[str, Any], deliveries: int, outbox: Outbox) -> None:
        kind = job["kind"]
        run_id = job["run_id"]
        workflow = self.workflows.get(job["workflow_id"], job.get("hash"))
        if kind == jobs.CANCEL:
            await self._cancel(workflow, run_id, outbox)
            return
        quiet = False
        execution: Execution | None
        if kind == jobs.WALK:
            execution = jobs.decode_execution(job["execution"])
            stored = await self.storage.load(run_id)
            if stored is not None and stored.seq > execution.snapshot.seq:
                if deliveries <= 1:
                    # Another caller wrote first (two resumes at once): refuse, as the
                    # reference engine's first write would be refused.
                    raise RunConflictError(
                        f"Run {run_id!r} was changed by another caller "
                        f"(stored seq {stored.seq}, write starts at "
                        f"{execution.snapshot.seq + 1})"
                    )
                # Redelivered after a crash: the stored run is ahead; walk it again.
                execution = self._rewalk(stored, execution.resume, execution.per_step)
                quiet = True
        else:
            stored = await self.storage.load(run_id)
            execution = self._rewalk(
                stored, jobs.decode_target(job.get("resume")), bool(job.get("per_step"))
            )
            quiet = True
        if execution is None:
            if stored is not None and stored.status not in ACTIVE_RUN_STATUSES:
                outbox.final = {"k": "stopped"}
            return
        await self._walk(workflow, execution, quiet, outbox)

    def _rewalk(self, stored: Any, resume: Any, per_step: bool) -> Execution | None:
        if stored is None or stored.status not in REWALKABLE:
            return None  # finished, suspended or canceled meanwhile: nothing to do
        stored.status = "running"
        return Execution(stored, ExecutionMode.CONTINUE, resume, per_step)

    async def _walk(
        self, workflow: Workflow, execution: Execution, quiet: bool, outbox: Outbox
    ) -> None:
        run_id = execution.snapshot.run_id
        cancel = CancelToken()
        cancel.bind(asyncio.get_running_loop())
        # Registered before the flag is read: a cancel broadcast from now on reaches it.
        self.executing[run_id] = cancel
        try:
            if await self.pubsub.has_flag(cancel_flag(run_id)):
                if quiet:
                    # A run the engine walks again on its own (a timer, a recovery) that was
                    # canceled meanwhile: its open steps end canceled, as for any idle run.
                    await self._cancel(workflow, run_id, outbox)
                    return
                cancel.cancel()
            if self.on_walk is not None:
                await self.on_walk(run_id)
            recorder = WalkRecorder(
                execution.snapshot, self.storage, outbox.events, self.clock, quiet
            )
            waits = TimerWaits(cancel, self.clock, self.timer_threshold)
            result = await Interpreter(workflow, execution, recorder, cancel, waits=waits).run()
        finally:
            self.executing.pop(run_id, None)
        if result.status == "running":
            if cancel.is_set or await self.pubsub.has_flag(cancel_flag(run_id)):
                # Canceled as the walk handed off: no timer, the run ends canceled now.
                await self._cancel(workflow, run_id, outbox)
                return
            for at in waits.timers:
                await self.pubsub.schedule(at, jobs.continue_job(workflow, execution, at))
            return
        await notify(workflow, result)
        outbox.final = {"k": "stopped"}

    async def _cancel(self, workflow: Workflow, run_id: str, outbox: Outbox) -> None:
        snap = await self.storage.load(run_id)
        if snap is None or snap.status not in ACTIVE_RUN_STATUSES:
            return  # it ended, or its walk saw the cancel
        # Active but walked by no one (the lease is ours): a sleeping or interrupted run.
        await cancel_in_storage(workflow, snap, self.storage, outbox.events, self.clock)
        outbox.final = {"k": "stopped"}
