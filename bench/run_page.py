"""`python -m bench.run_page`: how fast the run page is in headless Chromium on this machine.

Serves the workflows of `bench.page_workflows` with Daphne (its own SQLite file, removed after)
and prints, against the targets of the web UI:

- the page of a finished 1,000-step run: interactive (the page says it is ready and has painted
  once) in under 1 s, and how long opening a step takes;
- the page of a run of about 10,000 events: interactive in under 2 s, its event log showing the
  newest events, and a filter over the whole log;
- a run emitting about 50 step events a second: how long each event takes from the engine to a
  row of the event log in the DOM (95th percentile under 100 ms).

Figures are printed, never asserted (speed is measured here, not in tests).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
USER = "bench"
PASSWORD = "bench password"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
CREATE_USER = f"""
from django.contrib.auth.models import Permission, User
user = User.objects.create_user({USER!r}, password={PASSWORD!r})
user.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="workflows_app", codename__in=["view_run", "operate_run"]))
"""
# Records, in the page, when it became ready and painted, when the event log first showed rows,
# and when each event's row first entered the DOM (epoch ms, comparable with event `ts`).
PROBE = """
window.__bench = { seen: {}, received: {} };
const NativeSocket = window.WebSocket;
window.WebSocket = class extends NativeSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "event") window.__bench.received[data.event.seq] = Date.now();
    });
  }
};
new MutationObserver((records) => {
  const bench = window.__bench;
  if (!bench.ready && document.querySelector("main[data-ready]")) {
    bench.ready = performance.now();
    requestAnimationFrame(() => setTimeout(() => { bench.painted = performance.now(); }, 0));
  }
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType !== 1 || !node.matches(".ev-row[data-seq]")) continue;
      if (!bench.rows) bench.rows = performance.now();
      const seq = Number(node.dataset.seq);
      if (!(seq in bench.seen)) bench.seen[seq] = Date.now();
    }
  }
}).observe(document, {
  subtree: true, childList: true, attributes: true, attributeFilter: ["data-ready"],
});
"""
OPEN_STEP = """async (key) => {
  const t0 = performance.now();
  stepbackRunPage.select(key);
  await new Promise((done) => {
    const check = () => document.querySelector(`[data-step-panel] [data-panel][data-step="${key}"]`)
      ? done() : requestAnimationFrame(check);
    check();
  });
  return performance.now() - t0;
}"""
FILTER_LOG = """async () => {
  const t0 = performance.now();
  const select = document.querySelector("[data-event-filters] select[name=type]");
  select.value = "run.succeeded";
  select.dispatchEvent(new Event("change", { bubbles: true }));
  await new Promise((done) => {
    const check = () => stepbackRunPage.store.complete
      && document.querySelector('.ev-row[data-type="run.succeeded"]')
      && document.querySelectorAll(".ev-row[data-seq]").length === 1
      ? done() : requestAnimationFrame(check);
    check();
  });
  return performance.now() - t0;
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def recorded_run(env: dict[str, str], workflow: str, data: Any) -> str:
    """Run a workflow to its end in a command; its run id."""
    out = manage(env, "start_run", workflow, "--input", json.dumps(data))
    found = re.search(r"\b[0-9a-f]{32}\b", out)
    if not found:
        raise SystemExit(f"no run id in: {out}")
    return found.group(0)


@contextmanager
def server() -> Iterator[tuple[str, dict[str, str]]]:
    """Daphne serving the benchmark's workflows; its base URL and environment."""
    with tempfile.TemporaryDirectory() as directory:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            STEPBACK_SQLITE_PATH=str(Path(directory) / "db.sqlite3"),
            DJANGO_SETTINGS_MODULE="workflows_app.settings",
            STEPBACK_WORKFLOWS="bench.page_workflows",
            STEPBACK_EXECUTOR="thread",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        )
        manage(env, "migrate", "-v", "0")
        manage(env, "shell", "-c", CREATE_USER)
        port = free_port()
        process = subprocess.Popen(
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
                        raise SystemExit("daphne did not start") from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}", env
        finally:
            process.terminate()
            process.wait(10)


def signed_in_page(browser: Any, base_url: str, *, probe: str | None = None) -> Any:
    """A laptop-sized tab of `browser`, signed in as the bench user (with `probe` run before
    every page's own scripts)."""
    context = browser.new_context(viewport={"width": 1366, "height": 860}, base_url=base_url)
    if probe:
        context.add_init_script(probe)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("[data-username]")
    return page


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def open_page(page: Any, run_id: str) -> dict[str, float]:
    """Load the run's page; when it was ready, painted and showed event rows (ms)."""
    page.goto(f"/runs/{run_id}/")
    page.wait_for_function("window.__bench && window.__bench.painted && window.__bench.rows")
    timing: dict[str, float] = page.evaluate("window.__bench")
    return timing


def measure_loads(page: Any, run_id: str, times: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"painted": [], "rows": []}
    for _ in range(times):
        timing = open_page(page, run_id)
        figures["painted"].append(timing["painted"])
        figures["rows"].append(timing["rows"])
    return figures


def stream(page: Any, pulses: int) -> dict[str, Any]:
    """Start a pulse run, watch it on its page to the end; each live event's latency (ms)."""
    run: dict[str, Any] = page.evaluate(
        """async (n) => (await (await fetch("/api/runs/", {method: "POST",
            headers: {"Content-Type": "application/json",
                      "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content},
            body: JSON.stringify({workflow_id: "bench-page-pulse", input: {i: 0, n}})})).json())""",
        pulses,
    )
    page.goto(f"/runs/{run['run_id']}/")
    page.wait_for_function("window.stepbackRunPage")
    first = page.evaluate("stepbackRunPage.state.seq")
    page.wait_for_function(
        "stepbackRunPage.state.run.status === 'success'", timeout=(pulses * 0.2 + 30) * 1000
    )
    page.wait_for_timeout(300)  # the last frame
    latencies: list[float] = page.evaluate(
        """(first) => Object.entries(window.__bench.seen)
            .filter(([seq]) => Number(seq) > first)
            .map(([seq, at]) => at - stepbackRunPage.store.get(Number(seq)).ts * 1000)""",
        first,
    )
    # The share of it spent before the browser had the event (engine, storage, broadcast).
    arrivals: list[float] = page.evaluate(
        """(first) => Object.entries(window.__bench.received)
            .filter(([seq]) => Number(seq) > first)
            .map(([seq, at]) => at - stepbackRunPage.store.get(Number(seq)).ts * 1000)""",
        first,
    )
    span: float = page.evaluate(
        """(first) => { const s = stepbackRunPage.store; const last = s.total;
            return s.get(last).ts - s.get(first + 1).ts; }""",
        first,
    )
    return {
        "latencies": latencies,
        "arrivals": arrivals,
        "rate": len(latencies) / span if span else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=5, help="page loads per figure (median)")
    parser.add_argument("--pulses", type=int, default=300, help="iterations of the live run")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with server() as (base_url, env):
        chain = recorded_run(env, "bench-page-chain", {"i": 0})
        log = recorded_run(env, "bench-page-log", {"i": 0, "n": 5000})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = signed_in_page(browser, base_url, probe=PROBE)

            big = measure_loads(page, chain, args.times)
            opens = [page.evaluate(OPEN_STEP, f"s{k:04d}") for k in (10, 500, 990, 250, 750)]
            long_log = measure_loads(page, log, args.times)
            events = page.evaluate("stepbackRunPage.store.total")
            filtering = page.evaluate(FILTER_LOG)
            live = stream(page, args.pulses)
            browser.close()

    med = statistics.median
    lat = live["latencies"]
    got = live["arrivals"]
    rows = [
        ("1,000-step finished run: interactive", "< 1000 ms",
         f"{med(big['painted']):.0f} ms (max {max(big['painted']):.0f})"),
        ("  opening a step (graph, timeline, panel)", "",
         f"{med(opens):.0f} ms (max {max(opens):.0f})"),
        (f"{events:,}-event run: interactive", "< 2000 ms",
         f"{med(long_log['painted']):.0f} ms (max {max(long_log['painted']):.0f})"),
        ("  event log showing the newest events", "",
         f"{med(long_log['rows']):.0f} ms (max {max(long_log['rows']):.0f})"),
        ("  filtering the whole log by type", "", f"{filtering:.0f} ms"),
        (f"step event to DOM at {live['rate']:.0f} events/s: p95", "< 100 ms",
         f"{percentile(lat, 0.95):.0f} ms (p50 {percentile(lat, 0.5):.0f}, "
         f"max {max(lat):.0f}, {len(lat)} events)"),
        ("  of which until the socket delivered it: p95", "",
         f"{percentile(got, 0.95):.0f} ms (p50 {percentile(got, 0.5):.0f})"),
    ]  # fmt: skip
    load = os.getloadavg()[0]
    print(f"Run page, headless Chromium, median of {args.times} loads (load average {load:.1f})")
    for label, target, figure in rows:
        print(f"  {label:<48} {target:>10}  {figure}")


if __name__ == "__main__":
    main()
