"""`python -m bench`: every workload side by side against LangGraph, printed as one table.

Targets are reported (PASS/MISS), never turned into a failing exit code; the exit code is 1 only
when a workload crashes or returns a wrong result.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import json
import platform
import pstats
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import django_workloads, floors, workloads
from bench.timing import Subject, Timing, measure, measure_pair, profile_call


@dataclass(frozen=True)
class Target:
    """A minimum speed-up over LangGraph, a maximum Stepback time, or a maximum ratio of
    Stepback's time to the floor's measured in the same run."""

    min_ratio: float | None = None
    max_ms: float | None = None
    max_floor_ratio: float | None = None

    def describe(self) -> str:
        if self.max_ms is not None:
            return f"<= {self.max_ms:g} ms"
        if self.max_floor_ratio is not None:
            return f"<= {self.max_floor_ratio:g}x floor"
        return f">= {self.min_ratio:g}x"

    def met(
        self, stepback_s: float, ratio: float | None, floor_ratio: float | None = None
    ) -> bool | None:
        """True/False, or None when the figure it needs is missing."""
        if self.max_ms is not None:
            return stepback_s * 1000 <= self.max_ms
        if self.max_floor_ratio is not None:
            return None if floor_ratio is None else floor_ratio <= self.max_floor_ratio
        if ratio is None or self.min_ratio is None:
            return None
        return ratio >= self.min_ratio


@dataclass(frozen=True)
class Workload:
    """A workload: its sizes, the Stepback subject, the LangGraph subject and the target."""

    key: str
    title: str
    full: int
    quick: int
    target: Target
    stepback: Callable[[int], Subject]
    peer: Callable[[Any, int, str], Subject] | None  # None: Stepback only, for its own target
    floor: Callable[[int], Subject] | None = None  # the hand-written floor, timed alongside

    def label(self, size: int) -> str:
        return self.title.format(n=size, at=workloads.fork_point(size))


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        key="W1",
        title="chain of {n} steps",
        full=1000,
        quick=100,
        target=Target(min_ratio=20),
        stepback=workloads.chain,
        peer=lambda peers, n, mode: peers.chain(n, mode),
    ),
    Workload(
        key="W2",
        title="fan-out {n} + join",
        full=1000,
        quick=100,
        target=Target(min_ratio=20),
        stepback=workloads.fanout,
        peer=lambda peers, n, mode: peers.fanout(n, mode),
    ),
    Workload(
        key="W3",
        title="foreach {n} items",
        full=10_000,
        quick=1000,
        target=Target(min_ratio=30),
        stepback=workloads.foreach,
        peer=lambda peers, n, mode: peers.foreach(n, mode),
    ),
    Workload(
        key="W4",
        title="chain of {n} steps persisted to Django/SQLite (group commit)",
        full=1000,
        quick=100,
        target=Target(min_ratio=20),
        stepback=django_workloads.chain,
        peer=lambda peers, n, mode: peers.chain_sqlite(n, mode),
    ),
    Workload(
        key="W4-per-step",
        title="chain of {n} steps that each wait, so every step commits to Django/SQLite",
        full=1000,
        quick=100,
        target=Target(max_floor_ratio=1.5),
        stepback=django_workloads.chain_per_step,
        peer=lambda peers, n, mode: peers.chain_sqlite(n, mode),
        floor=floors.sqlite_chain,
    ),
    Workload(
        key="W4-per-step-pg",
        title="chain of {n} steps that each wait, every step a commit to Django/PostgreSQL",
        full=1000,
        quick=100,
        target=Target(max_floor_ratio=1.5),
        stepback=django_workloads.chain_per_step_postgres,
        peer=lambda peers, n, mode: peers.chain_postgres(
            django_workloads.require_postgres(), n, mode
        ),
        floor=lambda n: floors.postgres_chain(django_workloads.require_postgres(), n),
    ),
    Workload(
        key="W5",
        title="time travel s{at} of {n}",
        full=1000,
        quick=100,
        target=Target(max_ms=20),
        stepback=workloads.time_travel,
        peer=lambda peers, n, mode: peers.time_travel(n, workloads.fork_point(n), mode),
    ),
    Workload(
        key="L1",
        title="runs list over {n} runs (count + page of 50)",
        full=django_workloads.LISTING_RUNS,
        quick=10_000,
        target=Target(max_ms=200),
        stepback=django_workloads.runs_list,
        peer=None,
    ),
)


@dataclass
class Row:
    """What one workload measured."""

    workload: Workload
    size: int
    steps: int = 0
    stepback: Timing | None = None
    langgraph: Timing | None = None
    floor: Timing | None = None
    peer_steps: int = 0
    peer_note: str | None = None
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.stepback is None or self.langgraph is None:
            return None
        return self.langgraph.best / self.stepback.best

    @property
    def floor_ratio(self) -> float | None:
        """Stepback's time over the floor's (best of each, per step)."""
        if self.stepback is None or self.floor is None:
            return None
        return (self.stepback.best / max(self.steps, 1)) / (
            self.floor.best / max(self.peer_steps or self.steps, 1)
        )

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "CRASH"
        if self.stepback is None:
            return "-"
        met = self.workload.target.met(self.stepback.best, self.ratio, self.floor_ratio)
        if met is None:
            return "n/a"
        return "PASS" if met else "MISS"

    def to_json(self) -> dict[str, Any]:
        def side(timing: Timing | None, steps: int) -> dict[str, Any] | None:
            if timing is None:
                return None
            return {
                "best_s": timing.best,
                "times_s": timing.times,
                "steps": steps,
                "per_step_us": timing.per_step_us(steps),
            }

        return {
            "workload": self.workload.key,
            "title": self.workload.label(self.size),
            "size": self.size,
            "stepback": side(self.stepback, self.steps),
            "langgraph": side(self.langgraph, self.peer_steps),
            "floor": side(self.floor, self.steps),
            "langgraph_note": self.peer_note,
            "ratio": self.ratio,
            "floor_ratio": self.floor_ratio,
            "target": self.workload.target.describe(),
            "verdict": self.verdict,
            "error": self.error,
        }


def select(only: str | None) -> list[Workload]:
    """The workloads named in `--only` (comma-separated keys), in table order."""
    if not only:
        return list(WORKLOADS)
    wanted = {key.strip().upper() for key in only.split(",") if key.strip()}
    known = [w.key for w in WORKLOADS]
    unknown = sorted(wanted.difference(k.upper() for k in known))
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [w for w in WORKLOADS if w.key.upper() in wanted]


def load_peers() -> tuple[Any, str | None]:
    """`bench.peers` and LangGraph's version, or (None, why) when LangGraph is missing."""
    try:
        peers = importlib.import_module("bench.peers")
    except ImportError as exc:
        return None, f"LangGraph is not installed ({exc})"
    return peers, None


async def measure_row(
    workload: Workload,
    size: int,
    peers: Any,
    peer_missing: str | None,
    args: argparse.Namespace,
) -> Row:
    row = Row(workload, size)
    try:
        subject = workload.stepback(size)
        row.steps = subject.steps
        if workload.floor is not None:
            # Floor and Stepback alternate call by call, so both see the same machine.
            floor = workload.floor(size)
            row.stepback, row.floor = await measure_pair(subject, floor, args.repeat)
        else:
            row.stepback = await measure(subject, args.repeat, args.budget)
        if workload.peer is None:
            pass  # measured against its own target only
        elif peers is None:
            row.peer_note = peer_missing
        else:
            peer = workload.peer(peers, size, args.peer_mode)
            row.peer_steps = peer.steps
            row.langgraph = await measure(peer, args.repeat, args.budget)
    except Exception as exc:
        row.error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    return row


def _ms(timing: Timing | None) -> str:
    return "-" if timing is None else f"{timing.best * 1000:.2f} ms"


def _us(timing: Timing | None, steps: int) -> str:
    return "-" if timing is None else f"{timing.per_step_us(steps):.1f}"


def render(rows: Sequence[Row]) -> str:
    """The results as a fixed-width table."""
    header = (
        "workload",
        "Stepback",
        "LangGraph",
        "SB us/step",
        "floor us/step",
        "LG us/step",
        "SB/floor",
        "ratio LG/SB",
        "target",
        "result",
    )
    lines = [header]
    for row in rows:
        ratio = row.ratio
        floor_ratio = row.floor_ratio
        lines.append(
            (
                f"{row.workload.key} {row.workload.label(row.size)}",
                _ms(row.stepback),
                _ms(row.langgraph),
                _us(row.stepback, row.steps),
                _us(row.floor, row.steps),
                _us(row.langgraph, row.peer_steps),
                "-" if floor_ratio is None else f"{floor_ratio:.2f}x",
                "-" if ratio is None else f"{ratio:.1f}x",
                row.workload.target.describe(),
                row.verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ]
        out.append("  ".join(cells).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def environment(peers: Any, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "langgraph": peers.version() if peers is not None else None,
        "langgraph_mode": args.peer_mode,
        "quick": args.quick,
        "repeat": args.repeat,
        "budget_s": args.budget,
    }


def profile(selected: Sequence[Workload], quick: bool, top: int) -> None:
    """Profile one warm call of the Stepback side of each workload; print the top functions."""
    for workload in selected:
        size = workload.quick if quick else workload.full
        subject = workload.stepback(size)
        profiler = cProfile.Profile()
        asyncio.run(profile_call(subject, profiler))
        for order in ("tottime", "cumulative"):
            print(f"\n== cProfile ({order}): Stepback {workload.key} {workload.label(size)} ==")
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats(order).print_stats(top)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Stepback workloads side by side against LangGraph."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W3")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per side (best of)")
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="stop timing a side after this many seconds of timed calls (at least one call)",
    )
    parser.add_argument(
        "--peer-mode",
        choices=("sync", "async"),
        default="sync",
        help="LangGraph nodes and calls: sync (invoke, its faster path) or async (ainvoke)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of timing, profile the Stepback side of each selected workload",
    )
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    return parser.parse_args(argv)


async def run_all(args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    selected = select(args.only)
    peers, missing = load_peers()
    env = environment(peers, args)
    rows = []
    for workload in selected:
        size = workload.quick if args.quick else workload.full
        print(f"running {workload.key} {workload.label(size)} ...", file=sys.stderr, flush=True)
        rows.append(await measure_row(workload, size, peers, missing, args))
    return rows, env


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile:
        profile(select(args.only), args.quick, args.top)
        return 0
    rows, env = asyncio.run(run_all(args))
    print(
        f"Stepback vs LangGraph {env['langgraph'] or '(not installed)'} "
        f"({env['langgraph_mode']} nodes)"
    )
    print(f"Python {env['python']} ({env['implementation']}) on {env['platform']}")
    print(
        f"{'quick' if env['quick'] else 'full'} sizes; best of {env['repeat']} timed calls "
        f"after one warm-up (at most {env['budget_s']:g} s of timed calls per side)\n"
    )
    print(render(rows))
    notes = [f"{r.workload.key}: {r.peer_note}" for r in rows if r.peer_note]
    notes += [f"{r.workload.key}: {r.error}" for r in rows if r.error]
    if any(r.workload.key == "W5" and r.langgraph is not None for r in rows):
        notes.append(
            "W5: the target is Stepback's absolute time; LangGraph (MemorySaver: update_state "
            "on the checkpoint before the fork node + invoke) is shown for information."
        )
    if any(r.workload.key.startswith("W4") and r.stepback is not None for r in rows):
        notes.append(
            "W4: Stepback stores every event and snapshot through DjangoStorage (SQLite, WAL, "
            "synchronous=NORMAL as in production); LangGraph checkpoints with SqliteSaver, "
            'durability="sync". W4 runs W1\'s steps: they never wait, so group commit '
            "stores the chain in a few writes; W4-per-step makes every step wait once, so each "
            "step is a commit of its own, as the peer's are."
        )
    if any(r.workload.key == "L1" and r.stepback is not None for r in rows):
        notes.append("L1: filter + newest first + count + first page of 50 + summary() per row.")
    for note in notes:
        print(f"  {note}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"environment": env, "results": [r.to_json() for r in rows]}, fh, indent=2)
            fh.write("\n")
        print(f"\nresults written to {args.json}")
    return 1 if any(r.error for r in rows) else 0
