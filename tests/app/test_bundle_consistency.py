"""Import checks that a bundle holds together: its run's status, its engine record (`head`), its
snapshots, its event log, its step records and its human tasks tell one story, and its workflow
is registered here. What does not hold is refused, naming the field and saying why; every run an
installation records passes."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from tests.app.api_support import post_json, recorded
from tests.app.conftest import client_for
from workflows_app import services
from workflows_app.bundles import BundleError
from workflows_app.models import Run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

PAYMENT = {"order_id": "A-1", "amount": 25.0, "card": "4242"}
LARGE_EXPENSE = {"employee": "Bob", "amount": 450, "description": "flight"}


def exported(run: Run) -> dict[str, Any]:
    """The run's bundle, the run itself removed so the bundle imports under its own id."""
    bundle = services.export_run(run.run_id)
    Run.objects.filter(pk=run.pk).delete()
    return bundle


@pytest.fixture
def succeeded() -> dict[str, Any]:
    return exported(services.start_run("payment", PAYMENT))


@pytest.fixture
def suspended() -> dict[str, Any]:
    return exported(services.start_run("expense-approval", LARGE_EXPENSE))


def refusal(bundle: dict[str, Any]) -> dict[str, str]:
    """The problems import names (path: message), having stored nothing."""
    before = recorded()
    with pytest.raises(BundleError) as refused:
        services.import_run(bundle)
    assert recorded() == before
    return {problem["path"]: problem["message"] for problem in refused.value.errors}


def last_snapshot(bundle: dict[str, Any]) -> dict[str, Any]:
    snapshot: dict[str, Any] = bundle["snapshots"][-1]
    return snapshot


@pytest.mark.parametrize("status", ["running", "suspended", "failed"])
def test_a_status_the_event_log_contradicts_is_refused(
    succeeded: dict[str, Any], status: str
) -> None:
    succeeded["run"]["status"] = succeeded["run"]["head"]["status"] = status
    last_snapshot(succeeded)["data"]["head"]["status"] = status

    problems = refusal(succeeded)

    assert problems["run.status"] == (
        f"is {status!r} but the event log ends with run.succeeded, which leaves a run 'success'"
    )


def test_an_engine_record_that_disagrees_with_the_run_is_refused(
    succeeded: dict[str, Any],
) -> None:
    succeeded["run"]["head"]["status"] = "running"
    assert refusal(succeeded)["run.head.status"] == "is 'running' but the run is 'success'"


def test_an_engine_record_of_another_run_is_refused(succeeded: dict[str, Any]) -> None:
    succeeded["run"]["head"]["run_id"] = "someone-else"
    succeeded["run"]["head"]["seq"] = 1
    problems = refusal(succeeded)
    assert (
        problems["run.head.run_id"]
        == f"is 'someone-else' but the run is {succeeded['run']['run_id']!r}"
    )
    assert problems["run.head.seq"] == f"is 1 but the run's last event is {succeeded['run']['seq']}"


def test_a_last_snapshot_that_disagrees_with_the_run_is_refused(
    succeeded: dict[str, Any],
) -> None:
    last_snapshot(succeeded)["data"]["head"]["status"] = "running"
    index = len(succeeded["snapshots"]) - 1
    assert refusal(succeeded)[f"snapshots.{index}.data.head.status"] == (
        "is 'running' but the run is 'success' (the last snapshot is the run as it is)"
    )


def test_snapshots_that_stop_before_the_last_event_are_refused(succeeded: dict[str, Any]) -> None:
    succeeded["snapshots"].pop()
    assert refusal(succeeded)["snapshots"] == (
        f"the last snapshot must be at the run's last event ({succeeded['run']['seq']})"
    )


def test_snapshots_that_do_not_start_from_a_full_one_are_refused(
    succeeded: dict[str, Any],
) -> None:
    succeeded["snapshots"][0]["full"] = False
    assert refusal(succeeded)["snapshots.0.full"] == (
        "must be true: the first snapshot holds every step, the others build on it"
    )


def test_a_step_still_running_in_a_run_that_succeeded_is_refused(
    succeeded: dict[str, Any],
) -> None:
    succeeded["step_records"][0]["status"] = "running"
    assert refusal(succeeded)["step_records.0.status"] == (
        "is 'running' but the run is 'success': no step of a finished run is still under way"
    )


def test_a_step_record_newer_than_the_log_is_refused(succeeded: dict[str, Any]) -> None:
    succeeded["step_records"][0]["seq"] = succeeded["run"]["seq"] + 1
    assert refusal(succeeded)["step_records.0.seq"] == (
        f"is after the run's last event ({succeeded['run']['seq']})"
    )


def test_a_suspended_run_that_names_no_suspended_step_is_refused(
    suspended: dict[str, Any],
) -> None:
    suspended["run"]["head"]["suspended"] = []
    last_snapshot(suspended)["data"]["head"]["suspended"] = []
    assert refusal(suspended)["run.head.suspended"] == (
        "names no step, but a suspended run waits on at least one"
    )


def test_a_suspended_step_without_its_record_is_refused(suspended: dict[str, Any]) -> None:
    waiting = [r for r in suspended["step_records"] if r["status"] == "suspended"]
    for record in waiting:
        record["status"] = "success"
    assert "run.head.suspended.0" in refusal(suspended)


def test_an_open_human_task_of_a_finished_run_is_refused(operator: User) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE)
    services.cancel_run(run.run_id)
    bundle = exported(run)
    bundle["human_tasks"][0]["status"] = "open"
    assert refusal(bundle)["human_tasks.0.status"] == (
        "is 'open' but the run is 'canceled': nobody can answer a finished run"
    )


def test_a_bundle_of_a_workflow_not_registered_here_is_refused(succeeded: dict[str, Any]) -> None:
    succeeded["run"]["workflow_id"] = "not-here"
    succeeded["run"]["head"]["workflow_id"] = "not-here"
    assert refusal(succeeded)["run.workflow_id"].startswith("no workflow 'not-here' is registered")


def test_the_api_answers_an_inconsistent_bundle_with_400_naming_the_field(
    succeeded: dict[str, Any], operator: User
) -> None:
    succeeded["run"]["status"] = succeeded["run"]["head"]["status"] = "suspended"
    last_snapshot(succeeded)["data"]["head"]["status"] = "suspended"
    before = recorded()

    response = post_json(client_for(operator), "/api/runs/import/", succeeded)

    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("Inconsistent run bundle: run.status: is 'suspended'")
    assert "run.status" in body["errors"]
    assert recorded() == before


def every_demo_run() -> list[Run]:
    call_command("seed_demo", stdout=io.StringIO())
    return list(Run.objects.order_by("created_at"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: every_demo_run(),
        lambda: [services.start_run("expense-approval", LARGE_EXPENSE)],
    ],
    ids=["the demo's runs", "a suspended run"],
)
def test_every_run_an_installation_records_imports_back(make: Callable[[], list[Run]]) -> None:
    runs = make()
    for run in runs:
        bundle = services.export_run(run.run_id)
        copy = services.import_run(bundle, new_id=True)
        assert copy.status == run.status
