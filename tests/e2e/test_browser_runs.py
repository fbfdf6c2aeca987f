"""A person in a real browser (Chromium) on the seeded demo: signing in and the runs list."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.pages import RunsPage, SignInPage


def test_newcomer_signs_in_and_sees_the_demo_runs(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url("/accounts/login/?next=/")

    SignInPage(page).sign_in("demo")

    runs = RunsPage(page)
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    expect(runs.rows.filter(has_text="expense-approval").first).to_be_visible()
    expect(runs.rows.filter(has_text="order-fulfilment").first).to_be_visible()
    assert runs.rows.count() >= 10
    expect(page.locator('.chip[data-status="failed"]').first).to_be_visible()
    expect(runs.live_state).to_have_attribute("data-state", "live")
