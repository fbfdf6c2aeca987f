"""`manage.py prune_runs`: old runs go with everything they recorded; executing runs, young runs
and the parents of kept forks stay."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from workflows_app import services
from workflows_app.models import Event, HumanTask, Run, Snapshot, StepRecord

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_workflows")]


def prune(*args: str) -> str:
    out = io.StringIO()
    call_command("prune_runs", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def age(run: Run, days: int) -> Run:
    """Make `run` look `days` old (ended or last changed then)."""
    then = timezone.now() - timedelta(days=days)
    Run.objects.filter(pk=run.pk).update(
        created_at=then, updated_at=then, finished_at=then if run.finished_at else None
    )
    return Run.objects.get(pk=run.pk)


def greeted(days: int) -> Run:
    return age(services.start_run("greet", {"name": "Ann"}), days)


def stored_rows(run: Run) -> dict[str, int]:
    return {
        "events": run.events.count(),
        "snapshots": run.snapshots.count(),
        "step_records": StepRecord.objects.filter(run_id=run.run_id).count(),
        "tasks": HumanTask.objects.filter(run_id=run.run_id).count(),
    }


def test_an_old_finished_run_goes_with_everything_it_recorded() -> None:
    old = greeted(days=40)
    assert all(stored_rows(old)[name] > 0 for name in ("events", "snapshots", "step_records"))

    output = prune("--older-than", "30d")

    assert not Run.objects.filter(pk=old.pk).exists()
    assert stored_rows(old) == {"events": 0, "snapshots": 0, "step_records": 0, "tasks": 0}
    assert "Deleted 1 runs" in output


def test_a_young_run_is_kept_with_its_rows() -> None:
    young = greeted(days=3)
    before = stored_rows(young)

    prune("--older-than", "30d")

    assert Run.objects.filter(pk=young.pk).exists()
    assert stored_rows(young) == before


def test_a_suspended_run_is_pruned_only_when_asked_and_with_its_human_task() -> None:
    waiting = age(services.start_run("approval", {"name": "Bo"}), days=60)
    assert HumanTask.objects.filter(run_id=waiting.run_id).exists()

    prune("--older-than", "30d")
    assert Run.objects.filter(pk=waiting.pk).exists()

    prune("--older-than", "30d", "--status", "suspended")
    assert not Run.objects.filter(pk=waiting.pk).exists()
    assert not HumanTask.objects.filter(run_id=waiting.run_id).exists()


def test_an_executing_status_is_refused_in_words() -> None:
    with pytest.raises(CommandError, match="running are executing and never pruned"):
        prune("--older-than", "30d", "--status", "running")


@pytest.mark.parametrize("text", ["30", "thirty days", "0d", "-3d", "30y"])
def test_an_age_that_is_not_one_is_refused_in_words(text: str) -> None:
    with pytest.raises(CommandError, match="is not an age"):
        prune(f"--older-than={text}")


def test_a_dry_run_counts_and_deletes_nothing() -> None:
    old = greeted(days=40)
    before = stored_rows(old)

    output = prune("--older-than", "30d", "--dry-run")

    assert Run.objects.filter(pk=old.pk).exists()
    assert stored_rows(old) == before
    assert f"Would delete 1 runs ({before['events']} events, {before['snapshots']} snapshots" in (
        output
    )


def test_small_batches_delete_every_old_run() -> None:
    olds = [greeted(days=40 + k) for k in range(5)]

    output = prune("--older-than", "30d", "--batch-size", "2")

    assert not Run.objects.filter(pk__in=[r.pk for r in olds]).exists()
    assert "Deleted 5 runs" in output
    assert Event.objects.count() == Snapshot.objects.count() == 0


def test_the_parent_of_a_kept_fork_is_kept_and_the_command_says_why() -> None:
    parent = greeted(days=40)
    fork = services.time_travel(parent.run_id, "shout", input_data={"greeting": "hi"})
    assert fork.parent_run_id == parent.run_id

    output = prune("--older-than", "30d")

    assert Run.objects.filter(pk=parent.pk).exists()
    assert Run.objects.filter(pk=fork.pk).exists()
    assert "Kept 1 old runs because a fork of theirs is kept" in output
    assert parent.run_id in output


def test_an_old_family_goes_together() -> None:
    parent = greeted(days=40)
    fork = age(services.time_travel(parent.run_id, "shout", input_data={"greeting": "hi"}), 35)

    prune("--older-than", "30d")

    assert not Run.objects.filter(pk__in=[parent.pk, fork.pk]).exists()


def test_a_grandparent_of_a_kept_fork_is_kept_too() -> None:
    root = greeted(days=50)
    child = age(services.time_travel(root.run_id, "shout", input_data={"greeting": "a"}), 45)
    grandchild = services.time_travel(child.run_id, "shout", input_data={"greeting": "b"})

    prune("--older-than", "30d")

    kept: Any = set(Run.objects.values_list("pk", flat=True))
    assert {root.pk, child.pk, grandchild.pk} <= kept
