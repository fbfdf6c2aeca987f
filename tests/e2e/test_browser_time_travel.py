"""A person in a real browser (Chromium) debugging with time travel: a failed order travelled
back to with a new card (the plan preview following the edit, the earlier steps reused), the
new run opened live, the comparison with its first divergence; a downstream step's recorded
output reused; a run exported and imported again (file chooser and drag and drop)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_PASSWORD, LiveServer
from tests.e2e.debugger_pages import ComparePage, TimeTravelPage
from tests.e2e.pages import run_id_from, signed_in
from tests.e2e.run_page import RunPage, start_over_http

ORDER = {
    "order_id": "SO-77",
    "customer": "Ada",
    "lines": [{"sku": "lamp", "quantity": 1, "unit_price": 30}],
}


def test_operator_time_travels_a_failed_order_with_a_new_card_and_compares_the_runs(
    page: Page, demo_server: LiveServer
) -> None:
    failed = start_over_http(demo_server, "order-fulfilment", {**ORDER, "card": "0000"})
    signed_in(page, "demo", f"/runs/{failed}/")
    run = RunPage(page, failed)
    expect(run.panel.locator('[data-panel][data-step="payment.authorize"]')).to_be_attached()

    run.panel.get_by_role("link", name="Time travel…").click()
    travel = TimeTravelPage(page)
    expect(travel.planned("price_order")).to_have_attribute("data-action", "reused")
    expect(travel.node("price_order")).to_have_class(re.compile(r"\btt-reused\b"))
    expect(travel.planned("payment.authorize")).to_have_attribute("data-action", "re-executed")
    expect(travel.input_field("card")).to_have_value("0000")
    expect(travel.plan_state).to_have_text("as recorded, without edits")

    travel.edit_input("card", "4242")

    expect(travel.input_diff).to_contain_text('card: "0000" → "4242"')
    expect(travel.plan_state).to_have_text("updated for your edits")
    travel.submit()

    page.wait_for_url(re.compile(r"/runs/(?!" + failed + r")[0-9a-f]+/$"))
    fork = run_id_from(page.url)
    forked = RunPage(page, fork)
    expect(forked.status).to_have_text("success")
    expect(page.locator(".run-meta")).to_contain_text("fork of")
    lineage = page.locator("[data-lineage]")
    expect(lineage.locator(f'[data-lineage-run="{fork}"] [data-lineage-changes]')).to_contain_text(
        "input: card"
    )

    lineage.get_by_role("link", name="Compare with parent").click()
    compare = ComparePage(page)
    expect(page).to_have_url(f"/compare/?a={failed}&b={fork}")
    expect(compare.first_divergence).to_have_attribute("data-key", "payment")
    expect(compare.first_divergence).to_be_in_viewport()
    expect(compare.graph_node("a", "payment.authorize")).to_have_class(re.compile(r"cmp-differs"))
    expect(compare.graph_node("b", "payment.authorize")).to_have_attribute("data-status", "success")
    expect(compare.graph_node("a", "price_order")).not_to_have_class(re.compile(r"cmp-differs"))


def test_operator_reuses_a_downstream_steps_recorded_output_and_the_plan_follows(
    page: Page, demo_server: LiveServer
) -> None:
    done = start_over_http(demo_server, "order-fulfilment", ORDER)
    signed_in(page, "demo", f"/runs/{done}/time-travel/?step=payment_request")
    travel = TimeTravelPage(page)
    expect(travel.planned("ship_order")).to_have_attribute("data-action", "re-executed")

    travel.reuse("ship_order")

    expect(travel.planned("ship_order")).to_have_attribute("data-action", "reused")
    expect(travel.node("ship_order")).to_have_class(re.compile(r"\btt-reused\b"))
    travel.submit()
    page.wait_for_url(re.compile(r"/runs/(?!" + done + r")[0-9a-f]+/$"))
    fork = run_id_from(page.url)
    expect(RunPage(page, fork).status).to_have_text("success")
    expect(page.locator(f'[data-lineage-run="{fork}"] [data-lineage-changes]')).to_contain_text(
        "reused: ship_order"
    )


def export_to(server: LiveServer, run_id: str, directory: Path) -> Path:
    status, bundle = server.signed_in("demo", DEMO_PASSWORD).get_json(f"/api/runs/{run_id}/export/")
    assert status == 200, bundle
    path = directory / f"stepback-run-{run_id}.json"
    path.write_text(json.dumps(bundle))
    return path


def test_operator_imports_an_exported_bundle_and_lands_on_the_imported_run(
    page: Page, demo_server: LiveServer, tmp_path: Path
) -> None:
    run_id = start_over_http(demo_server, "order-fulfilment", ORDER)
    bundle = export_to(demo_server, run_id, tmp_path)
    signed_in(page, "demo", "/")
    # The run is already on this server: the page offers to import it under a new id.
    page.on("dialog", lambda dialog: dialog.accept())
    expect(page.locator("[data-module='runs/import'][data-ready]")).to_be_attached()

    page.get_by_label("a bundle downloaded").set_input_files(str(bundle))

    page.wait_for_url(re.compile(r"/runs/(?!" + run_id + r")[0-9a-f]+/$"))
    imported = RunPage(page, run_id_from(page.url))
    expect(imported.status).to_have_text("success")
    expect(imported.node("ship_order")).to_have_attribute("data-status", "success")


def test_operator_drops_a_bundle_on_the_runs_list_to_import_it(
    page: Page, demo_server: LiveServer, tmp_path: Path
) -> None:
    run_id = start_over_http(demo_server, "order-fulfilment", {**ORDER, "card": "0000"})
    text = export_to(demo_server, run_id, tmp_path).read_text()
    signed_in(page, "demo", "/")
    page.on("dialog", lambda dialog: dialog.accept())
    expect(page.locator("[data-module='runs/import'][data-ready]")).to_be_attached()

    page.evaluate(
        """(text) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([text], "bundle.json", { type: "application/json" }));
          const zone = document.querySelector("[data-module='runs/import']");
          zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
        }""",
        text,
    )

    page.wait_for_url(re.compile(r"/runs/(?!" + run_id + r")[0-9a-f]+/$"))
    expect(RunPage(page, run_id_from(page.url)).status).to_have_text("failed")
