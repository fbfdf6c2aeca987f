"""The replay rule: what a step's record makes the walk do, one record at a time."""

from __future__ import annotations

import pytest

from engines.core.replay import Replay, replay, targeted
from engines.core.results import StepResult

PATH = ("outer", "ask")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", Replay.REUSE),
        ("skipped", Replay.REUSE),
        ("failed", Replay.FAIL),
        ("canceled", Replay.CANCEL),
        ("running", Replay.RERUN),
        ("waiting", Replay.RERUN),
        ("paused", Replay.RERUN),
    ],
)
def test_a_record_says_what_the_walk_does_whatever_is_resumed(
    status: str, expected: Replay
) -> None:
    record = StepResult(status)  # type: ignore[arg-type]

    assert replay(record, None, PATH) is expected
    assert replay(record, "all", PATH) is expected


def test_a_step_without_a_record_runs() -> None:
    assert replay(None, None, PATH) is Replay.RUN


def test_a_suspended_step_runs_again_only_when_this_execution_resumes_it() -> None:
    record = StepResult("suspended")

    assert replay(record, PATH, PATH) is Replay.RESUME
    assert replay(record, "all", PATH) is Replay.RESUME
    assert replay(record, ("outer", "other"), PATH) is Replay.STAY_SUSPENDED
    assert replay(record, None, PATH) is Replay.STAY_SUSPENDED


def test_a_step_interrupted_while_resumed_runs_again_with_its_resume_data() -> None:
    record = StepResult("running", resume_payload=False, resumed_at=5.0)

    assert replay(record, None, PATH) is Replay.RESUME_AGAIN


def test_a_workflow_enclosing_the_resumed_step_is_targeted_too() -> None:
    assert targeted(PATH, ("outer",))
    assert not targeted(PATH, ("other",))
    assert not targeted(None, ("outer",))


def test_only_the_actions_that_execute_the_step_run() -> None:
    assert {a for a in Replay if a.runs} == {
        Replay.RUN,
        Replay.RESUME,
        Replay.RERUN,
        Replay.RESUME_AGAIN,
    }
