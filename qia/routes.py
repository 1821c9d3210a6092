"""The sign-off route of a scheme's first QIA, chosen by its organisation's route rules.

An administrator sets, per organisation, rules that choose the route by the scheme's net saving
in the year and its QIA risk: below £50,000 and no worse than moderate, the Chief Nurse alone
signs off and QAG is told; £1m or more, QAG approves after the two sign-offs. With no rule
holding (or none set) the route is the usual one, two sign-offs, so nothing changes for an
organisation that sets none.

The route is decided when the scheme is submitted (on the self-assessed risk), again on every
resubmission, and again when the panel agrees the risk (on the agreed risk: a risk agreed
worse than a rule allows takes the scheme off that rule's route). Each decision that changes
the route is written into that step's history entry.
"""

from decimal import Decimal

from django.utils import timezone

from governance.models import Scheme
from qia.models import (
    BAND_ORDER,
    AssessmentKind,
    Band,
    Capacity,
    Qia,
    QiaVersion,
    Route,
    RouteRule,
    band_of,
)


def _pounds(amount: Decimal) -> str:
    return f"£{amount:,.0f}"


def holds(rule: RouteRule, net_saving: Decimal, score: int | None) -> bool:
    """Whether each of the rule's conditions holds for this saving and risk score."""
    if rule.below is not None and not net_saving < rule.below:
        return False
    if rule.at_least is not None and not net_saving >= rule.at_least:
        return False
    if rule.worst_risk:
        return BAND_ORDER.index(band_of(score)) <= BAND_ORDER.index(rule.worst_risk)
    return True


def _why(rule: RouteRule, net_saving: Decimal, score: int | None, risk_words: str) -> str:
    parts = [f"net saving in the year {_pounds(net_saving)}"]
    if rule.below is not None:
        parts[0] += f", below {_pounds(rule.below)}"
    if rule.at_least is not None:
        parts[0] += f", at least {_pounds(rule.at_least)}"
    if rule.worst_risk:
        band = band_of(score)
        said = f"{band.label.lower()} ({score})" if band else "no negative impact"
        parts.append(f"{risk_words} {said}, no worse than {Band(rule.worst_risk).label.lower()}")
    return f'Rule "{rule.name}" of {rule.organisation.code}: ' + "; ".join(parts) + "."


def choose(scheme: Scheme, score: int | None, risk_words: str) -> tuple[str, RouteRule | None, str]:
    """The route for the scheme, the rule that chose it (None: no rule held), and why."""
    net = scheme.net_saving
    rules = RouteRule.objects.filter(organisation_id=scheme.organisation_id, active=True)
    for rule in rules.select_related("organisation"):
        if holds(rule, net, score):
            return rule.route, rule, _why(rule, net, score, risk_words)
    return (
        Route.TWO_SIGN_OFFS,
        None,
        f"No route rule of {scheme.organisation.code} holds for a net saving in the year of "
        f"{_pounds(net)}: the usual route.",
    )


def self_assessed_score(version: QiaVersion) -> int | None:
    """The highest score of the self-assessment's headings (None: no negative impact)."""
    rows = version.assessments.filter(kind=AssessmentKind.SELF)
    return max((row.score or 0 for row in rows), default=0) or None


def decide(scheme: Scheme, version: QiaVersion, *, agreed: bool) -> str:
    """Decide the route again (at submission on the self-assessed risk, at the panel's
    agreement on the agreed one) and keep it on the QIA. What the step's history entry says
    of it: the route and why when it changed or was first decided, else nothing."""
    if agreed:
        score, words = version.highest_agreed_score, "agreed QIA risk"
    else:
        score, words = self_assessed_score(version), "self-assessed QIA risk"
    route, rule, reason = choose(scheme, score, words)
    qia = Qia.objects.select_for_update().get(pk=version.qia_id)
    # the history says so when the route changes, or when a rule chose it first; a scheme
    # that keeps the usual route with no rule holding is not worth a word
    changed = route != qia.route or (qia.route_decided_at is None and rule is not None)
    qia.route, qia.route_rule, qia.route_reason = route, rule, reason
    qia.route_decided_at = timezone.now()
    qia.save(update_fields=["route", "route_rule", "route_reason", "route_decided_at"])
    version.qia = qia
    if not changed:
        return ""
    return f" Sign-off route: {Route(route).label}. {reason}"


def required_capacities(version: QiaVersion) -> list[str]:
    """Who must sign this version off: the Chief Nurse alone on that route (a first
    assessment only: a re-assessment is always signed by both)."""
    if version.drives_scheme and version.qia.route == Route.CHIEF_NURSE_ONLY:
        return [Capacity.CHIEF_NURSE]
    return list(Capacity)


def needs_qag(version: QiaVersion) -> bool:
    return version.drives_scheme and version.qia.route == Route.QAG_APPROVAL


def on_submit(scheme: Scheme) -> str:
    """governance.services.SUBMIT_STEPS: the route, decided as the scheme is submitted."""
    version = (
        QiaVersion.objects.filter(qia__scheme=scheme, drives_scheme=True)
        .select_related("qia")
        .order_by("-number")
        .first()
    )
    if version is None:
        return ""
    return decide(scheme, version, agreed=False)
