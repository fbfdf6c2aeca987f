"""`Workflow`: the fluent builder, its serializable graph, and a workflow used as a step."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engines.core.drawing import flat_graph
from engines.core.errors import DefinitionError
from engines.core.graph import (
    BranchEntry,
    Entry,
    ForeachEntry,
    LoopEntry,
    ParallelEntry,
    SleepEntry,
    StepEntry,
    StepLike,
    describe_entry,
    entry_ids,
)
from engines.core.mapping import (
    Compute,
    Const,
    FromContext,
    FromInit,
    FromStep,
    MapSource,
    describe_source,
)
from engines.core.schema import Schema, as_schema
from engines.core.step import Step, check_id

if TYPE_CHECKING:
    from engines.core.engine import Engine
    from engines.core.run import Run


class MapStep(Step):
    """The step `.map()` adds: it builds its output from the configured sources."""

    kind = "map"

    def __init__(self, id: str, sources: Mapping[str, MapSource] | Callable[..., Any]) -> None:
        self.sources = sources
        super().__init__(id, _never_called)

    def describe(self) -> dict[str, Any]:
        node = super().describe()
        if callable(self.sources):
            node["mapping"] = {"source": "fn", "name": getattr(self.sources, "__name__", "fn")}
        else:
            node["mapping"] = {k: describe_source(v) for k, v in self.sources.items()}
        return node

    def clone(self, id: str) -> MapStep:
        return MapStep(id, self.sources)


def _never_called(ctx: Any) -> Any:  # pragma: no cover - map steps are run by the engine
    raise AssertionError("map steps are evaluated by the engine")


def _is_steplike(value: Any) -> bool:
    return isinstance(value, (Step, Workflow))


class Workflow:
    """A graph of steps built with `then`, `parallel`, `branch`, loops, `foreach`, `map`, `sleep`.

    Call `commit()` when done; a committed workflow can itself be used as a step.
    """

    kind = "workflow"

    def __init__(
        self,
        id: str,
        input_schema: Any = None,
        output_schema: Any = None,
        state_schema: Any = None,
        retries: int = 0,
        retry_delay: float = 0.0,
        description: str | None = None,
        on_finish: Callable[..., Any] | None = None,
        on_error: Callable[..., Any] | None = None,
    ) -> None:
        self.id = check_id(id, "Workflow")
        if not isinstance(retries, int) or retries < 0:
            raise DefinitionError(f"Workflow {id!r}: retries must be a whole number >= 0")
        if retry_delay < 0:
            raise DefinitionError(f"Workflow {id!r}: retry_delay must be >= 0")
        self.input_schema: Schema | None = as_schema(input_schema)
        self.output_schema: Schema | None = as_schema(output_schema)
        self.state_schema: Schema | None = as_schema(state_schema)
        self.resume_schema: Schema | None = None
        self.suspend_schema: Schema | None = None
        self.retries = retries
        self.retry_delay = float(retry_delay)
        self.description = description
        self.on_finish = on_finish
        self.on_error = on_error
        self._entries: list[Entry] = []
        self._committed: tuple[Entry, ...] | None = None
        self.steps: dict[str, StepLike] = {}
        self._graph: dict[str, Any] | None = None
        self._hash: str | None = None

    def __repr__(self) -> str:
        return f"<Workflow {self.id!r}>"

    # -- building -----------------------------------------------------------------------------

    def _add(self, entry: Entry, steps: Sequence[StepLike]) -> Workflow:
        for s in steps:
            if not _is_steplike(s):
                raise DefinitionError(f"Workflow {self.id!r}: {s!r} is not a step or a workflow")
            if s is self:
                raise DefinitionError(f"Workflow {self.id!r} cannot contain itself")
        ids = entry_ids(entry)
        seen: set[str] = set()
        for sid in ids:
            if sid in self.steps or sid in seen:
                raise DefinitionError(
                    f"Workflow {self.id!r}: step id {sid!r} is used twice; "
                    f"use .clone(id=...) to add the same step again under another id"
                )
            seen.add(sid)
        for s in steps:
            self.steps[s.id] = s
        self._entries.append(entry)
        self._graph = None
        self._hash = None
        return self

    def then(self, step: StepLike) -> Workflow:
        """Run `step` on the previous entry's output."""
        return self._add(StepEntry(step), [step])

    def parallel(self, steps: Sequence[StepLike]) -> Workflow:
        """Run all `steps` at once; the next entry receives `{step_id: output}`."""
        steps = list(steps)
        if not steps:
            raise DefinitionError(f"Workflow {self.id!r}: parallel() needs at least one step")
        return self._add(ParallelEntry(tuple(steps)), steps)

    def branch(self, arms: Sequence[tuple[Callable[..., Any], StepLike]]) -> Workflow:
        """Run every arm whose condition holds; the next entry receives `{step_id: output}`."""
        pairs: list[tuple[Callable[..., Any], StepLike]] = []
        for arm in arms:
            if not isinstance(arm, (tuple, list)) or len(arm) != 2 or not callable(arm[0]):
                raise DefinitionError(
                    f"Workflow {self.id!r}: each branch arm is a (condition, step) pair"
                )
            pairs.append((arm[0], arm[1]))
        if not pairs:
            raise DefinitionError(f"Workflow {self.id!r}: branch() needs at least one arm")
        return self._add(BranchEntry(tuple(pairs)), [s for _, s in pairs])

    def dowhile(self, step: StepLike, condition: Callable[..., Any]) -> Workflow:
        """Run `step` and repeat while `condition` holds on its output."""
        return self._loop(step, condition, until=False)

    def dountil(self, step: StepLike, condition: Callable[..., Any]) -> Workflow:
        """Run `step` and repeat until `condition` holds on its output."""
        return self._loop(step, condition, until=True)

    def _loop(self, step: StepLike, condition: Callable[..., Any], until: bool) -> Workflow:
        if not callable(condition):
            raise DefinitionError(f"Workflow {self.id!r}: a loop condition must be callable")
        return self._add(LoopEntry(step, condition, until), [step])

    def foreach(self, step: StepLike, concurrency: int | Callable[..., Any] = 1) -> Workflow:
        """Run `step` for each item of the input list, `concurrency` at a time."""
        if not callable(concurrency) and (not isinstance(concurrency, int) or concurrency < 1):
            raise DefinitionError(f"Workflow {self.id!r}: concurrency must be an int >= 1")
        return self._add(ForeachEntry(step, concurrency), [step])

    def map(
        self,
        mapping: Mapping[str, MapSource] | Callable[..., Any],
        id: str | None = None,
    ) -> Workflow:
        """Build the next input from sources (see `engines.mapping`) or a function."""
        map_id = id or self._next_id("mapping")
        if callable(mapping):
            sources: Mapping[str, MapSource] | Callable[..., Any] = mapping
        elif isinstance(mapping, Mapping):
            for key, src in mapping.items():
                self._check_source(map_id, key, src)
            sources = dict(mapping)
        else:
            raise DefinitionError(
                f"Workflow {self.id!r}: map() takes a dict of sources or a function"
            )
        step = MapStep(map_id, sources)
        return self._add(StepEntry(step), [step])

    def sleep(self, seconds: float | Callable[..., Any], id: str | None = None) -> Workflow:
        """Wait `seconds` (or what `seconds(ctx)` returns), passing the input through."""
        if not callable(seconds) and not isinstance(seconds, (int, float)):
            raise DefinitionError(f"Workflow {self.id!r}: sleep() takes seconds or a function")
        sid = check_id(id, "Sleep") if id else self._next_id("sleep")
        return self._add(SleepEntry(sid, seconds=seconds), [])

    def sleep_until(
        self, moment: datetime | float | Callable[..., Any], id: str | None = None
    ) -> Workflow:
        """Wait until `moment` (a datetime, a timestamp, or a function returning one)."""
        if not callable(moment) and not isinstance(moment, (datetime, int, float)):
            raise DefinitionError(
                f"Workflow {self.id!r}: sleep_until() takes a datetime, a timestamp or a function"
            )
        sid = check_id(id, "Sleep") if id else self._next_id("sleep")
        return self._add(SleepEntry(sid, until=moment), [])

    def _next_id(self, prefix: str) -> str:
        n = 0
        while f"{prefix}_{n}" in self.steps or any(
            f"{prefix}_{n}" in entry_ids(e) for e in self._entries
        ):
            n += 1
        return f"{prefix}_{n}"

    def _check_source(self, map_id: str, key: str, src: Any) -> None:
        where = f"Workflow {self.id!r}, map {map_id!r}, key {key!r}"
        if isinstance(src, FromStep):
            for sid in src.steps:
                if sid not in self.steps:
                    raise DefinitionError(
                        f"{where}: step {sid!r} is not in the workflow before this map "
                        f"(known: {', '.join(self.steps) or 'none'})"
                    )
            if len(src.steps) == 1:
                _check_path(self.steps[src.steps[0]].output_schema, src.path, where)
        elif isinstance(src, FromInit):
            _check_path(self.input_schema, src.path, where)
        elif isinstance(src, Compute):
            if not callable(src.fn):
                raise DefinitionError(f"{where}: compute() needs a function")
        elif not isinstance(src, (FromContext, Const)):
            raise DefinitionError(
                f"{where}: {src!r} is not a map source; use from_step, from_init, "
                "from_context, const or compute"
            )

    def commit(self) -> Workflow:
        """Freeze the flow so it can run; check every nested workflow is committed too."""
        for s in self.steps.values():
            if isinstance(s, Workflow):
                s.require_runnable()
        self._committed = tuple(self._entries)
        self._graph = None
        self._hash = None
        return self

    @property
    def committed(self) -> bool:
        """True when every builder call has been committed."""
        return self._committed is not None and len(self._committed) == len(self._entries)

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The committed flow."""
        self.require_runnable()
        assert self._committed is not None
        return self._committed

    def require_runnable(self) -> None:
        """Raise `DefinitionError` unless the workflow has a committed, non-empty flow."""
        if not self._entries:
            raise DefinitionError(
                f"Execution flow of workflow {self.id!r} is not defined. "
                "Add steps to the workflow via .then(), .branch(), etc."
            )
        if not self.committed:
            raise DefinitionError(
                f"Uncommitted step flow changes detected in workflow {self.id!r}. "
                "Call .commit() to register the steps."
            )

    def clone(self, id: str) -> Workflow:
        """The same flow under another id (committed if this one is)."""
        other = Workflow(
            id,
            input_schema=self.input_schema,
            output_schema=self.output_schema,
            state_schema=self.state_schema,
            retries=self.retries,
            retry_delay=self.retry_delay,
            description=self.description,
            on_finish=self.on_finish,
            on_error=self.on_error,
        )
        other._entries = list(self._entries)
        other.steps = dict(self.steps)
        if self.committed:
            other._committed = tuple(other._entries)
        return other

    # -- description -------------------------------------------------------------------------

    def graph(self) -> dict[str, Any]:
        """A JSON-ready description: nested entries, JSON Schemas, and the flat path-keyed nodes
        and edges a viewer draws as they are (`engines.core.drawing`)."""
        if self._graph is None:
            entries = [describe_entry(e) for e in self.entries]
            nodes, edges = flat_graph(self.entries)
            self._graph = {
                "id": self.id,
                "description": self.description,
                "input_schema": _schema_json(self.input_schema),
                "output_schema": _schema_json(self.output_schema),
                "state_schema": _schema_json(self.state_schema),
                "retries": self.retries,
                "retry_delay": self.retry_delay,
                "entries": entries,
                "nodes": nodes,
                "edges": edges,
            }
        return self._graph

    @property
    def definition_hash(self) -> str:
        """A hash of the graph: it changes when the definition changes."""
        if self._hash is None:
            canonical = json.dumps(self.graph(), sort_keys=True, default=str)
            self._hash = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        return self._hash

    def describe(self) -> dict[str, Any]:
        """The workflow as a node of an enclosing graph."""
        return {
            "id": self.id,
            "kind": "workflow",
            "description": self.description,
            "input_schema": _schema_json(self.input_schema),
            "output_schema": _schema_json(self.output_schema),
            "state_schema": _schema_json(self.state_schema),
            "graph": self.graph(),
        }

    def find_step(self, path: Sequence[str]) -> StepLike | None:
        """The step at a path of ids (descending into nested workflows)."""
        current: Workflow = self
        found: StepLike | None = None
        for i, sid in enumerate(path):
            found = current.steps.get(sid)
            if found is None:
                return None
            if i < len(path) - 1:
                if not isinstance(found, Workflow):
                    return None
                current = found
        return found

    # -- running -----------------------------------------------------------------------------

    def create_run(
        self,
        engine: Engine | None = None,
        run_id: str | None = None,
        resource_id: str | None = None,
    ) -> Run:
        """A handle to one run of this workflow (nothing is stored until it starts)."""
        from engines.core.run import Run

        self.require_runnable()
        return Run(self, engine=engine, run_id=run_id, resource_id=resource_id)


def _schema_json(schema: Schema | None) -> dict[str, Any] | None:
    return schema.json_schema() if schema is not None else None


def _check_path(schema: Schema | None, path: str, where: str) -> None:
    if schema is None or path in ("", "."):
        return
    current: Schema | None = schema
    for part in path.split("."):
        if current is None:
            return
        names = current.field_names()
        if names is None:
            return
        if part not in names:
            raise DefinitionError(
                f"{where}: path {path!r} cannot exist: {part!r} is not one of "
                f"{', '.join(sorted(names))}"
            )
        current = current.field_schema(part)
