"""The only module of the app that drives engines: start, resume, cancel, restart, time travel,
compare, export and import.

Each call that runs something is split the way `engines.Run` splits it: the engine core prepares
the execution (validating everything, writing nothing), the prepared snapshot is stored so the
run exists when the call returns, and the execution goes to the executor seam, which runs it in
this process (`thread`: a background event loop; `inline`: inside the call) or, later, on a
worker. A refused call (bad input, unknown id, wrong status) raises before anything is written.

The functions are synchronous (views, management commands and tests call them) and reach the
async engines through `async_to_sync`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver

from engines import (
    Engine,
    InvalidRunStateError,
    RunNotFoundError,
    RunSnapshot,
    Storage,
    ValidationError,
    Workflow,
)
from engines.core.engine import Execution
from engines.core.fork import downstream_paths, prepare_time_travel, validate_fork_input
from engines.core.prepare import (
    normalize_path,
    prepare_paused_continue,
    prepare_restart,
    prepare_resume,
    prepare_start,
    require_step,
)
from engines.core.snapshot import path_key
from engines.registry import build_engine, engine_names
from workflows_app import (
    audit,
    broadcast,
    bundles,
    compare,
    json_input,
    payloads,
    processes,
    recovery,
    registry,
)
from workflows_app.executors import Executor, InlineExecutor, QueueExecutor, ThreadExecutor
from workflows_app.models import HumanTask, Run, RunAction
from workflows_app.registry import UnknownWorkflowError as UnknownWorkflowError
from workflows_app.storage.retry import in_callers_transaction

log = logging.getLogger("workflows_app.services")
T = TypeVar("T")
ENDED = ("success", "failed", "canceled")

# -- the engine, the executor, the storage: one of each per process -----------------------------

_lock = threading.Lock()
_engine: Engine | None = None
_executors: dict[str, Executor] = {}
_local = threading.local()
# Prepare-and-store is one step per process, so two resumes of one run cannot both pass the
# status check before either stored its prepared snapshot. A guard for this process only, like
# `Engine.is_active` and `Executor.in_flight`: across processes the storage's seq
# compare-and-set refuses the second writer.
_prepare_lock = threading.Lock()


def storage() -> Storage:
    """The storage runs are written to: the Django models, saves retried through transient
    database faults (`workflows_app.storage.retry`)."""
    from workflows_app.storage import DjangoStorage
    from workflows_app.storage.retry import RetryingStorage

    return RetryingStorage(DjangoStorage(engine_name=settings.STEPBACK_ENGINE))


def engine() -> Engine:
    """This process's engine, shared by the executor and every call here (a cancel must reach
    the token of the run executing here; `is_active` must see it)."""
    global _engine
    with _lock:
        if _engine is None:
            name = settings.STEPBACK_ENGINE
            if name not in engine_names():
                raise ImproperlyConfigured(f"STEPBACK_ENGINE={name!r} is not available")
            _engine = build_engine(name, storage())
        return _engine


def executor() -> Executor:
    """The executor `settings.STEPBACK_EXECUTOR` names ("thread" or "inline"), unless this
    thread is inside `running_inline()`."""
    kind = getattr(_local, "kind", None) or settings.STEPBACK_EXECUTOR
    if settings.STEPBACK_ENGINE == "durable" and settings.STEPBACK_EXECUTOR != "inline":
        kind = "queue"  # durable runs execute in worker processes; this one only enqueues
    eng = engine()
    with _lock:
        if kind not in _executors:
            if kind == "queue":
                _executors[kind] = QueueExecutor(eng)
            elif kind == "thread":
                _executors[kind] = ThreadExecutor(eng)
            elif kind == "inline":
                _executors[kind] = InlineExecutor(eng)
            else:
                raise ImproperlyConfigured(
                    f"STEPBACK_EXECUTOR={kind!r} is unknown; use 'thread' or 'inline'"
                )
        return _executors[kind]


@contextmanager
def running_inline() -> Iterator[None]:
    """Within the block, runs started from this thread execute inline, to their next stop.

    For management commands: a short-lived process must not leave a run on a background thread
    that dies with it.
    """
    previous = getattr(_local, "kind", None)
    _local.kind = "inline"
    try:
        yield
    finally:
        _local.kind = previous


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: object) -> None:
    global _engine
    if setting == "STEPBACK_ENGINE":
        with _lock:
            _engine = None
            _executors.clear()


def _sync(call: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    # A loop of its own, never the server's: under load the server's loop is busy sending live
    # events to every watcher, and a request waiting its turn there is what made starts slow.
    # Storage calls inside still come back to this thread (and its transaction).
    return async_to_sync(call, force_new_loop=True)(*args)


def _now() -> float:
    return engine().clock()


# -- what callers pass in ----------------------------------------------------------------------


def _check_json(**values: Any) -> None:
    """Refuse values a caller passed in that break the JSON limits (`json_input`), each named
    as the API names it; the API's parser already refused them, commands and pages have not."""
    problems: list[dict[str, str]] = []
    for name, value in values.items():
        try:
            json_input.check(value, name)
        except json_input.JSONInputError as exc:
            problems.extend(exc.errors)
    json_input.raise_problems(problems)


# -- lookups ------------------------------------------------------------------------------------


def get_workflow(workflow_id: str) -> Workflow:
    """A registered workflow; `UnknownWorkflowError` (404) otherwise."""
    return registry.get(workflow_id)


def get_run(run_id: str) -> Run:
    """A stored run; `RunNotFoundError` (404) otherwise."""
    return payloads.get_run(run_id)


def _run_and_workflow(run_id: str) -> tuple[Run, Workflow]:
    row = get_run(run_id)
    return row, get_workflow(row.workflow_id)


def _load(run_id: str) -> RunSnapshot:
    snap = _sync(engine().storage.load, run_id)
    if snap is None:
        raise RunNotFoundError(f"No run {run_id!r}")
    return snap


def _refuse_if_busy(run_id: str) -> None:
    if engine().is_active(run_id) or executor().in_flight(run_id):
        raise InvalidRunStateError(f"Run {run_id!r} is executing; wait for it to stop")


def _store(execution: Execution) -> None:
    """Store the prepared snapshot: from here on the run exists as the engine will continue it
    (its first write, `run.started`, continues the stored seq). In the same transaction, this
    process claims it: no process sees the run active without its owner."""
    snap = execution.snapshot
    snap.updated_at = _now()
    with transaction.atomic(), in_callers_transaction():
        _sync(engine().storage.save, snap, [])
        processes.claim(snap.run_id)


def _submit(workflow: Workflow, execution: Execution) -> Run:
    """Hand the execution over; the run as stored once the call returns: its final row when it
    already stopped (inline), else the row it was handed over with (not re-read while another
    thread writes it)."""
    run_id = execution.snapshot.run_id
    handed = get_run(run_id)
    runs = executor()
    runs.submit(workflow, execution)
    return handed if runs.in_flight(run_id) else get_run(run_id)


# -- start, resume, cancel, restart, wait -------------------------------------------------------


def start_run(
    workflow_id: str,
    input_data: Any = None,
    *,
    initial_state: Any = None,
    context: dict[str, Any] | None = None,
    resource_id: str | None = None,
    user: Any = None,
    breakpoints: Sequence[str] | None = None,
    per_step: bool = False,
    rerun_of: str | None = None,
) -> Run:
    """Start a run of a registered workflow; the returned row exists (pending, or further).
    It pauses before each step `breakpoints` name, and with `per_step` after every step;
    `rerun_of` names the run it re-runs (in the audit)."""
    workflow = get_workflow(workflow_id)
    if resource_id is not None and not isinstance(resource_id, str):
        raise ValidationError("Invalid run:", [{"path": "resource_id", "message": "not a string"}])
    _check_json(
        input=input_data,
        initial_state=initial_state,
        context=context,
        resource_id=resource_id,
        breakpoints=breakpoints,
    )
    execution = _sync(
        prepare_start,
        workflow,
        engine(),
        uuid.uuid4().hex,
        resource_id,
        input_data,
        initial_state,
        context,
        _now(),
        bool(per_step),
        breakpoints,
    )
    execution.snapshot.status = "pending"  # the engine marks it running when it begins
    # One transaction: a start refused half-way (the database saturated) leaves nothing behind.
    with transaction.atomic():
        _store(execution)
        audit.record(execution.snapshot.run_id, RunAction.START, user, _now(), rerun_of=rerun_of)
    return _submit(workflow, execution)


def rerun(
    run_id: str,
    *,
    breakpoints: Sequence[str] | None = None,
    per_step: bool = False,
    user: Any = None,
) -> Run:
    """Start a new run of the same workflow with the run's input, initial state, context and
    resource id (the audit names the run it re-runs)."""
    source = _load(run_id)
    return start_run(
        source.workflow_id,
        source.input,
        initial_state=source.initial_state,
        context=source.context,
        resource_id=source.resource_id,
        user=user,
        breakpoints=breakpoints,
        per_step=per_step,
        rerun_of=run_id,
    )


def resume_run(
    run_id: str,
    resume_data: Any = None,
    *,
    step: Any = None,
    label: str | None = None,
    for_each_index: int | None = None,
    user: Any = None,
    breakpoints: Sequence[str] | None = None,
    per_step: bool = False,
) -> Run:
    """Resume a suspended step (or continue a paused run); who answered, and with what, goes on
    the human task the resume closes. `breakpoints` replace the run's (None keeps them)."""
    _check_json(data=resume_data, step=step, label=label, breakpoints=breakpoints)
    _, workflow = _run_and_workflow(run_id)
    with _prepare_lock:
        _refuse_if_busy(run_id)
        execution = _sync(
            prepare_resume,
            workflow,
            engine(),
            run_id,
            resume_data,
            step,
            label,
            for_each_index,
            None,
            bool(per_step),
            breakpoints,
        )
        _store(execution)
        _audit(run_id, execution, label, user)
    return _submit(workflow, execution)


CONTINUE_MODES = ("continue", "next")


def continue_run(
    run_id: str,
    mode: str = "continue",
    *,
    breakpoints: Sequence[str] | None = None,
    user: Any = None,
) -> Run:
    """Continue a paused run: `continue` to the next breakpoint (or the end), `next` by one
    step. A run that is not paused is refused (409); `breakpoints` replace the run's."""
    if mode not in CONTINUE_MODES:
        raise ValidationError(
            "Invalid continue:", [{"path": "mode", "message": "must be 'continue' or 'next'"}]
        )
    _check_json(breakpoints=breakpoints)
    _, workflow = _run_and_workflow(run_id)
    with _prepare_lock:
        _refuse_if_busy(run_id)
        execution = _sync(
            prepare_paused_continue, workflow, engine(), run_id, mode == "next", breakpoints
        )
        _store(execution)
        audit.record(run_id, RunAction.RESUME, user, _now(), mode=mode)
    return _submit(workflow, execution)


def _record_resume(run_id: str, execution: Execution, label: str | None, user: Any) -> None:
    target = execution.resume
    if target is None:  # a paused run continuing
        audit.record(run_id, RunAction.RESUME, user, _now())
        return
    audit.record(
        run_id,
        RunAction.RESUME,
        user,
        _now(),
        step=path_key(target.path),
        label=label,
        for_each_index=target.for_each_index,
    )


def _audit(run_id: str, execution: Execution, label: str | None, user: Any) -> None:
    """Write the audit on the open task(s) of the resumed step, before the execution starts, so
    the storage closing them (on `step.resumed`) finds it there. A foreach resume without an
    item index answers every suspended item, hence every open task of the step."""
    target = execution.resume
    if target is None:
        return  # a paused run continuing: nobody was asked anything
    tasks = HumanTask.objects.filter(
        run_id=run_id, path=path_key(target.path), status=HumanTask.OPEN
    )
    if target.for_each_index is not None:
        tasks = tasks.filter(for_each_index=target.for_each_index)
    if label is not None and tasks.filter(label=label).exists():
        tasks = tasks.filter(label=label)
    who = audit.signed_in(user)
    tasks.update(resumed_by=who, resume_data=target.data)
    _record_resume(run_id, execution, label, user)


def cancel_run(run_id: str, *, user: Any = None) -> Run:
    """Cancel a run that has not ended: an executing one stops cooperatively (it ends canceled
    once its running steps return), a suspended, paused or interrupted one at once."""
    row, workflow = _run_and_workflow(run_id)
    if row.status in ENDED:
        raise InvalidRunStateError(
            f"Run {run_id!r} already ended ({row.status}); nothing to cancel"
        )
    with _prepare_lock:
        executing = engine().is_active(run_id)
        if not _sync(engine().cancel, workflow, run_id):
            raise InvalidRunStateError(f"Run {run_id!r} cannot be canceled in its state")
        audit.record(run_id, RunAction.CANCEL, user, _now())
    # An executing run is told to stop and ends canceled on its own thread, soon.
    return row if executing else get_run(run_id)


def restart_run(
    run_id: str,
    *,
    user: Any = None,
    breakpoints: Sequence[str] | None = None,
    per_step: bool | None = None,
) -> Run:
    """Re-run an interrupted run (left running by a stopped process) from its last snapshot;
    a run another live process executes is refused. The run keeps its breakpoints and
    per-step mode unless given."""
    _check_json(breakpoints=breakpoints)
    row, workflow = _run_and_workflow(run_id)
    with _prepare_lock:
        _refuse_if_busy(run_id)
        # This process knows what it executes (above); another live one is asked nothing.
        owner = row.executed_by
        elsewhere = owner is not None and owner != processes.identity().id
        if row.status in recovery.ACTIVE and elsewhere and owner in processes.alive([owner]):
            raise InvalidRunStateError(
                f"Run {run_id!r} is executing in {processes.describe(owner)}; it can be "
                "restarted once it stops or is interrupted"
            )
        execution = _sync(prepare_restart, workflow, engine(), run_id, breakpoints, per_step)
        _store(execution)
        audit.record(run_id, RunAction.RESTART, user, _now())
    return _submit(workflow, execution)


def wait_for(run_id: str, timeout: float = 10.0) -> Run:
    """Block until the run stops executing in this process; `TimeoutError` after `timeout`."""
    if not executor().wait(run_id, timeout):
        raise TimeoutError(f"Run {run_id!r} is still executing after {timeout} s")
    return get_run(run_id)


# -- time travel --------------------------------------------------------------------------------


# The last runs previewed, as loaded: a plan preview is asked again at every edit of the time
# travel form, and loading a long run's records is most of its cost. A run is loaded again
# when its stored seq moved on (a stopped run's records change only with new events).
_SOURCE_CACHE_SIZE = 8
_sources: dict[str, tuple[Any, RunSnapshot]] = {}
_sources_lock = threading.Lock()


def _source_of(run_id: str) -> RunSnapshot:
    """Run `run_id` as stored, from the cache while the stored row is the one it was loaded
    from (same seq, row number and times; read-only)."""
    stamp = (
        Run.objects.filter(pk=run_id).values_list("seq", "number", "created_at", "updated_at")
    ).first()
    with _sources_lock:
        found = _sources.get(run_id)
    if found is not None and stamp is not None and found[0] == stamp:
        return found[1]
    snap = _load(run_id)
    with _sources_lock:
        _sources.pop(run_id, None)
        _sources[run_id] = (stamp, snap)
        while len(_sources) > _SOURCE_CACHE_SIZE:
            _sources.pop(next(iter(_sources)))
    return snap


class _Fork:
    """A time travel prepared with every valid edit (writing nothing), and the problems of the
    others: input errors keep the input's field paths, output errors start with the step path,
    reuse errors have the path "reuse"."""

    def __init__(
        self,
        run_id: str,
        step: Any,
        input_data: Any,
        outputs: dict[str, Any] | None,
        reuse: Iterable[Any],
        breakpoints: Sequence[str] | None = None,
        per_step: bool = False,
    ) -> None:
        named = [reuse] if isinstance(reuse, str) else list(reuse or ())
        _check_json(
            step=step, input=input_data, outputs=outputs, reuse=named, breakpoints=breakpoints
        )
        self.breakpoints = breakpoints
        self.per_step = bool(per_step)
        _, self.workflow = _run_and_workflow(run_id)
        # What the caller sent, shown back by the preview even when it is refused.
        self.sent_input = input_data
        self.target = normalize_path(step)
        if not self.target:
            raise ValidationError("Invalid time travel:", [{"path": "step", "message": "required"}])
        require_step(self.workflow, self.target)
        self.source = _source_of(run_id)
        self.errors: list[dict[str, str]] = []
        if input_data is not None:
            try:
                validate_fork_input(self.workflow, self.target, input_data)
            except ValidationError as exc:
                self.errors.extend(exc.errors)
                input_data = None
        self.downstream = downstream_paths(self.workflow, self.target)
        self.reuse = [k for k in (path_key(normalize_path(r)) for r in named) if self._reusable(k)]
        self.run_id = run_id
        self.input_data = input_data
        self.execution = self._prepare(None)
        overrides, problems = compare.edited_outputs(
            self.workflow, self.source.steps, self.kept, outputs
        )
        self.errors.extend(problems)
        if overrides:
            self.execution = self._prepare(overrides)

    def _prepare(self, overrides: dict[str, Any] | None) -> Execution:
        async def prepare() -> Execution:
            return await prepare_time_travel(
                self.workflow,
                engine(),
                run_id=self.run_id,
                step=self.target,
                input_data=self.input_data,
                context=overrides,
                reuse=self.reuse,
                now=_now(),
                breakpoints=self.breakpoints,
                per_step=self.per_step,
                source=self.source,
            )

        return _sync(prepare)

    @property
    def kept(self) -> set[str]:
        """The steps whose recorded output the fork replays."""
        origin = self.execution.fork_origin
        return set(origin["reused_steps"]) if origin is not None else set()

    def _reusable(self, key: str) -> bool:
        rec = self.source.steps.get(key)
        if key not in self.downstream:
            problem = f"{key!r} does not come after {path_key(self.target)!r}"
        elif rec is None or rec.status != "success":
            problem = f"{key!r} has no successful record to reuse"
        else:
            return True
        self.errors.append({"path": "reuse", "message": problem})
        return False

    def plan(self) -> dict[str, Any]:
        """The preview of this fork."""
        snap = self.execution.snapshot
        plan = compare.fork_plan(
            self.workflow, self.source, snap, self.target, self.kept, self.downstream
        )
        if self.sent_input is not None:
            plan["input"] = self.sent_input
        return {**plan, "reuse": self.reuse, "errors": self.errors, "valid": not self.errors}


def preview_time_travel(
    run_id: str,
    step: Any,
    *,
    input_data: Any = None,
    outputs: dict[str, Any] | None = None,
    reuse: Iterable[Any] = (),
) -> dict[str, Any]:
    """What `time_travel` would do, without writing anything; problems of the edits come back
    in `errors` (an unknown run or step still raises, as does a run still executing)."""
    return _Fork(run_id, step, input_data, outputs, reuse).plan()


def time_travel(
    run_id: str,
    step: Any,
    *,
    input_data: Any = None,
    outputs: dict[str, Any] | None = None,
    reuse: Iterable[Any] = (),
    user: Any = None,
    breakpoints: Sequence[str] | None = None,
    per_step: bool = False,
) -> Run:
    """Re-execute a run from `step` as a new linked run (`parent_run_id`, `fork_step`), with an
    edited input for that step, edited outputs of earlier steps, downstream steps reused; the
    new run pauses at `breakpoints` (and after each step with `per_step`)."""
    with _prepare_lock:
        _refuse_if_busy(run_id)
        fork = _Fork(run_id, step, input_data, outputs, reuse, breakpoints, per_step)
        if fork.errors:
            raise ValidationError("Invalid time travel:", fork.errors)
        _store(fork.execution)
        audit.record(
            fork.execution.snapshot.run_id,
            RunAction.TIME_TRAVEL,
            user,
            _now(),
            source_run_id=run_id,
            step=path_key(fork.target),
        )
    return _submit(fork.workflow, fork.execution)


# -- compare, export, import --------------------------------------------------------------------


def compare_runs(run_id_a: str, run_id_b: str) -> dict[str, Any]:
    """Two runs of one workflow step by step, with the first step where they diverge."""
    row_a, row_b = get_run(run_id_a), get_run(run_id_b)
    if row_a.workflow_id != row_b.workflow_id:
        raise ValidationError(
            "Only runs of one workflow can be compared:",
            [
                {
                    "path": "b",
                    "message": f"run {run_id_b!r} is a run of {row_b.workflow_id!r}, "
                    f"run {run_id_a!r} of {row_a.workflow_id!r}",
                }
            ],
        )
    result = compare.compare(_load(run_id_a).to_dict(), _load(run_id_b).to_dict())
    return {"a": row_a.summary(), "b": row_b.summary(), **result}


def export_run(run_id: str) -> dict[str, Any]:
    """The run as a versioned JSON bundle: its row, events, snapshots, step records and tasks."""
    return bundles.export_bundle(get_run(run_id))


def export_run_stream(run_id: str) -> Iterator[bytes]:
    """`export_run` as JSON bytes, streamed (`RunNotFoundError` before the first byte)."""
    return bundles.export_stream(get_run(run_id))


def import_run(bundle: Any, *, new_id: bool = False, user: Any = None) -> Run:
    """Store a bundle's run: `BundleError` (400) lists bad fields; an existing run id is
    refused (`InvalidRunStateError`, 409) unless `new_id` asks for a fresh one. Runs-list
    watchers are told, as of any stored write."""
    json_input.check_document(bundle, depth_allowance=json_input.BUNDLE_DEPTH_ALLOWANCE)
    run = bundles.import_bundle(bundle, new_id=new_id)
    source = bundle.get("run", {}).get("run_id") if isinstance(bundle, dict) else None
    audit.record(
        run.run_id,
        RunAction.IMPORT,
        user,
        _now(),
        source_run_id=source if source != run.run_id else None,
    )
    broadcast.publish(run.run_id, [], run.summary())
    return run
