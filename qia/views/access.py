"""Which scheme and QIA version a QIA page is about, if the user may see it or take the step:
what every QIA page checks first."""

from django.contrib import messages
from django.shortcuts import redirect

from governance.models import Scheme
from governance.pages import Refused, check, visible_scheme
from qia import policy as rules
from qia.models import QiaVersion, VersionStatus


def scheme_for(request, pk: int, *, action: str = "view QIA") -> Scheme:
    """The scheme, if the user may see it (else the refusal page, logged as `action`)."""
    return visible_scheme(request, pk, action=action)


def newest(scheme: Scheme) -> QiaVersion | None:
    """The scheme's newest QIA version, or None before its first."""
    return rules.newest_version(scheme)


def step_on(request, pk: int, action: str) -> tuple[Scheme, QiaVersion | None]:
    """The scheme and its newest QIA version, if the user may take this step on them."""
    scheme = scheme_for(request, pk, action=action)
    version = newest(scheme)
    check(request, action, scheme, version=version)
    return scheme, version


def revision_of(form) -> int | None:
    """The version's revision the form was shown at (to refuse a stale write), if valid."""
    return form.cleaned_data.get("revision") if form.is_valid() else None


# --- a step's page opened after the QIA moved on (an old notification's link, say) ---

# What became of a QIA version, after "it" in a sentence.
OUTCOMES = {
    VersionStatus.AWAITING_SIGN_OFF: "it is awaiting sign-off",
    VersionStatus.SIGNED_OFF: "it is signed off",
    VersionStatus.RETURNED: "it was returned to its project lead for more detail",
    VersionStatus.DISMISSED: "it was dismissed on quality grounds",
    VersionStatus.DECLINED: "it was declined at sign-off",
}


def where_now(scheme: Scheme, version: QiaVersion | None) -> str:
    """Where the scheme's QIA is now, in words: "it is signed off"."""
    if version is None:
        return f"{scheme.reference} has no QIA yet"
    if version.status in OUTCOMES:
        return OUTCOMES[version.status]
    if rules.at_panel(version, scheme):
        return "it is at the panel"
    if version.number > 1:
        return f"its project lead is revising it (version {version.number})"
    return f"{scheme.reference} is {scheme.state_words}"


def moved_on(request, scheme: Scheme, version: QiaVersion | None, *, step: str, behind: bool):
    """The answer to a GET of a step's page when the step is not open: the QIA's page, with
    a word on where the QIA is. No refusal: the user takes this step when it is open, and a
    link sent when it was is no attempt at anything."""
    when = "no longer" if behind else "not"
    return to_the_qia(
        request,
        scheme,
        f"The QIA of {scheme.reference} is {when} {step}: {where_now(scheme, version)}. "
        "Nothing is waiting for you there.",
    )


def to_the_qia(request, scheme: Scheme, said: str):
    """The QIA's page, with `said` on top: the answer to a GET of a step's page that has
    nothing for this user to do now (an old link), which is no attempt at anything."""
    messages.info(request, said)
    return redirect("qia_detail", pk=scheme.pk)


def past_panel(version: QiaVersion | None) -> bool:
    """Whether the QIA has been through the panel: a version agreed or closed there, or a
    second version (one comes only after a panel's return, a decline at sign-off or the
    re-assessment of a signed-off QIA)."""
    if version is None:
        return False
    ongoing = (VersionStatus.SELF_ASSESSMENT, VersionStatus.PANEL)
    return version.status not in ongoing or version.number > 1


def past_sign_off(version: QiaVersion | None) -> bool:
    """Whether any version of the QIA has been signed off, or declined, by a signatory."""
    return version is not None and version.qia.versions.filter(sign_offs__isnull=False).exists()


def not_at_panel(request, scheme: Scheme, version: QiaVersion | None, *, action: str):
    """The answer when a panel decision's page is asked for and the QIA is not at the panel:
    on a GET, the QIA's page saying where it is (the caller has checked the user holds the
    role); a POST is refused, as at_panel refuses it."""
    if request.method != "GET":
        raise Refused("This QIA is not at the panel now.", action=action, target=str(scheme.pk))
    return moved_on(request, scheme, version, step="at the panel", behind=past_panel(version))
