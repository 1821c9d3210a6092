"""What the governance pages show of escalations: history events, the scheme-page block, tasks.
Added to governance.selectors' extension points by NotificationsConfig.ready()."""

from django.urls import reverse

from governance import policy, roles
from governance.delivery import rating, schedule
from governance.selectors import Event, Judgement, Section, Task, Tasks, oldest
from notifications.models import ACTIVE, Escalation, EscalationEvent, Level, Rule


def escalation_history(scheme) -> list[Event]:
    """Each step of the scheme's escalations. The history is shown to everyone who may see
    the scheme, so the SRO's plan and QAG's minuted reasons stay on the escalation page."""
    events = EscalationEvent.objects.filter(escalation__scheme=scheme).select_related(
        "by", "escalation"
    )
    return [
        Event(
            at=event.at,
            who=event.by,
            what=event.what,
            detail=event.detail if not event.by_id else "",
            kind="escalation",
        )
        for event in events
    ]


def escalation_section(user, scheme, as_at_month: int) -> Section | None:
    """The scheme page's Escalations block, for those who may see escalations. A live
    off-track escalation quotes the RAG as at the page's month, as the Delivery block does;
    the figures it was raised on stay on the escalation's own page."""
    if policy.refusal("escalation_view", user, scheme) is not None:
        return None
    escalations = list(scheme.escalations.select_related("owner").order_by("-raised_at")[:10])
    if not escalations:
        return None
    live_rag = None
    if any(e.rule == Rule.OFF_TRACK and e.status in ACTIVE for e in escalations):
        live_rag = rating.rag(scheme, as_at_month)
    for escalation in escalations:
        escalation.may_remedial = (
            escalation.status in ACTIVE
            and policy.refusal("escalation_remedial", user, scheme) is None
        )
        escalation.live_rag = (
            live_rag if escalation.rule == Rule.OFF_TRACK and escalation.status in ACTIVE else None
        )
    return Section(
        "notifications/_scheme_escalations.html",
        {
            "escalations": escalations,
            "as_at_label": schedule.month_label(scheme.financial_year, as_at_month)
            if as_at_month
            else "",
        },
    )


def remedial_tasks(user, limit: int) -> Tasks:
    """The SRO: live escalations of their schemes with no remedial action yet."""
    found = Escalation.objects.filter(scheme__sro=user, status__in=ACTIVE, remedial_action="")
    oldest_first = found.select_related("scheme__organisation").order_by("raised_at", "pk")
    return Tasks(
        [
            Task(
                e.scheme,
                f"Record a remedial action ({e.rule_phrase})",
                reverse("escalation_remedial", args=[e.pk]),
                e.raised_at,
            )
            for e in oldest_first[:limit]
        ],
        found.count(),
    )


def decision_tasks(user, limit: int) -> Tasks:
    """QAG members: escalations with QAG awaiting its decision, in their systems."""
    if not user.has_role(roles.QAG_MEMBER) or not user.system_ids:
        return Tasks([], 0)
    found = (
        Escalation.objects.filter(
            status__in=ACTIVE,
            level=Level.QAG,
            scheme__organisation__system_id__in=user.system_ids,
        )
        .select_related("scheme__organisation")
        .exclude(policy.on_team_of(user, "scheme__"))
    )
    return oldest(
        [
            Task(
                e.scheme,
                f"Record QAG's decision ({e.rule_phrase})",
                reverse("escalation_decide", args=[e.pk]),
                e.raised_to_qag_at,
            )
            for e in found
            if e.decision_due
        ],
        limit,
    )


def judgements(scheme, team_ids: set[int]) -> list[Judgement]:
    """Escalations of this scheme raised to QAG, or decided, by these people (the scheme's
    team now): the scheme page flags them."""
    found = []
    escalations = scheme.escalations.select_related("raised_to_qag_by", "decided_by")
    for e in escalations.filter(raised_to_qag_by_id__in=team_ids):
        what = f"raised the {e.rule_phrase} escalation to QAG"
        found.append(Judgement(e.raised_to_qag_by, what, e.raised_to_qag_at))
    for e in escalations.filter(decided_by_id__in=team_ids):
        what = f"recorded QAG's decision on the {e.rule_phrase} escalation"
        found.append(Judgement(e.decided_by, what, e.decided_at))
    return found
