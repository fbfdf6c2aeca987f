"""The management commands: seed_demo, start_run, resume_run, export_run, import_run."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from workflows_app.models import HumanTask, Run

pytestmark = pytest.mark.django_db

LARGE_EXPENSE = json.dumps({"employee": "Bob", "amount": 450, "description": "flight"})
ANSWER = json.dumps({"approved": True, "approver": "Mia"})
PAYMENT = json.dumps({"order_id": "A-1", "amount": 2, "card": "4242"})


def run_command(*args: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def started(output: str) -> Run:
    """The run a `start_run` output line names."""
    return Run.objects.get(pk=output.split()[1])


# -- seed_demo ----------------------------------------------------------------------------------


@pytest.fixture
def seeded() -> str:
    return run_command("seed_demo", "--password", "pw-for-tests")


def test_seed_demo_creates_an_operator_and_a_viewer(seeded: str) -> None:
    demo, viewer = User.objects.get(username="demo"), User.objects.get(username="viewer")

    assert demo.has_perm("workflows_app.operate_run")
    assert demo.has_perm("workflows_app.view_run")
    assert viewer.has_perm("workflows_app.view_run")
    assert not viewer.has_perm("workflows_app.operate_run")
    assert demo.check_password("pw-for-tests")
    assert "User 'demo' (operates: start, resume, ...): password pw-for-tests" in seeded


def test_seed_demo_records_a_run_of_every_demo_workflow(seeded: str) -> None:
    workflows = set(Run.objects.values_list("workflow_id", flat=True))

    assert workflows == {"expense-approval", "data-pipeline", "order-fulfilment", "slow-countdown"}
    assert all(run.run_id in seeded for run in Run.objects.all())


def test_seed_demo_leaves_an_expense_waiting_for_a_manager(seeded: str) -> None:
    task = HumanTask.objects.get(status=HumanTask.OPEN)

    assert task.run.status == "suspended"
    assert task.path == "manager_approval"
    assert task.suspend_payload["question"].startswith("Approve 1250.00 EUR")


def test_seed_demo_records_an_expense_the_demo_user_answered(seeded: str) -> None:
    task = HumanTask.objects.get(status=HumanTask.RESUMED)

    assert task.run.status == "success"
    assert task.resumed_by.username == "demo"
    assert task.resume_data["approved"] is True


def test_seed_demo_records_a_retried_item_a_nested_run_a_cancel_and_a_fork(seeded: str) -> None:
    retried = Run.objects.get(workflow_id="data-pipeline", status="success", parent_run_id=None)
    items = retried.step_records.get(path="process_record", attempt=1).extra["items"]
    fork = Run.objects.get(parent_run_id__isnull=False)

    assert [item.get("attempts") for item in items][2] == 2
    assert Run.objects.filter(workflow_id="order-fulfilment", status="success").exists()
    assert Run.objects.get(status="canceled").workflow_id == "expense-approval"
    assert fork.status == "success"
    assert fork.fork_step == "process_record"
    assert Run.objects.get(pk=fork.parent_run_id).status == "failed"


def test_a_second_seed_adds_no_runs_and_keeps_passwords(seeded: str) -> None:
    count = Run.objects.count()

    output = run_command("seed_demo")

    assert Run.objects.count() == count
    assert "already recorded" in output
    assert "password unchanged" in output
    assert User.objects.get(username="demo").check_password("pw-for-tests")


# -- start_run, resume_run ----------------------------------------------------------------------


def test_start_run_prints_the_run_and_its_status() -> None:
    output = run_command(
        "start_run", "expense-approval", "--input", '{"employee": "A", "amount": 5}'
    )

    run = started(output)
    assert output.strip() == f"Run {run.run_id} of expense-approval: success"


def test_start_run_with_wait_prints_what_a_suspended_run_waits_for() -> None:
    output = run_command("start_run", "expense-approval", "--input", LARGE_EXPENSE, "--wait")

    outcome = json.loads(output.split("\n", 1)[1])
    assert outcome["status"] == "suspended"
    assert outcome["waiting_for"][0]["step"] == "manager_approval"


def test_start_run_with_wait_fails_when_the_run_fails() -> None:
    big = json.dumps({"employee": "A", "amount": 99_999, "description": "yacht"})

    with pytest.raises(CommandError, match="failed"):
        run_command("start_run", "expense-approval", "--input", big, "--wait")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "No workflow 'nope'"),
        (["payment", "--input", "{bad"], "--input is refused: it is not valid JSON"),
        (["payment", "--input", '{"order_id": "a\\u0000"}'], "order_id: contains a NUL"),
        (["payment", "--input", "{}"], "order_id: Field required"),
    ],
)
def test_start_run_refusals_are_command_errors(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run_command("start_run", *args)

    assert Run.objects.count() == 0


def test_resume_run_answers_the_waiting_step_as_the_given_user(operator: User) -> None:
    run = started(run_command("start_run", "expense-approval", "--input", LARGE_EXPENSE))

    output = run_command("resume_run", run.run_id, "--data", ANSWER, "--user", operator.username)

    assert output.strip() == f"Run {run.run_id} of expense-approval: success"
    assert HumanTask.objects.get(run=run).resumed_by == operator


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", '{"approved": 1}'], "approver: Field required"),
        (["--data", ANSWER, "--user", "nobody"], "No user 'nobody'"),
        (["--data", ANSWER, "--step", "notify"], "was not suspended"),
    ],
)
def test_resume_run_refusals_are_command_errors(args: list[str], message: str) -> None:
    run = started(run_command("start_run", "expense-approval", "--input", LARGE_EXPENSE))

    with pytest.raises(CommandError, match=message):
        run_command("resume_run", run.run_id, *args)

    assert Run.objects.get(pk=run.run_id).status == "suspended"


# -- export_run, import_run ---------------------------------------------------------------------


def test_export_then_import_recreates_the_run(tmp_path: Path) -> None:
    run = started(run_command("start_run", "expense-approval", "--input", LARGE_EXPENSE))
    target = tmp_path / "run.json"
    run_command("export_run", run.run_id, "-o", str(target))
    Run.objects.all().delete()

    output = run_command("import_run", str(target))

    assert output.strip() == f"Imported Run {run.run_id} of expense-approval: suspended"
    assert json.loads(target.read_text())["format"] == "stepback.run"
    assert Run.objects.get(pk=run.run_id).events.count() == run.seq


def test_export_run_writes_the_bundle_to_stdout() -> None:
    run = started(run_command("start_run", "payment", "--input", PAYMENT))

    bundle = json.loads(run_command("export_run", run.run_id))

    assert bundle["run"]["run_id"] == run.run_id


def test_import_run_reads_stdin_and_can_give_a_new_id(monkeypatch: pytest.MonkeyPatch) -> None:
    run = started(run_command("start_run", "payment", "--input", PAYMENT))
    monkeypatch.setattr("sys.stdin", io.StringIO(run_command("export_run", run.run_id)))

    output = run_command("import_run", "-", "--new-id")

    assert Run.objects.count() == 2
    assert run.run_id not in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Cannot read"),
        ("not json", "is refused: it is not valid JSON"),
        ('{"format": "stepback.run", "version": 1}', "run: Field required"),
    ],
)
def test_import_run_refusals_are_command_errors(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "bundle.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(CommandError, match=message):
        run_command("import_run", str(path))


def test_export_run_of_an_unknown_run_is_a_command_error() -> None:
    with pytest.raises(CommandError, match="No run 'nope'"):
        run_command("export_run", "nope")
