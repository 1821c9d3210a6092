"""The Content Security Policy: every page carries it, and no template or script needs what it
forbids (inline script, event-handler attributes, eval)."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse

ROOT = Path(settings.BASE_DIR)
PROJECT_APPS = ["governance", "qia", "notifications"]

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*?\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
SCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
EVAL_LIKE = re.compile(
    r"""\beval\s*\(|\bnew\s+Function\s*\(|\bset(Timeout|Interval)\s*\(\s*["'`]""",
)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def templates() -> list[Path]:
    folders = [ROOT / "templates"]
    folders += [Path(apps.get_app_config(app).path) / "templates" for app in PROJECT_APPS]
    found = [path for folder in folders if folder.is_dir() for path in folder.rglob("*.html")]
    found += [path for folder in folders if folder.is_dir() for path in folder.rglob("*.txt")]
    return sorted(found)


def scripts() -> list[Path]:
    folders = [ROOT / "static"]
    folders += [Path(apps.get_app_config(app).path) / "static" for app in PROJECT_APPS]
    return sorted(path for folder in folders if folder.is_dir() for path in folder.rglob("*.js"))


def test_there_are_templates_and_scripts_to_check():
    names = {path.name for path in templates()}
    assert {"base.html", "login.html", "403.html"} <= names
    assert "sheet.js" in {path.name for path in scripts()}


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_script_or_event_handlers(path):
    text = path.read_text()
    assert not INLINE_SCRIPT.findall(text), "inline <script>: move it to a file under static/"
    assert not EVENT_HANDLER.findall(text), "on*= attribute: attach the handler in a script file"
    assert not SCRIPT_URL.findall(text), "javascript: URL"


@pytest.mark.parametrize("path", scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_script_evaluates_strings_as_code(path):
    assert not EVAL_LIKE.findall(path.read_text())


def test_the_patterns_catch_what_they_are_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/qia/sheet.js"></script>')
    assert EVENT_HANDLER.search('<button class="btn" onclick="go()">')
    assert not EVENT_HANDLER.search('<button class="btn" data-once="go">')
    assert EVAL_LIKE.search('setTimeout("go()", 10)')
    assert not EVAL_LIKE.search("setTimeout(() => go(), 10)")


@pytest.mark.django_db
def test_the_sign_in_page_carries_the_policy(client):
    rules = policy(client.get(reverse("login")))
    assert rules["default-src"] == ["'self'"]
    assert rules["script-src"] == ["'self'"]
    assert rules["style-src"] == ["'self'"]
    assert rules["style-src-attr"] == ["'unsafe-inline'"]
    assert rules["img-src"] == ["'self'", "data:"]
    assert rules["object-src"] == ["'none'"]
    assert rules["base-uri"] == ["'self'"]
    assert rules["frame-ancestors"] == ["'none'"]
    assert rules["form-action"] == ["'self'"]


@pytest.mark.django_db
def test_signed_in_pages_carry_it_and_render_no_inline_script(client, lead, staff):
    client.force_login(lead)
    for name in ["home", "scheme_list", "scheme_create", "qia_heatmap", "notification_list"]:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert "'unsafe-eval'" not in response["Content-Security-Policy"]
        html = response.content.decode()
        assert not INLINE_SCRIPT.findall(html), name
        assert not EVENT_HANDLER.findall(html), name
    client.force_login(staff)
    for url in [reverse("admin:index"), reverse("admin:governance_user_changelist")]:
        response = client.get(url)
        assert response.status_code == 200
        assert not INLINE_SCRIPT.findall(response.content.decode()), url
