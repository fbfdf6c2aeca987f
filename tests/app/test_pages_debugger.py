"""The debugger's pages: time travel from a recorded step (its form's data and the plan as
recorded), the lineage tree on a run's page with what each fork changed, the compare page (step
by step, first divergence, deep links from the runs list and the tree), and the import zone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.app.conftest import client_for
from workflows_app import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inline_runs")]

ORDER = {
    "order_id": "SO-1",
    "customer": "Grace",
    "lines": [{"sku": "cable", "quantity": 2, "unit_price": 6.5}],
}


@pytest.fixture(autouse=True)
def workflows(settings: Any) -> None:
    settings.STEPBACK_WORKFLOWS = ["workflows_app.examples"]


def script_data(page: str, script_id: str) -> Any:
    opening = f'<script id="{script_id}" type="application/json">'
    start = page.index(opening) + len(opening)
    return json.loads(page[start : page.index("</script>", start)])


def failed_order() -> str:
    return services.start_run("order-fulfilment", {**ORDER, "card": "0000"}).run_id


def fork_with_new_card(run_id: str) -> str:
    recorded = services.preview_time_travel(run_id, "payment.authorize")["recorded_input"]
    fork = services.time_travel(
        run_id, "payment.authorize", input_data={**recorded, "card": "4242"}
    )
    return fork.run_id


def test_time_travel_page_prefills_the_steps_recorded_input_and_its_schema(viewer: User) -> None:
    run_id = failed_order()

    response = client_for(viewer).get(f"/runs/{run_id}/time-travel/", {"step": "payment.authorize"})

    assert response.status_code == 200
    data = script_data(response.content.decode(), "tt-data")
    assert data["recorded_input"]["card"] == "0000"
    assert set(data["input_schema"]["properties"]) >= {"order_id", "amount", "card"}
    assert data["urls"]["preview"] == f"/api/runs/{run_id}/time-travel/preview/"


def test_time_travel_page_lists_the_plan_as_recorded_and_the_editable_earlier_outputs(
    viewer: User,
) -> None:
    run_id = failed_order()

    page = client_for(viewer).get(f"/runs/{run_id}/time-travel/", {"step": "payment.authorize"})

    data = script_data(page.content.decode(), "tt-data")
    actions = {step["key"]: step["action"] for step in data["plan"]["steps"]}
    assert actions["price_order"] == "reused"
    assert actions["payment.authorize"] == "re-executed"
    assert [step["key"] for step in data["editable"]] == ["price_order", "payment_request"]
    assert data["editable"][0]["output"]["customer"] == "Grace"
    assert data["editable"][0]["schema"]["type"] == "object"
    assert 'data-key="price_order" data-action="reused"' in page.content.decode()


def test_time_travel_page_lets_viewers_preview_but_only_operators_submit(
    viewer: User, operator: User
) -> None:
    run_id = failed_order()
    path = f"/runs/{run_id}/time-travel/?step=payment.authorize"

    seen_by_viewer = client_for(viewer).get(path).content.decode()
    seen_by_operator = client_for(operator).get(path).content.decode()

    assert "data-tt-submit" not in seen_by_viewer
    assert "can preview a time travel but not start one" in seen_by_viewer
    assert "data-tt-submit" in seen_by_operator


def test_time_travel_page_without_a_step_asks_for_one(viewer: User) -> None:
    run_id = failed_order()

    response = client_for(viewer).get(f"/runs/{run_id}/time-travel/")

    assert response.status_code == 400
    assert "Choose the step to travel back to" in response.content.decode()


def test_time_travel_page_of_an_unknown_step_is_not_found(viewer: User) -> None:
    run_id = failed_order()

    response = client_for(viewer).get(f"/runs/{run_id}/time-travel/", {"step": "nowhere"})

    assert response.status_code == 404


def test_the_step_panel_links_to_time_travel_from_that_step(viewer: User) -> None:
    run_id = failed_order()

    panel = client_for(viewer).get(f"/runs/{run_id}/panel/", {"step": "payment.authorize"})

    assert f"/runs/{run_id}/time-travel/?step=payment.authorize" in panel.content.decode()


def test_a_fork_shows_its_lineage_with_the_input_field_it_changed(viewer: User) -> None:
    run_id = failed_order()
    fork_id = fork_with_new_card(run_id)

    page = client_for(viewer).get(f"/runs/{fork_id}/").content.decode()

    assert "data-lineage" in page
    assert f'data-lineage-run="{run_id}"' in page
    assert f'data-lineage-run="{fork_id}"' in page
    assert "input: <code>card</code>" in page
    assert f"/compare/?a={run_id}&amp;b={fork_id}" in page


def test_the_lineage_names_edited_outputs_of_earlier_steps(viewer: User) -> None:
    run_id = failed_order()
    output = client_for(viewer).get(f"/runs/{run_id}/time-travel/?step=payment_request")
    price = script_data(output.content.decode(), "tt-data")["editable"][0]["output"]
    fork = services.time_travel(
        run_id, "payment_request", outputs={"price_order": {**price, "customer": "Ada"}}
    )

    page = client_for(viewer).get(f"/runs/{run_id}/").content.decode()

    assert f'data-lineage-run="{fork.run_id}"' in page
    assert "edited outputs: <code>price_order</code>" in page


def test_a_run_alone_shows_no_lineage(viewer: User) -> None:
    run_id = failed_order()

    page = client_for(viewer).get(f"/runs/{run_id}/").content.decode()

    assert "data-lineage" not in page


def test_compare_page_marks_the_first_divergence_and_the_differing_steps(viewer: User) -> None:
    run_id = failed_order()
    fork_id = fork_with_new_card(run_id)

    page = client_for(viewer).get("/compare/", {"a": run_id, "b": fork_id}).content.decode()

    data = script_data(page, "cmp-data")
    assert data["first"] == "payment"
    assert 'id="cmp-first" data-key="payment"' in page
    assert "payment.authorize" in data["differs"]
    assert "price_order" not in data["differs"]
    assert data["a"]["statuses"]["payment.authorize"] == "failed"
    assert data["b"]["statuses"]["payment.authorize"] == "success"
    assert '<code class="diff-path">card</code>' in page


def test_compare_page_redirects_two_runs_chosen_in_a_list_to_its_own_address(
    viewer: User,
) -> None:
    response = client_for(viewer).get("/compare/?run_id=one&run_id=two")

    assert response.status_code == 302
    assert response["Location"] == "/compare/?a=one&b=two"


def test_compare_page_refuses_runs_of_two_workflows(viewer: User) -> None:
    order = failed_order()
    other = services.start_run("payment", {"order_id": "x", "amount": 1, "card": "4242"}).run_id

    response = client_for(viewer).get("/compare/", {"a": order, "b": other})

    assert response.status_code == 400
    assert "is a run of" in response.content.decode()


def test_compare_page_without_runs_offers_the_choice(viewer: User) -> None:
    response = client_for(viewer).get("/compare/")

    assert response.status_code == 200
    assert 'name="a"' in response.content.decode()


def test_runs_list_offers_import_to_operators_only(viewer: User, operator: User) -> None:
    assert 'data-module="runs/import"' in client_for(operator).get("/").content.decode()
    assert 'data-module="runs/import"' not in client_for(viewer).get("/").content.decode()
