"""A tiny best-of-N timer for async subjects, with an untimed warm-up run first."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any


class BenchError(AssertionError):
    """A workload produced a wrong result (the timing would be meaningless)."""


async def _nothing() -> None:
    return None


async def _release(_state: Any) -> None:
    return None


def _accept(_result: Any) -> None:
    return None


@dataclass
class Subject:
    """One side of a workload: how to prepare it, what to time, and how to check the result.

    `setup` runs once before anything else and `teardown` once at the end. Before each timed call
    `prepare()` builds a fresh state (untimed); `run(state)` is the timed call; `finish(state)`
    releases the state (untimed); `check(result)` raises `BenchError` on a wrong result.
    `steps` is the number of steps one timed call executes (for the per-step figure).
    """

    name: str
    steps: int
    run: Callable[[Any], Awaitable[Any]]
    prepare: Callable[[], Awaitable[Any]] = _nothing
    finish: Callable[[Any], Awaitable[None]] = _release
    check: Callable[[Any], None] = _accept
    setup: Callable[[], Awaitable[None]] = _nothing
    teardown: Callable[[], Awaitable[None]] = _nothing


@dataclass
class Timing:
    """Wall-clock seconds of every timed call; `best` is the minimum."""

    times: list[float] = field(default_factory=list)
    result: Any = None

    @property
    def best(self) -> float:
        return min(self.times)

    def per_step_us(self, steps: int) -> float:
        return self.best / max(steps, 1) * 1e6


async def _call(subject: Subject) -> tuple[float, Any]:
    state = await subject.prepare()
    try:
        gc.collect()
        started = perf_counter()
        result = await subject.run(state)
        elapsed = perf_counter() - started
    finally:
        await subject.finish(state)
    subject.check(result)
    return elapsed, result


async def run_once(subject: Subject) -> Any:
    """Set up, run and check the subject once (no timing); returns the checked result."""
    await subject.setup()
    try:
        _, result = await _call(subject)
    finally:
        await subject.teardown()
    return result


async def profile_call(subject: Subject, profiler: Any) -> Any:
    """Set up and warm up the subject, then run one call with `profiler` (a `cProfile.Profile`)
    enabled around the timed part only; returns the checked result."""
    await subject.setup()
    try:
        await _call(subject)
        state = await subject.prepare()
        try:
            gc.collect()
            profiler.enable()
            try:
                result = await subject.run(state)
            finally:
                profiler.disable()
        finally:
            await subject.finish(state)
        subject.check(result)
    finally:
        await subject.teardown()
    return result


async def measure(subject: Subject, repeat: int = 5, budget: float = 10.0) -> Timing:
    """Warm up once, then time up to `repeat` calls, stopping early once `budget` seconds of
    timed calls have passed (at least one call is always timed)."""
    timing = Timing()
    await subject.setup()
    try:
        await _call(subject)
        spent = 0.0
        while len(timing.times) < max(repeat, 1):
            elapsed, timing.result = await _call(subject)
            timing.times.append(elapsed)
            spent += elapsed
            if spent >= budget:
                break
    finally:
        await subject.teardown()
    return timing


async def measure_pair(first: Subject, second: Subject, repeat: int = 5) -> tuple[Timing, Timing]:
    """Time two subjects call by call, alternating (after one warm-up each), so that both see
    the same machine: on a shared machine a load spike then hits both sides alike."""
    timings = (Timing(), Timing())
    subjects = (first, second)
    for subject in subjects:
        await subject.setup()
    try:
        for subject in subjects:
            await _call(subject)
        for _ in range(max(repeat, 1)):
            for subject, timing in zip(subjects, timings, strict=True):
                elapsed, timing.result = await _call(subject)
                timing.times.append(elapsed)
    finally:
        for subject in subjects:
            await subject.teardown()
    return timings
