"""The run page's page object: what a person finds on `/runs/<run_id>/`, by what it shows."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import DEMO_PASSWORD, LiveServer


def start_over_http(server: LiveServer, workflow_id: str, data: Any) -> str:
    """Start a run as the demo operator through the API; its id."""
    status, body = server.signed_in("demo", DEMO_PASSWORD).post_json(
        "/api/runs/", {"workflow_id": workflow_id, "input": data}
    )
    assert status == 201, body
    run_id: str = body["run_id"]
    return run_id


class RunPage:
    """One run: header, graph, side panel, timeline and event log."""

    def __init__(self, page: Page, run_id: str, query: str = "") -> None:
        self.page = page
        self.run_id = run_id
        page.goto(f"/runs/{run_id}/{query}")
        expect(page.locator("main[data-ready]")).to_be_attached()

    @property
    def status(self) -> Locator:
        return self.page.locator("[data-run-status] .chip")

    @property
    def live_state(self) -> Locator:
        return self.page.locator("[data-live-state]")

    def node(self, key: str) -> Locator:
        """A step's node on the graph."""
        return self.page.locator(f'.graph-svg .g-node[data-key="{key}"]')

    @property
    def panel(self) -> Locator:
        return self.page.locator("[data-step-panel]")

    def open_step(self, key: str) -> None:
        """Click the step's node; waits until the panel shows it."""
        self.node(key).click()
        expect(self.panel.locator(f'[data-panel][data-step="{key}"]')).to_be_attached()

    def tab(self, name: str) -> Locator:
        return self.panel.get_by_role("tab", name=name)

    def button(self, name: str) -> Locator:
        return self.page.locator("[data-run-actions]").get_by_role("button", name=name)

    @property
    def events(self) -> Locator:
        """The event log's rows (only those in view are in the page)."""
        return self.page.locator(".ev-row[data-seq]")

    def timeline_row(self, key: str) -> Locator:
        return self.page.locator(f'.tl-row[data-key="{key}"]')

    def received_seqs(self) -> list[int]:
        """Every seq the page's event log holds, in order."""
        seqs: list[int] = self.page.evaluate(
            "() => [...stepbackRunPage.store.events.keys()].sort((a, b) => a - b)"
        )
        return seqs

    def drop_socket(self) -> None:
        """Close the page's websocket, as a network drop would."""
        self.page.evaluate(f"stepbackLive.runFeeds.get({self.run_id!r}).socket.close()")
