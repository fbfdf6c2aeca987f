"""The runs list page: filters in the URL, escaped data, operate controls for operators only,
and cancelling a selection."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.app.api_support import make_run
from tests.app.conftest import client_for
from workflows_app import services
from workflows_app.models import Run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

LARGE_EXPENSE = {"employee": "Bob", "amount": 450, "description": "flight"}


def test_the_list_shows_every_run_with_its_status_and_workflow(viewer: User) -> None:
    make_run("run-a", status="failed")
    make_run("run-b", workflow_id="payment", minute=1)

    page = client_for(viewer).get("/").content.decode()

    assert 'data-run-id="run-a"' in page
    assert 'class="chip" data-status="failed">failed<' in page
    assert 'href="/workflows/payment/"' in page


def test_filters_come_from_the_query_string(viewer: User) -> None:
    make_run("keep-1", workflow_id="payment", status="failed")
    make_run("drop-1", workflow_id="payment", status="success", minute=1)
    make_run("drop-2", workflow_id="greet", status="failed", minute=2)

    page = client_for(viewer).get("/", {"workflow": "payment", "status": "failed"}).content

    assert b'data-run-id="keep-1"' in page
    assert b"drop-1" not in page
    assert b"drop-2" not in page


def test_a_search_finds_runs_by_the_start_of_their_id(viewer: User) -> None:
    make_run("abc123")
    make_run("xyz789", minute=1)

    page = client_for(viewer).get("/", {"search": "abc"}).content

    assert b"abc123" in page
    assert b"xyz789" not in page


def test_dates_from_the_form_cover_whole_days(viewer: User) -> None:
    make_run("on-the-day")  # 2025-01-01 00:00 UTC
    make_run("next-day", minute=24 * 60)

    page = client_for(viewer).get("/", {"after": "2025-01-01", "before": "2025-01-01"}).content

    assert b"on-the-day" in page
    assert b"next-day" not in page


def test_a_filter_it_cannot_read_is_named_and_left_out(viewer: User) -> None:
    make_run("r1")

    response = client_for(viewer).get("/", {"status": "sleeping"})

    assert response.status_code == 200
    assert b"Unknown status &#x27;sleeping&#x27;" in response.content
    assert b'data-run-id="r1"' in response.content


def test_pages_hold_the_page_size_and_link_to_older_runs(viewer: User) -> None:
    for minute in range(30):
        make_run(f"r{minute:02d}", minute=minute)

    page = client_for(viewer).get("/", {"page_size": 25}).content.decode()

    assert page.count("<tr data-run-id=") == 25
    assert "?page_size=25&amp;page=2" in page


def test_forks_are_marked_with_a_link_to_their_parent(viewer: User) -> None:
    make_run("parent")
    make_run("child", minute=1, parent_run_id="parent", fork_step="charge")

    page = client_for(viewer).get("/").content.decode()

    assert "fork of" in page
    assert 'href="/runs/parent/"' in page


def test_step_data_and_ids_are_escaped(viewer: User) -> None:
    make_run("r1", resource_id="<script>alert(1)</script>")

    page = client_for(viewer).get("/").content

    assert b"<script>alert(1)</script>" not in page
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_empty_installation_says_how_to_start_a_run(viewer: User) -> None:
    page = client_for(viewer).get("/").content.decode()

    assert "No runs yet" in page
    assert "STEPBACK_WORKFLOWS" in page
    assert "start_run" in page


def test_viewers_get_no_selection_and_no_cancel_button(viewer: User) -> None:
    make_run("r1", status="running")

    page = client_for(viewer).get("/").content.decode()

    assert "data-select" not in page
    assert "Cancel selected" not in page
    assert "Start a run" not in page


def test_operators_can_select_runs_that_have_not_ended(operator: User) -> None:
    make_run("live", status="suspended")
    make_run("done", status="success", minute=1)

    page = client_for(operator).get("/").content.decode()

    assert 'value="live" aria-label="Select run live" data-select' in page
    assert 'value="done" aria-label="Select run done" disabled' in page


def test_cancelling_a_selection_cancels_each_run_and_says_so(operator: User) -> None:
    first = services.start_run("expense-approval", LARGE_EXPENSE)
    second = services.start_run("expense-approval", LARGE_EXPENSE)
    client = client_for(operator, csrf=False)

    response = client.post(
        "/runs/cancel/", {"run_id": [first.run_id, second.run_id], "next": "/?status=suspended"}
    )

    assert (response.status_code, response["Location"]) == (302, "/?status=suspended")
    assert set(Run.objects.values_list("status", flat=True)) == {"canceled"}
    assert b"Cancelled 2 runs." in client.get(response["Location"]).content


def test_a_run_that_cannot_be_cancelled_is_named_with_the_reason(operator: User) -> None:
    make_run("done", workflow_id="payment", status="success")
    client = client_for(operator)

    response = client.post("/runs/cancel/", {"run_id": ["done"]}, follow=True)

    assert b"Not cancelled: done" in response.content
    assert b"already ended" in response.content


def test_cancelling_never_redirects_to_another_site(operator: User) -> None:
    response = client_for(operator).post("/runs/cancel/", {"next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_the_server_refuses_a_viewer_who_sends_a_cancel_anyway(viewer: User) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE)

    response = client_for(viewer).post("/runs/cancel/", {"run_id": [run.run_id]})

    assert response.status_code == 403
    assert Run.objects.get(pk=run.run_id).status == "suspended"


def test_cancelling_needs_the_csrf_token(operator: User) -> None:
    run = services.start_run("expense-approval", LARGE_EXPENSE)

    response = client_for(operator, csrf=True).post("/runs/cancel/", {"run_id": [run.run_id]})

    assert response.status_code == 403
    assert Run.objects.get(pk=run.run_id).status == "suspended"


def test_row_fragments_render_the_asked_runs_newest_first(viewer: User) -> None:
    make_run("old")
    make_run("new", minute=1)
    make_run("other", minute=2)

    page = client_for(viewer).get("/runs/rows/", {"run_id": ["old", "new"]}).content.decode()

    assert page.index('data-run-id="new"') < page.index('data-run-id="old"')
    assert "other" not in page


def test_the_navigation_counts_the_open_inbox_tasks(operator: User) -> None:
    services.start_run("expense-approval", LARGE_EXPENSE)

    page = client_for(operator).get("/").content.decode()

    assert 'data-inbox-count title="open human tasks">1<' in page
