"""A server error is on record: a JSON line on stderr with the request's id (which the error
page shows the user), mailed to ADMINS when set, and sent to Sentry when SENTRY_DSN is set."""

import gzip
import io
import json
import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client

from governance.delivery import progress

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def broken_dashboard(monkeypatch, llr):
    def fails(**kwargs):
        raise RuntimeError("a bug in the dashboard")

    monkeypatch.setattr(progress, "dashboard", fails)
    browser = Client(raise_request_exception=False)
    browser.force_login(llr.user("elr", "viewer"))
    return browser


@pytest.fixture
def stderr_log():
    """What the stderr handler of the logs writes, during the test."""
    handler = next(
        h for h in logging.getLogger("django.request").handlers if type(h) is logging.StreamHandler
    )
    written = io.StringIO()
    before = handler.setStream(written)
    yield written
    handler.setStream(before)


def json_lines(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def test_a_server_error_is_logged_with_the_id_the_page_shows(broken_dashboard, stderr_log):
    response = broken_dashboard.get("/dashboard/", HTTP_X_REQUEST_ID="proxy-given-id-0001")

    assert response.status_code == 500
    assert response["X-Request-ID"] == "proxy-given-id-0001"
    page = response.content.decode()
    assert "The error has been recorded with the reference <code>proxy-given-id-0001</code>" in page
    errors = [
        line for line in json_lines(stderr_log.getvalue()) if line["logger"] == "django.request"
    ]
    assert len(errors) == 1
    (error,) = errors
    assert error["level"] == "ERROR" and error["request_id"] == "proxy-given-id-0001"
    assert (error["method"], error["path"], error["status"]) == ("GET", "/dashboard/", 500)
    assert "RuntimeError: a bug in the dashboard" in error["error"]


def test_a_request_without_a_sane_id_gets_one_of_its_own(broken_dashboard, stderr_log):
    response = broken_dashboard.get("/dashboard/", HTTP_X_REQUEST_ID="<script>")

    given = response["X-Request-ID"]
    assert given != "<script>" and len(given) == 32
    assert given in response.content.decode()
    assert json_lines(stderr_log.getvalue())[-1]["request_id"] == given


def test_a_server_error_is_mailed_to_the_admins_when_there_are_some(broken_dashboard, settings):
    settings.ADMINS = [("Ops", "ops@example.nhs.uk")]

    broken_dashboard.get("/dashboard/")

    (sent,) = mail.outbox
    assert sent.to == ["ops@example.nhs.uk"]
    assert "/dashboard/" in sent.subject and "RuntimeError" in sent.body


class _Sink(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # Sentry's choice only when brotli is installed
            import brotli

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_with_sentry_dsn_set_errors_go_to_sentry():
    server = HTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dsn = f"http://publickey@127.0.0.1:{server.server_port}/1"
    script = (
        "import django, sentry_sdk; django.setup(); "
        "sentry_sdk.capture_exception(RuntimeError('seen in Sentry')); sentry_sdk.flush(5)"
    )
    env = {**os.environ, "SENTRY_DSN": dsn, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    try:
        subprocess.run(  # noqa: S603 - this interpreter and a fixed script
            [sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=60
        )
    finally:
        server.shutdown()

    assert any(b"seen in Sentry" in body for body in _Sink.received)
