"""The drawable form of a workflow: flat nodes keyed by step path, and the edges between them.

`Workflow.graph()["nodes"]` and `["edges"]` come from here. A viewer draws them as they are:

- every step, map, sleep and nested workflow is a node keyed by its dotted step path (the key
  its events, step records and snapshots use); the steps of a nested workflow name it as their
  `parent` (a compound node);
- a parallel or branch block is a `fork` node, its arms, and a `join` node. Their keys hold a
  `#`, which no step id may contain, so they can never collide with a step path;
- a loop is one node (`block: "loop"`) with an edge to itself; a foreach is one node
  (`block: "foreach"`) whose items are recorded as `key[index]`.

Nodes come in the order the flow runs them, parents before their children.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from engines.core.graph import (
    BranchEntry,
    Entry,
    ForeachEntry,
    LoopEntry,
    ParallelEntry,
    SleepEntry,
    StepEntry,
    StepLike,
    callable_name,
)

if TYPE_CHECKING:
    from engines.core.workflow import Workflow

Node = dict[str, Any]
Edge = dict[str, Any]

_SCHEMAS = ("input_schema", "output_schema", "resume_schema", "suspend_schema", "state_schema")
_BLOCKS: dict[type, str | None] = {
    StepEntry: None,
    ParallelEntry: "parallel",
    BranchEntry: "branch",
    LoopEntry: "loop",
    ForeachEntry: "foreach",
}


def flat_graph(entries: Sequence[Entry]) -> tuple[list[Node], list[Edge]]:
    """The nodes and edges of a flow, nested workflows included (see the module docstring)."""
    walker = _Walker()
    walker.flow(entries, ())
    return walker.nodes, walker.edges


def _key(path: Sequence[str]) -> str:
    return ".".join(path)


class _Walker:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []

    def flow(self, entries: Sequence[Entry], prefix: tuple[str, ...]) -> None:
        """Walk one flow: each entry's nodes, linked to the exits of the entry before."""
        exits: list[str] = []
        for index, entry in enumerate(entries):
            entrances, after = self.entry(entry, index, prefix)
            for source in exits:
                for target in entrances:
                    self.edge(source, target)
            exits = after

    def entry(
        self, entry: Entry, index: int, prefix: tuple[str, ...]
    ) -> tuple[list[str], list[str]]:
        """Add an entry's nodes; its entrance and exit keys."""
        if isinstance(entry, SleepEntry):
            node = self.sleep(entry, index, prefix)
        elif isinstance(entry, (ParallelEntry, BranchEntry)):
            return self.fork_join(entry, index, prefix)
        else:
            node = self.step(entry.step, index, prefix, _BLOCKS[type(entry)])
        key: str = node["key"]
        if isinstance(entry, LoopEntry):
            node["loop_type"] = "dountil" if entry.until else "dowhile"
            node["condition"] = callable_name(entry.condition)
            self.edge(key, key, kind="repeat", condition=node["condition"])
        elif isinstance(entry, ForeachEntry):
            conc = entry.concurrency
            node["concurrency"] = conc if isinstance(conc, int) else callable_name(conc)
        return [key], [key]

    def fork_join(
        self, entry: ParallelEntry | BranchEntry, index: int, prefix: tuple[str, ...]
    ) -> tuple[list[str], list[str]]:
        block = "parallel" if isinstance(entry, ParallelEntry) else "branch"
        fork = self.marker(prefix, index, block, "fork")
        arms: list[tuple[Callable[..., Any] | None, StepLike]] = (
            list(entry.arms) if isinstance(entry, BranchEntry) else [(None, s) for s in entry.steps]
        )
        keys: list[str] = []
        for condition, arm in arms:
            node = self.step(arm, index, prefix, block)
            keys.append(node["key"])
            if condition is None:
                self.edge(fork, node["key"])
            else:
                node["condition"] = callable_name(condition)
                self.edge(fork, node["key"], condition=node["condition"])
        join = self.marker(prefix, index, block, "join")
        for key in keys:
            self.edge(key, join)
        return [fork], [join]

    def step(self, step: StepLike, index: int, prefix: tuple[str, ...], block: str | None) -> Node:
        """Add a step (a nested workflow with everything inside it); its node."""
        path = (*prefix, step.id)
        described = step.describe()
        node = self.add(path, step.kind, index, block, prefix)
        node["description"] = described.get("description")
        if "retries" in described:
            node["retries"] = described["retries"]
        for name in _SCHEMAS:
            node[name] = described.get(name)
        if step.kind == "workflow":
            self.flow(cast("Workflow", step).entries, path)
        return node

    def sleep(self, entry: SleepEntry, index: int, prefix: tuple[str, ...]) -> Node:
        kind = "sleep_until" if entry.until is not None else "sleep"
        node = self.add((*prefix, entry.id), kind, index, None, prefix)
        if entry.until is not None:
            until = entry.until
            node["until"] = (
                until.isoformat()
                if isinstance(until, datetime)
                else (until if isinstance(until, (int, float)) else callable_name(until))
            )
        else:
            secs = entry.seconds
            node["seconds"] = secs if isinstance(secs, (int, float)) else callable_name(secs)
        return node

    def marker(self, prefix: tuple[str, ...], index: int, block: str, kind: str) -> str:
        node = self.add((*prefix, f"#{index}-{kind}"), kind, index, block, prefix)
        return node["key"]  # type: ignore[no-any-return]

    def add(
        self,
        path: tuple[str, ...],
        kind: str,
        index: int,
        block: str | None,
        prefix: tuple[str, ...],
    ) -> Node:
        node: Node = {
            "key": _key(path),
            "path": list(path),
            "id": path[-1],
            "kind": kind,
            "parent": _key(prefix) or None,
            "entry": index,
            "block": block,
        }
        self.nodes.append(node)
        return node

    def edge(self, source: str, target: str, **extra: Any) -> None:
        self.edges.append({"source": source, "target": target, **extra})
