"""The run page and its side panel: a failed run opens on its first failure with the error and
traceback, a suspended one on its question; the outline the scripts draw carries no step data;
operate buttons for operators only; every step's data escaped."""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.app.conftest import client_for
from workflows_app import services
from workflows_app.models import Run
from workflows_app.pages.run import MODULES, first_failure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

ORDER = {
    "order_id": "SO-1",
    "customer": "Grace",
    "lines": [{"sku": "cable", "quantity": 2, "unit_price": 6.5}],
}
LARGE_EXPENSE = {"employee": "Bob", "amount": 450, "description": "flight"}
FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
STATIC_IMPORT = re.compile(r'(?:from|^import) "(\.{1,2}/[^"]+)"', re.MULTILINE)


@pytest.fixture(autouse=True)
def workflows(settings: Any) -> None:
    settings.STEPBACK_WORKFLOWS = ["workflows_app.examples", "tests.app.run_page_workflows"]


def page_of(user: User, run: Run, **query: str) -> str:
    response = client_for(user).get(f"/runs/{run.run_id}/", query)
    assert response.status_code == 200
    return str(response.content.decode())


def page_data(page: str) -> dict[str, Any]:
    """The JSON the page's scripts start from (`json_script` "run-data")."""
    opening = '<script id="run-data" type="application/json">'
    start = page.index(opening) + len(opening)
    data: dict[str, Any] = json.loads(page[start : page.index("</script>", start)])
    return data


def panel_of(user: User, run: Run, **query: str) -> Any:
    return client_for(user).get(f"/runs/{run.run_id}/panel/", query)


def test_a_failed_run_opens_on_its_first_failure_with_the_error_and_traceback(
    viewer: User,
) -> None:
    run = services.start_run("order-fulfilment", {**ORDER, "card": "0000"})

    page = page_of(viewer, run)

    assert 'data-step="payment.authorize"' in page  # not `payment`, the workflow around it
    assert "CardDeclined" in page
    assert "card ending 0000 was declined" in page
    assert 'class="traceback"' in page
    assert 'aria-selected="true" tabindex="0" data-tab="error"' in page


def test_the_error_tab_shows_attributes_and_the_cause_chain(viewer: User) -> None:
    run = services.start_run("unpaid", None)

    page = page_of(viewer, run)

    assert "invoice INV-7 is unpaid" in page
    assert "&quot;invoice&quot;: &quot;INV-7&quot;" in page  # an attribute of the error
    assert "caused by" in page
    assert "the bank did not answer" in page


def test_the_first_failure_is_the_step_that_failed_first() -> None:
    steps = {
        "payment": {"status": "failed", "ended_at": 5.0},
        "payment.authorize": {"status": "failed", "ended_at": 4.0},
        "ship": {"status": "failed", "ended_at": 3.0},
        "price": {"status": "success", "ended_at": 1.0},
    }

    assert first_failure(steps) == "ship"
    del steps["ship"]
    assert first_failure(steps) == "payment.authorize"
    assert first_failure({"price": steps["price"]}) is None


def test_a_suspended_run_opens_on_its_question_with_the_inbox_answer_form(
    operator: User,
) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE, user=operator)

    page = page_of(operator, run)

    assert 'data-step="manager_approval"' in page
    assert "Approve 450.00 EUR" in page
    assert "data-resume-form" in page
    assert 'data-api="/api/inbox/' in page
    assert 'id="resume-schema-' in page


def test_operators_get_the_buttons_the_run_status_allows(operator: User) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE, user=operator)

    page = page_of(operator, run)

    assert 'data-action="resume" data-when="suspended"' in page
    assert 'data-action="cancel"' in page
    assert 'data-action="restart" data-when="pending running waiting" data-api=' in page
    restart = page[page.index('data-action="restart"') :]
    assert restart[: restart.index(">")].endswith(" hidden")  # not for a suspended run
    assert page_data(page)["rerun"] == {
        "workflow_id": "expense-approval",
        "input": {**LARGE_EXPENSE, "category": "other", "currency": "EUR"},
    }


def test_viewers_get_no_operate_button_and_no_answer_form(viewer: User) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE)

    page = page_of(viewer, run)

    for action in ("resume", "continue", "cancel", "restart", "rerun"):
        assert f'data-action="{action}"' not in page
    assert "data-resume-form" not in page
    assert "can view this question but not answer it" in page
    assert 'data-action="export"' in page  # viewing is enough to download a run
    assert "rerun" not in page_data(page)


def test_who_did_what_is_shown(operator: User) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE, user=operator)
    services.resume_run(run.run_id, {"approved": True, "approver": "Mia"}, user=operator)

    page = page_of(operator, run)

    assert "start by <strong>otto</strong>" in page
    assert "resume by <strong>otto</strong>" in page
    head = page[page.index('class="run-meta"') :]
    assert head.index("started <time") < head.index("by <strong>otto</strong>")


def test_a_fork_links_to_its_parent_run(viewer: User) -> None:
    parent = services.start_run("order-fulfilment", ORDER)
    fork = services.time_travel(parent.run_id, "ship_order")

    page = page_of(viewer, fork)

    assert "fork of" in page
    assert f'href="/runs/{parent.run_id}/"' in page


def test_the_outline_carries_statuses_timings_and_items_but_no_step_data(viewer: User) -> None:
    run = services.start_run("data-pipeline", {"count": 4, "flaky_ids": [2], "broken_ids": [3]})

    data = page_data(page_of(viewer, run))

    steps = data["steps"]
    assert steps["fetch_records"]["status"] == "success"
    records = steps["process_record"]
    assert records["status"] == "failed"
    assert records["error"] == "MalformedRecord"
    assert [item[0] if item else None for item in records["items"]][:3] == [
        "success",
        "success",
        "failed",
    ]
    assert records["items"][1][3] == 2  # the flaky item's attempts
    text = json.dumps(steps)
    assert "demo-sensor" not in text  # no input, output or error message of any step
    assert "has no value" not in text
    assert all("input_schema" not in node for node in data["graph"]["nodes"])
    assert data["run"]["seq"] == run.seq


def test_each_attempt_is_listed_with_its_timing_and_error(viewer: User) -> None:
    run = services.start_run("flaky", None)

    data = page_data(page_of(viewer, run))
    panel = panel_of(viewer, run, step="wobble", tab="attempts").content.decode()

    assert [a[:2] for a in data["steps"]["wobble"]["attempts"]] == [[1, "failed"], [2, "success"]]
    assert panel.count('<tr><td data-label="Attempt">') == 2
    assert "ConnectionError" in panel
    assert 'aria-selected="true" tabindex="0" data-tab="attempts"' in panel


def test_the_panel_shows_any_step_and_the_run_itself(viewer: User) -> None:
    run = services.start_run("order-fulfilment", ORDER)

    step = panel_of(viewer, run, step="payment.capture")
    whole = panel_of(viewer, run)

    assert step.status_code == 200
    assert 'data-step="payment.capture"' in step.content.decode()
    assert "<html" not in step.content.decode()  # a fragment for the page to put in place
    assert 'data-tab="result"' in whole.content.decode()
    assert "TRK-" in whole.content.decode()  # the run's result


def test_a_step_the_run_has_not_reached_says_so(viewer: User) -> None:
    run = services.start_run("order-fulfilment", {**ORDER, "card": "0000"})

    panel = panel_of(viewer, run, step="ship_order").content.decode()

    assert "This step has not run" in panel
    assert "not run" in panel


def test_an_unknown_step_is_named_on_the_page_and_missing_from_the_panel(viewer: User) -> None:
    run = services.start_run("order-fulfilment", ORDER)

    page = page_of(viewer, run, step="no.such.step")

    assert "This run has no step" in page
    assert panel_of(viewer, run, step="no.such.step").status_code == 404


def test_an_unknown_run_is_a_404(viewer: User) -> None:
    assert client_for(viewer).get("/runs/nope/").status_code == 404
    assert client_for(viewer).get("/runs/nope/panel/").status_code == 404


def test_step_data_is_escaped_on_the_page_and_in_the_panel(operator: User) -> None:
    attack = "<script>alert(1)</script>"
    run = services.start_run("parrot", {"note": attack}, user=operator)

    page = page_of(operator, run, step="echo", tab="output")
    panel = panel_of(operator, run, step="echo").content.decode()

    for html in (page, panel):
        assert attack not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_page_preloads_every_module_its_script_imports() -> None:
    found: set[str] = set()
    todo = ["run/page.js"]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for relative in STATIC_IMPORT.findall((FRONTEND / name).read_text()):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), relative))
            if not target.startswith("vendor/") and target != "boot.js":  # base.html has boot
                todo.append(target)

    assert found == set(MODULES)
