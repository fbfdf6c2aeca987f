"""GET /api/runs/<id>/ and its read-only sub-resources: events, snapshots, lineage."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.app.api_support import make_events, make_run, make_task
from tests.app.conftest import client_for
from workflows_app.models import Snapshot, StepRecord


@pytest.fixture
def api(viewer: User) -> Client:
    return client_for(viewer)


def record(run: Any, path: str, attempt: int, status: str, started: float, **fields: Any) -> None:
    StepRecord.objects.create(
        run=run, path=path, attempt=attempt, status=status, started_at=started,
        ended_at=started + 1, seq=attempt, **fields,
    )  # fmt: skip


def test_a_run_shows_its_data_error_and_traceback(api: Client) -> None:
    error = {"type": "ValueError", "module": "builtins", "message": "boom"}
    make_run(
        "r", status="failed", input={"name": "Ada"}, state={"n": 1}, context={"tenant": "t"},
        error=error, traceback="Traceback ...", graph={"nodes": [{"id": "hello"}]},
        head={"suspended": [], "resume_labels": {}},
    )  # fmt: skip
    body = api.get("/api/runs/r/").json()
    assert body["status"] == "failed"
    assert body["input"] == {"name": "Ada"}
    assert body["error"] == error
    assert body["traceback"] == "Traceback ..."
    assert (body["state"], body["context"]) == ({"n": 1}, {"tenant": "t"})
    assert body["graph"] == {"nodes": [{"id": "hello"}]}


def test_each_step_shows_its_latest_attempt_and_every_attempt(api: Client) -> None:
    run = make_run("r")
    record(run, "shout", 1, "success", 20.0, position=1, output={"greeting": "HI"})
    record(run, "hello", 1, "failed", 10.0, error={"type": "OSError", "message": "x"})
    record(run, "hello", 2, "success", 12.0, output={"greeting": "hi"})
    steps = api.get("/api/runs/r/").json()["steps"]
    assert [s["key"] for s in steps] == ["hello", "shout"]
    hello = steps[0]
    assert (hello["attempt"], hello["status"]) == (2, "success")
    assert hello["output"] == {"greeting": "hi"}
    assert [a["status"] for a in hello["attempts"]] == ["failed", "success"]
    assert hello["attempts"][0]["error"]["type"] == "OSError"
    assert hello["duration"] == 1.0


def test_a_run_pages_its_steps_in_recorded_order_with_every_attempt(api: Client) -> None:
    run = make_run("r", step_counts={"success": 3, "failed": 1})
    record(run, "a", 1, "success", 1.0, position=0)
    record(run, "b", 1, "failed", 2.0, position=1)
    record(run, "b", 2, "success", 3.0, position=1)
    record(run, "c", 1, "success", 4.0, position=3)  # a removed record left a gap
    record(run, "d", 1, "failed", 5.0, position=4)
    whole = api.get("/api/runs/r/").json()
    assert [s["key"] for s in whole["steps"]] == ["a", "b", "c", "d"]
    assert (whole["steps_total"], whole["steps_offset"]) == (4, 0)
    page = api.get("/api/runs/r/?steps_offset=1&steps_limit=2").json()
    assert [s["key"] for s in page["steps"]] == ["b", "c"]
    assert [a["attempt"] for a in page["steps"][0]["attempts"]] == [1, 2]
    assert (page["steps_total"], page["steps_offset"]) == (4, 1)
    assert api.get("/api/runs/r/?steps_offset=4&steps_limit=5").json()["steps"] == []
    assert api.get("/api/runs/r/?steps_limit=0").json()["steps"] == []


def test_a_run_leaves_its_graph_out_when_asked_and_names_it(api: Client) -> None:
    make_run("r", graph={"nodes": [{"id": "hello"}]})
    whole = api.get("/api/runs/r/").json()
    lean = api.get("/api/runs/r/?graph=false").json()
    assert whole["graph"] == {"nodes": [{"id": "hello"}]}
    assert lean["graph"] == {}
    assert lean["graph_key"] == whole["graph_key"] is not None


@pytest.mark.parametrize(
    ("query", "field"),
    [("steps_limit=-1", "steps_limit"), ("steps_limit=1001", "steps_limit"),
     ("steps_offset=x", "steps_offset"), ("graph=maybe", "graph")],
)  # fmt: skip
def test_bad_step_pages_are_refused(api: Client, query: str, field: str) -> None:
    make_run("r")
    response = api.get(f"/api/runs/r/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_nested_steps_carry_their_path(api: Client) -> None:
    run = make_run("r")
    record(run, "outer.inner", 1, "success", 2.0, position=1)
    record(run, "outer", 1, "success", 1.0, position=0)
    steps = api.get("/api/runs/r/").json()["steps"]
    assert [s["path"] for s in steps] == [["outer"], ["outer", "inner"]]


def test_a_run_lists_its_human_tasks_with_the_audit_trail(api: Client, operator: User) -> None:
    run = make_run("r", status="suspended")
    make_task(run, path="ask", label="gate", status="resumed", resumed_by=operator,
              resume_data={"approved": True}, closed_at=run.created_at)  # fmt: skip
    (task,) = api.get("/api/runs/r/").json()["human_tasks"]
    assert (task["key"], task["label"], task["status"]) == ("ask", "gate", "resumed")
    assert task["resumed_by"] == operator.username
    assert task["resume_data"] == {"approved": True}


def test_a_run_links_its_parent_and_its_forks(api: Client) -> None:
    make_run("parent")
    make_run("me", minute=1, parent_run_id="parent", fork_step="hello")
    make_run("fork-b", minute=3, parent_run_id="me")
    make_run("fork-a", minute=2, parent_run_id="me")
    lineage = api.get("/api/runs/me/").json()["lineage"]
    assert lineage["parent"]["run_id"] == "parent"
    assert [f["run_id"] for f in lineage["forks"]] == ["fork-a", "fork-b"]


def test_a_fork_whose_parent_is_not_stored_here_has_no_parent_link(api: Client) -> None:
    make_run("me", parent_run_id="elsewhere")
    assert api.get("/api/runs/me/").json()["lineage"]["parent"] is None


def test_an_unknown_run_is_404(api: Client) -> None:
    response = api.get("/api/runs/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No run 'nope'.", "code": "not_found"}


def test_events_come_after_the_given_seq_oldest_first(api: Client) -> None:
    make_events(make_run("r"), 5)
    body = api.get("/api/runs/r/events/", {"after_seq": 2}).json()
    assert [e["seq"] for e in body["events"]] == [3, 4, 5]
    assert body["events"][0] == {
        "type": "step.succeeded", "run_id": "r", "seq": 3, "ts": 4.0, "path": ["hello"],
        "payload": {},
    }  # fmt: skip
    assert (body["last_seq"], body["run_seq"], body["has_more"]) == (5, 5, False)


def test_events_are_limited_and_say_when_more_follow(api: Client) -> None:
    make_events(make_run("r"), 5)
    body = api.get("/api/runs/r/events/", {"limit": 2}).json()
    assert [e["seq"] for e in body["events"]] == [1, 2]
    assert (body["last_seq"], body["has_more"]) == (2, True)


def test_no_events_after_the_last_keeps_the_cursor(api: Client) -> None:
    make_events(make_run("r"), 2)
    body = api.get("/api/runs/r/events/", {"after_seq": 2}).json()
    assert (body["events"], body["last_seq"], body["has_more"]) == ([], 2, False)


@pytest.mark.parametrize(
    "params", [{"after_seq": "x"}, {"after_seq": -1}, {"limit": 0}, {"limit": 1001}]
)
def test_bad_event_cursors_are_field_errors(api: Client, params: dict[str, Any]) -> None:
    make_run("r")
    response = api.get("/api/runs/r/events/", params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(params)


def test_events_of_an_unknown_run_are_404(api: Client) -> None:
    assert api.get("/api/runs/nope/events/").status_code == 404


def test_snapshots_list_their_seqs_and_whether_they_are_full(api: Client) -> None:
    run = make_run("r", seq=4)
    Snapshot.objects.create(run=run, seq=1, full=True, data={})
    Snapshot.objects.create(run=run, seq=4, full=False, data={})
    body = api.get("/api/runs/r/snapshots/").json()
    assert body == {
        "run_id": "r", "seq": 4,
        "snapshots": [{"seq": 1, "full": True}, {"seq": 4, "full": False}],
    }  # fmt: skip


def test_a_snapshot_beyond_the_last_event_is_404(api: Client) -> None:
    make_run("r", seq=4)
    response = api.get("/api/runs/r/snapshots/5/")
    assert response.status_code == 404
    assert "last is 4" in response.json()["detail"]


def test_lineage_lists_the_whole_tree_from_the_root(api: Client) -> None:
    make_run("root")
    make_run("child", minute=1, parent_run_id="root")
    make_run("me", minute=2, parent_run_id="child")
    make_run("cousin", minute=3, parent_run_id="root")
    make_run("grandchild", minute=4, parent_run_id="me")
    make_run("stranger", minute=5)
    body = api.get("/api/runs/me/lineage/").json()
    assert body["root_run_id"] == "root"
    assert body["ancestors"] == ["root", "child"]
    assert [r["run_id"] for r in body["runs"]] == ["root", "child", "cousin", "me", "grandchild"]
    assert body["truncated"] is False


def test_lineage_stops_at_its_limit_and_says_so(api: Client, monkeypatch: Any) -> None:
    monkeypatch.setattr("workflows_app.payloads.MAX_LINEAGE", 3)
    make_run("root")
    for minute in range(1, 5):
        make_run(f"fork{minute}", minute=minute, parent_run_id="root")
    body = api.get("/api/runs/root/lineage/").json()
    assert [r["run_id"] for r in body["runs"]] == ["root", "fork1", "fork2"]
    assert body["truncated"] is True
