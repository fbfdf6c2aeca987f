"""`python -m bench.debugger`: how fast the debugger's API answers on a 1,000-step run.

Records one run of `bench-page-chain` (1,000 steps in a row, `bench.page_workflows`) on a
temporary SQLite database (the embedded default, set up by `bench.django_workloads`), then
times, through the API with a signed-in viewer (Django's test client, so no network):

- the time-travel plan preview (`POST /api/runs/<id>/time-travel/preview/`) from the first,
  the middle and the last step, with an edited input: target under 50 ms;
- the same preview through `workflows_app.services` (what the view adds is the rest);
- a run started with a breakpoint at its middle step, and continuing it to the end (the
  debugger's own overhead on a 1,000-step walk).

Each figure is the best and median wall time and the median CPU time (of this process, every
thread) of `--repeat` calls after a warm-up; the 50 ms target is judged on the CPU time, which a
busy machine does not inflate. Figures are printed, never asserted (speed is measured here,
not in tests).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.django_workloads import app, in_thread, setup_django

WORKFLOW = "bench-page-chain"
TARGET_MS = 50.0


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def _timed(fn: Callable[[], Any], repeat: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each call. The CPU time (this process, every thread) is what a
    call costs whatever else the machine runs; the wall time includes waiting for a core."""
    fn()  # warm-up, untimed
    out = []
    for _ in range(repeat):
        began, cpu = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - began, time.process_time() - cpu))
    return out


def _line(label: str, times: list[tuple[float, float]], target: float | None = None) -> str:
    walls = [wall for wall, _ in times]
    cpus = [cpu for _, cpu in times]
    best, median, cpu = min(walls), statistics.median(walls), statistics.median(cpus)
    verdict = ""
    if target is not None:
        # Judged on the CPU time: on a shared machine the wall time includes waiting for a core.
        verdict = "  ok" if cpu * 1000 < target else f"  over {target:.0f} ms"
    return f"{label:<44} best {_ms(best)}  median {_ms(median)}  CPU {_ms(cpu)}{verdict}"


def measure(repeat: int) -> list[str]:
    """Record the run, then time each call; the report's lines."""
    from django.contrib.auth.models import Permission, User
    from django.test import Client

    services = app("services")
    user = User.objects.create_user("bench-debugger")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="workflows_app", codename__in=["view_run", "operate_run"]
        )
    )
    client = Client()
    client.force_login(user)

    began = time.perf_counter()
    run_id = services.start_run(WORKFLOW, {"i": 0}).run_id
    recorded = time.perf_counter() - began
    if services.get_run(run_id).status != "success":
        raise RuntimeError(f"the {WORKFLOW} run did not succeed")
    lines = [f"recorded a {WORKFLOW} run (1,000 steps) in {_ms(recorded)}"]

    for target in ("s0000", "s0500", "s0999"):
        body = json.dumps({"step": target, "input": {"i": 7}})
        url = f"/api/runs/{run_id}/time-travel/preview/"

        def preview(body: str = body, url: str = url) -> None:
            response = client.post(url, body, content_type="application/json")
            if response.status_code != 200 or not response.json()["valid"]:
                raise RuntimeError(f"preview refused: {response.status_code} {response.content!r}")

        lines.append(_line(f"plan preview from {target} (API)", _timed(preview, repeat), TARGET_MS))

        def direct(target: str = target) -> None:
            services.preview_time_travel(run_id, target, input_data={"i": 7})

        lines.append(_line(f"plan preview from {target} (services)", _timed(direct, repeat)))

    def pause_and_continue() -> None:
        paused = services.start_run(WORKFLOW, {"i": 0}, breakpoints=["s0500"])
        if paused.status != "paused":
            raise RuntimeError(f"expected a pause, got {paused.status}")
        if services.continue_run(paused.run_id).status != "success":
            raise RuntimeError("continuing did not finish the run")

    def plain() -> None:
        services.start_run(WORKFLOW, {"i": 0})

    rounds = max(1, repeat // 10)
    lines.append(_line("run 1,000 steps, no breakpoint", _timed(plain, rounds)))
    paused = _timed(pause_and_continue, rounds)
    lines.append(_line("run 1,000 steps paused at s0500, continued", paused))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per figure")
    args = parser.parse_args(argv)
    os.environ["STEPBACK_WORKFLOWS"] = "bench.page_workflows"
    os.environ["STEPBACK_EXECUTOR"] = "inline"
    os.environ["STEPBACK_RECOVERY"] = "0"
    setup_django()
    for line in in_thread(lambda: measure(args.repeat)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
