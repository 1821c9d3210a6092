"""Logs an operator can follow: one JSON object a line on stderr, each with the id of the
request it happened in, which the 500 page also shows the user, so an error they report can
be found (docs/operations.md)."""

import json
import logging
import re
import uuid
from contextvars import ContextVar

from django.http import HttpResponseServerError
from django.template.loader import render_to_string

_request_id: ContextVar[str] = ContextVar("request_id", default="")
# an id a proxy in front may already have given the request: kept when it looks like one
GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id() -> str:
    """The id of the request being served ("" outside one)."""
    return _request_id.get()


class RequestIdMiddleware:
    """Gives each request an id (the proxy's X-Request-ID when it sent a sane one), for every
    log line written while it is served and for the response's X-Request-ID header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.id = given if GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
        token = _request_id.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request.id
        return response


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: time, level, logger, message, the request's id,
    method, path and status when there is a request, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id(),
        }
        request = getattr(record, "request", None)  # django.request gives it
        if request is not None and hasattr(request, "path"):
            line["method"], line["path"] = request.method, request.path
            user = getattr(request, "user", None)
            if getattr(user, "is_authenticated", False):
                line["user_id"] = user.pk
        if hasattr(record, "status_code"):
            line["status"] = record.status_code
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def server_error(request, *args, **kwargs):
    """handler500: the error page with the reference of the log line that recorded it. Drawn
    without the site's menu, which could fail again."""
    page = render_to_string("500.html", {"request_id": getattr(request, "id", "")})
    return HttpResponseServerError(page)
