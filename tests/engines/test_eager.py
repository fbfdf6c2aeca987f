"""`run_eager` and `gather_eager` behave like awaiting and like `asyncio.gather`.

They drive a coroutine by hand as far as it goes without waiting, and only hand it to the event
loop when it does wait. Every test compares with what plain `await` or `asyncio.gather` gives
for coroutines that finish at once, that wait, and that raise. Waiting is always on an
`asyncio.Event` (or a bare `asyncio.sleep(0)` yield), never on a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from engines.core.eager import gather_eager, run_eager


class Boom(Exception):
    """The error the raising coroutines raise."""


async def immediate(value: Any) -> Any:
    """Finish without ever waiting."""
    return value


async def after_yield(value: Any) -> Any:
    """Give the loop one turn, then finish."""
    await asyncio.sleep(0)
    return value


async def raise_at_once(message: str) -> Any:
    """Raise without waiting."""
    raise Boom(message)


async def raise_after_yield(message: str) -> Any:
    """Give the loop one turn, then raise."""
    await asyncio.sleep(0)
    raise Boom(message)


async def after_event(event: asyncio.Event, value: Any) -> Any:
    """Wait until `event` is set, then finish."""
    await event.wait()
    return value


class WaitCounter:
    """A `before_wait` hook that counts its calls and records when they happened."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.calls = 0
        self.log = log if log is not None else []

    async def __call__(self) -> None:
        self.calls += 1
        self.log.append("before_wait")


# -- run_eager --------------------------------------------------------------------------------


async def test_run_eager_returns_the_value_of_a_coroutine_that_never_waits() -> None:
    """A coroutine that finishes at once gives the same value as awaiting it."""
    assert await run_eager(immediate({"a": 1})) == await immediate({"a": 1})


async def test_run_eager_returns_the_value_of_a_coroutine_that_waits() -> None:
    """A coroutine that yields to the loop first still gives the value awaiting gives."""
    assert await run_eager(after_yield([1, 2])) == await after_yield([1, 2])


async def test_run_eager_returns_the_value_of_a_coroutine_waiting_on_an_event() -> None:
    """A coroutine blocked on an event finishes with its value once the event is set."""
    event = asyncio.Event()
    task = asyncio.ensure_future(run_eager(after_event(event, "done")))
    await asyncio.sleep(0)
    assert not task.done()
    event.set()
    assert await task == "done"


async def test_run_eager_raises_what_a_coroutine_raises_before_waiting() -> None:
    """An error raised before the first wait reaches the caller, as with `await`."""
    with pytest.raises(Boom, match="early") as direct:
        await raise_at_once("early")
    with pytest.raises(Boom, match="early") as eager:
        await run_eager(raise_at_once("early"))
    assert type(eager.value) is type(direct.value)
    assert eager.value.args == direct.value.args


async def test_run_eager_raises_what_a_coroutine_raises_after_waiting() -> None:
    """An error raised after a wait reaches the caller, as with `await`."""
    with pytest.raises(Boom, match="late"):
        await run_eager(raise_after_yield("late"))


async def test_run_eager_does_not_call_before_wait_for_a_coroutine_that_never_waits() -> None:
    """`before_wait` is skipped when the coroutine finishes in one go."""
    hook = WaitCounter()
    assert await run_eager(immediate(3), hook) == 3
    assert hook.calls == 0


async def test_run_eager_does_not_call_before_wait_when_the_coroutine_raises_at_once() -> None:
    """A coroutine that raises before waiting never waited: no `before_wait`."""
    hook = WaitCounter()
    with pytest.raises(Boom):
        await run_eager(raise_at_once("x"), hook)
    assert hook.calls == 0


async def test_run_eager_calls_before_wait_once_for_a_coroutine_that_waits() -> None:
    """A coroutine that waits (even several times) gets one `before_wait` call."""
    hook = WaitCounter()

    async def waits_twice() -> str:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return "ok"

    assert await run_eager(waits_twice(), hook) == "ok"
    assert hook.calls == 1


async def test_run_eager_calls_before_wait_before_the_coroutine_goes_on() -> None:
    """`before_wait` runs after the coroutine's first part and before the rest."""
    log: list[str] = []
    hook = WaitCounter(log)

    async def logged() -> None:
        log.append("first part")
        await asyncio.sleep(0)
        log.append("rest")

    await run_eager(logged(), hook)
    assert log == ["first part", "before_wait", "rest"]


async def test_run_eager_closes_the_coroutine_when_before_wait_raises() -> None:
    """If `before_wait` fails, its error propagates and the coroutine is closed, not leaked."""
    cleaned_up = asyncio.Event()

    async def waiting() -> None:
        try:
            await asyncio.sleep(0)
        finally:
            cleaned_up.set()

    async def failing_hook() -> None:
        raise Boom("hook")

    with pytest.raises(Boom, match="hook"):
        await run_eager(waiting(), failing_hook)
    assert cleaned_up.is_set()


async def test_cancelling_run_eager_cancels_the_waiting_coroutine() -> None:
    """Cancelling the task that awaits `run_eager` throws `CancelledError` into the coroutine."""
    started = asyncio.Event()
    seen: list[str] = []

    async def blocked() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    task = asyncio.ensure_future(run_eager(blocked()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled"]


async def test_a_coroutine_that_never_waits_runs_in_the_callers_task() -> None:
    """No task is made for a coroutine that finishes at once."""
    outer = asyncio.current_task()

    async def which_task() -> asyncio.Task[Any] | None:
        return asyncio.current_task()

    assert await run_eager(which_task()) is outer
    assert await gather_eager([which_task(), which_task()]) == [outer, outer]


# -- gather_eager -----------------------------------------------------------------------------

Factory = Callable[[], list[Coroutine[Any, Any, Any]]]


def all_immediate() -> list[Coroutine[Any, Any, Any]]:
    return [immediate(i) for i in range(4)]


def all_waiting() -> list[Coroutine[Any, Any, Any]]:
    return [after_yield(i) for i in range(4)]


def mixed() -> list[Coroutine[Any, Any, Any]]:
    return [immediate("a"), after_yield("b"), immediate("c"), after_yield("d")]


@pytest.mark.parametrize(
    "make", [all_immediate, all_waiting, mixed], ids=["immediate", "waiting", "mixed"]
)
async def test_gather_eager_returns_what_asyncio_gather_returns(make: Factory) -> None:
    """For coroutines that finish at once, wait, or both, the results equal `gather`'s."""
    assert await gather_eager(make()) == await asyncio.gather(*make())


async def test_gather_eager_of_nothing_is_an_empty_list() -> None:
    """Gathering no coroutines gives `[]`, as `asyncio.gather()` does."""
    assert await gather_eager([]) == await asyncio.gather() == []


async def test_gather_eager_keeps_the_order_of_its_coroutines_not_of_their_completion() -> None:
    """Results come in input order even when later coroutines finish first."""
    events = [asyncio.Event() for _ in range(3)]
    finished: list[int] = []

    async def finish_when_told(index: int) -> int:
        await events[index].wait()
        finished.append(index)
        return index * 10

    task = asyncio.ensure_future(
        gather_eager([finish_when_told(0), immediate(-1), finish_when_told(1), finish_when_told(2)])
    )
    for index in (2, 1, 0):
        await asyncio.sleep(0)
        events[index].set()
    assert await task == [0, -1, 10, 20]
    assert finished == [2, 1, 0]


async def test_gather_eager_runs_the_waiting_coroutines_concurrently() -> None:
    """A coroutine blocked on an event does not keep the next one from starting."""
    second_started = asyncio.Event()

    async def first() -> str:
        await second_started.wait()
        return "first"

    async def second() -> str:
        second_started.set()
        await asyncio.sleep(0)
        return "second"

    assert await gather_eager([first(), second()]) == ["first", "second"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: [immediate(1), raise_at_once("boom"), after_yield(3)],
        lambda: [after_yield(1), raise_after_yield("boom"), immediate(3)],
        lambda: [raise_at_once("boom")],
    ],
    ids=["raises-at-once", "raises-after-waiting", "only-one"],
)
async def test_gather_eager_raises_the_error_asyncio_gather_raises(make: Factory) -> None:
    """The first error propagates unchanged, as with `asyncio.gather`."""
    with pytest.raises(Boom) as expected:
        await asyncio.gather(*make())
    with pytest.raises(Boom) as eager:
        await gather_eager(make())
    assert eager.value.args == expected.value.args


async def test_gather_eager_raises_the_error_of_the_coroutine_that_fails_first() -> None:
    """When two coroutines fail, the one that fails first in time wins, as with `gather`."""

    def make() -> list[Coroutine[Any, Any, Any]]:
        return [raise_after_yield("later"), raise_at_once("sooner")]

    with pytest.raises(Boom) as expected:
        await asyncio.gather(*make())
    with pytest.raises(Boom) as eager:
        await gather_eager(make())
    assert str(eager.value) == str(expected.value) == "sooner"


async def test_gather_eager_lets_the_others_finish_when_one_raises_after_waiting() -> None:
    """After an error, the other coroutines keep running, as `asyncio.gather` leaves them."""
    done = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        done.set()
        return "slow"

    with pytest.raises(Boom):
        await gather_eager([slow(), raise_after_yield("boom")])
    release.set()
    await done.wait()
    assert done.is_set()


async def test_gather_eager_lets_the_others_finish_when_one_raises_at_once() -> None:
    """An error raised before waiting leaves the other coroutines running, as with `gather`.

    `asyncio.gather` never cancels the other awaitables when one fails; they all run to their
    end. Compared here for a waiting coroutine before the failing one and one after it.
    """

    async def observe(runner: Callable[[list[Any]], Any]) -> list[str]:
        finished: list[str] = []
        release = asyncio.Event()
        all_done = asyncio.Event()

        async def worker(name: str) -> str:
            await release.wait()
            finished.append(name)
            if len(finished) == 2:
                all_done.set()
            return name

        with pytest.raises(Boom):
            await runner([worker("before"), raise_at_once("boom"), worker("after")])
        release.set()
        # Both finish under asyncio.gather; give the loop a bounded number of turns.
        for _ in range(10):
            if all_done.is_set():
                break
            await asyncio.sleep(0)
        return sorted(finished)

    expected = await observe(lambda coros: asyncio.gather(*coros))
    assert expected == ["after", "before"]
    assert await observe(gather_eager) == expected
