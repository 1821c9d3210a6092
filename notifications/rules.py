"""The escalation rules (DESIGN.md "Escalation and notification"): each looks at every scheme
it concerns at once and answers {scheme id: what it found}, in a fixed number of queries
whatever the number of schemes. notifications.sweep applies what they found."""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Case, F, IntegerField, Max, Q, Sum, Value, When, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from governance import roles
from governance.delivery import rating, schedule
from governance.models import (
    FinancialYear,
    MonthlyReturn,
    Review,
    ReviewKind,
    Scheme,
    SchemeState,
    User,
)
from governance.money import saving
from notifications import conf
from notifications.models import (
    Escalation,
    Rule,
)
from qia import conditions, escalation_feed
from qia.escalation_feed import StepDone

logger = logging.getLogger("qipp.notifications")

STEPS = {
    SchemeState.CONFIRM_AND_CHALLENGE: "confirm and challenge",
    SchemeState.QIA_PANEL: "QIA panel",
    SchemeState.AWAITING_SIGN_OFF: "QIA sign-off",
    SchemeState.APPROVED: "start of delivery",
}
STEP_ROLES = {
    SchemeState.CONFIRM_AND_CHALLENGE: [roles.FINANCE_REVIEWER, roles.CLINICAL_REVIEWER],
    SchemeState.QIA_PANEL: [roles.QUALITY_LEAD, roles.PANEL_MEMBER],
    SchemeState.AWAITING_SIGN_OFF: [roles.CHIEF_NURSE, roles.CLINICAL_CHAIR],
    SchemeState.APPROVED: [roles.PMO],
}
# The steps that go to the PMO as an escalation at twice their service level: not the start
# of delivery, which waits for the PMO itself (its reminder is all).
ESCALATED_STEPS = {
    SchemeState.CONFIRM_AND_CHALLENGE,
    SchemeState.QIA_PANEL,
    SchemeState.AWAITING_SIGN_OFF,
}
REVIEW_ROLES = {
    roles.FINANCE_REVIEWER: ReviewKind.FINANCE,
    roles.CLINICAL_REVIEWER: ReviewKind.CLINICAL,
}

# The fields a rule reads about a scheme.
FACT_FIELDS = [
    "pk",
    "state",
    "organisation_id",
    "financial_year_id",
    "start_date",
    "state_changed_at",
    "submission_round",
    "project_lead_id",
    "sro_id",
    "clinical_lead_id",
    "finance_lead_id",
]


@dataclass
class Facts:
    """What the rules read about one scheme: a plain row rather than a model instance, so
    10,000 of them load in a fraction of the time. It answers to the names the delivery app's
    functions use (state, start_date, financial_year, plan)."""

    pk: int
    state: str
    organisation_id: int
    financial_year_id: int
    start_date: date
    state_changed_at: datetime | None
    submission_round: int
    project_lead_id: int
    sro_id: int
    clinical_lead_id: int | None
    finance_lead_id: int | None
    plan: list
    financial_year: FinancialYear | None = None


@dataclass
class Reminder:
    scheme: Scheme  # its Facts while the rules run; the full scheme once there is mail
    users: list
    step: str
    waiting_days: int
    url: str
    dedupe: str
    escalates: bool = True  # at twice its service level (the mail says so)


@dataclass
class Findings:
    """What the rules found: {(scheme id, rule): reason}, and the reminders due."""

    found: dict[tuple[int, str], str] = field(default_factory=dict)
    reminders: list[Reminder] = field(default_factory=list)
    rules: set[str] = field(default_factory=set)  # the rules that ran (others stay as they are)


@dataclass
class SweepResult:
    raised: list[Escalation] = field(default_factory=list)
    updated: list[Escalation] = field(default_factory=list)
    resolved: list[Escalation] = field(default_factory=list)
    to_qag: list[Escalation] = field(default_factory=list)
    due_again: list[Escalation] = field(default_factory=list)
    reminders: list[Reminder] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "raised": len(self.raised),
            "updated": len(self.updated),
            "resolved": len(self.resolved),
            "to_qag": len(self.to_qag),
            "due_again": len(self.due_again),
            "reminded": sum(len(r.users) for r in self.reminders),
        }


# --- the rules ---


def _years(schemes) -> dict[int, FinancialYear]:
    years = FinancialYear.objects.in_bulk({s.financial_year_id for s in schemes})
    for scheme in schemes:
        scheme.financial_year = years[scheme.financial_year_id]
    return years


def _returns_due(in_delivery: list[Facts], years: dict, today: date) -> dict[int, tuple]:
    """Per scheme, its returns up to the month due (the delivery app's reporting month):
    (months returned as a bitmask, latest month returned, actual to date, latest forecast).
    Two aggregate queries, a row per scheme, rather than every return of every scheme."""
    if len(in_delivery) < 500:
        among = Q(scheme_id__in=[s.pk for s in in_delivery])
    else:
        among = Q(scheme__state=SchemeState.IN_DELIVERY)  # a join, not 10,000 parameters
    upto = Case(
        *[
            When(scheme__financial_year_id=pk, then=Value(schedule.reporting_month(year, today)))
            for pk, year in years.items()
        ],
        default=Value(0),
        output_field=IntegerField(),
    )
    due = MonthlyReturn.objects.filter(among).alias(upto=upto).filter(month__lte=F("upto"))
    months = Case(
        *[When(month=m, then=Value(1 << m)) for m in range(1, 13)],
        default=Value(0),
        output_field=IntegerField(),
    )
    totals = due.values("scheme_id").annotate(
        mask=Sum(months), reported=Max("month"), actual=Sum("actual")
    )
    latest_forecast = dict(
        due.filter(forecast_outturn__isnull=False)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("scheme_id")], order_by=F("month").desc())
        )
        .filter(rank=1)
        .values_list("scheme_id", "forecast_outturn")
    )
    return {
        row["scheme_id"]: (
            row["mask"],
            row["reported"],
            row["actual"],
            latest_forecast.get(row["scheme_id"]),
        )
        for row in totals
    }


def delivery_rules(schemes: list[Facts], today: date, findings: Findings) -> None:
    """Off-track delivery (RAG red) and returns missing after their deadline. The RAG, the
    reporting month and the deadlines are the delivery app's own functions."""
    findings.rules |= {Rule.OFF_TRACK, Rule.MISSING_RETURN}
    in_delivery = [s for s in schemes if s.state == SchemeState.IN_DELIVERY]
    if not in_delivery:
        return
    years = _years(in_delivery)
    returns = _returns_due(in_delivery, years, today)
    for scheme in in_delivery:
        year = scheme.financial_year
        as_at = schedule.reporting_month(year, today)
        mask, reported, actual, forecast = returns.get(scheme.pk, (0, 0, None, None))
        # Off-track is judged on the figures reported: as at the latest month returned (up to
        # the month due), so a late return raises "missing", not also "off-track", and an
        # off-track scheme that is late with a return stays off-track rather than flapping.
        # Its year to date in one entry rates exactly as the months one by one would.
        rated = (
            rating.assess(scheme.plan, {reported: (actual, forecast)}, reported)
            if reported
            else None
        )
        if rated is not None and rated.status == rating.RED:
            month = schedule.month_label(year, reported)
            findings.found[(scheme.pk, Rule.OFF_TRACK)] = (
                f"RAG red as at {month}: {rated.summary} Year to date: actual "
                f"{saving(rated.ytd_actual)} against plan {saving(rated.ytd_plan)}; forecast "
                f"outturn {saving(rated.forecast_outturn)} against annual plan "
                f"{saving(rated.annual_plan)}."
            )
        missing = [
            month
            for month in range(1, as_at + 1)
            if not mask & (1 << month) and schedule.owes_return(scheme, month)
        ]
        if missing:
            labels = ", ".join(schedule.month_label(year, m) for m in missing)
            deadline = schedule.return_deadline(year, missing[0])
            findings.found[(scheme.pk, Rule.MISSING_RETURN)] = (
                f"Monthly return{'s' if len(missing) > 1 else ''} missing after the deadline: "
                f"{labels} (the first was due by {deadline:%-d %B %Y})."
            )


def step_rules(schemes: list[Facts], now: datetime, findings: Findings) -> None:
    """A workflow step waiting past its service level: remind at it, escalate at twice it."""
    findings.rules.add(Rule.STEP_OVERDUE)
    levels = conf.get("QIPP_SERVICE_LEVEL_DAYS")
    late = []
    for scheme in schemes:
        if scheme.state not in STEPS or scheme.state_changed_at is None:
            continue
        days = (now - scheme.state_changed_at).days
        level = levels[scheme.state]
        if days >= level:
            late.append((scheme, days, level))
    if not late:
        return
    assignees = _assignees([scheme for scheme, _d, _l in late])
    for scheme, days, level in late:
        step = STEPS[scheme.state]
        if days >= 2 * level and scheme.state in ESCALATED_STEPS:
            findings.found[(scheme.pk, Rule.STEP_OVERDUE)] = (
                f"The {step} has been waiting {days} days since "
                f"{timezone.localdate(scheme.state_changed_at):%-d %B %Y}; its service level "
                f"is {level} days."
            )
        users, url = assignees[scheme.pk]
        if users:
            findings.reminders.append(
                Reminder(
                    scheme=scheme,
                    users=users,
                    step=step,
                    waiting_days=days,
                    url=url,
                    dedupe=(
                        f"reminder:{scheme.pk}:{scheme.state}:"
                        f"{scheme.state_changed_at:%Y%m%d%H%M%S}"
                    ),
                    escalates=scheme.state in ESCALATED_STEPS,
                )
            )


def _assignees(schemes: list[Facts]) -> dict[int, tuple[list[User], str]]:
    """Whom each step waits for, and the page to act on: the role holders of the scheme's
    organisation, minus its team (nobody judges their own scheme), minus the reviewers whose
    review of this round is in, minus those done with the QIA step (scored; signed, or the
    capacity signed; on the panel, so barred from signing). Three queries, and the QIA app's
    few."""
    wanted_roles = {role for s in schemes for role in STEP_ROLES[s.state]}
    rows = list(
        User.objects.filter(
            is_active=True,
            groups__name__in=wanted_roles,
            organisations__in={s.organisation_id for s in schemes},
        ).values_list("pk", "groups__name", "organisations")
    )
    users = User.objects.in_bulk({pk for pk, _role, _org in rows})
    holders: dict[tuple[int, str], list[User]] = defaultdict(list)
    for pk, role, org in rows:
        if role in wanted_roles:
            holders[(org, role)].append(users[pk])
    reviewed = set(
        Review.objects.filter(
            scheme__in=[s.pk for s in schemes if s.state == SchemeState.CONFIRM_AND_CHALLENGE]
        ).values_list("scheme_id", "round", "kind")
    )
    qia_steps = (SchemeState.QIA_PANEL, SchemeState.AWAITING_SIGN_OFF)
    at_qia = [s.pk for s in schemes if s.state in qia_steps]
    qia_done = escalation_feed.step_done(at_qia) if at_qia else {}
    found = {}
    for scheme in schemes:
        people: dict[int, User] = {}
        pending_reviews = []
        done = qia_done.get(scheme.pk) or StepDone()
        for role in STEP_ROLES[scheme.state]:
            kind = REVIEW_ROLES.get(role)
            if kind and (scheme.pk, scheme.submission_round, kind) in reviewed:
                continue
            if role in done.roles:
                continue
            if kind:
                pending_reviews.append(kind)
            finished = done.users.get(role, set())
            team = {scheme.project_lead_id, scheme.sro_id, scheme.clinical_lead_id}
            team.add(scheme.finance_lead_id)
            for user in holders[(scheme.organisation_id, role)]:
                if user.pk not in team and user.pk not in finished:
                    people.setdefault(user.pk, user)
        if scheme.state == SchemeState.APPROVED:
            url = reverse("scheme_start_delivery", args=[scheme.pk])
        elif len(pending_reviews) == 1:  # straight to the one review still awaited
            url = reverse("scheme_review", args=[scheme.pk, pending_reviews[0]])
        else:
            url = reverse("scheme_detail", args=[scheme.pk])
        found[scheme.pk] = (list(people.values()), url)
    return found


def qia_rules(schemes: list[Facts], today: date, findings: Findings) -> None:
    """A QIA past its review date: the QIA app says which (qia.escalation_feed)."""
    findings.rules.add(Rule.QIA_REVIEW_DUE)
    for scheme_id, reason in escalation_feed.review_due([s.pk for s in schemes], today).items():
        findings.found[(scheme_id, Rule.QIA_REVIEW_DUE)] = reason


def condition_rules(schemes: list[Facts], today: date, findings: Findings) -> None:
    """A condition of approval still open after its due date: the QIA app says which
    (qia.conditions), naming each condition and its owner. Escalated to the PMO, owned by the
    SRO, as a late return is; resolved when none is left open past its date."""
    findings.rules.add(Rule.CONDITION_OVERDUE)
    found = conditions.overdue_conditions([s.pk for s in schemes], today)
    for scheme_id, reason in found.items():
        findings.found[(scheme_id, Rule.CONDITION_OVERDUE)] = reason


RULES = [
    lambda schemes, today, now, findings: delivery_rules(schemes, today, findings),
    lambda schemes, today, now, findings: step_rules(schemes, now, findings),
    lambda schemes, today, now, findings: qia_rules(schemes, today, findings),
    lambda schemes, today, now, findings: condition_rules(schemes, today, findings),
]


def evaluate(schemes: list[Facts], *, today: date, now: datetime) -> Findings:
    findings = Findings()
    for rule in RULES:
        rule(schemes, today, now, findings)
    return findings
