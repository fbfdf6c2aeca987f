"""The executor seam: where prepared executions run.

`InlineExecutor` runs an execution inside the call that submits it; `ThreadExecutor` runs it on
a background event loop of this process. Worker processes (evented and durable engines) plug in
here as another `Executor`; views and consumers only ever see `services`.

A run that was accepted executes or ends `failed` with the reason: when an execution raises
(a database fault, not a step failing, which the engine records itself), `record_failure`
writes the run as failed on top of what was stored, with a `run.failed` event carrying the
error, so it never stays `pending` or `running` with only a log line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import threading
import time
from typing import Any, Protocol

from asgiref.sync import async_to_sync, sync_to_async
from django.db import connections

from engines import Engine, RunConflictError, Workflow
from engines.core import events as ev
from engines.core.engine import Execution
from engines.core.error_codec import error_to_dict, format_traceback
from engines.core.recorder import Recorder
from engines.core.results import ACTIVE_RUN_STATUSES
from workflows_app import processes

log = logging.getLogger("workflows_app.executors")


# -- executors --------------------------------------------------------------------------


class Executor(Protocol):
    """Where prepared executions run. Views and consumers never know which one is configured."""

    def submit(self, workflow: Workflow, execution: Execution) -> None:
        """Run `execution` to its next stop (now, or soon on another thread or process)."""
        ...

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        """Block until nothing of the run executes here; False when `timeout` ran out first."""
        ...

    def in_flight(self, run_id: str) -> bool:
        """True from `submit` until the execution has stopped, in this process only (across
        processes the storage's seq compare-and-set is the guard)."""
        ...


def _log_failure(run_id: str, exc: BaseException) -> None:
    # A step failing is a recorded result, not an exception: these are storage problems.
    if isinstance(exc, RunConflictError):
        log.warning("run %s was changed by another caller before it ran: %s", run_id, exc)
    else:
        log.error("run %s could not be executed", run_id, exc_info=exc)


async def record_failure(engine: Engine, run_id: str, exc: BaseException) -> None:
    """Write a run whose execution raised `exc` as failed with that error (on top of what was
    stored last), unless it stopped or another caller changed it meanwhile; never raises."""
    try:
        snap = await engine.storage.load(run_id)
        if snap is None or snap.status not in ACTIVE_RUN_STATUSES:
            return
        snap.status = "failed"
        snap.error = exc
        snap.traceback = format_traceback(exc)
        snap.suspended = []
        snap.resume_labels = {}
        clock = getattr(engine, "clock", time.time)
        snap.finished_at = snap.updated_at = clock()
        recorder = Recorder(snap, engine.storage, lambda events: None, clock)
        recorder.emit(ev.RUN_FAILED, (), {"error": error_to_dict(exc)})
        await recorder.commit()
    except Exception:
        log.exception("run %s could not be recorded as failed either", run_id)


async def _execute_or_fail(engine: Engine, workflow: Workflow, execution: Execution) -> None:
    try:
        async with processes.keeping_alive():
            await engine.execute(workflow, execution)
    except RunConflictError:
        raise  # another caller wrote the run first: it is theirs now
    except Exception as exc:
        await record_failure(engine, execution.snapshot.run_id, exc)
        raise


class InlineExecutor:
    """Runs each execution to its next stop inside `submit` (scripts, commands, tests)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def submit(self, workflow: Workflow, execution: Execution) -> None:
        try:
            async_to_sync(_execute_or_fail)(self.engine, workflow, execution)
        except Exception as exc:
            _log_failure(execution.snapshot.run_id, exc)

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        return True

    def in_flight(self, run_id: str) -> bool:
        return False


class ThreadExecutor:
    """Runs executions on one event loop in a daemon thread of this process, started on first
    use; a run keeps going whether or not anyone watches it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._futures: dict[str, set[concurrent.futures.Future[Any]]] = {}
        self._executing = 0  # executions on the loop (only the loop's thread touches it)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="stepback-runs", daemon=True).start()
                self._loop = loop
            return self._loop

    def submit(self, workflow: Workflow, execution: Execution) -> None:
        run_id = execution.snapshot.run_id
        # In an empty context: the loop's task would otherwise inherit the submitting request's
        # (asgiref's thread-sensitive context among it), and the run's database calls would go
        # to that request's thread, each such thread keeping a connection open long after its
        # request ended; under load that exhausted the pool and PostgreSQL's connections.
        future = contextvars.Context().run(
            asyncio.run_coroutine_threadsafe,
            self._execute(workflow, execution),
            self._running_loop(),
        )
        with self._lock:
            self._futures.setdefault(run_id, set()).add(future)
        future.add_done_callback(lambda done: self._finished(run_id, done))

    async def _execute(self, workflow: Workflow, execution: Execution) -> None:
        from workflows_app.storage import loop_writes

        self._executing += 1
        try:
            # This loop runs nothing but executions: saves commit right here, without a hop.
            with loop_writes.writes_on_this_loop():
                await _execute_or_fail(self.engine, workflow, execution)
        finally:
            self._executing -= 1
            # The storage's reads ran on asgiref's shared thread, which lives as long as the
            # process: hand its connections back rather than keep them open forever; this
            # loop's own connection goes too once nothing executes here.
            await sync_to_async(connections.close_all)()
            if not self._executing:
                await loop_writes.release()

    def _finished(self, run_id: str, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            running = self._futures.get(run_id, set())
            running.discard(future)
            if not running:
                self._futures.pop(run_id, None)
        if not future.cancelled() and future.exception() is not None:
            _log_failure(run_id, future.exception())  # type: ignore[arg-type]

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        with self._lock:
            futures = list(self._futures.get(run_id, ()))
        _, pending = concurrent.futures.wait(futures, timeout)
        return not pending

    def in_flight(self, run_id: str) -> bool:
        with self._lock:
            return bool(self._futures.get(run_id))


class QueueExecutor:
    """Hands each execution to a worker process through the engine's queue (the durable
    engine: `manage.py stepback_worker --engine durable` walks it); this process only
    prepares, stores and enqueues."""

    POLL_SECONDS = 0.1

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        if hasattr(engine, "application_version"):
            from engines.durable.queue import application_version
            from workflows_app import registry

            # Workers take only segments of the workflow definitions they run themselves.
            engine.application_version = application_version(registry.workflows().values())

    def submit(self, workflow: Workflow, execution: Execution) -> None:
        enqueue = getattr(self.engine, "enqueue", None)
        if enqueue is None:
            raise TypeError(f"engine {self.engine.name!r} has no queue to hand executions to")
        try:
            async_to_sync(enqueue)(workflow, execution)
        except Exception as exc:
            _log_failure(execution.snapshot.run_id, exc)
            async_to_sync(record_failure)(self.engine, execution.snapshot.run_id, exc)

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        from workflows_app.models import Run

        deadline = None if timeout is None else time.monotonic() + timeout
        while Run.objects.filter(pk=run_id, status__in=ACTIVE_RUN_STATUSES).exists():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(self.POLL_SECONDS)
        return True

    def in_flight(self, run_id: str) -> bool:
        return False  # it executes in a worker; the storage's seq guards it there
