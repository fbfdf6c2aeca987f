"""`python -m bench.compare_page`: how fast the compare page is in headless Chromium.

Records two runs of the 1,000-step chain of `bench.page_workflows` with different inputs (so
every step's input and output differ) on a Daphne of its own, and prints, against the web UI's
target: the comparison of the two runs rendered (the steps with their field-level diffs, the
first divergence scrolled to) in under 1 s, with the share the server took to answer the page,
and when both graphs were drawn (they follow the steps, one a frame). Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

from bench.run_page import CHROMIUM, CHROMIUM_ARGS, recorded_run, server, signed_in_page

# When the page said it was ready (the steps with their diffs, scrolled to the first divergence)
# and painted after that, and when both graphs were drawn, in ms since navigation started.
PROBE = """
window.__bench = {};
new MutationObserver(() => {
  const bench = window.__bench;
  if (!bench.ready && document.querySelector("main[data-ready]")) {
    bench.ready = performance.now();
    requestAnimationFrame(() => setTimeout(() => { bench.painted = performance.now(); }, 0));
  }
  if (!bench.graphs && document.querySelector("main[data-graphs-ready]")) {
    requestAnimationFrame(() => setTimeout(() => { bench.graphs = performance.now(); }, 0));
  }
}).observe(document, {
  subtree: true, attributes: true, attributeFilter: ["data-ready", "data-graphs-ready"],
});
"""


def busy(cdp: Any) -> float:
    """The renderer's main-thread busy time so far (s): unlike wall time, it does not grow
    while the machine's other processes hold the CPU."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def load(page: Any, cdp: Any, a: str, b: str) -> dict[str, float]:
    """Open the comparison once: when the server had answered, the page was ready, painted,
    and the main thread's busy time until the steps were painted (ms)."""
    before = busy(cdp)
    page.goto(f"/compare/?a={a}&b={b}")
    page.wait_for_function("window.__bench && window.__bench.painted")
    after = busy(cdp)
    # A navigation may start the page in a fresh renderer, whose counter starts at zero.
    work = (after - before if after >= before else after) * 1000
    page.wait_for_function("window.__bench.graphs")
    timing: dict[str, float] = page.evaluate(
        """() => ({ ...window.__bench,
            answered: performance.getEntriesByType("navigation")[0].responseEnd,
            rows: document.querySelectorAll("[data-cmp-table] > li").length })"""
    )
    return {**timing, "work": work}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=5, help="page loads (median)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with server() as (base_url, env):
        a = recorded_run(env, "bench-page-chain", {"i": 0})
        b = recorded_run(env, "bench-page-chain", {"i": 1})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = signed_in_page(browser, base_url, probe=PROBE)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            loads = [load(page, cdp, a, b) for _ in range(args.times)]
            browser.close()

    med = statistics.median
    painted = [t["painted"] for t in loads]
    graphs = [t["graphs"] for t in loads]
    work = [t["work"] for t in loads]
    answered = [t["answered"] for t in loads]
    rows = int(loads[0]["rows"])
    load_average = os.getloadavg()[0]
    print(f"Compare page, headless Chromium, median of {args.times} loads "
          f"(load average {load_average:.1f})")  # fmt: skip
    print(f"  {f'two {rows:,}-step runs compared: rendered':<48} {'< 1000 ms':>10}  "
          f"{med(painted):.0f} ms (max {max(painted):.0f})")  # fmt: skip
    print(f"  {'  of which the server answering the page':<48} {'':>10}  "
          f"{med(answered):.0f} ms (max {max(answered):.0f})")  # fmt: skip
    print(f"  {'  of which the browser busy (main thread)':<48} {'':>10}  "
          f"{med(work):.0f} ms (max {max(work):.0f})")  # fmt: skip
    print(f"  {'  both 1,000-node graphs drawn after it':<48} {'':>10}  "
          f"{med(graphs):.0f} ms (max {max(graphs):.0f})")  # fmt: skip


if __name__ == "__main__":
    main()
