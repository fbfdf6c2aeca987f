"""A real Daphne process on a free port, its own SQLite file, and a signed-in HTTP session;
for the browser tests, a Daphne serving the seeded demo and Debian's Chromium driven by
Playwright.

The server gets a database of its own (migrated, with one user) and never a shared one: the
environment's DATABASE_URL is withheld. Its channel layer is the environment's (REDIS_URL when
set, so the PostgreSQL + Redis pass exercises Redis) or, for the explicit variant, Redis.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, OpenerDirector, ProxyHandler, Request, build_opener

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "demo password for the browser tests"
REDIS_URL = "redis://127.0.0.1:6379/0"
USERNAME = "watcher"
PASSWORD = "correct horse battery staple"
READY_SECONDS = 30.0
DAPHNE = [sys.executable, "-m", "daphne"]

CREATE_USER = f"""
from django.contrib.auth.models import Permission, User
user = User.objects.create_user({USERNAME!r}, password={PASSWORD!r})
user.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="workflows_app", codename__in=["view_run", "operate_run"]))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment(
    database: Path, redis_url: str | None, workflows: str = "tests.e2e.live_workflows"
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "STEPBACK_CHANNEL_PREFIX")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="workflows_app.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        STEPBACK_SQLITE_PATH=str(database),
        STEPBACK_WORKFLOWS=workflows,
        STEPBACK_EXECUTOR="thread",
    )
    if redis_url:
        env.update(REDIS_URL=redis_url, STEPBACK_CHANNEL_PREFIX=f"stepback-e2e-{uuid.uuid4().hex}")
    return env


def manage(env: dict[str, str], *args: str) -> None:
    """Run a manage.py command for the server's database; fail with its output if it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.fail(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")


@dataclass
class Browser:
    """A cookie-keeping HTTP session (never through a proxy), signing in like a person."""

    base_url: str
    jar: CookieJar = field(default_factory=CookieJar)
    opener: OpenerDirector = field(init=False)

    def __post_init__(self) -> None:
        self.opener = build_opener(ProxyHandler({}), HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name and c.value is not None)

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def sign_in(self, username: str, password: str) -> None:
        url = f"{self.base_url}/accounts/login/"
        with self.opener.open(url, timeout=10) as page:  # sets the CSRF cookie
            page.read()
        form = {"username": username, "password": password}
        form["csrfmiddlewaretoken"] = self.cookie("csrftoken")
        request = Request(url, data=urlencode(form).encode(), headers={"Referer": url})
        with self.opener.open(request, timeout=10) as page:
            page.read()
        assert any(c.name == "sessionid" for c in self.jar), "signing in set no session cookie"

    def get_json(self, path: str) -> tuple[int, Any]:
        request = Request(f"{self.base_url}{path}", headers={"Accept": "application/json"})
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except HTTPError as error:
            return error.code, error.read().decode(errors="replace")[:2000]

    def post_json(self, path: str, body: Any) -> tuple[int, Any]:
        request = Request(
            f"{self.base_url}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-CSRFToken": self.cookie("csrftoken"),
            },
        )
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except HTTPError as error:
            return error.code, error.read().decode(errors="replace")[:2000]


@dataclass
class LiveServer:
    """A Daphne process serving the app, and how to reach it."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path
    layer: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signed_in(self, username: str = USERNAME, password: str = PASSWORD) -> Browser:
        """An HTTP session signed in as `username` (the `demo_server` has `demo`, `viewer`)."""
        browser = Browser(self.base_url)
        browser.sign_in(username, password)
        return browser

    def wait_until_ready(self) -> None:
        """Poll the port until it accepts connections (or fail with the server's output)."""
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"daphne exited with {self.process.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)  # a poll interval, not a wait for something to happen
        pytest.fail(f"daphne did not listen within {READY_SECONDS}s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash (nothing runs on the way out)."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def launch(env: dict[str, str], directory: Path, name: str = "daphne") -> LiveServer:
    """Start Daphne with `env` on a free port, logging to `directory/<name>.log`."""
    port = free_port()
    log = directory / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*DAPHNE, "-b", "127.0.0.1", "-p", str(port), "workflows_app.asgi:application"],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    layer = "redis" if env.get("REDIS_URL") else "in-memory"
    server = LiveServer(port, process, log, layer)
    server.wait_until_ready()
    return server


def prepared_database(directory: Path, redis_url: str | None) -> dict[str, str]:
    """A migrated database with the signed-in user, and the environment of servers on it."""
    env = server_environment(directory / "db.sqlite3", redis_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "shell", "-c", CREATE_USER)
    return env


@pytest.fixture(scope="module", params=["environment-layer", "redis-layer"])
def daphne(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Daphne on a fresh database: the environment's channel layer, or always Redis."""
    if request.param == "redis-layer":
        redis_url: str | None = os.environ.get("REDIS_URL") or REDIS_URL
    else:
        redis_url = os.environ.get("REDIS_URL") or None
    directory = tmp_path_factory.mktemp("live")
    failed_before = request.session.testsfailed
    server = launch(prepared_database(directory, redis_url), directory)
    yield from serving(request, server, failed_before)


@pytest.fixture(scope="session")
def demo_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Daphne serving the demo workflows with the seeded demo (users `demo` and `viewer`,
    password DEMO_PASSWORD) on the environment's channel layer, shared by the browser tests:
    each test starts the runs it changes."""
    redis_url = os.environ.get("REDIS_URL") or None
    directory = tmp_path_factory.mktemp("demo")
    env = server_environment(directory / "db.sqlite3", redis_url, "workflows_app.examples")
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo", "--password", DEMO_PASSWORD)
    failed_before = request.session.testsfailed
    yield from serving(request, launch(env, directory), failed_before)


def serving(
    request: pytest.FixtureRequest, server: LiveServer, failed_before: int
) -> Iterator[LiveServer]:
    """Yield `server` until the fixture ends, then stop it; its output is printed when a test
    failed meanwhile."""
    try:
        yield server
    finally:
        server.stop()
        if request.session.testsfailed > failed_before:
            capture = request.config.pluginmanager.getplugin("capturemanager")
            with capture.global_and_fixture_disabled():
                print(f"\n--- daphne ({server.layer} layer) output ---\n{server.output()}")


# -- the browser ---------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (scripts/test.sh installs it when it is missing).

    One per module: Playwright's sync API keeps an event loop running in this thread while it
    is open, which the asyncio tests of other modules could not run beside."""
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install chromium`.")
    # Assertions wait as long as actions do: a loaded two-core CI machine answers a resume or
    # paints a live update well after Playwright's default five seconds.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, demo_server: LiveServer) -> Iterator[Any]:
    """A fresh browser tab (its own cookies) on a laptop-sized screen, at the demo server.
    Errors the page's scripts raise fail the test."""
    context = chromium.new_context(viewport=LAPTOP, base_url=demo_server.base_url)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"the page raised: {errors}"
