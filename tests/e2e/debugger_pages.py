"""Page objects of the debugger's pages: time travel and compare."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


class TimeTravelPage:
    """`/runs/<run_id>/time-travel/?step=<key>`: the edits on the left, the plan on the right."""

    def __init__(self, page: Page) -> None:
        self.page = page
        expect(page.locator("main[data-ready]")).to_be_attached()
        expect(self.input_form.locator(".schema-form-widget[data-ready]")).to_be_attached()

    @property
    def input_form(self) -> Locator:
        return self.page.locator("[data-tt-input]")

    def input_field(self, name: str) -> Locator:
        return self.input_form.locator(f'[data-schemapath="root.{name}"] input')

    def edit_input(self, name: str, value: str) -> None:
        field = self.input_field(name)
        field.fill(value)
        field.press("Tab")

    @property
    def input_diff(self) -> Locator:
        return self.page.locator("[data-tt-input-diff]")

    @property
    def plan_state(self) -> Locator:
        return self.page.locator("[data-tt-plan-state]")

    def planned(self, key: str) -> Locator:
        """The plan's row of a step (its `data-action` says what the fork does with it)."""
        return self.page.locator(f'[data-tt-steps] li[data-key="{key}"]')

    def node(self, key: str) -> Locator:
        return self.page.locator(f'[data-tt-graph] .g-node[data-key="{key}"]')

    def reuse(self, key: str) -> None:
        self.planned(key).get_by_label("reuse the recorded output").check()

    def submit(self) -> None:
        self.page.get_by_role("button", name="Time travel: start the new run").click()


class ComparePage:
    """`/compare/?a=&b=`."""

    def __init__(self, page: Page) -> None:
        self.page = page
        expect(page.locator("main[data-ready]")).to_be_attached()

    @property
    def first_divergence(self) -> Locator:
        return self.page.locator("li.cmp-first")

    def graph_node(self, side: str, key: str) -> Locator:
        return self.page.locator(f'[data-cmp-graph="{side}"] .g-node[data-key="{key}"]')
