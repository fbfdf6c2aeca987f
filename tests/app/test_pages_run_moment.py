"""The run page's panel at a past moment (`?at=<seq>`, the scrubber): a step as it was after
an event, the run's status then, questions of the past never answerable, bad positions
refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.app.conftest import client_for
from workflows_app import services
from workflows_app.models import Run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

ORDER = {
    "order_id": "SO-3",
    "customer": "Ada",
    "lines": [{"sku": "cable", "quantity": 2, "unit_price": 6.5}],
}


@pytest.fixture(autouse=True)
def workflows(settings: Any) -> None:
    settings.STEPBACK_WORKFLOWS = ["workflows_app.examples"]


def seq_of(run: Run, kind: str, key: str) -> int:
    return next(e.seq for e in run.events_after(0) if e.type == kind and ".".join(e.path) == key)


def panel(user: User, run: Run, **query: str) -> str:
    response = client_for(user).get(f"/runs/{run.run_id}/panel/", query)
    assert response.status_code == 200, response.content
    return str(response.content.decode())


def test_a_step_that_had_not_run_yet_shows_as_not_run(viewer: User) -> None:
    run = services.start_run("order-fulfilment", ORDER)
    before = seq_of(run, "step.started", "ship_order") - 1

    html = panel(viewer, run, step="ship_order", at=str(before))

    assert f'data-at-seq="{before}"' in html
    assert "not run" in html
    assert 'data-status="success"' not in html


def test_a_step_while_it_ran_shows_its_input_and_no_output(viewer: User) -> None:
    run = services.start_run("order-fulfilment", ORDER)
    started = seq_of(run, "step.started", "ship_order")

    html = panel(viewer, run, step="ship_order", at=str(started))

    assert 'data-status="running"' in html
    assert "SO-3" in html  # its input
    live = panel(viewer, run, step="ship_order")
    assert 'data-status="success"' in live
    assert "data-at-seq" not in live


def test_the_run_panel_shows_the_run_status_of_the_moment(viewer: User) -> None:
    run = services.start_run("order-fulfilment", ORDER)
    middle = seq_of(run, "step.succeeded", "price_order")

    html = panel(viewer, run, at=str(middle))

    assert 'data-step="" data-tab="input" data-status="running"' in html
    assert "No result: the run is running." in html


def test_the_page_opens_at_the_moment_in_its_address(viewer: User) -> None:
    run = services.start_run("order-fulfilment", ORDER)
    middle = seq_of(run, "step.succeeded", "price_order")

    response = client_for(viewer).get(f"/runs/{run.run_id}/", {"at": str(middle)})

    assert response.status_code == 200
    assert f'data-at-seq="{middle}"' in response.content.decode()
    assert f'"at": {middle}' in response.content.decode()


def test_a_question_of_the_past_has_no_answer_form(operator: User) -> None:
    run = services.start_run(
        "expense-approval", {"employee": "Bob", "amount": 450, "description": "flight"}
    )
    assert run.status == "suspended"
    asked = max(e.seq for e in run.events_after(0) if e.type == "step.suspended")
    key = next(".".join(e.path) for e in run.events_after(0) if e.seq == asked)

    html = panel(operator, run, step=key, at=str(asked))

    assert "data-resume-form" not in html
    assert "data-resume-form" in panel(operator, run, step=key)


@pytest.mark.parametrize("at", ["-1", "0", "abc", "1.5"])
def test_a_bad_position_is_refused(viewer: User, at: str) -> None:
    run = services.start_run("order-fulfilment", ORDER)

    response = client_for(viewer).get(f"/runs/{run.run_id}/panel/", {"at": at})

    assert response.status_code == 400
    assert b"positive event seq" in response.content


def test_now_or_a_seq_past_the_end_is_the_live_run(viewer: User) -> None:
    run = services.start_run("order-fulfilment", ORDER)

    for at in ("now", str(run.seq), str(run.seq + 50)):
        assert "data-at-seq" not in panel(viewer, run, step="ship_order", at=at)
