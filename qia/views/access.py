"""Which scheme and QIA version a QIA page is about, if the user may see it or take the step:
what every QIA page checks first."""

from governance.models import Scheme
from governance.pages import Refused, check, visible_scheme
from qia import policy as rules
from qia.models import QiaVersion


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


def at_panel(request, pk: int, action: str) -> tuple[Scheme, QiaVersion]:
    """As step_on, for a decision of the panel: the newest version must be at the panel."""
    scheme, version = step_on(request, pk, "panel_decide")
    if version is None or not rules.at_panel(version, scheme):
        raise Refused("This QIA is not at the panel now.", action=action, target=str(pk))
    return scheme, version


def revision_of(form) -> int | None:
    """The version's revision the form was shown at (to refuse a stale write), if valid."""
    return form.cleaned_data.get("revision") if form.is_valid() else None
