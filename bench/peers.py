"""The LangGraph equivalent of each workload (imported only when peers are measured).

`mode="sync"` uses plain-function nodes and `invoke` (LangGraph's faster path for these graphs);
`mode="async"` uses `async def` nodes and `ainvoke`. Graphs are compiled outside the timed call.
"""

from __future__ import annotations

import operator
import shutil
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from bench.timing import BenchError, Subject

MODES = ("sync", "async")


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("langgraph")


def _node(fn: Callable[[Any], Any], mode: str) -> Any:
    """`fn` as a node of the requested kind (the async one just awaits nothing); typed `Any`
    because `StateGraph.add_node`'s overloads want the node's own state type."""
    if mode == "sync":
        return fn

    async def node(state: Any) -> Any:
        return fn(state)

    node.__name__ = getattr(fn, "__name__", "node")
    return node


def _invoker(graph: Any, mode: str) -> Callable[[Any, dict[str, Any]], Any]:
    if mode not in MODES:
        raise ValueError(f"unknown LangGraph mode {mode!r} (use one of {', '.join(MODES)})")

    async def call(data: Any, config: dict[str, Any]) -> Any:
        if mode == "sync":
            return graph.invoke(data, config)
        return await graph.ainvoke(data, config)

    return call


def _expect(result: Any, key: str, value: Any) -> None:
    got = result.get(key) if isinstance(result, dict) else None
    if got != value:
        raise BenchError(f"LangGraph returned {key}={got!r:.200}, expected {value!r:.200}")


# -- W1: a chain of nodes -----------------------------------------------------------------------


class Counter(TypedDict):
    i: int


def increment(state: Counter) -> dict[str, int]:
    return {"i": state["i"] + 1}


def chain_graph(n: int, mode: str, checkpointer: Any = None) -> Any:
    """START -> s0 -> s1 -> ... -> s{n-1} -> END."""
    builder = StateGraph(Counter)
    previous = START
    for k in range(n):
        name = f"s{k}"
        builder.add_node(name, _node(increment, mode))
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, END)
    return builder.compile(checkpointer=checkpointer)


def _limit(n: int) -> int:
    return n + 10


def chain(n: int, mode: str = "sync") -> Subject:
    """W1: a chain of `n` nodes without a checkpointer; the result is {"i": n}."""
    call = _invoker(chain_graph(n, mode), mode)

    async def run(_state: Any) -> Any:
        return await call({"i": 0}, {"recursion_limit": _limit(n)})

    return Subject(name="langgraph", steps=n, run=run, check=lambda result: _expect(result, "i", n))


# -- W4: the chain with a durable checkpointer ------------------------------------------------


def chain_sqlite(n: int, mode: str = "sync") -> Subject:
    """W4: the chain of W1 checkpointed by `SqliteSaver` (langgraph-checkpoint-sqlite) on a
    temporary file with `durability="sync"` (each step's checkpoint is written before the
    next step runs). Every timed call is a new thread, so it starts from {"i": 0}."""
    import sqlite3
    import tempfile
    from pathlib import Path

    from langgraph.checkpoint.sqlite import SqliteSaver

    folder = Path(tempfile.mkdtemp(prefix="stepback-bench-lg-"))
    connection = sqlite3.connect(folder / "checkpoints.sqlite3", check_same_thread=False)
    saver = SqliteSaver(connection)
    saver.setup()
    graph = chain_graph(n, mode, checkpointer=saver)
    threads = iter(range(1_000_000))

    async def run(_state: Any) -> Any:
        config = {
            "configurable": {"thread_id": f"w4-{next(threads)}"},
            "recursion_limit": _limit(n),
        }
        if mode == "sync":
            return graph.invoke({"i": 0}, config, durability="sync")
        raise BenchError("SqliteSaver has no async methods: measure W4 with --peer-mode sync")

    async def teardown() -> None:
        connection.close()
        shutil.rmtree(folder, ignore_errors=True)

    return Subject(
        name="langgraph",
        steps=n,
        run=run,
        check=lambda result: _expect(result, "i", n),
        teardown=teardown,
    )


def chain_postgres(url: str, n: int, mode: str = "sync") -> Subject:
    """W4-per-step on PostgreSQL: the chain checkpointed by `PostgresSaver`
    (langgraph-checkpoint-postgres) with `durability="sync"`. Its tables are created in the
    database at `url` and dropped at the end."""
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    connection = psycopg.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    saver = PostgresSaver(connection)
    saver.setup()
    graph = chain_graph(n, mode, checkpointer=saver)
    threads = iter(range(1_000_000))

    async def run(_state: Any) -> Any:
        config = {
            "configurable": {"thread_id": f"w4pg-{next(threads)}"},
            "recursion_limit": _limit(n),
        }
        if mode == "sync":
            return graph.invoke({"i": 0}, config, durability="sync")
        raise BenchError("measure W4 on PostgreSQL with --peer-mode sync")

    async def teardown() -> None:
        drop_postgres_checkpoints(connection)
        connection.close()

    return Subject(
        name="langgraph",
        steps=n,
        run=run,
        check=lambda result: _expect(result, "i", n),
        teardown=teardown,
    )


POSTGRES_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations")


def drop_postgres_checkpoints(connection: Any) -> None:
    """Remove `PostgresSaver`'s tables (they live in the bench's database)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS " + ", ".join(POSTGRES_TABLES))


# -- W2: fan-out and join -----------------------------------------------------------------------


class Fanout(TypedDict, total=False):
    x: int
    results: Annotated[list[int], operator.add]
    count: int
    total: int


def branch(state: Fanout) -> dict[str, list[int]]:
    return {"results": [state["x"] + 1]}


def join(state: Fanout) -> dict[str, int]:
    results = state["results"]
    return {"count": len(results), "total": sum(results)}


def fanout_graph(n: int, mode: str) -> Any:
    """START -> p0..p{n-1} (in one superstep) -> join (waits for all) -> END."""
    builder = StateGraph(Fanout)
    names = [f"p{k}" for k in range(n)]
    for name in names:
        builder.add_node(name, _node(branch, mode))
        builder.add_edge(START, name)
    builder.add_node("join", _node(join, mode))
    builder.add_edge(names, "join")
    builder.add_edge("join", END)
    return builder.compile()


def fanout(n: int, mode: str = "sync") -> Subject:
    """W2: fan out to `n` nodes and join; the result counts and sums them."""
    call = _invoker(fanout_graph(n, mode), mode)

    def check(result: Any) -> None:
        _expect(result, "count", n)
        _expect(result, "total", 2 * n)

    async def run(_state: Any) -> Any:
        return await call({"x": 1, "results": []}, {"recursion_limit": 10})

    return Subject(name="langgraph", steps=n + 1, run=run, check=check)


# -- W3: map with Send --------------------------------------------------------------------------


class MapState(TypedDict, total=False):
    items: list[int]
    results: Annotated[list[int], operator.add]
    count: int


class ItemState(TypedDict):
    item: int


def fan_items(state: MapState) -> list[Send]:
    return [Send("item", {"item": value}) for value in state["items"]]


def item(state: ItemState) -> dict[str, list[int]]:
    return {"results": [state["item"] + 1]}


def done(state: MapState) -> dict[str, int]:
    return {"count": len(state["results"])}


def foreach_graph(mode: str) -> Any:
    """START -Send x len(items)-> item -> done -> END."""
    builder = StateGraph(MapState)
    builder.add_node("item", _node(item, mode))
    builder.add_node("done", _node(done, mode))
    builder.add_conditional_edges(START, fan_items, ["item"])
    builder.add_edge("item", "done")
    builder.add_edge("done", END)
    return builder.compile()


def foreach(n: int, mode: str = "sync") -> Subject:
    """W3: `Send` each of range(n) to one node, collect with a reducer, then `done`."""
    call = _invoker(foreach_graph(mode), mode)
    items = list(range(n))

    def check(result: Any) -> None:
        _expect(result, "count", n)
        if sorted(result["results"]) != [i + 1 for i in items]:
            raise BenchError("LangGraph map results are not item + 1 for every item")

    async def run(_state: Any) -> Any:
        return await call({"items": items, "results": []}, {"recursion_limit": 10})

    return Subject(name="langgraph", steps=n, run=run, check=check)


# -- W5: fork from a checkpoint -----------------------------------------------------------------


def time_travel(n: int, at: int, mode: str = "sync") -> Subject:
    """W5 for information: with a `MemorySaver`, run the chain once (untimed), find the
    checkpoint whose next node is `s{at}` in `get_state_history` (untimed), then time
    `update_state(that checkpoint, {"i": 0})` plus `invoke(None, fork)`, which re-runs
    `s{at}`..`s{n-1}` and returns {"i": n - at}."""
    graph = chain_graph(n, mode, checkpointer=MemorySaver())
    call = _invoker(graph, mode)
    thread = {"configurable": {"thread_id": "bench-time-travel"}}
    found: list[dict[str, Any]] = []

    async def setup() -> None:
        result = await call({"i": 0}, {**thread, "recursion_limit": _limit(n)})
        _expect(result, "i", n)
        for snapshot in graph.get_state_history(thread):
            if tuple(snapshot.next) == (f"s{at}",):
                found.append(snapshot.config)
                return
        raise BenchError(f"no checkpoint before s{at} in the LangGraph history")

    async def run(_state: Any) -> Any:
        if mode == "sync":
            fork = graph.update_state(found[0], {"i": 0})
        else:
            fork = await graph.aupdate_state(found[0], {"i": 0})
        return await call(None, {**fork, "recursion_limit": _limit(n)})

    return Subject(
        name="langgraph",
        steps=n - at,
        run=run,
        check=lambda result: _expect(result, "i", n - at),
        setup=setup,
    )
