"""Page objects of the browser tests: what a person finds on each page, by what it shows."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import DEMO_PASSWORD


class SignInPage:
    """`/accounts/login/`."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def sign_in(self, username: str, password: str = DEMO_PASSWORD) -> None:
        """Fill the form and send it; waits until the next page shows the user."""
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator("[data-username]")).to_have_text(username)


def signed_in(page: Page, username: str, path: str = "/") -> Page:
    """Open `path` as `username` (through the sign-in page it redirects to)."""
    page.goto(path)
    SignInPage(page).sign_in(username)
    return page


class RunsPage:
    """The runs list (home)."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def rows(self) -> Locator:
        return self.page.locator("tbody[data-rows] tr[data-run-id]")

    def row(self, run_id: str) -> Locator:
        return self.page.locator(f'tr[data-run-id="{run_id}"]')

    def status_of(self, run_id: str) -> Locator:
        return self.row(run_id).locator("[data-cell=status] .chip")

    @property
    def live_state(self) -> Locator:
        return self.page.locator("[data-live-state]")

    def filter_by(self, **fields: str) -> None:
        """Choose filters in the form and apply them."""
        for label, value in fields.items():
            control = self.page.get_by_label(label.replace("_", " ").capitalize(), exact=True)
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)
        self.page.get_by_role("button", name="Apply").click()


class WorkflowPage:
    """A workflow's page with its generated start form."""

    def __init__(self, page: Page, workflow_id: str) -> None:
        self.page = page
        page.goto(f"/workflows/{workflow_id}/")
        self.form = page.locator("form[data-start-form]")
        expect(self.form.locator(".schema-form-widget[data-ready]")).to_be_visible()

    def field(self, name: str) -> Locator:
        """The generated form's input for a top-level field (`root.<name>`)."""
        return self.form.locator(f'[data-schemapath="root.{name}"] :is(input, select, textarea)')

    def start(self) -> None:
        self.form.get_by_role("button", name="Start run").click()

    def field_error(self, name: str) -> Locator:
        return self.form.locator(f'[data-schemapath="root.{name}"] .errmsg')


class InboxPage:
    """The inbox."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def task_of(self, run_id: str) -> Locator:
        return self.page.locator("article[data-task-id]").filter(
            has=self.page.locator(f'a[href="/runs/{run_id}/"]')
        )

    def answer(self, task: Locator, values: dict[str, Any]) -> None:
        """Fill the generated answer form (strings and booleans) and send it."""
        form = task.locator("form[data-task-form]")
        expect(form.locator(".schema-form-widget[data-ready]")).to_be_visible()
        for name, value in values.items():
            control = form.locator(f'[data-schemapath="root.{name}"] :is(input, select)').first
            if isinstance(value, bool):
                control.select_option("true" if value else "false")
            else:
                control.fill(str(value))
        form.get_by_role("button", name="Answer and resume").click()


def run_id_from(url: str) -> str:
    """The run id of a run page's address."""
    found = re.search(r"/runs/([^/]+)/", url)
    assert found, url
    return found.group(1)
