"""GET /api/runs/: filters, search, ordering and pages, in a fixed number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.app.api_support import make_run
from tests.app.conftest import client_for

URL = "/api/runs/"


@pytest.fixture
def api(viewer: User) -> Client:
    return client_for(viewer)


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["run_id"] for row in response.json()["results"]]


def test_runs_are_listed_newest_first_as_summaries(api: Client) -> None:
    make_run("r1", minute=1)
    make_run("r2", minute=2, status="failed")
    body = api.get(URL).json()
    assert [row["run_id"] for row in body["results"]] == ["r2", "r1"]
    assert body["count"] == 2
    first = body["results"][0]
    assert first["status"] == "failed"
    assert first["created_at"] == "2025-01-01T00:02:00Z"
    assert first["duration"] == 2.0
    assert set(first) >= {"run_id", "workflow_id", "step_counts", "seq", "finished_at"}


def test_the_list_filters_by_workflow(api: Client) -> None:
    make_run("g", workflow_id="greet")
    make_run("a", workflow_id="approval")
    assert ids(api.get(URL, {"workflow": "approval"})) == ["a"]


def test_the_list_filters_by_a_comma_separated_list_of_statuses(api: Client) -> None:
    make_run("ok", minute=1)
    make_run("bad", minute=2, status="failed")
    make_run("waiting", minute=3, status="suspended")
    assert ids(api.get(URL, {"status": "failed,suspended"})) == ["waiting", "bad"]


def test_an_unknown_status_is_a_field_error(api: Client) -> None:
    response = api.get(URL, {"status": "success,exploded"})
    assert response.status_code == 400
    assert "exploded" in response.json()["errors"]["status"][0]


def test_the_list_filters_by_resource_and_by_parent(api: Client) -> None:
    make_run("p", resource_id="customer-1")
    make_run("child", minute=1, parent_run_id="p", fork_step="hello")
    make_run("other", minute=2)
    assert ids(api.get(URL, {"resource_id": "customer-1"})) == ["p"]
    assert ids(api.get(URL, {"parent_run_id": "p"})) == ["child"]


def test_the_list_filters_by_creation_time(api: Client) -> None:
    for minute in (1, 2, 3):
        make_run(f"r{minute}", minute=minute)
    window = {"created_after": "2025-01-01T00:02:00Z", "created_before": "2025-01-01T00:02:59Z"}
    assert ids(api.get(URL, window)) == ["r2"]


def test_both_ends_of_the_creation_window_are_included(api: Client) -> None:
    for minute in (1, 2, 3):
        make_run(f"r{minute}", minute=minute)
    window = {"created_after": "2025-01-01T00:01:00Z", "created_before": "2025-01-01T00:02:00Z"}
    assert ids(api.get(URL, window)) == ["r2", "r1"]


def test_blank_filters_do_not_filter(api: Client) -> None:
    make_run("r")
    blank = {"workflow": "", "status": "", "resource_id": "", "parent_run_id": "", "search": ""}
    assert ids(api.get(URL, blank)) == ["r"]


def test_a_bad_datetime_is_a_field_error(api: Client) -> None:
    response = api.get(URL, {"created_after": "yesterday"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["created_after"]


def test_search_matches_run_id_prefixes(api: Client) -> None:
    make_run("abc123")
    make_run("abd456", minute=1)
    assert ids(api.get(URL, {"search": "abc"})) == ["abc123"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("created_at", ["r1", "r2", "r3"]),
        ("-created_at", ["r3", "r2", "r1"]),
        ("status", ["r3", "r2", "r1"]),
        ("workflow_id", ["r1", "r3", "r2"]),
        ("-workflow_id", ["r2", "r3", "r1"]),
    ],
)
def test_the_list_sorts_by_a_whitelisted_field(
    api: Client, ordering: str, expected: list[str]
) -> None:
    make_run("r1", workflow_id="a", minute=1, status="success")
    make_run("r2", workflow_id="c", minute=2, status="failed")
    make_run("r3", workflow_id="b", minute=3, status="failed")
    assert ids(api.get(URL, {"ordering": ordering})) == expected


def test_runs_not_finished_yet_sort_as_finishing_after_every_finished_one(api: Client) -> None:
    make_run("early", minute=1)
    make_run("running", minute=2, status="running", finished_at=None)
    make_run("late", minute=3)
    assert ids(api.get(URL, {"ordering": "finished_at"})) == ["early", "late", "running"]
    assert ids(api.get(URL, {"ordering": "-finished_at"})) == ["running", "late", "early"]


def test_an_ordering_outside_the_whitelist_is_a_field_error(api: Client) -> None:
    response = api.get(URL, {"ordering": "input"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["ordering"]


def test_pages_link_to_their_neighbours(api: Client) -> None:
    for minute in range(5):
        make_run(f"r{minute}", minute=minute)
    body = api.get(URL, {"page": 2, "page_size": 2}).json()
    assert [row["run_id"] for row in body["results"]] == ["r2", "r1"]
    assert (body["count"], body["page"], body["page_size"]) == (5, 2, 2)
    assert "page=3" in body["next"]
    assert "page=" not in body["previous"]
    assert api.get(URL, {"page": 3, "page_size": 2}).json()["next"] is None


def test_a_page_past_the_end_is_empty(api: Client) -> None:
    make_run("only")
    body = api.get(URL, {"page": 9}).json()
    assert body["results"] == []
    assert body["count"] == 1


@pytest.mark.parametrize("params", [{"page_size": 201}, {"page_size": 0}, {"page": "two"}])
def test_a_page_or_page_size_out_of_range_is_a_field_error(
    api: Client, params: dict[str, Any]
) -> None:
    response = api.get(URL, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(params)


def test_the_list_costs_the_same_queries_whatever_the_page_size(api: Client) -> None:
    for minute in range(30):
        make_run(f"r{minute:02}", minute=minute, step_counts={"success": 2})
    counts = []
    for size in (1, 30):
        with CaptureQueriesContext(connection) as queries:
            assert len(ids(api.get(URL, {"page_size": size, "status": "success"}))) == size
        run_queries = [
            q["sql"] for q in queries.captured_queries if "workflows_app_run" in q["sql"]
        ]
        counts.append(len(queries.captured_queries))
        assert len(run_queries) == 2  # the count and the page
    assert counts[0] == counts[1]


def test_the_page_query_leaves_the_heavy_columns_in_the_database(api: Client) -> None:
    make_run("r", graph={"nodes": []}, head={"suspended": []}, input={"big": "x" * 1000})
    with CaptureQueriesContext(connection) as queries:
        api.get(URL)
    page_sql = [q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"].upper()]
    assert page_sql
    for column in ("graph", "head", "input", "result", "state", "context"):
        assert f'"{column}"' not in page_sql[-1]
