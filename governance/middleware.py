"""Session timeouts, the refusal log and a database that stops answering, for every request
(docs/security.md)."""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions import middleware as sessions
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, QueryDict
from django.shortcuts import render, resolve_url
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst

from governance import deputies, services
from governance.sessions import LAST_SEEN, SIGNED_IN_AT
from governance.text import Typed

logger = logging.getLogger("qipp.governance")

# Seconds between writes of "last seen" to the session: a write on every request would cost a
# query each; the idle timeout is that much less exact.
LAST_SEEN_RESOLUTION = 60


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class SessionTimeoutMiddleware:
    """Sign out a user idle for QIPP_SESSION_IDLE_MINUTES, or signed in for longer than
    QIPP_SESSION_MAX_HOURS, and send them to sign in again with a message saying why.

    A form posted by someone no longer signed in (timed out here, signed out in another tab,
    their cookie gone, their account closed) is not thrown away: they are shown what they
    typed, to copy, with the link to sign in again (signed_out_page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            why = self._expired(request.session)
            if why:
                logout(request)
                typed = posted_text(request)
                if typed:
                    return signed_out_page(request, why, typed)
                messages.info(request, why)
                return redirect_to_login(request.get_full_path())
            # for the page's warning before the idle sign-out (base.html, qipp.js)
            request.idle_minutes = settings.QIPP_SESSION_IDLE_MINUTES
        elif SESSION_KEY in request.session:
            # signed in as a user since deactivated (by a bulk update, which ends no sessions)
            request.session.flush()
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # login_required (and so governance.pages.signed_in) marks the views it guards with
        # where it sends the signed-out: such a view would answer this POST with a redirect
        # to sign in, losing what was typed.
        sends_to_sign_in = hasattr(view_func, "redirect_field_name")
        if not sends_to_sign_in or request.user.is_authenticated:
            return None
        typed = posted_text(request)
        if not typed:
            return None  # nothing to lose: sign in as usual
        why = (
            "You are not signed in any more, so nothing was saved. You may have signed out "
            "in another tab or window, or your sign-in may have ended. Please sign in again."
        )
        return signed_out_page(request, why, typed)

    def _expired(self, session) -> str | None:
        now = int(timezone.now().timestamp())
        signed_in_at = session.setdefault(SIGNED_IN_AT, now)
        last_seen = session.get(LAST_SEEN, now)
        idle = settings.QIPP_SESSION_IDLE_MINUTES
        longest = settings.QIPP_SESSION_MAX_HOURS
        if now - signed_in_at >= longest * 3600:
            return (
                f"For security you are signed out {_plural(longest, 'hour')} after signing in. "
                "Please sign in again."
            )
        if now - last_seen >= idle * 60:
            return (
                f"You were signed out because you had not used the site for "
                f"{_plural(idle, 'minute')}. Please sign in again."
            )
        if now - last_seen >= LAST_SEEN_RESOLUTION or LAST_SEEN not in session:
            session[LAST_SEEN] = now
        return None


# Posted fields that are not the user's words: secrets, the form's bookkeeping, ids.
NOT_TYPED_PARTS = ("password", "token", "version", "revision")
NOT_TYPED_NAMES = {"id", "pk", "next"}
NOT_TYPED_ENDINGS = ("_id", "-id", "-pk", "_forms")


def posted_text(request) -> list[Typed]:
    """What the user typed in the form they posted, with no form object to label it: each
    field named in plain words ("assured_reason" is "Assured reason"). Passwords, the security
    token, versions, ids, files and empty fields are left out. Empty for a GET, and for a
    form another site posted: its words are not to be shown as the user's."""
    if request.method != "POST" or not _posted_from_this_site(request):
        return []
    typed = []
    for name, values in request.POST.lists():
        lowered = name.lower()
        if (
            any(part in lowered for part in NOT_TYPED_PARTS)
            or lowered in NOT_TYPED_NAMES
            or lowered.endswith(NOT_TYPED_ENDINGS)
        ):
            continue
        text = "\n".join(value.strip() for value in values if value.strip())
        if text:
            label = capfirst(name.replace("_", " ").replace("-", " ").strip())
            typed.append(Typed(label, text))
    return typed


def _posted_from_this_site(request) -> bool:
    """Whether the browser says the form was on a page of this site: browsers name the page's
    origin on every POST (Django's CSRF check compares it the same way); one naming none is
    believed."""
    origin = request.META.get("HTTP_ORIGIN")
    scheme = "https" if request.is_secure() else "http"
    return origin is None or origin == f"{scheme}://{request.get_host()}"


def form_page(request) -> str | None:
    """The page the form was posted from, when the browser says and it is on this site."""
    referer = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(referer)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path or "/"


def signed_out_page(request, why: str, typed: list[Typed]) -> HttpResponse:
    """The answer to a form posted by someone no longer signed in: why, what they typed (to
    copy: it was not saved) and the way to sign in again, back to the form's page.

    401, not a redirect or a 200: nothing was done because nobody is signed in, and a script
    or a monitor must not take this for success. It carries no WWW-Authenticate challenge:
    signing in is a page here, not the browser's password prompt. The page goes only to the
    browser that posted the text, and is never kept by it (no-store)."""
    next_page = QueryDict(mutable=True)
    next_page["next"] = form_page(request) or request.get_full_path()
    sign_in = f"{resolve_url(settings.LOGIN_URL)}?{next_page.urlencode(safe='/')}"
    page = render(
        request,
        "registration/signed_out_typed.html",
        {"why": why, "sign_in": sign_in, "typed": typed},
        status=401,
    )
    add_never_cache_headers(page)
    return page


class PrivatePagesMiddleware:
    """Nothing a signed-in user is shown is kept by the browser or a proxy: Back then asks the
    server again (showing the scheme as it now is, with any message waiting), and a shared
    computer keeps no copy of the pages or downloads once the user signs out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class MethodNotAllowedMiddleware:
    """An address that acts only when its button is pressed (a POST), opened in the browser
    instead (a bookmark, a typed sign-out address): Django answers 405 with an empty body, a
    blank page; this page says what happened, and for signing out offers the button."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.method != "GET":
            return response  # the API's 405s carry their own JSON
        match = request.resolver_match
        page = render(
            request,
            "405.html",
            {"sign_out": match is not None and match.url_name == "logout"},
            status=405,
        )
        page["Allow"] = response["Allow"]
        return page


class DeputyMiddleware:
    """A page opened from a deputy's inbox (`?for=<delegation>`) is acted on for the person
    away: the signed-in user is marked as deputising for this request (governance.deputies),
    so the policy checks both people and the records name both. A delegation that is not the
    user's, or no longer runs, is refused with the reason."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        wanted = request.GET.get("for")
        if wanted is not None and request.user.is_authenticated:
            acting = deputies.deputising_through(request.user, wanted)
            if acting is None:
                reason = (
                    "You are not deputising through that link now: the delegation has ended, "
                    "has not started, or is someone else's. Open the task from My tasks again."
                )
                services.record_refusal(
                    user=request.user, action="deputise", target=request.path, reason=reason
                )
                return render(request, "403.html", {"reason": reason}, status=403)
            request.user.deputising = acting
        return self.get_response(request)


class RefusalLogMiddleware:
    """Every 403 is on record (ACCESS.md): who, what, when. The views' own refusals record
    themselves with their reason; this catches the rest (PermissionDenied raised anywhere,
    the admin included) once each."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        before = services.refusals_recorded()
        response = self.get_response(request)
        if response.status_code == 403 and services.refusals_recorded() == before:
            _record(request, "Refused with 403 Forbidden.")
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            _record(request, str(exception) or "Permission denied.")
        return None  # Django renders the 403 page (handler403)


def _record(request, reason: str) -> None:
    match = request.resolver_match
    action = match.view_name if match else "request"
    services.record_refusal(
        user=request.user,
        action=f"{request.method} {action}"[:100],
        target=request.path,
        reason=reason,
    )


def permission_denied(request, exception=None):
    """handler403: the 403 page, with the reason when the refusal gave one."""
    reason = str(exception) if exception else ""
    return render(request, "403.html", {"reason": reason}, status=403)


def csrf_failure(request, reason: str = ""):
    """The form's security token was missing or stale: say so, and record the refusal."""
    services.record_refusal(
        user=getattr(request, "user", None),
        action=f"{request.method} form",
        target=request.path,
        reason=f"Security check on the form failed: {reason}",
    )
    # Reloading the form would wipe what was typed: it is shown here to copy instead.
    page = render(
        request,
        "403_csrf.html",
        {"typed": posted_text(request), "form_page": form_page(request)},
        status=403,
    )
    add_never_cache_headers(page)
    return page


def locked_out(request, original_response=None, credentials=None):
    """The sign-in lockout page (AXES_LOCKOUT_CALLABLE): what happened and what to do."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)


class SessionMiddleware(sessions.SessionMiddleware):
    """Django's, except that a session which cannot be saved once the view has answered does
    not turn the answer into an error page. Whatever the view saved has committed by then,
    and its message travels in a cookie (MESSAGE_STORAGE): a user told "saved" is told the
    truth, and only the session's own bookkeeping (last seen) waits for the next request."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except (SessionInterrupted, DatabaseError):
            logger.warning(
                "the session could not be saved after %s %s; the answer stands",
                request.method,
                request.path,
                exc_info=True,
            )
            return response


class DatabaseUnavailableMiddleware:
    """The database stopped answering (connection lost, server restarting): a page that says
    what happened to the user's change instead of a server error.

    A change reported saved has committed: its service returned, and only then does a view
    say so (messages.success). So a success message already given means saved; none means
    nothing was saved (the transaction rolled back with the connection)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "database unavailable during %s %s", request.method, request.path, exc_info=exception
        )
        try:
            saved = [str(m) for m in messages.get_messages(request) if m.level == messages.SUCCESS]
        except DatabaseError:
            saved = []
        # drawn without the site's menu: it would read the database again
        page = render_to_string(
            "database_unavailable.html",
            {"saved": saved, "posted": request.method == "POST"},
        )
        response = HttpResponse(page, status=200 if saved else 503)
        if not saved:
            response["Retry-After"] = "30"
        return response


class RequestSizeMiddleware:
    """A request larger than QIPP_REQUEST_MAX_BYTES is answered 413 before its body is read,
    with a page that says the limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        most = settings.QIPP_REQUEST_MAX_BYTES
        if length > most:
            logger.warning("refused a request of %d bytes to %s", length, request.path)
            page = render_to_string("request_too_large.html", {"megabytes": most // 2**20})
            return HttpResponse(page, status=413)
        return self.get_response(request)


class NulCharacterMiddleware:
    """An address carrying a NUL character (%00) is bad input: answered 400 with a reason,
    never passed on (PostgreSQL refuses NUL in text, which was a server error). Forms refuse
    it in what they are sent (Django's CharField)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            page = render_to_string("bad_request.html", {})
            return HttpResponse(page, status=400)
        return self.get_response(request)
