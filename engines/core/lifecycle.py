"""The workflow's `on_finish` and `on_error` callbacks, called the same way by every engine."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engines.core.calls import call_quick

if TYPE_CHECKING:
    from engines.core.results import RunResult
    from engines.core.workflow import Workflow

log = logging.getLogger("engines.lifecycle")


async def notify(workflow: Workflow, result: RunResult) -> None:
    """`on_finish` on every stop but a pause (or a hand-off: the run has not stopped), then
    `on_error` on failure; their errors are logged and never change the result."""
    if result.status in ("paused", "running"):
        return
    callbacks = [workflow.on_finish]
    if result.status == "failed":
        callbacks.append(workflow.on_error)
    for callback in callbacks:
        if callback is None:
            continue
        try:
            await call_quick(callback, result)
        except Exception:
            log.exception("lifecycle callback of workflow %s raised", workflow.id)
