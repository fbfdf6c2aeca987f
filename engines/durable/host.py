"""The DBOS runtime of this process: launched once per system database, shared by engines.

DBOS is a process-wide singleton, so every `DurableEngine` of a process shares one launched
DBOS on one system database; an engine on another system database relaunches it (tests do
this; a worker never does). What the generic segment workflow needs to find at run time lives
here too: the workflows by id (a recovered segment names its workflow by id) and the engine
that recovers segments no live caller waits for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import sqlite3
import threading
import uuid
from typing import TYPE_CHECKING

from dbos import DBOS, DBOSConfig
from sqlalchemy.engine import make_url

from engines.core.errors import WorkflowError

if TYPE_CHECKING:
    from engines.core.workflow import Workflow
    from engines.durable.engine import DurableEngine

# The executor threads DBOS may use for its own blocking work (system database writes).
MAX_EXECUTOR_THREADS = 8

_lock = threading.Lock()
_launched: tuple[str, str, str] | None = None  # (system database url, version, executor id)
_workflows: dict[str, Workflow] = {}
_recovery_engine: DurableEngine | None = None


def default_executor_id() -> str:
    """An executor id unique to this process (host name, pid and a random tail)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def sqlite_url(path: str) -> str:
    """The SQLAlchemy URL of an SQLite file (absolute paths take four slashes)."""
    return "sqlite:///" + os.path.abspath(path)


def normalize_url(url: str) -> str:
    """`postgres://` (Django's spelling) as SQLAlchemy's `postgresql://`."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


def _prepare_sqlite(url: str) -> None:
    # WAL lets readers (the web process, a second worker) work while a segment writes.
    database = make_url(url).database
    if not database or database == ":memory:":
        raise WorkflowError("A durable engine needs an SQLite file, not an in-memory database")
    os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def _config(url: str, version: str, executor_id: str) -> DBOSConfig:
    return {
        "name": "stepback",
        "system_database_url": url,
        "application_version": version,
        "executor_id": executor_id,
        "max_executor_threads": MAX_EXECUTOR_THREADS,
        "log_level": "WARNING",
        "enable_otlp": False,
        "notification_listener_polling_interval_sec": 0.1,
    }


def _launch_blocking(url: str, version: str, executor_id: str) -> None:
    global _launched
    with _lock:
        if _launched == (url, version, executor_id):
            return
        if _launched is not None:
            DBOS.destroy()
        _launched = None
        if url.startswith("sqlite"):
            _prepare_sqlite(url)
        # Importing registers the generic segment workflow before DBOS is created.
        from engines.durable import segment  # noqa: F401

        DBOS(config=_config(url, version, executor_id))
        DBOS.launch()
        _launched = (url, version, executor_id)


async def ensure_launched(url: str, version: str, executor_id: str) -> None:
    """Launch DBOS on `url` unless it runs there already (in a thread: launching blocks)."""
    if _launched == (url, version, executor_id):
        return
    loop = asyncio.get_running_loop()
    # A plain thread, not `to_thread`: DBOS must not see this loop as the one it launched in.
    done: concurrent.futures.Future[None] = concurrent.futures.Future()

    def launch() -> None:
        try:
            _launch_blocking(url, version, executor_id)
            done.set_result(None)
        except BaseException as exc:  # handed to the caller below
            done.set_exception(exc)

    threading.Thread(target=launch, name="dbos-launch", daemon=True).start()
    await asyncio.wrap_future(done, loop=loop)


def launch_sync(url: str, version: str, executor_id: str) -> None:
    """`ensure_launched` that blocks its caller, even one on a running loop (the launch runs
    in a thread of its own, so DBOS never adopts the caller's loop)."""
    if _launched == (url, version, executor_id):
        return
    failure: list[BaseException] = []

    def launch() -> None:
        try:
            _launch_blocking(url, version, executor_id)
        except BaseException as exc:  # raised in the caller below
            failure.append(exc)

    thread = threading.Thread(target=launch, name="dbos-launch", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def shutdown() -> None:
    """Destroy the launched DBOS, if any, and give the caller's loop a working default
    executor back (DBOS replaces it with its own, which destroy shuts down)."""
    global _launched
    with _lock:
        if _launched is not None:
            DBOS.destroy()
        _launched = None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor())


def launched_url() -> str | None:
    """The system database DBOS runs on in this process, if launched."""
    return _launched[0] if _launched is not None else None


def register_workflow(workflow: Workflow) -> None:
    """Make `workflow` findable by id by segments recovered in this process."""
    _workflows[workflow.id] = workflow


def find_workflow(workflow_id: str) -> Workflow | None:
    return _workflows.get(workflow_id)


def set_recovery_engine(engine: DurableEngine) -> None:
    """The engine (storage, listeners) that runs segments DBOS recovers in this process."""
    global _recovery_engine
    _recovery_engine = engine


def recovery_engine() -> DurableEngine | None:
    return _recovery_engine
