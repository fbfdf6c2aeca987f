"""The workflows a worker can run, found by id (and definition hash) from an event."""

from __future__ import annotations

import importlib

from engines.core.errors import WorkflowError
from engines.core.workflow import Workflow


class WorkflowSet:
    """Workflows by id; a run names its workflow's id and definition hash."""

    def __init__(self, workflows: list[Workflow] | None = None) -> None:
        self._by_id: dict[str, Workflow] = {}
        self._by_hash: dict[tuple[str, str], Workflow] = {}
        for workflow in workflows or ():
            self.add(workflow)

    def add(self, workflow: Workflow) -> None:
        self._by_id[workflow.id] = workflow
        self._by_hash[(workflow.id, workflow.definition_hash)] = workflow

    def get(self, workflow_id: str, definition_hash: str | None = None) -> Workflow:
        found = self._by_hash.get((workflow_id, definition_hash or ""))
        if found is None:
            found = self._by_id.get(workflow_id)
        if found is None:
            raise WorkflowError(
                f"This worker does not know workflow {workflow_id!r}; "
                f"it knows {', '.join(sorted(self._by_id)) or 'none'}"
            )
        return found

    def __len__(self) -> int:
        return len(self._by_id)

    @classmethod
    def from_modules(cls, names: list[str]) -> WorkflowSet:
        """Every committed `Workflow` at the top level of the named modules."""
        found = cls()
        for name in names:
            module = importlib.import_module(name)
            for value in vars(module).values():
                if isinstance(value, Workflow):
                    found.add(value)
        if not len(found):
            raise WorkflowError(f"No workflows found in {', '.join(names)}")
        return found
