"""Breakpoints: the steps a run pauses before, named by step id or by path.

A breakpoint is a string naming a step of the workflow: its id (`"charge"`, which matches the
step wherever it appears, inside nested workflows too), its dotted path (`"payment.charge"`,
as `Workflow.graph()` keys nodes) or the same path joined by slashes (`"payment/charge"`).
A foreach item's steps match without their item index: `"items.check"` pauses before `check`
in every item of the nested workflow `items`.

The interpreter asks `Breakpoints.matches(path)` before each step it is about to start;
`check_breakpoints` refuses, before anything runs, a breakpoint that names no step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engines.core.errors import BreakpointError
from engines.core.graph import StepLike, entry_ids
from engines.core.workflow import Workflow


def plain_segment(segment: str) -> str:
    """A path segment without a foreach item index (`"items[2]"` -> `"items"`)."""
    return segment.split("[", 1)[0]


def _names(workflow: Workflow, prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    # Entries, not just `steps`: a sleep is an entry with an id of its own, and can pause.
    for entry in workflow.entries:
        for sid in entry_ids(entry):
            path = (*prefix, sid)
            yield path
            step: StepLike | None = workflow.steps.get(sid)
            if isinstance(step, Workflow):
                yield from _names(step, path)


def step_names(workflow: Workflow) -> set[str]:
    """Every string a breakpoint may be for `workflow`: ids, dotted and slash paths."""
    out: set[str] = set()
    for path in _names(workflow):
        out.add(path[-1])
        out.add(".".join(path))
        out.add("/".join(path))
    return out


def check_breakpoints(workflow: Workflow, breakpoints: Any) -> list[str]:
    """`breakpoints` as a list of distinct strings, each naming a step of `workflow`;
    `BreakpointError` names every one that does not."""
    if breakpoints is None:
        return []
    if isinstance(breakpoints, str) or not isinstance(breakpoints, Iterable):
        raise BreakpointError(
            "Invalid breakpoints:",
            [{"path": "breakpoints", "message": "must be a list of step ids or paths"}],
        )
    known = step_names(workflow)
    out: list[str] = []
    errors: list[dict[str, str]] = []
    for index, item in enumerate(breakpoints):
        if not isinstance(item, str) or not item:
            errors.append({"path": f"breakpoints.{index}", "message": "must be a step id or path"})
        elif item not in known:
            errors.append(
                {
                    "path": f"breakpoints.{index}",
                    "message": f"{item!r} names no step of workflow {workflow.id!r}",
                }
            )
        elif item not in out:
            out.append(item)
    if errors:
        raise BreakpointError("Invalid breakpoints:", errors)
    return out


class Breakpoints:
    """The breakpoints of one execution, matched against step paths."""

    __slots__ = ("_names",)

    def __init__(self, names: Iterable[str]) -> None:
        self._names = frozenset(names)

    def __bool__(self) -> bool:
        return bool(self._names)

    def matches(self, path: tuple[str, ...]) -> bool:
        """True when a breakpoint names the step at `path` (by id, dotted or slash path)."""
        names = self._names
        if not names:
            return False
        plain = tuple(plain_segment(s) for s in path)
        return plain[-1] in names or ".".join(plain) in names or "/".join(plain) in names


__all__ = ["Breakpoints", "check_breakpoints", "plain_segment", "step_names"]
