"""Starting delivery of several approved schemes in one go, from the PMO's inbox.

The decision is the same for each, but each scheme is still started on its own through
lifecycle.scheme_start_delivery: its own lock, policy check, transition log entry, refusal
record and notification, exactly as from its own page. So each is its own transaction: one
refused, or changed by someone else meanwhile, is reported and never stops the others.
"""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from governance import policy, roles
from governance.delivery import lifecycle
from governance.models import Scheme, SchemeState, User
from governance.services import ActionRefused, AlreadyDone, Conflict


def waiting_to_start(user) -> QuerySet[Scheme]:
    """The approved schemes of the user's organisations waiting for their PMO to start
    delivery, longest approved first: what their inbox offers. A PMO on a scheme's team is
    not offered their own scheme (another PMO of the organisation starts it)."""
    if not user.has_role(roles.PMO) or not user.organisation_ids:
        return Scheme.objects.none()
    return (
        Scheme.objects.filter(state=SchemeState.APPROVED, organisation_id__in=user.organisation_ids)
        .exclude(policy.on_team_of(user))
        .annotate(approved_at=Coalesce("state_changed_at", "created_at"))
        .order_by("approved_at", "pk")
    )


@dataclass
class Outcome:
    """What became of one scheme: started, or not and why (`changed`: someone else changed
    it since the page was drawn)."""

    scheme_id: int
    name: str  # its reference and title, or "scheme <id>" for one the user may not see
    started: bool
    reason: str = ""
    changed: bool = False


def schemes_start_delivery(
    *, by: User, schemes: list[tuple[int, int | None]], comment: str = ""
) -> list[Outcome]:
    """Start delivery of each (scheme id, version the page showed) in turn, with the same
    comment. A version of None is not checked (the service still checks state and policy)."""
    names = _visible_names(by, [scheme_id for scheme_id, _version in schemes])
    outcomes = []
    for scheme_id, version in schemes:
        if scheme_id not in names:
            # a scheme the user may not see: its version is not compared (a conflict would
            # tell them it exists), so the service refuses it and records the refusal
            version = None
        name = names.get(scheme_id, f"scheme {scheme_id}")
        try:
            lifecycle.scheme_start_delivery(
                scheme_id=scheme_id, by=by, expected_version=version, comment=comment
            )
        except AlreadyDone:
            # the same PMO's start a moment ago (a double click): started, once
            outcomes.append(Outcome(scheme_id, name, True))
        except Conflict:
            state = Scheme.objects.get(pk=scheme_id).state_words
            reason = f"Someone else changed it meanwhile: it is now {state}."
            outcomes.append(Outcome(scheme_id, name, False, reason, changed=True))
        except ActionRefused as exc:  # the service has recorded the refusal
            outcomes.append(Outcome(scheme_id, name, False, exc.message))
        else:
            outcomes.append(Outcome(scheme_id, name, True))
    return outcomes


def _visible_names(user, scheme_ids: list[int]) -> dict[int, str]:
    """The reference and title of each of these schemes that the user may see."""
    found = Scheme.objects.filter(pk__in=scheme_ids).select_related("organisation")
    return {
        scheme.pk: f"{scheme.reference} {scheme.title}"
        for scheme in found
        if policy.can_view_scheme(user, scheme)
    }
