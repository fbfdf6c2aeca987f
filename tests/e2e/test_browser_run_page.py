"""A person in a real browser (Chromium) on a run's page: a failure with its traceback, a run
changing colour live, a dropped websocket, escaped step data, what a viewer may do, answering a
suspended step in place, and the event log's filters."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_PASSWORD, LiveServer
from tests.e2e.pages import signed_in
from tests.e2e.run_page import RunPage, start_over_http

ORDER = {
    "order_id": "SO-9",
    "customer": "Grace",
    "lines": [{"sku": "cable", "quantity": 2, "unit_price": 6.5}],
}
LARGE_EXPENSE = {"employee": "Grace", "amount": 640, "description": "conference hotel"}
SLOW = {"ticks": 20, "tick_seconds": 0.2, "pause_seconds": 0.4}
# Still ticking when a slow machine has finished signing in and drawing the page.
LONG = {"ticks": 50, "tick_seconds": 0.5, "pause_seconds": 0.4}


def last_seq(server: LiveServer, run_id: str) -> int:
    browser = server.signed_in("demo", DEMO_PASSWORD)
    with browser.opener.open(f"{server.base_url}/api/runs/{run_id}/", timeout=10) as answer:
        seq: int = json.loads(answer.read())["seq"]
    return seq


def test_operator_opens_a_failed_run_and_sees_the_failure_and_its_traceback(
    page: Page, demo_server: LiveServer
) -> None:
    run_id = start_over_http(demo_server, "order-fulfilment", {**ORDER, "card": "0000"})
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)

    expect(run.status).to_have_text("failed")
    failed = run.node("payment.authorize")
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed).to_have_class(re.compile(r"\bpath\b"))  # the path to the failure ends here
    expect(failed).to_have_class(re.compile(r"\bselected\b"))  # and the page opens on it
    expect(run.node("price_order")).to_have_attribute("data-status", "success")
    expect(run.node("ship_order")).not_to_have_attribute("data-status", "success")
    expect(page.locator(".g-edge.path").first).to_be_attached()
    expect(run.tab("Error")).to_have_attribute("aria-selected", "true")
    expect(run.panel.locator(".error-type")).to_have_text("CardDeclined")
    expect(run.panel.locator(".traceback")).to_contain_text("card ending 0000 was declined")
    expect(run.timeline_row("payment.authorize").locator(".tl-bar")).to_have_attribute(
        "data-status", "failed"
    )


def test_operator_opens_another_step_and_the_address_follows(
    page: Page, demo_server: LiveServer
) -> None:
    run_id = start_over_http(demo_server, "order-fulfilment", ORDER)
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)
    expect(run.status).to_have_text("success")

    run.open_step("payment.capture")

    expect(page).to_have_url(f"/runs/{run_id}/?step=payment.capture")
    expect(run.tab("Output")).to_have_attribute("aria-selected", "true")
    expect(run.panel).to_contain_text("transaction_id")
    page.reload()  # the deep link opens the same step
    expect(run.panel.locator('[data-panel][data-step="payment.capture"]')).to_be_attached()


def test_operator_starts_a_run_and_watches_its_nodes_change_colour_live(
    page: Page, demo_server: LiveServer
) -> None:
    signed_in(page, "demo", "/workflows/slow-countdown/")
    run_id = start_over_http(demo_server, "slow-countdown", SLOW)
    run = RunPage(page, run_id)
    page.evaluate("window.sameDocument = true")

    expect(run.node("tick")).to_have_attribute("data-status", "running")
    expect(run.node("report")).not_to_have_attribute("data-status", "success")
    expect(run.node("tick").locator(".g-badge")).to_contain_text("×")
    expect(run.node("report")).to_have_attribute("data-status", "success", timeout=30_000)
    expect(run.node("tick").locator(".g-badge")).to_have_text("×20")
    expect(run.status).to_have_text("success")
    expect(run.live_state).to_have_attribute("data-state", "finished")
    assert page.evaluate("window.sameDocument") is True  # never reloaded


def test_after_losing_the_websocket_the_page_has_every_event(
    page: Page, demo_server: LiveServer
) -> None:
    signed_in(page, "demo", "/")
    run_id = start_over_http(demo_server, "slow-countdown", SLOW)
    run = RunPage(page, run_id)
    expect(run.node("tick")).to_have_attribute("data-status", "running")

    run.drop_socket()
    expect(run.live_state).to_have_attribute("data-state", "reconnecting")
    expect(run.live_state).to_contain_text("last seq")

    expect(run.status).to_have_text("success", timeout=30_000)
    seq = last_seq(demo_server, run_id)
    assert run.received_seqs() == list(range(1, seq + 1))
    expect(page.locator("[data-event-count]")).to_have_text(f"({seq})")
    expect(run.events.last).to_have_attribute("data-type", "run.succeeded")
    expect(run.node("report")).to_have_attribute("data-status", "success")


def test_a_script_in_step_data_shows_as_text_on_the_run_page(
    page: Page, demo_server: LiveServer
) -> None:
    attack = "<script>window.injected = true</script><img src=x onerror=window.injected=true>"
    run_id = start_over_http(
        demo_server, "expense-approval", {**LARGE_EXPENSE, "description": attack}
    )
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)

    expect(run.panel.locator(".json-block").first).to_contain_text(attack)  # what it asked
    run.open_step("validate_expense")
    run.tab("Output").click()
    expect(run.panel.get_by_role("tabpanel")).to_contain_text(attack)
    expect(run.events.filter(has_text="<img src=x").first).to_be_visible()

    assert page.evaluate("window.injected") is None


def test_a_viewer_sees_no_operate_buttons_on_the_run_page(
    page: Page, demo_server: LiveServer
) -> None:
    run_id = start_over_http(demo_server, "expense-approval", LARGE_EXPENSE)
    signed_in(page, "viewer", f"/runs/{run_id}/")
    run = RunPage(page, run_id)

    expect(run.status).to_have_text("suspended")
    expect(page.locator("[data-run-actions] button")).to_have_count(0)
    expect(page.get_by_role("link", name="Export")).to_be_visible()
    expect(run.panel.locator("form[data-resume-form]")).to_have_count(0)
    expect(run.panel).to_contain_text("can view this question but not answer it")


def test_operator_answers_a_suspended_step_on_the_run_page(
    page: Page, demo_server: LiveServer
) -> None:
    run_id = start_over_http(demo_server, "expense-approval", LARGE_EXPENSE)
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)
    expect(run.tab("Resume")).to_have_attribute("aria-selected", "true")
    form = run.panel.locator("form[data-resume-form]")
    expect(form.locator(".schema-form-widget[data-ready]")).to_be_visible()

    form.locator('[data-schemapath="root.approved"] select').select_option("true")
    form.locator('[data-schemapath="root.approver"] input').fill("Maria")
    form.get_by_role("button", name="Answer and resume").click()

    expect(run.status).to_have_text("success")
    expect(run.node("manager_approval")).to_have_attribute("data-status", "success")
    expect(run.node("auto_approve")).to_have_attribute("data-status", "skipped")
    expect(run.node("notify")).to_have_attribute("data-status", "success")
    expect(run.panel).to_contain_text("answered by demo")
    expect(page.locator(".history-list")).to_contain_text("resume by demo")
    assert page.url.endswith(f"/runs/{run_id}/")


def test_the_event_log_filters_by_step_and_type(page: Page, demo_server: LiveServer) -> None:
    run_id = start_over_http(demo_server, "order-fulfilment", ORDER)
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)
    expect(run.status).to_have_text("success")

    page.get_by_label("Step", exact=True).fill("payment")
    page.get_by_label("Type", exact=True).select_option("step.succeeded")

    expect(run.events).to_have_count(4)  # payment and the three steps inside it
    for row in run.events.all():
        expect(row).to_have_attribute("data-type", "step.succeeded")
        expect(row.locator(".ev-path")).to_contain_text("payment")
    run.events.first.click()
    expect(page.locator(".ev-detail")).to_contain_text("Payload")


def test_the_state_rebuilt_from_a_stored_snapshot_matches_the_live_page(
    page: Page, demo_server: LiveServer
) -> None:
    run_id = start_over_http(demo_server, "data-pipeline", {"count": 5, "broken_ids": [4]})
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)
    expect(run.status).to_have_text("failed")

    differences = page.evaluate(
        """async () => {
            const { RunState } = await import("/static/run/state.js");
            const live = stepbackRunPage.state;
            const url = `/api/runs/${live.run.run_id}/snapshots/${live.seq}/`;
            const stored = RunState.fromSnapshot(await (await fetch(url)).json(), live.graph);
            const keys = [...live.nodes.keys()];
            return keys.filter((key) => stored.nodeStatus(key) !== live.nodeStatus(key)
                || stored.badge(key).text !== live.badge(key).text)
              .concat(stored.firstFailure() === live.firstFailure() ? [] : ["first failure"]);
        }"""
    )

    assert differences == []
    expect(run.node("process_record").locator(".g-badge")).to_have_text("3/5 · ✗1")


def test_operator_cancels_a_live_run_from_its_page(page: Page, demo_server: LiveServer) -> None:
    run_id = start_over_http(demo_server, "slow-countdown", LONG)
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)
    expect(run.node("tick")).to_have_attribute("data-status", "running")

    page.once("dialog", lambda dialog: dialog.accept())
    run.button("Cancel").click()

    expect(run.status).to_have_text("canceled")
    expect(run.button("Cancel")).to_be_hidden()
    expect(page.locator(".history-list")).to_contain_text("cancel by demo")


def test_operator_re_runs_a_run_with_the_same_input(page: Page, demo_server: LiveServer) -> None:
    run_id = start_over_http(demo_server, "order-fulfilment", {**ORDER, "order_id": "SO-RERUN"})
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)
    expect(run.status).to_have_text("success")

    page.once("dialog", lambda dialog: dialog.accept())
    run.button("Re-run").click()

    expect(page).not_to_have_url(f"/runs/{run_id}/")
    again = RunPage(page, page.url.split("/runs/")[1].strip("/"))
    expect(again.status).to_have_text("success")
    run.tab("Input").click()
    expect(again.panel).to_contain_text("SO-RERUN")
