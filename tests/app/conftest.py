"""The fixed cast of the Django tests: nobody, a viewer, an operator and an administrator."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.contrib.auth.models import Permission, User
from django.test import Client

from tests.storages import close_sync_thread_connections

PASSWORD = "correct horse battery staple"
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """The production hasher costs ~1 s per user on purpose; tests need none of that."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_recovery_sweeps(settings: Any) -> None:
    """A server marks runs of dead processes interrupted when it starts; the ASGI application
    these tests call must not do that to the runs a test arranged (tests call it directly)."""
    settings.STEPBACK_RECOVERY = False


@pytest.fixture(scope="session", autouse=True)
def release_sync_thread_connections(django_db_setup: None) -> Iterator[None]:
    """Runs write from asgiref's thread for sync code; its connections must be closed before
    the test database is dropped (PostgreSQL refuses to drop a database in use)."""
    yield
    close_sync_thread_connections()


def _user(username: str, *codenames: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
    if superuser:
        user.is_staff = user.is_superuser = True
        user.save()
    if codenames:
        perms = Permission.objects.filter(
            content_type__app_label="workflows_app", codename__in=codenames
        )
        user.user_permissions.add(*perms)
    return user


@pytest.fixture
def viewer(db: None) -> User:
    """May look at everything, change nothing."""
    return _user("vera", "view_run")


@pytest.fixture
def operator(db: None) -> User:
    """May look and act: start, resume, cancel, restart, time-travel, import."""
    return _user("otto", "view_run", "operate_run")


@pytest.fixture
def admin_user(db: None) -> User:
    """A superuser (every permission, the admin site)."""
    return _user("ada", superuser=True)


@pytest.fixture
def outsider(db: None) -> User:
    """Signed in, but with no Stepback permission."""
    return _user("olga")


def client_for(user: User | None, *, csrf: bool = False) -> Client:
    """A test client signed in as `user` (anonymous for None); `csrf=True` enforces CSRF."""
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def inline_runs(settings: Any) -> None:
    """Runs execute inside the call that starts them, to their next stop (deterministic)."""
    settings.STEPBACK_EXECUTOR = "inline"


@pytest.fixture
def test_workflows(settings: Any, inline_runs: None) -> None:
    """The small workflows of `tests.app.workflows_fixture`, executed inline."""
    settings.STEPBACK_WORKFLOWS = ["tests.app.workflows_fixture"]


def use_redis_layer(settings: Any) -> None:
    """Point the channel layer at Redis, under a prefix of its own. Redis runs on every machine
    this suite runs on, so an unreachable one fails the test (it never skips)."""
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable ({exc}); the live tests need it")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"stepback-test-{uuid.uuid4().hex}"},
        }
    }
