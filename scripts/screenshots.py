"""Screenshots of every page, on a laptop (light theme) and a phone (dark theme), into
docs/screenshots/ (the README shows them).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Serves a freshly seeded demo with Daphne on a free port (its own SQLite file, removed after),
signs in as the demo operator and drives Debian's Chromium (/usr/bin/chromium) with Playwright.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
SCREENS = {
    "laptop": {"viewport": {"width": 1366, "height": 860}, "color_scheme": "light"},
    "phone": {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark"},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def demo_server() -> Iterator[str]:
    """A Daphne serving the seeded demo; its base URL."""
    with tempfile.TemporaryDirectory() as directory:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            STEPBACK_SQLITE_PATH=str(Path(directory) / "db.sqlite3"),
            DJANGO_SETTINGS_MODULE="workflows_app.settings",
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
        subprocess.run(
            [*manage, "seed_demo", "--password", PASSWORD],
            cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-p", str(port), "workflows_app.asgi:application"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("daphne did not start") from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(10)


def first_run(page: Page, query: str) -> str:
    """The id of the newest run the runs list shows for `query`."""
    page.goto(f"/?{query}")
    row = page.locator("tr[data-run-id]").first
    expect(row).to_be_visible()
    run_id = row.get_attribute("data-run-id")
    assert run_id
    return run_id


def run_page(page: Page, path: str) -> None:
    """Open a run's page and wait until its scripts have drawn it."""
    page.goto(path)
    expect(page.locator("main[data-ready]")).to_be_attached()
    # A traceback names the paths of the machine that ran the step: folded in the pictures.
    page.evaluate("document.querySelectorAll('.traceback-box').forEach((d) => { d.open = false; })")


def live_run(page: Page) -> None:
    """Start a slow run and open its page while it runs."""
    run = page.evaluate(
        """async () => (await (await fetch("/api/runs/", {method: "POST",
            headers: {"Content-Type": "application/json",
                      "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content},
            body: JSON.stringify({workflow_id: "slow-countdown",
                input: {ticks: 40, tick_seconds: 0.25, pause_seconds: 1}})})).json())"""
    )
    run_page(page, f"/runs/{run['run_id']}/")
    expect(page.locator('.g-node[data-key="tick"][data-status="running"]')).to_be_attached()
    page.wait_for_timeout(1500)  # a few iterations on the timeline


def time_travel(page: Page, run_id: str) -> None:
    """The time-travel page of a declined order, its card edited and the plan updated."""
    page.goto(f"/runs/{run_id}/time-travel/?step=payment.authorize")
    expect(page.locator("main[data-ready]")).to_be_attached()
    card = page.locator('[data-tt-input] [data-schemapath="root.card"] input')
    card.fill("4242")
    card.press("Tab")
    expect(page.locator("[data-tt-plan-state]")).to_have_text("updated for your edits")


def compare(page: Page, a: str, b: str) -> None:
    """Two runs compared, opened on the first divergence."""
    page.goto(f"/compare/?a={a}&b={b}")
    expect(page.locator("main[data-ready]")).to_be_attached()


def pages(page: Page) -> Iterator[tuple[str, Callable[[], None]]]:
    """(name, how to open it) for every page."""
    nested = first_run(page, "workflow=order-fulfilment&status=success")
    declined = first_run(page, "workflow=order-fulfilment&status=failed")
    waiting = first_run(page, "workflow=expense-approval&status=suspended")
    pipeline = first_run(page, "workflow=data-pipeline&status=failed")
    yield "runs", lambda: page.goto("/")
    yield "runs-filtered", lambda: page.goto("/?status=failed")
    yield "workflows", lambda: page.goto("/workflows/")
    yield "workflow", lambda: page.goto("/workflows/order-fulfilment/")
    yield "inbox", lambda: page.goto("/inbox/")
    yield "inbox-answered", lambda: page.goto("/inbox/?show=answered")
    yield "run", lambda: run_page(page, f"/runs/{nested}/?step=payment.capture")
    yield "run-failed", lambda: run_page(page, f"/runs/{declined}/")
    yield "run-foreach", lambda: run_page(page, f"/runs/{pipeline}/?step=process_record&tab=items")
    yield "run-suspended", lambda: run_page(page, f"/runs/{waiting}/")
    yield "run-live", lambda: live_run(page)
    yield "run-scrubbed", lambda: scrubbed(page, nested)
    yield "run-shortcuts", lambda: shortcuts(page, nested)
    yield "run-paused", lambda: paused(page)
    fork = first_run(page, f"parent_run_id={pipeline}")
    yield "time-travel", lambda: time_travel(page, declined)
    yield "compare", lambda: compare(page, pipeline, fork)
    yield "run-lineage", lambda: run_page(page, f"/runs/{fork}/")


def paused(page: Page) -> None:
    """An order run started with a breakpoint, paused before it, with the step-through bar."""
    run = page.evaluate(
        """async () => (await (await fetch("/api/runs/", {method: "POST",
            headers: {"Content-Type": "application/json",
                      "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content},
            body: JSON.stringify({workflow_id: "order-fulfilment", breakpoints: ["ship_order"],
                input: {order_id: "SO-77", customer: "Ada",
                        lines: [{sku: "cable", quantity: 2, unit_price: 6.5}]}})})).json())"""
    )
    run_page(page, f"/runs/{run['run_id']}/")
    expect(page.locator("[data-debug-bar] [data-paused-at]")).to_contain_text("ship_order")


def scrubbed(page: Page, run_id: str) -> None:
    """A finished run with the scrubber moved back to the moment payment began."""
    run_page(page, f"/runs/{run_id}/?step=payment.authorize")
    seq = page.evaluate(
        """async () => { const s = stepbackRunPage.store; await s.ensure(1, s.total);
            return [...s.events.values()].find((e) => e.type === 'step.succeeded'
              && e.path.join('.') === 'payment.authorize').seq; }"""
    )
    page.locator("[data-scrub-slider]").fill(str(seq))
    expect(page.locator(f'[data-step-panel] [data-at-seq="{seq}"]')).to_be_attached()


def shortcuts(page: Page, run_id: str) -> None:
    """The keyboard shortcuts dialog (`?`) over a run's page."""
    run_page(page, f"/runs/{run_id}/")
    page.keyboard.press("?")
    expect(page.locator("dialog[data-shortcuts]")).to_be_visible()


def shoot(base_url: str, out: Path, only: frozenset[str] = frozenset()) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium
        browser = chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for screen, options in SCREENS.items():
            context = browser.new_context(base_url=base_url, **options)  # type: ignore[arg-type]
            page = context.new_page()
            page.goto("/accounts/login/")
            if not only or "sign-in" in only:
                target = out / f"sign-in-{screen}.png"
                page.screenshot(path=target)
                written.append(target)
            page.get_by_label("Username").fill("demo")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("[data-username]")).to_be_visible()
            for name, open_page in pages(page):
                if only and name not in only:
                    continue
                open_page()
                page.wait_for_load_state("networkidle")
                expect(page.locator(".alert-error:visible")).to_have_count(0)
                target = out / f"{name}-{screen}.png"
                page.screenshot(path=target, full_page=screen == "laptop")
                written.append(target)
            context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--only", nargs="*", default=[], help="page names to shoot (all if none)")
    args = parser.parse_args()
    with demo_server() as base_url:
        for path in shoot(base_url, args.out, frozenset(args.only)):
            print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


if __name__ == "__main__":
    main()
