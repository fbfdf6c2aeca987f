"""`python -m bench.scrubber`: how fast the run page's scrubber shows a moment, in headless
Chromium on this machine.

Serves `bench.page_workflows` with Daphne (as `bench.run_page` does) and, on a run of about
10,000 events and on a finished 1,000-step run, moves the scrubber like a person would: jumps
to positions spread over the run, drags along it in small steps, and presses `[` over and over.
Each figure is the time from the move to the graph, the timeline and the readout showing that
moment, painted (the panel follows once the slider rests: it is timed on its own). Target:
under 100 ms per position. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
from typing import Any

from bench.run_page import (
    CHROMIUM,
    CHROMIUM_ARGS,
    percentile,
    recorded_run,
    server,
    signed_in_page,
)

# One move, timed until the frame after it is drawn.
MOVE = """async (seq) => {
  const scrubber = stepbackRunPage.widgets.scrubber;
  const t0 = performance.now();
  await scrubber.moveTo(seq);
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  return [performance.now() - t0, scrubber.cost];
}"""
# `[` as a person presses it (a keydown on the page), timed in the page.
KEY = """async () => {
  const scrubber = stepbackRunPage.widgets.scrubber;
  const before = scrubber.rendered;
  const t0 = performance.now();
  document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "[", bubbles: true }));
  await new Promise((done) => {
    const check = () => (scrubber.rendered > before ? done() : setTimeout(check, 1));
    check();
  });
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  return [performance.now() - t0, scrubber.cost];
}"""
# The panel of the moment: from the move until the server's panel for it is on the page.
PANEL = """async (seq) => {
  const t0 = performance.now();
  stepbackRunPage.widgets.scrubber.moveTo(seq);
  await new Promise((done) => {
    const check = () => document.querySelector(`[data-step-panel] [data-at-seq="${seq}"]`)
      ? done() : requestAnimationFrame(check);
    check();
  });
  return performance.now() - t0;
}"""


def scrub(page: Any, run_id: str, jumps: int, drag: int, seed: int) -> dict[str, list[float]]:
    page.goto(f"/runs/{run_id}/")
    page.wait_for_function("window.stepbackRunPage && window.stepbackRunPage.widgets.scrubber")
    last: int = page.evaluate("stepbackRunPage.state.seq")
    rng = random.Random(seed)
    figures: dict[str, list[float]] = {
        name: [] for name in ("jump", "drag", "key", "jump-cost", "drag-cost", "key-cost", "panel")
    }

    def record(kind: str, timing: list[float]) -> None:
        figures[kind].append(timing[0])
        figures[f"{kind}-cost"].append(timing[1])

    for _ in range(jumps):
        record("jump", page.evaluate(MOVE, rng.randint(1, last - 1)))
    start = rng.randint(1, max(last - drag * 7, 1))
    for i in range(drag):
        record("drag", page.evaluate(MOVE, start + i * 7))  # a slider dragged by hand
    page.evaluate(MOVE, last // 2)
    for _ in range(drag):
        record("key", page.evaluate(KEY))
    for _ in range(5):
        figures["panel"].append(page.evaluate(PANEL, rng.randint(1, last - 1)))
    figures["events"] = [float(last)]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jumps", type=int, default=40, help="positions jumped to per run")
    parser.add_argument("--drag", type=int, default=40, help="small moves per run")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with server() as (base_url, env):
        log = recorded_run(env, "bench-page-log", {"i": 0, "n": 5000})
        chain = recorded_run(env, "bench-page-chain", {"i": 0})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = signed_in_page(browser, base_url)
            runs = {
                "long log": scrub(page, log, args.jumps, args.drag, 1),
                "1,000 steps": scrub(page, chain, args.jumps, args.drag, 2),
            }
            browser.close()

    load = os.getloadavg()[0]
    print(f"Scrubber, headless Chromium (load average {load:.1f}); target < 100 ms a position")
    for name, figures in runs.items():
        print(f"  {name} run ({int(figures['events'][0]):,} events)")
        for kind, label in (
            ("jump", "jump to a random event, painted"),
            ("jump-cost", "  of which reading and drawing"),
            ("drag", "drag (7 events a move), painted"),
            ("drag-cost", "  of which reading and drawing"),
            ("key", "`[` one event back, painted"),
            ("key-cost", "  of which reading and drawing"),
            ("panel", "the step panel of a moment (server)"),
        ):
            values = figures[kind]
            print(
                f"    {label:<40} p50 {statistics.median(values):6.1f} ms  "
                f"p95 {percentile(values, 0.95):6.1f} ms  max {max(values):6.1f} ms"
                f"  ({len(values)})"
            )


if __name__ == "__main__":
    main()
