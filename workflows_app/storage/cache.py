"""What a storage remembers between two saves of a run, so the next save writes only changes."""

from __future__ import annotations

import itertools
from typing import Any

from engines.core.results import StepResult
from engines.core.snapshot import RunSnapshot
from workflows_app.models import WorkflowGraph
from workflows_app.snapshots import dumps

LEVEL_BASE = 256
"""A write whose seq passes a multiple of `LEVEL_BASE ** L` is a snapshot row of level L: it
also holds every record changed since the previous row of level L or more. Rebuilding the run
at a seq then folds at most `LEVEL_BASE - 1` rows per level after the last full row.

Each level stores every record once more (the latest version per window), so few levels keep a
step's bytes low: runs below `LEVEL_BASE ** 2` events (about 30,000 steps) have level 1 only.
Read at call time, so a test may lower it."""

LEVELS = 4  # LEVEL_BASE ** 4 = 2 ** 32, the last seq a run can have


def level_of(previous_seq: int, seq: int) -> int:
    """The level of a write that moves a run from `previous_seq` to `seq`: the highest L for
    which it passes a multiple of `LEVEL_BASE ** L` (0: none)."""
    base = LEVEL_BASE
    level, span = 0, base
    while level < LEVELS and previous_seq // span < seq // span:
        level += 1
        span *= base
    return level


class GraphMemo:
    """The storage key and JSON of each workflow graph seen lately, by definition hash.

    Runs of one workflow share its graph object, so a graph is encoded (and hashed) once per
    process rather than at every run's first save.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._held: dict[str, tuple[object, str, str]] = {}

    def key_and_text(self, snapshot: RunSnapshot) -> tuple[str | None, str]:
        """The graph's key (None for an empty graph) and JSON text."""
        graph = snapshot.graph
        if not graph:
            return None, "{}"
        held = self._held.get(snapshot.definition_hash)
        if held is not None and held[0] is graph:
            return held[1], held[2]
        text = dumps(graph)
        key = WorkflowGraph.key_of(text)
        self._held.pop(snapshot.definition_hash, None)
        self._held[snapshot.definition_hash] = (graph, key, text)
        if len(self._held) > self.size:
            del self._held[next(iter(self._held))]
        return key, text


_versions = itertools.count(1)


def next_version() -> int:
    """A version no write of this process has used (`RunCache.version`)."""
    return next(_versions)


class RunCache:
    """What a storage wrote for one run, so the next save of the same working snapshot writes
    only what changed. Its `version` is the `synced_version` of records in step with it."""

    __slots__ = ("attempts", "base", "cold", "counts", "graph_hash", "level_keys",
                 "level_removed", "next_position", "number", "positions", "run_values", "seq",
                 "statuses", "texts", "version")  # fmt: skip

    def __init__(self) -> None:
        # Names the stored state this cache describes (`StepRecords.synced_version`).
        self.version = next_version()
        self.positions: dict[str, int] = {}
        self.next_position = 0
        self.statuses: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        # The attempt of each step's current row (running records say attempts=0).
        self.attempts: dict[str, int] = {}
        # Each record's `"key":{...}` JSON, with the record object it encodes.
        self.texts: dict[str, tuple[StepResult, str]] = {}
        self.graph_hash: str | None = None
        # The run row's columns as last written (a save sets only those that changed).
        self.run_values: dict[str, Any] = {}
        self.number: int | None = None  # the run's number (`Run.number`), once known
        self.seq = 0  # the seq of the last snapshot row written
        self.base = 0  # the seq of the last full snapshot row
        self.cold = ""  # the head fields outside `HOT_HEAD`, as last written
        # Per level L (index L - 1): the keys changed, and removed, since the last row of
        # level L or more; in insertion order.
        self.level_keys: list[dict[str, None]] = [{} for _ in range(LEVELS)]
        self.level_removed: list[set[str]] = [set() for _ in range(LEVELS)]

    def forget(self, key: str) -> None:
        """The record at `key` was removed from the snapshot."""
        self.positions.pop(key, None)
        self.attempts.pop(key, None)
        self.texts.pop(key, None)
        status = self.statuses.pop(key, None)
        if status is not None:
            self._count(status, -1)

    def place(self, key: str) -> int:
        """The key's position among the records (a new key goes last)."""
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = self.next_position
            self.next_position += 1
        return position

    def set_status(self, key: str, status: str) -> None:
        old = self.statuses.get(key)
        if old != status:
            if old is not None:
                self._count(old, -1)
            self.statuses[key] = status
            self._count(status, 1)

    def _count(self, status: str, change: int) -> None:
        value = self.counts.get(status, 0) + change
        if value:
            self.counts[status] = value
        else:
            self.counts.pop(status, None)

    def note_changes(self, changed: list[str], removed: list[str]) -> None:
        """Remember a delta write's changes for the level rows to come."""
        for index in range(LEVELS):
            keys = self.level_keys[index]
            for key in changed:
                keys[key] = None
            if removed:
                self.level_removed[index].update(removed)

    def take_level(self, level: int) -> tuple[list[str], list[str]]:
        """The keys changed and removed since the last row of `level` or more, in snapshot
        order; forgets them for every level up to `level` (a row of that level is written)."""
        keys = self.level_keys[level - 1]
        removed = self.level_removed[level - 1]
        positions = self.positions
        present = sorted((k for k in keys if k in positions), key=positions.__getitem__)
        gone = sorted(removed)
        for index in range(level):
            self.level_keys[index] = {}
            self.level_removed[index] = set()
        return present, gone

    def reset_levels(self) -> None:
        """A full row was written: every level starts again from it."""
        self.level_keys = [{} for _ in range(LEVELS)]
        self.level_removed = [set() for _ in range(LEVELS)]
