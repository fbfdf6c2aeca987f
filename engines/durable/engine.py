"""`DurableEngine`: runs on DBOS Transact, so a run survives the death of its process.

Design
------
A *segment* is one execution of a run to its next stop (start, resume, continue, restart and
time travel each begin one). Every segment is one DBOS workflow, the generic
`stepback.segment` (`engines.durable.segment`), with the id `<run_id>:<seq>`: the run's event
`seq` when the segment began. The workflow walks the graph with the core interpreter
(`engines.core.interpreter`), the same walk every engine does, through two seams:

- the step runner is `JournaledLeafRunner`: each attempt of a step (a map too) runs as a DBOS
  step named for its path, loop iteration, foreach item and attempt, and its outcome
  (output, suspension, bail or error, with its state changes) is journaled as data;
- `JournaledInterpreter` journals each branch and loop condition the same way.

Finished work is thus memoized in the DBOS system database. When a process dies, DBOS (in the
next process with the same executor id and application version, or any process after
`DBOS.resume_workflow`) runs the segment again: it reads what the segment journaled, loads the
run as the dead process last wrote it, and walks it again as a restart. Steps recorded as
finished are reused; steps that finished after the last write are answered from the journal by
name, never run again; only the step in flight runs a second time. Events continue the stored
`seq`, so the log has no gap.

Sleeps and retry delays wait on a timer that a cancel cuts short; a sleep's wake time is
written to the run before it waits, so a recovered segment sleeps only what is left.
Suspending ends the segment, and nothing is held while a person decides: the resume starts a
new segment. Two resumes racing from one suspension would both start segment `<run_id>:<seq>`:
DBOS refuses the second id (`RunConflictError`), and across storages the seq compare-and-set
refuses the second writer anyway.

Cancel sets the run's cancel token in the process executing it: a running step sees
`ctx.is_cancelled` at once and a sleep wakes; the run ends `canceled`. A run executing nowhere
(suspended, paused, or left by a dead process) is canceled in storage, like every engine does.

DBOS is one per process (`engines.durable.host`): engines of a process share it. SQLite (WAL)
is the embedded default; PostgreSQL lets workers on many machines share the runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from dbos import DBOS, SetWorkflowID

from engines.core.cancel import cancel_here_or_in_storage
from engines.core.context import CancelToken, RunEnv
from engines.core.engine import Execution
from engines.core.errors import InvalidRunStateError, RunConflictError
from engines.core.hooks import WaitHook
from engines.core.lifecycle import notify
from engines.core.listeners import Listener, Listeners
from engines.core.recorder import Recorder
from engines.core.results import RunResult
from engines.core.workflow import Workflow
from engines.durable import host
from engines.durable.journal import Journal, JournaledInterpreter, JournaledLeafRunner
from engines.durable.segment import LiveSegment, encode_execution, live_segments, run_segment
from engines.storage.base import Storage
from engines.storage.memory import InMemoryStorage

if TYPE_CHECKING:
    from engines.core.hooks import StepRunner

DEFAULT_VERSION = "stepback-1"
_process_executor_id = host.default_executor_id()


def default_system_database_url() -> str:
    """`STEPBACK_DBOS_DATABASE_URL`, else an SQLite file in the working directory."""
    return os.environ.get("STEPBACK_DBOS_DATABASE_URL") or host.sqlite_url("stepback-dbos.sqlite")


class DurableEngine:
    """Runs each segment of a run as a DBOS workflow and each step attempt as a DBOS step
    (see the module docstring)."""

    name = "durable"

    def __init__(
        self,
        system_database_url: str | None = None,
        storage: Storage | None = None,
        clock: Callable[[], float] = time.time,
        *,
        application_version: str = DEFAULT_VERSION,
        executor_id: str | None = None,
        namespace: str = "",
        name: str = "durable",
    ) -> None:
        self.system_database_url = host.normalize_url(
            system_database_url or default_system_database_url()
        )
        self.storage: Storage = storage if storage is not None else InMemoryStorage()
        self.clock = clock
        self.name = name
        self.application_version = application_version
        self.executor_id = executor_id or _process_executor_id
        # Prefixes segment ids: engines on separate storages sharing one system database
        # (tests) keep their run ids apart.
        self.namespace = namespace
        self._active: dict[str, CancelToken] = {}
        self._listeners = Listeners()
        self._client: Any = None
        # Segments walked here whose journal writes may still be under way.
        self._segments: set[asyncio.Task[Any]] = set()
        self.journal_writers = 1 if self.system_database_url.startswith("sqlite") else 8
        # Called with the run id as a segment begins here (a worker records that it owns it).
        self.on_segment: Callable[[str], Awaitable[None]] | None = None

    async def launch(self) -> None:
        """Launch DBOS on this engine's system database (once per process)."""
        await host.ensure_launched(
            self.system_database_url, self.application_version, self.executor_id
        )

    def launch_now(self) -> None:
        """`launch`, blocking: for set-up code (a worker's start, a test's engine builder)."""
        host.launch_sync(self.system_database_url, self.application_version, self.executor_id)

    def _dbos_client(self) -> Any:
        from dbos import DBOSClient

        if self._client is None:
            self._client = DBOSClient(system_database_url=self.system_database_url)
        return self._client

    async def take_over(self, run_id: str) -> bool:
        """Hand the run's unfinished segments that another (dead) executor left to whichever
        worker dequeues them (`DBOS.resume_workflow`); False when the run has none, neither
        pending nor queued (it must then be restarted). Segments of this engine's own executor
        id are left to DBOS's recovery at launch."""
        client = self._dbos_client()
        found = await client.list_workflows_async(
            workflow_id_prefix=f"{self.namespace}{run_id}:", status=["PENDING", "ENQUEUED"]
        )
        for segment in found:
            if segment.status == "PENDING" and segment.executor_id != self.executor_id:
                await client.resume_workflow_async(segment.workflow_id)
        return bool(found)

    async def enqueue(self, workflow: Workflow, execution: Execution) -> str:
        """Hand the segment to a worker through the DBOS queue instead of walking it here
        (`engines.durable.queue`); its segment id. A segment id in use is refused."""
        from dbos._error import DBOSWorkflowIDInUseError

        from engines.durable.queue import QUEUE_NAME, SEGMENT_WORKFLOW

        run_id = execution.snapshot.run_id
        segment_id = self.segment_id(run_id, execution.snapshot.seq)
        try:
            await self._dbos_client().enqueue_async(
                {
                    "queue_name": QUEUE_NAME,
                    "workflow_name": SEGMENT_WORKFLOW,
                    "workflow_id": segment_id,
                    "workflow_id_reuse_policy": "reject",
                    "app_version": self.application_version,
                },
                workflow.id,
                run_id,
                encode_execution(execution),
            )
        except DBOSWorkflowIDInUseError as exc:
            raise RunConflictError(
                f"Run {run_id!r} was moved on by another caller (segment {segment_id} exists)"
            ) from exc
        return segment_id

    def journal(self) -> Journal:
        """A fresh journal for a segment walked here."""
        return Journal(writers=self.journal_writers)

    def segment_id(self, run_id: str, seq: int) -> str:
        return f"{self.namespace}{run_id}:{seq}"

    async def execute(self, workflow: Workflow, execution: Execution) -> RunResult:
        run_id = execution.snapshot.run_id
        if run_id in self._active:
            raise InvalidRunStateError(f"Run {run_id!r} is already executing")
        await self.launch()
        host.register_workflow(workflow)
        segment_id = self.segment_id(run_id, execution.snapshot.seq)
        if await DBOS.get_workflow_status_async(segment_id) is not None:
            raise RunConflictError(
                f"Run {run_id!r} was moved on by another caller (segment {segment_id} exists)"
            )
        live = LiveSegment(self, workflow, execution)
        live_segments[segment_id] = live
        try:
            with SetWorkflowID(segment_id):
                handle = await DBOS.start_workflow_async(
                    run_segment, workflow.id, run_id, encode_execution(execution)
                )
            ended = asyncio.ensure_future(handle.get_result())
            ended.add_done_callback(_retrieve)
            walked = asyncio.ensure_future(live.done.wait())
            try:
                await asyncio.wait({ended, walked}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                # The caller is going away (a process stopping): DBOS shields the segment's
                # task, so stop it here, leaving the segment to recovery like a dead process.
                await _stop(live.task)
                raise
            finally:
                walked.cancel()
            if live.task is not None:
                self._segments.add(live.task)
                live.task.add_done_callback(self._segments.discard)
            if not live.done.is_set():
                ended.result()  # the segment failed before it walked: its error
        finally:
            live_segments.pop(segment_id, None)
        if live.error is not None:
            raise live.error
        if live.result is None:
            raise RunConflictError(f"Run {run_id!r} segment {segment_id} ran elsewhere")
        return live.result

    async def walk(
        self,
        workflow: Workflow,
        execution: Execution,
        journal: Journal,
        live: LiveSegment | None,
    ) -> RunResult:
        """Walk one segment (inside its DBOS workflow) and notify the workflow's callbacks."""
        run_id = execution.snapshot.run_id
        cancel = CancelToken()
        cancel.bind(asyncio.get_running_loop())
        self._active[run_id] = cancel
        if live is not None:
            live.task = asyncio.current_task()

        def runner(recorder: Recorder, env: RunEnv, waits: WaitHook) -> StepRunner:
            built = JournaledLeafRunner(recorder, env, waits)
            built.journal = journal
            return built

        try:
            try:
                if self.on_segment is not None:
                    await self.on_segment(run_id)
                recorder = Recorder(
                    execution.snapshot, self.storage, self._listeners.publish, self.clock
                )
                interpreter = JournaledInterpreter(
                    workflow, execution, recorder, cancel, step_runner=runner
                )
                interpreter.journal = journal
                result = await interpreter.run()
            except BaseException as exc:
                if live is not None:
                    live.error = exc
                    live.done.set()
                raise
            finally:
                self._active.pop(run_id, None)
            await notify(workflow, result)
            if live is not None:
                # The caller has its result now: the run's record is stored, so the journal
                # writes still under way are no longer needed to recover it.
                live.result = result
                live.done.set()
            return result
        finally:
            await journal.flush()

    async def cancel(self, workflow: Workflow, run_id: str) -> bool:
        return await cancel_here_or_in_storage(
            workflow,
            run_id,
            self._active.get(run_id),
            self.storage,
            self._listeners.publish,
            self.clock,
        )

    def is_active(self, run_id: str) -> bool:
        return run_id in self._active

    def active_runs(self) -> list[str]:
        """The runs this engine executes in this process now."""
        return list(self._active)

    def cancel_here(self, run_id: str) -> bool:
        """Tell the run executing here to stop (from any thread): a worker that learns a run
        was canceled elsewhere. False when it does not execute here."""
        token = self._active.get(run_id)
        if token is None:
            return False
        token.cancel()
        return True

    def subscribe(self, run_id: str, listener: Listener) -> Callable[[], None]:
        return self._listeners.subscribe(run_id, listener)

    async def settled(self) -> None:
        """Wait until the segments walked here have written their whole journal."""
        if self._segments:
            await asyncio.wait(set(self._segments))

    async def aclose(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self.settled()
        await self._listeners.drain()
        if self._client is not None:
            self._client.destroy()
            self._client = None


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # reported through the segment's own result, not at collection


async def _stop(task: asyncio.Task[Any] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait({task}, timeout=5)


_namespaces: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def storage_namespace(storage: Storage) -> str:
    """A segment-id prefix of its own for each storage object (tests build many storages on
    one system database, with run ids that repeat)."""
    found = _namespaces.get(storage)
    if found is None:
        found = uuid.uuid4().hex[:12] + "/"
        _namespaces[storage] = found
    return found
