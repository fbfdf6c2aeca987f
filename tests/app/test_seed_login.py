"""`seed_demo --remember FILE`: `make serve` shows the demo login on every start."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from workflows_app.models import RunAction

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def password_in(login: str, user: str) -> str:
    line = next(line for line in login.splitlines() if line.startswith(f"User '{user}'"))
    return line.rsplit("password ", 1)[1]


def test_the_first_seed_remembers_a_login_that_signs_in(tmp_path: Path) -> None:
    login = tmp_path / "login"

    seed("--remember", str(login))

    demo = User.objects.get(username="demo")
    assert demo.check_password(password_in(login.read_text(), "demo"))
    assert login.stat().st_mode & 0o777 == 0o600


def test_a_later_seed_keeps_the_remembered_login(tmp_path: Path) -> None:
    login = tmp_path / "login"
    seed("--remember", str(login))
    first = login.read_text()

    seed("--remember", str(login))

    assert login.read_text() == first
    assert User.objects.get(username="viewer").check_password(password_in(first, "viewer"))


def test_a_lost_login_file_gets_new_passwords_that_work(tmp_path: Path) -> None:
    seed("--password", "old")
    login = tmp_path / "login"

    seed("--remember", str(login))

    assert User.objects.get(username="demo").check_password(password_in(login.read_text(), "demo"))


def test_the_demo_runs_record_the_demo_user_as_who_started_them(tmp_path: Path) -> None:
    seed("--password", "pw")

    assert set(RunAction.objects.filter(action="start").values_list("username", flat=True)) == {
        "demo"
    }
