"""Time travel: build the snapshot of a run that re-executes from a chosen step.

The new snapshot keeps every record before the target (as recorded, or as `context` overrides
them), marks the target to run again with its (edited) input, and drops everything downstream
except the steps in `reuse`, whose recorded outputs are replayed. The source run is only read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from engines.core import events as ev
from engines.core import payloads
from engines.core.breakpoints import check_breakpoints
from engines.core.engine import Execution, ExecutionMode, ResumeTarget
from engines.core.errors import InvalidRunStateError, ValidationError, WorkflowError
from engines.core.events import Event
from engines.core.graph import (
    BranchEntry,
    Entry,
    ForeachEntry,
    LoopEntry,
    ParallelEntry,
    StepEntry,
    StepLike,
    entry_ids,
)
from engines.core.prepare import normalize_path, require_step
from engines.core.results import StepResult
from engines.core.schema import copy_json, validate_json
from engines.core.snapshot import RunSnapshot, path_key
from engines.core.workflow import Workflow

if TYPE_CHECKING:
    from engines.core.engine import Engine


def _record(value: Any, where: str) -> StepResult:
    if isinstance(value, StepResult):
        return value
    if not isinstance(value, dict):
        raise WorkflowError(f"context[{where!r}] must be a step record dict, got {value!r}")
    data = {"status": "success", **value}
    if data["status"] not in ("success", "skipped", "suspended", "failed"):
        raise WorkflowError(f"context[{where!r}] has an unusable status {data['status']!r}")
    return StepResult.from_dict(data)


def entry_output(entry: Entry, prefix: tuple[str, ...], records: dict[str, StepResult]) -> Any:
    """What an entry handed to the next one, read from its records."""
    if isinstance(entry, (ParallelEntry, BranchEntry)):
        out = {}
        for sid in entry_ids(entry):
            rec = records.get(path_key((*prefix, sid)))
            if rec is not None and rec.status == "success":
                out[sid] = rec.output
        return out
    rec = records.get(path_key((*prefix, entry_ids(entry)[0])))
    return rec.output if rec is not None else None


class _ForkBuilder:
    def __init__(
        self,
        source: dict[str, StepResult],
        overrides: dict[str, StepResult],
        reuse: set[str],
        input_data: Any,
        has_input: bool,
        resuming: bool = False,
    ) -> None:
        self.source = source
        self.resuming = resuming
        self.overrides = overrides
        self.reuse = reuse
        self.input_data = input_data
        self.has_input = has_input
        self.out: dict[str, StepResult] = {}
        self.kept: list[str] = []
        # Items of a foreach target that the fork keeps (their state changes carry over).
        self.kept_items: list[StepResult] = []
        # Nested records by each enclosing path, so copying a subtree is a lookup, not a scan.
        self._nested: dict[str, list[str]] = {}
        for k in source:
            parts = k.split(".")
            for end in range(1, len(parts)):
                self._nested.setdefault(".".join(parts[:end]), []).append(k)

    def _copy_subtree(self, key: str) -> None:
        """Copy a record and its nested records: from the source, then the overrides."""
        source = self.source
        if key in source:
            self.out[key] = source[key]
        for k in self._nested.get(key, ()):
            self.out[k] = source[k]
        if self.overrides:
            prefix = key + "."
            for k, rec in self.overrides.items():
                if k == key or k.startswith(prefix):
                    self.out[k] = rec

    def walk(
        self,
        flow: Workflow,
        prefix: tuple[str, ...],
        target: tuple[str, ...],
        flow_input: Any,
        strict: bool,
    ) -> None:
        found = False
        previous: Entry | None = None
        for entry in flow.entries:
            ids = entry_ids(entry)
            if found:
                for sid in ids:
                    key = path_key((*prefix, sid))
                    if sid in self.reuse or key in self.reuse:
                        rec = self.overrides.get(key) or self.source.get(key)
                        if rec is None or rec.status != "success":
                            raise WorkflowError(
                                f"Cannot reuse step {key!r}: it has no successful record"
                            )
                        self._copy_subtree(key)
                        self.kept.append(key)
                continue
            if target[0] not in ids:
                for sid in ids:
                    self._copy_subtree(path_key((*prefix, sid)))
                if strict:
                    self._require_recorded(entry, prefix, target)
                previous = entry
                continue
            found = True
            prev_output = (
                entry_output(previous, prefix, self.out) if previous is not None else flow_input
            )
            for sid in ids:
                key = path_key((*prefix, sid))
                if sid != target[0]:
                    if isinstance(entry, ParallelEntry):
                        self._copy_subtree(key)  # siblings keep their recorded results
                    continue  # branch arms not targeted are not taken
                self._target(entry, flow, prefix, sid, key, target, prev_output)

    def _target(
        self,
        entry: Entry,
        flow: Workflow,
        prefix: tuple[str, ...],
        sid: str,
        key: str,
        target: tuple[str, ...],
        prev_output: Any,
    ) -> None:
        recorded = self.overrides.get(key) or self.source.get(key)
        step = flow.steps.get(sid)
        if len(target) > 1:
            if not isinstance(step, Workflow):
                raise WorkflowError(f"{key!r} is not a nested workflow")
            payload = recorded.payload if recorded is not None else prev_output
            # No start time: the enclosing workflow starts when the fork reaches it.
            self.out[key] = StepResult("running", payload=payload)
            self.walk(step, (*prefix, sid), target[1:], payload, strict=False)
            return
        payload = self.input_data if self.has_input else prev_output
        if self.resuming and recorded is not None and recorded.status == "suspended":
            # Resume data resumes the suspended target; without it, the target runs again.
            self.out[key] = recorded.evolve(payload=payload)
        elif isinstance(entry, ForeachEntry) and not self.has_input:
            self.out[key] = self._foreach_target(key, recorded, payload)
        else:
            self.out[key] = StepResult("running", payload=payload)
        if isinstance(entry, LoopEntry):
            self.out[key] = self.out[key].evolve(iteration=1)

    def _foreach_target(self, key: str, recorded: StepResult | None, payload: Any) -> StepResult:
        """A foreach target run again over the same items keeps the items that succeeded:
        only the failed and unfinished ones run (with new input, every item runs)."""
        if recorded is None or recorded.items is None or recorded.payload != payload:
            return StepResult("running", payload=payload)
        items = tuple(
            i if i is not None and i.status == "success" else None for i in recorded.items
        )
        for index, item in enumerate(items):
            if item is None:
                continue
            self.kept_items.append(item)
            for k in self._nested.get(f"{key}[{index}]", ()):
                self.out[k] = self.source[k]  # the inner records of a kept nested item
        return StepResult("running", payload=payload, items=items)

    def _require_recorded(
        self, entry: Entry, prefix: tuple[str, ...], target: tuple[str, ...]
    ) -> None:
        if not isinstance(entry, (StepEntry, ParallelEntry, BranchEntry)):
            return  # loops, foreach and sleeps may be missing: they run again
        keys = [path_key((*prefix, sid)) for sid in entry_ids(entry)]
        done = [
            k
            for k in keys
            if (r := self.out.get(k)) is not None and r.status in ("success", "skipped")
        ]
        missing = (
            [] if isinstance(entry, BranchEntry) and done else [k for k in keys if k not in done]
        )
        if missing:
            raise WorkflowError(
                f"Cannot time travel to step {'.'.join(target)!r}: step(s) "
                f"{', '.join(repr(m) for m in missing)} precede it but have no successful "
                "record; pass their outputs in context={...}"
            )


def validate_fork_input(workflow: Workflow, target: tuple[str, ...], value: Any) -> Any:
    """A time-travel input for the step at `target`, validated (JSON with defaults applied).

    A foreach step's input is the list of its items, each checked against the step's schema
    (error paths start with the item index).
    """
    step = require_step(workflow, target)
    flow = workflow.find_step(target[:-1]) if len(target) > 1 else workflow
    entries = flow.entries if isinstance(flow, Workflow) else ()
    entry = next((e for e in entries if target[-1] in entry_ids(e)), None)
    if not isinstance(entry, ForeachEntry):
        return validate_json(step.input_schema, value, "time travel input")
    if not isinstance(value, list):
        raise ValidationError(
            "Invalid time travel input:",
            [{"path": "", "message": f"foreach step {target[-1]!r} takes a list of items"}],
        )
    items: list[Any] = []
    errors: list[dict[str, str]] = []
    for index, item in enumerate(value):
        try:
            items.append(validate_json(step.input_schema, item, "time travel input"))
        except ValidationError as exc:
            errors.extend(
                {"path": ".".join(p for p in (str(index), e["path"]) if p), "message": e["message"]}
                for e in exc.errors
            )
    if errors:
        raise ValidationError("Invalid time travel input:", errors)
    return items


def state_at(events: Iterable[Event], target_key: str, initial: dict[str, Any]) -> dict[str, Any]:
    """The run's state just before the step at `target_key` first started, rebuilt from its
    event log: `initial`, then every recorded change (step ends, foreach items) in order."""
    state = dict(initial)
    for event in events:
        kind = event.type
        if kind in _START_EVENTS and ".".join(event.path) == target_key:
            break
        delta = event.payload.get("state_delta")
        if delta:
            state.update(delta)
    return state


_START_EVENTS = frozenset({ev.STEP_STARTED, ev.STEP_RESUMED, ev.STEP_WAITING})


def _changed_state(steps: Mapping[str, StepResult]) -> bool:
    """False when no step of the run can have changed its state: no record holds a change and
    no loop ran twice (a loop keeps only its last iteration's records). Then the run's state
    at any point is its initial state, and the event log need not be read."""
    for rec in steps.values():
        if rec.state_delta or (rec.iteration is not None and rec.iteration > 1):
            return True
        if rec.items is not None and any(i is not None and i.state_delta for i in rec.items):
            return True
    return False


def _answered_step(
    workflow: Workflow, source: RunSnapshot | None, target: tuple[str, ...]
) -> tuple[str, ...] | None:
    """The step suspended in the source run after `target` that time-travel resume data
    answers when the re-execution reaches it (None: there is none). Steps of foreach items
    are not answered this way: time-travel to the foreach instead."""
    if source is None:
        return None
    later = set(downstream_paths(workflow, target))
    suspended = [k for k, r in source.steps.items() if r.status == "suspended"]
    found: list[tuple[str, ...]] = []
    for key in suspended:
        rec = source.steps[key]
        if rec.items is not None or "[" in key or any(k.startswith(key + ".") for k in suspended):
            continue  # a foreach, a foreach item's step, or a workflow enclosing the step
        path = tuple(key.split("."))
        if any(".".join(path[:n]) in later for n in range(1, len(path) + 1)):
            found.append(path)
    if len(found) > 1:
        shown = ", ".join("[" + ", ".join(p) + "]" for p in found)
        raise WorkflowError(
            f"Multiple suspended steps follow {'.'.join(target)!r}: {shown}; time-travel to "
            "the one to answer"
        )
    return found[0] if found else None


async def prepare_time_travel(
    workflow: Workflow,
    engine: Engine,
    *,
    run_id: str,
    step: Any,
    input_data: Any = None,
    context: dict[str, Any] | None = None,
    nested_context: dict[str, Any] | None = None,
    resume_data: Any = None,
    initial_state: Any = None,
    per_step: bool = False,
    reuse: Iterable[Any] | None = None,
    now: float | None = None,
    breakpoints: Sequence[str] | None = None,
    source: RunSnapshot | None = None,
) -> Execution:
    """The execution of a time travel of run `run_id` to `step`, validated, writing nothing.

    On a run with history it is a new run (`parent_run_id`, `fork_step`) whose records keep
    what precedes `step` (or the `context` overrides of it) and the `reuse`d steps after it;
    its state is the source's state just before `step` first ran (or `initial_state`).
    `resume_data` resumes `step` when it was suspended, or else answers the step suspended
    after it when the re-execution reaches that step. `now` defaults to the engine's clock.
    `source` is run `run_id`'s snapshot when the caller loaded it already (it is only read).
    """
    target = normalize_path(step)
    if not target:
        raise WorkflowError("time_travel needs the step to re-execute from")
    require_step(workflow, target)
    points = check_breakpoints(workflow, breakpoints)
    if source is None or source.run_id != run_id:
        source = await engine.storage.load(run_id)
    if source is not None:
        if source.workflow_id != workflow.id:
            raise WorkflowError(f"Run {run_id!r} belongs to workflow {source.workflow_id!r}")
        if engine.is_active(run_id) or source.status in ("running", "waiting"):
            raise InvalidRunStateError(
                f"Run {run_id!r} is still running; time travel needs a run that has stopped"
            )
    has_input = input_data is not None
    if has_input:
        input_data = validate_fork_input(workflow, target, input_data)
    state_override = None
    if initial_state is not None:
        state_override = validate_json(workflow.state_schema, initial_state, "initial state")
    overrides = {k: _record(v, k) for k, v in (context or {}).items()}
    for wf_id, inner in (nested_context or {}).items():
        for sid, value in (inner or {}).items():
            overrides[f"{wf_id}.{sid}"] = _record(value, f"{wf_id}.{sid}")
    reuse_ids = {".".join(normalize_path(r)) for r in (reuse or [])}
    has_history = source is not None and source.has_history
    base = source.steps if source is not None else {}
    resuming = resume_data is not None
    builder = _ForkBuilder(base, overrides, reuse_ids, input_data, has_input, resuming)
    builder.walk(workflow, (), target, source.input if source is not None else None, strict=True)
    target_key = path_key(target)
    # Everything but the target and the nested workflows that enclose it was kept as recorded.
    kept = [k for k in builder.out if k != target_key and not target_key.startswith(k + ".")]
    resume = _fork_resume(workflow, source, builder.out.get(target_key), target, resume_data)
    if state_override is not None:
        state = dict(state_override)
    else:
        initial = source.initial_state if source is not None else {}
        changed = source is not None and _changed_state(source.steps)
        events = await engine.storage.read_events(run_id) if changed else []
        state = state_at(events, target_key, initial)
        # Records the fork replays without running them bring their changes along.
        replayed = [builder.out[k] for k in builder.kept] + list(overrides.values())
        for rec in [*replayed, *builder.kept_items]:
            if rec.state_delta:
                state.update(rec.state_delta)
    if now is None:
        now = engine.clock()
    new_id = uuid.uuid4().hex if has_history else run_id
    snap = RunSnapshot(
        run_id=new_id,
        workflow_id=workflow.id,
        status="running",
        input=copy_json(source.input) if source is not None else None,
        initial_state=dict(state),
        state=state,
        context=dict(source.context) if source is not None else {},
        steps=builder.out,
        graph=workflow.graph(),
        definition_hash=workflow.definition_hash,
        resource_id=source.resource_id if source is not None else None,
        parent_run_id=run_id if has_history else None,
        fork_step=target_key if has_history else None,
        created_at=now,
        started_at=now,
        seq=0 if has_history or source is None else source.seq,
        breakpoints=points,
        per_step=per_step,
    )
    origin = payloads.fork_origin(
        snap.parent_run_id,
        target_key,
        snap.input,
        dict(state),
        kept,
        {k: v.to_dict() for k, v in overrides.items()},
    )
    return Execution(
        snap, ExecutionMode.TIME_TRAVEL, resume=resume, per_step=per_step, fork_origin=origin
    )


def _fork_resume(
    workflow: Workflow,
    source: RunSnapshot | None,
    recorded_target: StepResult | None,
    target: tuple[str, ...],
    resume_data: Any,
) -> ResumeTarget | None:
    if resume_data is None:
        return None
    if recorded_target is not None and recorded_target.status == "suspended":
        schema = getattr(require_step(workflow, target), "resume_schema", None)
        return ResumeTarget(target, validate_json(schema, resume_data, "resume data"))
    answered = _answered_step(workflow, source, target)
    if answered is None:
        raise InvalidRunStateError(
            f"resume_data applies to a suspended step; {path_key(target)!r} was not suspended"
        )
    schema = getattr(require_step(workflow, answered), "resume_schema", None)
    data = validate_json(schema, resume_data, "resume data")
    return ResumeTarget(answered, data, downstream=True)


def downstream_paths(workflow: Workflow, target: tuple[str, ...]) -> list[str]:
    """The steps after `target` in its flow and in each flow enclosing it, in flow order
    (innermost first): the steps a time travel to `target` may `reuse`."""
    out: list[str] = []
    flow: StepLike | None = workflow
    for depth, sid in enumerate(target):
        if not isinstance(flow, Workflow):
            break
        entries = flow.entries
        index = next((i for i, e in enumerate(entries) if sid in entry_ids(e)), None)
        if index is None:
            break
        prefix = target[:depth]
        later = [path_key((*prefix, x)) for e in entries[index + 1 :] for x in entry_ids(e)]
        out[:0] = later
        flow = flow.steps.get(sid)
    return out
