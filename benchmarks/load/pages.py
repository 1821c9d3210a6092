"""What the load and race clients read from the site's pages: forms and messages."""

import re

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
ROUND = re.compile(r'name="round" value="(\d+)"')
# a message, or the error summary at the top of a form sent back (its own classes after)
ALERT = re.compile(r'<div class="alert alert-(\w+)[^"]*" role="alert"[^>]*>(.*?)</div>', re.S)
# a conflict: the form comes back with what was typed, or, when the step no longer applies,
# a page showing it read-only (governance/pages.py)
CONFLICT = "changed while you were looking at it"
# Seconds each simulated user waits between steps (the least and the most), in every scenario.
PACING = (0.15, 0.45)


def form_fields(html: str) -> dict[str, str] | None:
    """The CSRF token and the scheme version of a transition form, or None if not a form."""
    csrf, version = CSRF.search(html or ""), VERSION.search(html or "")
    if not (csrf and version):
        return None
    fields = {"csrfmiddlewaretoken": csrf.group(1), "version": version.group(1)}
    if found := ROUND.search(html):  # a review form: the submission it reviews
        fields["round"] = found.group(1)
    return fields


def outcome_of(html: str) -> tuple[str, str]:
    """What the scheme page's messages (or the page the post answered with, when it was not
    a redirect) say of the action just posted.

    A message left by an earlier step (a form no longer offered) may show with it, so a
    success or a conflict, which only the post itself can cause, wins over a refusal.
    """
    alerts = ALERT.findall(html or "")
    for outcome, test in [
        ("success", lambda tag, text: " is now " in text or " is recorded. It stays " in text),
        ("conflict", lambda tag, text: CONFLICT in text),
        ("refused", lambda tag, text: tag in ("danger", "warning")),
    ]:
        for tag, text in alerts:
            if test(tag, text):
                return outcome, " ".join(text.split())
    return "unknown", ""
