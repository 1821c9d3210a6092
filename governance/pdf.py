"""A page as a PDF: a Django template rendered to HTML, then laid out by WeasyPrint.

WeasyPrint loads the pages' stylesheets itself. It is given a fetcher that serves our own
static files from disk and refuses every other address: a PDF never waits on, or leaks a
request to, another server. WeasyPrint is imported when a PDF is asked for, not when the
site starts: a server without its system libraries (pango) still serves every other page,
and the PDF link answers with a page saying what the administrator must install.
"""

import logging
import mimetypes
from importlib import import_module
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousFileOperation
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

logger = logging.getLogger("qipp.governance")

# What the administrator installs (bin/install-system-packages does it on Debian).
SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"


def pdf_response(request, template: str, context: dict, *, filename: str) -> HttpResponse:
    """The template rendered as a PDF to download as `filename`; a 503 page saying what to
    install when WeasyPrint cannot load its libraries on this server."""
    try:
        weasyprint = import_module("weasyprint")
    except (ImportError, OSError) as exc:
        # OSError: WeasyPrint is installed but cannot load pango ("cannot load library ...")
        logger.error("PDF of %s refused: WeasyPrint is not usable here: %s", template, exc)
        return render(
            request,
            "pdf/unavailable.html",
            {"packages": SYSTEM_PACKAGES},
            status=503,
        )
    html = render_to_string(template, context, request=request)
    document = weasyprint.HTML(
        string=html,
        # relative addresses (our {% static %} links) resolve against this site ...
        base_url=request.build_absolute_uri("/"),
        # ... and the fetcher reads them from disk, never over the network
        url_fetcher=_static_fetcher(weasyprint, request.build_absolute_uri(settings.STATIC_URL)),
    )
    response = HttpResponse(document.write_pdf(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _static_fetcher(weasyprint, static_prefix: str):
    """A WeasyPrint URL fetcher that serves files under `static_prefix` from our static files
    and refuses anything else (WeasyPrint logs the refusal and leaves the resource out).
    The class is made here, not at the top: WeasyPrint is imported only when a PDF is made."""

    class StaticOnly(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith(static_prefix):
                raise ValueError(f"not one of our static files, not fetched: {url}")
            path = _static_file(unquote(urlsplit(url).path[len(urlsplit(static_prefix).path) :]))
            if path is None:
                raise ValueError(f"no such static file: {url}")
            return weasyprint.urls.URLFetcherResponse(
                url, path.read_bytes(), headers={"Content-Type": _content_type(path)}
            )

    return StaticOnly()


def _static_file(name: str) -> Path | None:
    """The file a static name stands for: the source copy the static finders know (in
    development and tests), else the collected copy (in production, whose names carry a hash)."""
    try:
        found = finders.find(name)
        if not found and staticfiles_storage.exists(name):
            found = staticfiles_storage.path(name)
    except (SuspiciousFileOperation, NotImplementedError, ValueError):
        return None  # "../" out of the static folders, or a storage with no local path
    return Path(found) if found else None


def _content_type(path: Path) -> str:
    # WeasyPrint ignores a linked stylesheet not served as text/css
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
