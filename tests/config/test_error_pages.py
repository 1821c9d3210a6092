"""With DEBUG off, as `make run` and every server run, a wrong address or a server error shows
the product's own page: never Django's technical page, its list of URLs or a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import path

from config import urls as site_urls

ROOT = Path(__file__).resolve().parent.parent.parent


def boom(request):
    raise RuntimeError("secret detail of a bug")


# The site's URLs and one page that fails, for the server error (pytest.mark.urls below).
urlpatterns = [*site_urls.urlpatterns, path("boom/", boom)]
handler403 = site_urls.handler403
handler500 = site_urls.handler500


@pytest.mark.django_db
def test_an_unknown_address_shows_the_products_page_not_found(client, settings):
    settings.DEBUG = False

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert "There is nothing at this address" in page
    assert 'href="/accounts/login/">Sign in</a>' in page
    assert "Using the URLconf" not in page


def test_a_signed_in_user_who_mistypes_is_sent_back_home(llr, settings):
    settings.DEBUG = False
    browser = Client()
    browser.force_login(llr.user("elr", "viewer"))

    response = browser.get("/schemes/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert "Back to your home page" in page
    assert "Using the URLconf" not in page


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_server_error_shows_the_products_page_and_no_detail(settings):
    settings.DEBUG = False
    browser = Client(raise_request_exception=False)

    response = browser.get("/boom/")

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "QIPP governance" in page
    assert "secret detail of a bug" not in page
    assert "Traceback" not in page


def test_the_server_error_page_needs_no_request_and_no_database():
    # no django_db mark: a query here would fail the test
    page = render_to_string("500.html")

    assert "Something went wrong" in page
    assert "Nothing you entered was half-saved: please go back and try again." in page
    assert '<a href="/">Back to your home page</a>' in page
    assert '<a href="/accounts/login/">sign in</a>' in page
    assert "reference" not in page


# --- the settings `make run` uses: config.settings.local, in a process of its own ---


def run_local(code: str, tmp_path, **env) -> subprocess.CompletedProcess:
    """Run Python under the local settings, on an empty SQLite file of the test's own."""
    environ = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}}
    environ |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'local.sqlite3'}",
        **env,
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def local_setting(name: str, tmp_path, **env):
    script = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps(settings.{name}))"
    )
    done = run_local(["-c", script], tmp_path, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize(("debug", "expected"), [(None, False), ("0", False), ("1", True)])
def test_make_run_has_debug_off_unless_debug_1(tmp_path, debug, expected):
    env = {} if debug is None else {"DEBUG": debug}

    assert local_setting("DEBUG", tmp_path, **env) is expected


def test_make_run_serves_the_static_files_and_its_own_404_without_collectstatic(tmp_path):
    empty = tmp_path / "nothing-collected"
    empty.mkdir()
    script = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"settings.STATIC_ROOT = {str(empty)!r}; "
        "from django.test import Client; c = Client(); "
        "css = c.get('/static/css/qipp.css'); missing = c.get('/nope/'); "
        "print(json.dumps([css.status_code, css['Content-Type'], missing.status_code, "
        "missing.content.decode()]))"
    )
    done = run_local(["-c", script], tmp_path)

    assert done.returncode == 0, done.stderr
    css_status, css_type, missing_status, missing_page = json.loads(done.stdout)
    assert (css_status, css_type.split(";")[0]) == (200, "text/css")
    assert missing_status == 404
    assert "Page not found" in missing_page and "Using the URLconf" not in missing_page


def test_the_sqlite_default_gives_no_covering_index_warning(tmp_path):
    done = run_local(["manage.py", "check", "--database", "default"], tmp_path)

    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "W040" not in output
    assert "System check identified no issues" in output


def test_the_covering_index_warning_stays_on_for_postgresql(tmp_path):
    silenced = local_setting(
        "SILENCED_SYSTEM_CHECKS", tmp_path, DATABASE_URL="postgres://qipp@127.0.0.1:5432/qipp"
    )

    assert "models.W040" not in silenced


def test_a_button_only_address_opened_in_the_browser_says_so_and_does_nothing(llr):
    browser = Client()
    browser.force_login(llr.user("elr", "viewer"))

    response = browser.get("/notifications/read/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert "This address works from its button" in page
    assert "Nothing was done" in page and "Back to your home page" in page


def test_the_sign_out_address_opened_in_the_browser_offers_the_button(llr):
    browser = Client()
    browser.force_login(llr.user("elr", "viewer"))

    page = browser.get("/accounts/logout/").content.decode()

    assert '<form method="post" action="/accounts/logout/">' in page
    assert "You are signed in as" in page and "Sign out</button>" in page
    assert browser.get("/schemes/").status_code == 200  # opening it signed nobody out
    browser.logout()
    assert "You are signed out" in browser.get("/accounts/logout/").content.decode()
