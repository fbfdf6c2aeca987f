"""The admin shows every Stepback model read-only: records are evidence, never edited there."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.app.conftest import client_for
from workflows_app import services
from workflows_app.models import Event, ExecutorProcess, HumanTask, Run, Snapshot, StepRecord

pytestmark = pytest.mark.usefixtures("test_workflows")

MODELS = [Run, Event, Snapshot, StepRecord, HumanTask, ExecutorProcess]


@pytest.fixture
def stored_run(admin_user: User) -> Run:
    return services.start_run("approval", {"name": "Ada"}, user=admin_user)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_is_listed_for_a_superuser(
    admin_user: User, stored_run: Run, model: type
) -> None:
    url = reverse(f"admin:workflows_app_{model._meta.model_name}_changelist")
    assert client_for(admin_user).get(url).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_no_model_can_be_added_from_the_admin(admin_user: User, model: type) -> None:
    url = reverse(f"admin:workflows_app_{model._meta.model_name}_add")
    assert client_for(admin_user).get(url).status_code == 403


def test_a_run_opens_read_only_and_cannot_be_changed_or_deleted(
    admin_user: User, stored_run: Run
) -> None:
    client = client_for(admin_user)
    change = reverse("admin:workflows_app_run_change", args=[stored_run.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(change, {"status": "success"}).status_code == 403
    delete = reverse("admin:workflows_app_run_delete", args=[stored_run.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Run.objects.filter(pk=stored_run.pk, status=stored_run.status).exists()


def test_the_admin_refuses_a_signed_in_user_who_is_not_staff(operator: User) -> None:
    url = reverse("admin:workflows_app_run_changelist")
    assert client_for(operator).get(url).status_code == 302
