"""A person debugging a run in a real browser (Chromium): the scrubber shows the run as it was
at an earlier event, step-through with "Next step", a breakpoint set on the graph, and the
keyboard alone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.pages import signed_in
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
    keys.press("g")
    keys.press("r")
    expect(page).to_have_url("/")
