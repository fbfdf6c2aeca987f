"""A person in a real browser (Chromium) on the seeded demo: starting runs from the generated
form, answering the inbox, what a viewer may do, escaping, and the live runs list."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_PASSWORD, LiveServer
from tests.e2e.pages import InboxPage, RunsPage, WorkflowPage, signed_in

LARGE_EXPENSE = {"employee": "Grace", "amount": 640, "description": "conference hotel"}


def start_over_http(server: LiveServer, workflow_id: str, data: Any) -> str:
    status, body = server.signed_in("demo", DEMO_PASSWORD).post_json(
        "/api/runs/", {"workflow_id": workflow_id, "input": data}
    )
    assert status == 201, body
    run_id: str = body["run_id"]
    return run_id


def test_operator_starts_a_run_from_the_generated_form(page: Page) -> None:
    signed_in(page, "demo", "/workflows/expense-approval/")
    workflow = WorkflowPage(page, "expense-approval")

    workflow.start()  # nothing filled in: the server names each problem beside its field
    expect(workflow.field_error("employee")).to_contain_text("at least 1 character")
    expect(workflow.field_error("amount")).to_contain_text("greater than 0")

    workflow.field("employee").fill("Ada")
    workflow.field("amount").fill("42.5")
    workflow.field("category").select_option("travel")
    workflow.field("description").fill("taxi to the airport")
    workflow.start()

    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f]{32}/$"))
    expect(page.locator('[data-run-status] .chip[data-status="success"]')).to_be_visible()
    expect(page.get_by_text("start by demo")).to_be_visible()


def test_operator_answers_the_inbox_after_a_validation_error(
    page: Page, demo_server: LiveServer
) -> None:
    run_id = start_over_http(demo_server, "expense-approval", LARGE_EXPENSE)
    signed_in(page, "demo", "/inbox/")
    inbox = InboxPage(page)
    task = inbox.task_of(run_id)
    expect(task).to_contain_text("Approve 640.00 EUR")

    inbox.answer(task, {"approved": True})  # no approver: refused, asked again
    approver = task.locator('[data-schemapath="root.approver"]')
    expect(approver.locator(".errmsg")).to_contain_text("at least 1 character")
    expect(task.locator("[role=alert]").first).to_contain_text("approver")

    inbox.answer(task, {"approver": "Maria"})

    expect(page).to_have_url(f"/runs/{run_id}/")
    expect(page.locator('[data-run-status] .chip[data-status="success"]')).to_be_visible()
    page.goto("/inbox/?show=answered")
    answered = InboxPage(page).task_of(run_id)
    expect(answered).to_contain_text("demo")
    expect(answered).to_contain_text('"approver": "Maria"')


def test_viewer_sees_no_operate_buttons(page: Page, demo_server: LiveServer) -> None:
    start_over_http(demo_server, "expense-approval", LARGE_EXPENSE)
    signed_in(page, "viewer", "/")

    expect(page.get_by_text("(view only)")).to_be_visible()
    expect(RunsPage(page).rows.first).to_be_visible()
    expect(page.locator("input[data-select]")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel selected")).to_have_count(0)
    expect(page.get_by_role("link", name="Start a run")).to_have_count(0)

    page.goto("/workflows/expense-approval/")
    expect(page.get_by_text("can view runs but not start them")).to_be_visible()
    expect(page.locator("form[data-start-form]")).to_have_count(0)

    page.goto("/inbox/")
    expect(page.locator("article[data-task-id]").first).to_be_visible()
    expect(page.locator("form[data-task-form]")).to_have_count(0)

    refused = page.evaluate(
        """async () => (await fetch("/api/runs/", {method: "POST",
            headers: {"Content-Type": "application/json",
                      "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content},
            body: JSON.stringify({workflow_id: "expense-approval", input: {}})})).status"""
    )
    assert refused == 403


def test_a_script_in_step_data_shows_as_text(page: Page, demo_server: LiveServer) -> None:
    attack = "<script>window.injected = true</script><img src=x onerror=window.injected=true>"
    run_id = start_over_http(
        demo_server, "expense-approval", {**LARGE_EXPENSE, "description": attack}
    )

    signed_in(page, "demo", "/inbox/")
    expect(InboxPage(page).task_of(run_id)).to_contain_text("<script>window.injected = true")
    page.goto(f"/runs/{run_id}/")
    expect(page.locator(".json-block").first).to_contain_text("<img src=x onerror")

    assert page.evaluate("window.injected") is None


def test_the_runs_list_shows_a_new_run_and_its_status_live(
    page: Page, demo_server: LiveServer
) -> None:
    signed_in(page, "demo", "/?workflow=expense-approval")
    runs = RunsPage(page)
    expect(runs.live_state).to_have_attribute("data-state", "live")

    run_id = start_over_http(demo_server, "expense-approval", LARGE_EXPENSE)

    expect(runs.row(run_id)).to_be_visible()
    expect(runs.status_of(run_id)).to_have_text("suspended")
    assert runs.rows.first.get_attribute("data-run-id") == run_id


def test_operator_cancels_a_selection_from_the_runs_list(
    page: Page, demo_server: LiveServer
) -> None:
    first = start_over_http(demo_server, "expense-approval", LARGE_EXPENSE)
    second = start_over_http(demo_server, "expense-approval", LARGE_EXPENSE)
    signed_in(page, "demo", "/?status=suspended")
    runs = RunsPage(page)

    runs.row(first).locator("input[data-select]").check()
    runs.row(second).locator("input[data-select]").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel 2 selected").click()

    expect(page.get_by_text("Cancelled 2 runs.")).to_be_visible()
    page.goto("/?workflow=expense-approval")
    expect(runs.status_of(first)).to_have_text("canceled")
    expect(runs.status_of(second)).to_have_text("canceled")
