"""A person debugging a run in a real browser (Chromium): the scrubber shows the run as it was
at an earlier event, step-through with "Next step", a breakpoint set on the graph, and the
keyboard alone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.pages import WorkflowPage, signed_in
from tests.e2e.run_page import RunPage, start_over_http

ORDER = {
    "order_id": "SO-11",
    "customer": "Ada",
    "lines": [{"sku": "cable", "quantity": 1, "unit_price": 6.5}],
}


def test_operator_moves_the_scrubber_and_sees_an_earlier_state(
    page: Page, demo_server: LiveServer
) -> None:
    run_id = start_over_http(demo_server, "order-fulfilment", ORDER)
    signed_in(page, "demo", f"/runs/{run_id}/?step=ship_order")
    run = RunPage(page, run_id, "?step=ship_order")
    expect(run.status).to_have_text("success")
    expect(run.node("ship_order")).to_have_attribute("data-status", "success")
    scrubber = page.locator("[data-scrubber]")
    expect(scrubber).to_have_attribute("data-at", "now")

    # Back to the moment price_order had just finished: ship_order had not run then.
    seq = page.evaluate(
        """() => { const s = stepbackRunPage.store; return [...s.events.values()]
            .find((e) => e.type === 'step.succeeded' && e.path.join('.') === 'price_order').seq }"""
    )
    slider = page.locator("[data-scrub-slider]")
    slider.fill(str(seq))
    expect(scrubber).to_have_attribute("data-at", str(seq))
    expect(page).to_have_url(f"/runs/{run_id}/?step=ship_order&at={seq}")
    expect(run.node("price_order")).to_have_attribute("data-status", "success")
    expect(run.node("ship_order")).not_to_have_attribute("data-status", "success")
    expect(run.panel.locator(f'[data-at-seq="{seq}"]')).to_be_attached()
    expect(run.panel.locator('.chip[data-status="pending"]')).to_have_text("not run")

    # One event on with `]`: the next step has started.
    page.locator("body").press("]")
    expect(scrubber).to_have_attribute("data-at", str(seq + 1))

    page.reload()  # the position is in the address
    expect(scrubber).to_have_attribute("data-at", str(seq + 1))
    expect(run.node("ship_order")).not_to_have_attribute("data-status", "success")

    scrubber.get_by_role("button", name="Now").click()
    expect(scrubber).to_have_attribute("data-at", "now")
    expect(run.node("ship_order")).to_have_attribute("data-status", "success")
    expect(run.panel.locator('[data-panel][data-status="success"]')).to_be_attached()
    expect(page).to_have_url(f"/runs/{run_id}/?step=ship_order")


def test_operator_navigates_a_run_with_the_keyboard_alone(
    page: Page, demo_server: LiveServer
) -> None:
    run_id = start_over_http(demo_server, "order-fulfilment", ORDER)
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)
    expect(run.status).to_have_text("success")
    keys = page.keyboard

    keys.press("j")  # the first step in the graph's order
    expect(run.node("price_order")).to_have_class(re.compile(r"\bselected\b"))
    expect(run.panel.locator("[data-step-source] summary")).to_contain_text("orders.py:")
    keys.press("j")
    keys.press("j")
    expect(page).to_have_url(f"/runs/{run_id}/?step=payment")
    keys.press("k")
    expect(page).to_have_url(f"/runs/{run_id}/?step=payment_request")
    expect(run.panel.locator('[data-panel][data-step="payment_request"]')).to_be_attached()
    keys.press("Enter")  # into the step's panel
    expect(run.panel.get_by_role("tab", selected=True)).to_be_focused()
    page.locator("body").focus()

    keys.press("[")  # the scrubber, one event back from now
    scrubber = page.locator("[data-scrubber]")
    last = run.page.evaluate("stepbackRunPage.state.seq")
    expect(scrubber).to_have_attribute("data-at", str(last - 1))
    keys.press("[")
    expect(page).to_have_url(f"/runs/{run_id}/?step=payment_request&at={last - 2}")
    keys.press("]")
    keys.press("]")  # back at the last event: now
    expect(scrubber).to_have_attribute("data-at", "now")

    keys.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Time travel from the selected step")
    keys.press("Escape")
    expect(dialog).to_be_hidden()

    keys.press("t")
    expect(page).to_have_url(f"/runs/{run_id}/time-travel/?step=payment_request")
    page.go_back()
    expect(page.locator("main[data-ready]")).to_be_attached()
    keys.press("g")
    keys.press("i")
    expect(page).to_have_url("/inbox/")
    page.go_back()  # the inbox puts the keys in its first answer field
    expect(page.locator("main[data-ready]")).to_be_attached()
    keys.press("g")
    keys.press("r")
    expect(page).to_have_url("/")


def test_operator_steps_through_a_run_with_next_step(page: Page, demo_server: LiveServer) -> None:
    signed_in(page, "demo", "/workflows/expense-approval/")
    workflow = WorkflowPage(page, "expense-approval")
    workflow.field("employee").fill("Ada")
    workflow.field("amount").fill("42.5")
    workflow.field("category").select_option("travel")
    workflow.field("description").fill("taxi")
    page.get_by_label("Step through: pause before every step").check()
    workflow.start()

    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f]{32}/"))
    expect(page.locator("main[data-ready]")).to_be_attached()
    run_id = page.url.split("/runs/")[1].split("/")[0]
    run = RunPage(page, run_id)
    bar = page.locator("[data-debug-bar]")
    expect(run.status).to_have_text("paused")
    expect(run.node("validate_expense")).to_have_attribute("data-status", "success")
    expect(bar.locator("[data-paused-at]")).to_contain_text("Paused before")
    expect(page.locator(".g-node.paused-here")).to_have_count(1)

    bar.get_by_role("button", name="Next step").click()  # one step, then paused again
    expect(run.node("auto_approve")).to_have_attribute("data-status", "success")
    expect(run.status).to_have_text("paused")
    expect(run.node("record_decision")).not_to_have_attribute("data-status", "success")

    page.reload()  # a paused run reloads in the same state
    expect(run.status).to_have_text("paused")
    expect(bar.locator("[data-paused-at]")).to_contain_text("Paused before")
    page.keyboard.press("n")  # the next step, from the keyboard
    expect(run.node("decide")).to_have_attribute("data-status", "success")

    bar.get_by_role("button", name="Continue").click()
    expect(run.status).to_have_text("success")
    expect(run.node("notify")).to_have_attribute("data-status", "success")
    expect(bar.get_by_role("button", name="Next step")).to_be_hidden()


def test_operator_sets_a_breakpoint_on_the_graph_runs_and_continues(
    page: Page, demo_server: LiveServer
) -> None:
    run_id = start_over_http(demo_server, "order-fulfilment", ORDER)
    signed_in(page, "demo", f"/runs/{run_id}/")
    run = RunPage(page, run_id)
    expect(run.status).to_have_text("success")
    bar = page.locator("[data-debug-bar]")

    bar.get_by_role("button", name="Set breakpoints").click()
    run.node("payment.capture").click()
    run.node("ship_order").click()
    expect(run.node("ship_order")).to_have_class(re.compile(r"\bbreakpoint\b"))
    expect(bar).to_have_attribute("data-breakpoints", "payment.capture ship_order")
    run.node("payment.capture").click()  # a second click removes it
    expect(bar).to_have_attribute("data-breakpoints", "ship_order")

    bar.get_by_role("button", name="Re-run to breakpoints").click()
    expect(page).not_to_have_url(re.compile(run_id))
    expect(page.locator("main[data-ready]")).to_be_attached()
    rerun_id = page.url.split("/runs/")[1].split("/")[0]
    rerun = RunPage(page, rerun_id)
    expect(rerun.status).to_have_text("paused")
    expect(rerun.node("payment.issue_receipt")).to_have_attribute("data-status", "success")
    expect(rerun.node("ship_order")).to_have_class(re.compile(r"\bpaused-here\b"))
    expect(rerun.node("ship_order")).to_have_class(re.compile(r"\bbreakpoint\b"))
    expect(bar.locator("[data-paused-at]")).to_contain_text("ship_order")

    bar.get_by_role("button", name="Continue").click()
    expect(rerun.status).to_have_text("success")
    expect(rerun.node("ship_order")).to_have_attribute("data-status", "success")
