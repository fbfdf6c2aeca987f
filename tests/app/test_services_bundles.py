"""Exporting a run as a versioned JSON bundle, and importing it back row for row."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from engines import InvalidRunStateError, RunNotFoundError, ValidationError
from workflows_app import broadcast, services
from workflows_app.bundles import BundleError
from workflows_app.models import Event, HumanTask, Run, Snapshot, StepRecord

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

LARGE_EXPENSE = {"employee": "Bob", "amount": 450, "description": "flight"}
ANSWER = {"approved": True, "comment": "fine", "approver": "Mia"}


@pytest.fixture
def resumed(operator: User) -> Run:
    """An expense approval a manager answered: every kind of row, a human task included."""
    run = services.start_run("expense-approval", LARGE_EXPENSE)
    return services.resume_run(run.run_id, ANSWER, user=operator)


def rows() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Run, Event, Snapshot, StepRecord, HumanTask)}


def test_the_bundle_is_versioned_json_with_every_row_of_the_run(resumed: Run) -> None:
    bundle = services.export_run(resumed.run_id)

    assert bundle["format"] == "stepback.run"
    assert bundle["version"] == 1
    assert bundle["run"]["run_id"] == resumed.run_id
    assert [e["seq"] for e in bundle["events"]] == list(range(1, resumed.seq + 1))
    assert len(bundle["snapshots"]) == resumed.snapshots.count()
    assert len(bundle["step_records"]) == resumed.step_records.count()
    assert bundle["human_tasks"][0]["resumed_by"] == "otto"
    assert json.loads(json.dumps(bundle)) == bundle


def test_export_import_export_gives_the_same_bundle(resumed: Run) -> None:
    bundle = services.export_run(resumed.run_id)
    Run.objects.filter(pk=resumed.run_id).delete()

    imported = services.import_run(copy.deepcopy(bundle))

    assert imported.run_id == resumed.run_id
    assert services.export_run(imported.run_id) == bundle


def test_an_imported_run_reads_like_the_original(resumed: Run) -> None:
    bundle = services.export_run(resumed.run_id)
    Run.objects.filter(pk=resumed.run_id).delete()

    imported = services.import_run(bundle)
    snapshot = services.engine().storage  # the engine reads it back as it stored it
    loaded = services._sync(snapshot.load, imported.run_id)

    assert loaded.status == "success"
    assert loaded.steps["manager_approval"].resume_payload == ANSWER


def test_import_refuses_a_run_id_that_exists_and_writes_nothing(resumed: Run) -> None:
    bundle = services.export_run(resumed.run_id)
    before = rows()

    with pytest.raises(InvalidRunStateError, match="already exists"):
        services.import_run(bundle)

    assert rows() == before


def test_import_with_a_new_id_rewrites_the_run_id_everywhere(resumed: Run) -> None:
    bundle = services.export_run(resumed.run_id)

    copy_run = services.import_run(bundle, new_id=True)
    again = services.export_run(copy_run.run_id)

    assert copy_run.run_id != resumed.run_id
    assert again["run"]["head"]["run_id"] == copy_run.run_id
    assert all(
        s["data"].get("run_id", copy_run.run_id) == copy_run.run_id for s in again["snapshots"]
    )
    assert again["events"] == bundle["events"]
    assert copy_run.human_tasks.get().resumed_by.username == "otto"


def test_import_refuses_a_malformed_bundle_naming_each_field() -> None:
    before = rows()
    bundle = {
        "format": "stepback.run",
        "version": 1,
        "run": {"run_id": "x", "status": "sleeping"},
        "events": [{"seq": "one", "type": "run.started", "ts": 1.0}],
    }

    with pytest.raises(BundleError) as refused:
        services.import_run(bundle)

    paths = {e["path"] for e in refused.value.errors}
    assert {"run.status", "run.workflow_id", "run.created_at", "events.0.seq"} <= paths
    assert isinstance(refused.value, ValidationError)
    assert rows() == before


def test_import_refuses_an_event_log_with_a_gap(resumed: Run) -> None:
    bundle = services.export_run(resumed.run_id)
    Run.objects.filter(pk=resumed.run_id).delete()
    del bundle["events"][2]
    before = rows()

    with pytest.raises(BundleError) as refused:
        services.import_run(bundle)

    assert "events.2.seq" in {e["path"] for e in refused.value.errors}
    assert rows() == before


@pytest.mark.parametrize(
    ("bundle", "path"),
    [
        ([], ""),
        ({"format": "other", "version": 1}, "format"),
        ({"format": "stepback.run", "version": 2}, "version"),
    ],
)
def test_import_refuses_what_is_not_a_bundle_of_this_version(bundle: Any, path: str) -> None:
    with pytest.raises(BundleError) as refused:
        services.import_run(bundle)

    assert path in {e["path"] for e in refused.value.errors}


def test_exporting_an_unknown_run_is_refused() -> None:
    with pytest.raises(RunNotFoundError):
        services.export_run("missing")


def test_an_imported_run_is_announced_to_the_runs_list(
    resumed: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    announced: list[tuple[str, list[Any], dict[str, Any]]] = []
    monkeypatch.setattr(broadcast, "publish", lambda *args: announced.append(args))

    copy_of = services.import_run(services.export_run(resumed.run_id), new_id=True)

    assert announced == [(copy_of.run_id, [], copy_of.summary())]
