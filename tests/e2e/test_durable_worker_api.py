"""A run started over the API of a server on the durable engine executes on a durable worker
process, and survives that worker's SIGKILL: a new worker finishes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CREATE_USER, launch, manage
from tests.e2e.durable_processes import Workers, system_databases, workers_fixture


@pytest.fixture(params=system_databases())
def workers(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Workers]:
    yield from workers_fixture(tmp_path, request.param)


def test_a_run_started_over_the_api_survives_the_sigkill_of_its_worker(workers: Workers) -> None:
    manage(workers.env, "shell", "-c", CREATE_USER)
    server = launch(workers.env, workers.directory)
    try:
        first = workers.start("first")
        browser = server.signed_in()
        status, body = browser.post_json("/api/runs/", {"workflow_id": "durable-held"})
        assert status == 201, body
        run_id = body["run_id"]
        workers.wait_for(lambda: "held:start" in workers.ledger_lines(), "the held step", first)
        status, seen = browser.get_json(f"/api/runs/{run_id}/")
        assert (status, seen["status"]) == (200, "running")

        first.kill()
        first.wait(10)
        (workers.ledger.parent / (workers.ledger.name + ".release")).touch()
        workers.start("second")
        workers.wait_for(
            lambda: browser.get_json(f"/api/runs/{run_id}/")[1]["status"] == "success",
            "the run to finish",
        )

        status, done = browser.get_json(f"/api/runs/{run_id}/")
        assert done["result"] == {"count": 4}
        assert workers.ledger_lines().count("first") == 1
        assert workers.ledger_lines().count("held") == 1
    finally:
        server.stop()
