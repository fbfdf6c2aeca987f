"""What every page shares: the static files it may load, the shell, and the template tags."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.template import Context, Template

from tests.app.conftest import client_for
from workflows_app.staticfiles import VENDOR, FrontendFinder
from workflows_app.templatetags.stepback import duration


def test_the_third_party_files_the_pages_load_are_served_under_vendor() -> None:
    for name in VENDOR:
        if not name.endswith("/"):
            assert finders.find(name), name
    assert finders.find("vendor/jsondiffpatch/index.js")


@pytest.mark.parametrize(
    "path",
    [
        "package.json",
        "package-lock.json",
        "README.md",
        "node_modules/jsondiffpatch/package.json",
        "vendor/jsondiffpatch/../../package.json",
        "vendor/jsondiffpatch/package.json",
    ],
)
def test_nothing_else_of_the_frontend_directory_is_served(path: str) -> None:
    assert not finders.find(path)


def test_our_own_modules_and_stylesheet_are_served() -> None:
    assert finders.find("boot.js")
    assert finders.find("css/stepback.css")
    assert finders.find("widgets/live.js")


def test_listing_names_only_servable_files() -> None:
    listed = {path for path, _ in FrontendFinder().list(None)}
    assert "vendor/jsoneditor.js" in listed
    assert not any(p.startswith("node_modules") or p.startswith("package") for p in listed)


def test_a_missing_npm_install_is_a_check_warning(settings, tmp_path: Path) -> None:
    settings.BASE_DIR = tmp_path
    (tmp_path / "frontend").mkdir()

    problems = FrontendFinder().check()

    assert [p.id for p in problems] == ["stepback.W010"]
    assert "make install" in problems[0].hint


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "—"), (0.25, "250 ms"), (4.21, "4.2 s"), (185, "3 min 5 s"), (7800, "2 h 10 min"),
     (3 * 86400 + 4 * 3600, "3 d 4 h")],
)  # fmt: skip
def test_durations_read_as_a_person_says_them(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_moments_are_utc_times_the_browser_shows_locally() -> None:
    html = Template("{% load stepback %}{% moment when %}").render(
        Context({"when": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)})
    )
    assert html == (
        '<time datetime="2025-01-02T03:04:05Z" title="2025-01-02T03:04:05Z" data-moment>'
        "2025-01-02 03:04:05 UTC</time>"
    )


def test_json_blocks_escape_what_they_show() -> None:
    html = Template("{% load stepback %}{% json_block value %}").render(
        Context({"value": {"out": "</pre><script>alert(1)</script>"}})
    )
    assert "<script>" not in html
    assert "&lt;/pre&gt;&lt;script&gt;" in html


def test_the_shell_names_the_user_and_marks_the_current_section(db: None, viewer: User) -> None:
    page = client_for(viewer).get("/workflows/").content.decode()

    assert '<span data-username>vera</span> <span class="muted">(view only)</span>' in page
    assert '<a href="/workflows/" aria-current="page">Workflows</a>' in page
    assert 'action="/accounts/logout/"' in page


def test_the_sign_in_page_needs_no_account_and_shows_the_form(db: None) -> None:
    page = client_for(None).get("/accounts/login/").content.decode()

    assert 'autocomplete="current-password"' in page
    assert "data-username" not in page


@pytest.mark.parametrize("debug", [True, False])
def test_static_files_are_served_with_debug_on_and_off(db: None, settings, debug: bool) -> None:
    settings.DEBUG = debug
    settings.WHITENOISE_AUTOREFRESH = debug

    response = client_for(None).get("/static/vendor/jsoneditor.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"".join(response.streaming_content)[:20]
    response.close()


def test_a_package_file_is_not_served(db: None, settings) -> None:
    settings.DEBUG = False
    settings.WHITENOISE_AUTOREFRESH = False

    assert client_for(None).get("/static/package.json").status_code == 404
