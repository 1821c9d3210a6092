"""Delivery tracking (DESIGN.md "Delivery tracking"): after approval, month by month.

Services for the delivery transitions (start delivery, complete, stop) and for monthly returns
(enter, correct, assure); the RAG rating; the return deadline and the returns missing; the
PMO / QAG dashboard figures. At import time this module adds its rules to governance.policy
and its tasks, buttons and scheme-page block to governance.selectors (GovernanceConfig.ready
imports it).
"""

from calendar import monthrange
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_fsm import can_proceed

from governance import money, policy, roles, selectors, services
from governance.models import (
    MONTH_NAMES,
    MONTHS,
    PLAN_FIELDS,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    QippTarget,
    Scheme,
    SchemeChange,
    SchemeState,
    User,
)
from governance.services import ActionRefused, Conflict, run_transition
from notifications.outbox import notify

ZERO = Decimal("0")

# Returns are entered, corrected and assured, and the RAG rated, once delivery has started.
# A completed or stopped scheme keeps its returns and may still have a past month corrected.
DELIVERY_STATES = (SchemeState.IN_DELIVERY, SchemeState.COMPLETED, SchemeState.STOPPED)

# Schemes that count in the totals: every one of the year except those that never will deliver.
NOT_COUNTED = (SchemeState.REJECTED, SchemeState.WITHDRAWN)


def _setting(name: str, default) -> Decimal:
    # read on every call, so a changed setting (or a test's override) takes effect at once
    return Decimal(str(getattr(settings, name, default)))


# --- the calendar of returns ---


def month_label(financial_year: FinancialYear, month: int) -> str:
    """'Jun 2019' for month 3 of 2019/20."""
    return f"{MONTH_NAMES[month - 1]} {financial_year.month_start(month).year}"


def month_end(financial_year: FinancialYear, month: int) -> date:
    start = financial_year.month_start(month)
    return start.replace(day=monthrange(start.year, start.month)[1])


def financial_month(financial_year: FinancialYear, day: date) -> int | None:
    """The financial month (1..12) of `day`, or None when it falls outside the year."""
    if not financial_year.start_date <= day <= financial_year.end_date:
        return None
    return (day.month - 4) % 12 + 1


def return_deadline(financial_year: FinancialYear, month: int) -> date:
    """The day a month's return is due: QIPP_RETURN_DEADLINE_DAY of the following month."""
    following = month_end(financial_year, month) + timedelta(days=1)
    day = int(_setting("QIPP_RETURN_DEADLINE_DAY", 10))
    last_day = monthrange(following.year, following.month)[1]
    return following.replace(day=max(1, min(day, last_day)))


def is_overdue(financial_year: FinancialYear, month: int, today: date) -> bool:
    # due "by" the deadline: late from the day after
    return today > return_deadline(financial_year, month)


def last_month(financial_year: FinancialYear, today: date) -> int | None:
    """The month before today's, when it is a month of this financial year."""
    return financial_month(financial_year, today.replace(day=1) - timedelta(days=1))


def reporting_month(financial_year: FinancialYear, today: date) -> int:
    """The latest month whose return deadline has passed (0 before the first one).

    The RAG is rated as at this month by default: a month whose returns are not due yet
    would otherwise show every scheme behind plan in the first days of each month.
    """
    for month in reversed(MONTHS):
        if is_overdue(financial_year, month, today):
            return month
    return 0


def current_year(today: date) -> FinancialYear | None:
    """The financial year containing today, else the latest one before it, else the first."""
    start_year = today.year if today.month >= 4 else today.year - 1
    years = FinancialYear.objects.order_by("-start_year")
    return years.filter(start_year__lte=start_year).first() or years.last()


def _today(today: date | None) -> date:
    return today or timezone.localdate()


# --- who may do what (ACCESS.md) ---


def _enter_return(user, scheme: Scheme) -> str | None:
    # ACCESS.md names the scheme's finance lead or project lead; the "finance reviewer"
    # is read as the scheme's finance lead: another finance reviewer of the organisation has
    # no part in this scheme's figures.
    if user.pk not in (scheme.finance_lead_id, scheme.project_lead_id):
        return "Only the scheme's finance lead or project lead can enter or correct its returns."
    if scheme.state not in DELIVERY_STATES:
        return f"Monthly returns start once the scheme is in delivery; it is {scheme.state_words}."
    return None


def touched_by(monthly_return: MonthlyReturn, user) -> bool:
    """Whether `user` entered or corrected this return's figures."""
    if monthly_return.entered_by_id == user.pk:
        return True
    return SchemeChange.objects.filter(
        scheme_id=monthly_return.scheme_id,
        changed_by=user,
        field__in=return_fields(monthly_return.month).values(),
    ).exists()


def _assure_return(user, scheme: Scheme, monthly_return: MonthlyReturn | None = None) -> str | None:
    if not (user.has_role(roles.PMO) and policy.in_organisation(user, scheme)):
        return "Only the PMO of the scheme's organisation can assure its returns."
    if scheme.state not in DELIVERY_STATES:
        return "Returns are assured once the scheme is in delivery."
    if monthly_return is not None and touched_by(monthly_return, user):
        return (
            "You entered or corrected this return, so another member of the PMO must assure it "
            "(segregation of duties)."
        )
    return None


# The rules of the delivery pages, which GovernanceConfig.ready() gives governance.policy.
POLICY_RULES = {"enter_return": _enter_return, "assure_return": _assure_return}


# --- the delivery transitions ---


def scheme_start_delivery(
    *, scheme_id: int, by: User, expected_version: int | None, comment: str = ""
) -> Scheme:
    """The PMO starts delivery of an approved scheme: returns are due from now on."""

    def work(scheme: Scheme):
        scheme.start_delivery(by=by, description=comment.strip() or "Delivery started")
        notify(
            users=services.team_of(scheme),
            scheme=scheme,
            kind="delivery",
            subject=f"Delivery started: {scheme.reference} {scheme.title}",
            message=(
                f"{by} started delivery of {scheme.reference}. Monthly returns are due by day "
                f"{int(_setting('QIPP_RETURN_DEADLINE_DAY', 10))} of the following month."
            ),
        )

    return run_transition(
        scheme_id=scheme_id,
        by=by,
        action="start_delivery",
        expected_version=expected_version,
        work=work,
    )


def scheme_complete(
    *, scheme_id: int, by: User, expected_version: int | None, delivered: str, lessons: str
) -> Scheme:
    """The PMO or the SRO closes a scheme in delivery, with a short closure report."""
    delivered, lessons = delivered.strip(), lessons.strip()
    if not delivered or not lessons:
        raise ActionRefused("Write what was delivered and the lessons learned before closing.")

    def work(scheme: Scheme):
        scheme.closure_delivered = delivered
        scheme.closure_lessons = lessons
        scheme.complete(by=by, description=f"Closed. Delivered: {delivered}\nLessons: {lessons}")
        notify(
            users=services.team_of(scheme) + services.users_with_role(scheme, roles.PMO),
            scheme=scheme,
            kind="delivery",
            subject=f"Closed: {scheme.reference} {scheme.title}",
            message=f"{by} closed {scheme.reference}. Delivered: {delivered}",
        )

    return run_transition(
        scheme_id=scheme_id, by=by, action="complete", expected_version=expected_version, work=work
    )


def scheme_stop(*, scheme_id: int, by: User, expected_version: int | None, decision: str) -> Scheme:
    """A QAG member records QAG's decision to stop a scheme in delivery."""
    decision = decision.strip()
    if not decision:
        raise ActionRefused("Record QAG's decision: why the scheme is being stopped.")

    def work(scheme: Scheme):
        scheme.stop_decision = decision
        scheme.stop(by=by, description=f"Stopped by QAG decision: {decision}")
        notify(
            users=services.team_of(scheme) + services.users_with_role(scheme, roles.PMO),
            scheme=scheme,
            kind="delivery",
            subject=f"Stopped by QAG: {scheme.reference} {scheme.title}",
            message=f"QAG decided to stop {scheme.reference}: {decision}",
        )

    return run_transition(
        scheme_id=scheme_id, by=by, action="stop", expected_version=expected_version, work=work
    )


# --- monthly returns ---

RETURN_CONFLICT = (
    "Someone else saved this return while you were looking at it, so nothing was saved. "
    "The page now shows it as it is: check it and try again if still needed."
)

# Called inside the transaction that saves a return, after it is saved, as
# hook(monthly_return=..., by=..., created=...). A hook only queues its work for after the
# commit (transaction.on_commit): the escalation rules run once the return is stored, and
# nothing they do can undo it.
RETURN_SAVED_HOOKS: list[Callable] = []


def return_fields(month: int) -> dict[str, str]:
    """The history label of each figure of a month's return, e.g. 'Month 3 actual'."""
    return {
        "actual": f"Month {month} actual",
        "forecast_outturn": f"Month {month} forecast outturn",
        "commentary": f"Month {month} commentary",
    }


def assured_field(month: int) -> str:
    return f"Month {month} PMO assured value"


def return_token(monthly_return: MonthlyReturn | None) -> str:
    """What a form carries to spot a change made since it was drawn ('' for a new return)."""
    return monthly_return.updated_at.isoformat() if monthly_return else ""


def _show(name: str, value) -> str:
    return value if name == "commentary" else money.pounds_and_pence(value)


def entered_changes(monthly_return: MonthlyReturn, *, by) -> list[SchemeChange]:
    """The history rows of a return just entered (in the browser or by an import): each
    figure given, from empty."""
    labels = return_fields(monthly_return.month)
    return [
        SchemeChange(
            scheme_id=monthly_return.scheme_id,
            changed_by=by,
            field=labels[name],
            old_value="",
            new_value=shown,
        )
        for name in labels
        if (shown := _show(name, getattr(monthly_return, name)))
    ]


class SavedReturn(NamedTuple):
    monthly_return: MonthlyReturn
    created: bool
    changes: list[SchemeChange]


def _lock_scheme(scheme_id: int) -> Scheme:
    return services.lock_scheme(scheme_id, None)


def return_save(
    *,
    scheme_id: int,
    month: int,
    by: User,
    actual: Decimal,
    forecast_outturn: Decimal | None = None,
    commentary: str = "",
    expected_token: str | None = None,
    today: date | None = None,
) -> SavedReturn:
    """Enter a month's return, or correct it; every figure entered or changed goes on record.

    `expected_token` is return_token() of the return the user saw ('' if none); None skips
    the check. Correcting the actual or the forecast of an assured return clears its
    assurance: the PMO assured the figures as they were.
    """
    if month not in MONTHS:
        raise ActionRefused("Choose a month from 1 (April) to 12 (March).")
    values = {
        "actual": actual,
        "forecast_outturn": forecast_outturn,
        "commentary": (commentary or "").strip(),
    }

    def attempt():
        with transaction.atomic():
            # the scheme row is the lock: two saves of one scheme's returns queue up
            scheme = _lock_scheme(scheme_id)
            reason = policy.refusal("enter_return", by, scheme)
            if reason:
                raise ActionRefused(reason)
            start = scheme.financial_year.month_start(month)
            if _today(today) < start:
                label = month_label(scheme.financial_year, month)
                raise ActionRefused(
                    f"{label} has not started yet: its return can be entered from "
                    f"{start:%-d %B %Y}."
                )
            existing = MonthlyReturn.objects.filter(scheme=scheme, month=month).first()
            if expected_token is not None and return_token(existing) != expected_token:
                raise Conflict(RETURN_CONFLICT)
            created = existing is None
            ret = existing or MonthlyReturn(scheme=scheme, month=month, entered_by=by)
            labels = return_fields(month)
            before = {name: _show(name, getattr(ret, name)) for name in values}
            for name, value in values.items():
                setattr(ret, name, value)
            changes = (
                entered_changes(ret, by=by)
                if created
                else [
                    SchemeChange(
                        scheme=scheme,
                        changed_by=by,
                        field=labels[name],
                        old_value=before[name],
                        new_value=_show(name, value),
                    )
                    for name, value in values.items()
                    if before[name] != _show(name, value)
                ]
            )
            if not created and not changes:
                return SavedReturn(ret, False, [])
            figures_changed = any(c.field != labels["commentary"] for c in changes)
            if not created and figures_changed and ret.assured_at:
                changes.append(
                    SchemeChange(
                        scheme=scheme,
                        changed_by=by,
                        field=assured_field(month),
                        old_value=money.pounds_and_pence(ret.pmo_assured),
                        new_value="cleared: the figures were corrected",
                    )
                )
                ret.pmo_assured = ret.assured_by = ret.assured_at = None
            ret.full_clean(validate_unique=False, validate_constraints=False)
            try:
                ret.save()
            except IntegrityError:
                # an import wrote this month's return after we looked (imports do not lock)
                raise Conflict(RETURN_CONFLICT) from None
            SchemeChange.objects.bulk_create(changes)
            for hook in RETURN_SAVED_HOOKS:
                hook(monthly_return=ret, by=by, created=created)
            return SavedReturn(ret, created, changes)

    return services.refuse_logged(by, "enter_return", scheme_id, attempt)


def return_assure(
    *,
    scheme_id: int,
    month: int,
    by: User,
    value: Decimal,
    expected_token: str | None = None,
) -> MonthlyReturn:
    """The PMO records the assured value of a month's return (it may differ from the actual)."""

    def attempt():
        with transaction.atomic():
            scheme = _lock_scheme(scheme_id)
            ret = MonthlyReturn.objects.filter(scheme=scheme, month=month).first()
            if ret is None:
                raise ActionRefused("There is no return for that month to assure yet.")
            if expected_token is not None and return_token(ret) != expected_token:
                raise Conflict(RETURN_CONFLICT)
            reason = policy.refusal("assure_return", by, scheme, monthly_return=ret)
            if reason:
                raise ActionRefused(reason)
            if ret.assured_at and ret.pmo_assured == value:
                return ret  # already assured at this value: nothing to record
            old = ret.pmo_assured if ret.assured_at else None
            ret.pmo_assured = value
            ret.assured_by = by
            ret.assured_at = timezone.now()
            ret.full_clean()
            ret.save()
            SchemeChange.objects.create(
                scheme=scheme,
                changed_by=by,
                field=assured_field(month),
                old_value=money.pounds_and_pence(old),
                new_value=money.pounds_and_pence(value),
            )
            return ret

    return services.refuse_logged(by, "assure_return", scheme_id, attempt)


def return_history(scheme: Scheme, month: int | None = None) -> QuerySet[SchemeChange]:
    """The recorded figures of a scheme's returns (one month's, or all), newest first."""
    changes = scheme.changes.select_related("changed_by")
    if month is not None:
        return changes.filter(
            Q(field__in=return_fields(month).values()) | Q(field=assured_field(month))
        )
    return changes.filter(field__startswith="Month ")


# --- RAG (DESIGN.md: green on or ahead of plan; amber behind year-to-date plan by more than
# QIPP_RAG_AMBER_PERCENT; red behind by more than QIPP_RAG_RED_PERCENT, or forecast outturn
# short of the annual plan by more than QIPP_RAG_FORECAST_RED_PERCENT) ---

GREEN, AMBER, RED = "green", "amber", "red"
RAG_LABELS = {GREEN: "Green", AMBER: "Amber", RED: "Red", None: "Not rated"}
RAG_COUNT_KEYS = (GREEN, AMBER, RED, "unrated")


@dataclass(frozen=True)
class Rag:
    status: str | None  # green, amber, red; None when no return is due yet
    as_at_month: int
    ytd_plan: Decimal
    ytd_actual: Decimal
    annual_plan: Decimal
    forecast_outturn: Decimal
    reasons: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return RAG_LABELS[self.status]

    @property
    def ytd_shortfall(self) -> Decimal:
        return self.ytd_plan - self.ytd_actual

    @property
    def summary(self) -> str:
        return " ".join(self.reasons)


def thresholds() -> dict[str, Decimal]:
    """The RAG thresholds in force, in percent."""
    return {
        "amber": _setting("QIPP_RAG_AMBER_PERCENT", 5),
        "red": _setting("QIPP_RAG_RED_PERCENT", 10),
        "forecast_red": _setting("QIPP_RAG_FORECAST_RED_PERCENT", 10),
    }


def _percent(part: Decimal, whole: Decimal) -> str:
    return f"{(part / whole * 100).quantize(Decimal('0.1'))}%"


def assess(
    plan: list[Decimal],
    returns: dict[int, tuple],
    as_at_month: int,
    limits: dict[str, Decimal] | None = None,
) -> Rag:
    """Rate a plan of 12 months against its returns, {month: (actual, forecast_outturn)}.

    The forecast outturn is the one on the latest return at or before the month; with none,
    the year-to-date actual plus the remaining months' plan. Percentages are compared exactly
    (no rounding): behind by exactly 5% is still green. Rating many schemes, pass the
    thresholds() read once as `limits`.
    """
    n = as_at_month
    annual = sum(plan, ZERO)
    ytd_plan = sum(plan[:n], ZERO)
    ytd_actual = sum((returns[m][0] for m in returns if m <= n), ZERO)
    forecasts = [returns[m][1] for m in sorted(returns) if m <= n and returns[m][1] is not None]
    forecast = forecasts[-1] if forecasts else ytd_actual + sum(plan[n:], ZERO)
    figures = dict(
        as_at_month=n,
        ytd_plan=ytd_plan,
        ytd_actual=ytd_actual,
        annual_plan=annual,
        forecast_outturn=forecast,
    )
    if n == 0:
        return Rag(None, reasons=("No return is due yet.",), **figures)
    limits = limits or thresholds()
    amber, red, forecast_red = limits["amber"], limits["red"], limits["forecast_red"]

    status, reasons = GREEN, []
    behind = ytd_plan - ytd_actual
    if behind > 0:
        if ytd_plan <= 0 or behind * 100 > red * ytd_plan:
            status = RED
        elif behind * 100 > amber * ytd_plan:
            status = AMBER
        share = f" ({_percent(behind, ytd_plan)})" if ytd_plan > 0 else ""
        reasons.append(f"Behind year-to-date plan by {money.pounds_and_pence(behind)}{share}.")
    short = annual - forecast
    if short > 0 and (annual <= 0 or short * 100 > forecast_red * annual):
        status = RED
        share = f" ({_percent(short, annual)})" if annual > 0 else ""
        shown = money.pounds_and_pence(short)
        reasons.append(f"Forecast outturn is short of the annual plan by {shown}{share}.")
    if not reasons:
        reasons.append("On or ahead of plan.")
    return Rag(status, reasons=tuple(reasons), **figures)


def rag(scheme: Scheme, as_at_month: int) -> Rag | None:
    """The scheme's RAG as at a month of its year; None before delivery starts."""
    if scheme.state not in DELIVERY_STATES:
        return None
    rows = scheme.returns.filter(month__lte=as_at_month).values_list(
        "month", "actual", "forecast_outturn"
    )
    return assess(scheme.plan, {m: (a, f) for m, a, f in rows}, as_at_month)


def _returns_of(schemes_filter: Q, upto: int) -> dict[int, dict[int, tuple]]:
    """{scheme id: {month: (actual, forecast_outturn, pmo_assured)}} in one query."""
    found: dict[int, dict[int, tuple]] = defaultdict(dict)
    rows = MonthlyReturn.objects.filter(schemes_filter, month__lte=upto).values_list(
        "scheme_id", "month", "actual", "forecast_outturn", "pmo_assured"
    )
    for scheme_id, month, actual, forecast, assured in rows:
        found[scheme_id][month] = (actual, forecast, assured)
    return found


def rag_for(
    schemes: Iterable[Scheme],
    as_at_month: int | None = None,
    *,
    today: date | None = None,
    as_reported: Iterable[int] = (),
) -> dict[int, Rag | None]:
    """The RAG of many schemes, {scheme id: Rag or None}, in at most two queries.

    With no month, each scheme is rated as at its year's reporting_month(). The schemes named
    in `as_reported` are rated as at their latest month returned up to then instead, as the
    off-track escalation rule rates them (notifications.rules). Give a page of schemes or an
    unsliced queryset (read through a subquery, however many schemes it holds).
    """
    if isinstance(schemes, QuerySet) and not schemes.query.is_sliced:
        among = Q(scheme__in=schemes.filter(state__in=DELIVERY_STATES).values("pk"))
    else:
        among = None
    schemes = list(schemes)
    rated = [s for s in schemes if s.state in DELIVERY_STATES]
    result: dict[int, Rag | None] = {s.pk: None for s in schemes}
    if not rated:
        return result
    if as_at_month is None:
        # the scheme list loads each scheme with its year: no need to read the years again
        loaded = Scheme._meta.get_field("financial_year")
        years = {s.financial_year_id: s.financial_year for s in rated if loaded.is_cached(s)}
        missing = {s.financial_year_id for s in rated} - years.keys()
        if missing:
            years.update(FinancialYear.objects.in_bulk(missing))
        day = _today(today)
        months = {s.pk: reporting_month(years[s.financial_year_id], day) for s in rated}
    else:
        months = {s.pk: as_at_month for s in rated}
    if among is None:
        among = Q(scheme_id__in=[s.pk for s in rated])
    returns = _returns_of(among, max(months.values()))
    for pk in set(as_reported) & months.keys():
        returned = [m for m in returns.get(pk, {}) if m <= months[pk]]
        months[pk] = max(returned, default=months[pk])
    limits = thresholds()
    for scheme in rated:
        got = {m: (a, f) for m, (a, f, _) in returns.get(scheme.pk, {}).items()}
        result[scheme.pk] = assess(scheme.plan, got, months[scheme.pk], limits)
    return result


# --- returns missing ---


@dataclass(frozen=True)
class MissingReturn:
    scheme: Scheme
    month: int
    deadline: date
    overdue: bool

    @property
    def label(self) -> str:
        return month_label(self.scheme.financial_year, self.month)


def owes_return(scheme: Scheme, month: int) -> bool:
    """Whether a scheme in delivery owes a return for a month: it had started by then."""
    return scheme.state == SchemeState.IN_DELIVERY and started_by(
        scheme.start_date, scheme.financial_year, month
    )


def started_by(start_date: date, financial_year: FinancialYear, month: int) -> bool:
    """Whether a scheme starting on start_date had started by the end of the year's month."""
    return start_date <= month_end(financial_year, month)


def missing_returns(
    financial_year: FinancialYear,
    month: int,
    *,
    schemes: QuerySet[Scheme] | None = None,
    today: date | None = None,
) -> list[MissingReturn]:
    """The schemes in delivery (of `schemes`, default all) with no return for the month."""
    schemes = (schemes if schemes is not None else Scheme.objects.all()).filter(
        financial_year=financial_year,
        state=SchemeState.IN_DELIVERY,
        start_date__lte=month_end(financial_year, month),
    )
    schemes = (
        schemes.exclude(pk__in=MonthlyReturn.objects.filter(month=month).values("scheme_id"))
        .select_related("organisation", "financial_year", "project_lead", "finance_lead")
        .order_by("organisation__code", "sequence")
    )
    deadline = return_deadline(financial_year, month)
    overdue = _today(today) > deadline
    return [MissingReturn(s, month, deadline, overdue) for s in schemes]


def overdue_returns(
    *, schemes: QuerySet[Scheme] | None = None, today: date | None = None
) -> list[MissingReturn]:
    """Every return of a scheme in delivery still missing after its deadline, in two queries."""
    day = _today(today)
    schemes = (schemes if schemes is not None else Scheme.objects.all()).filter(
        state=SchemeState.IN_DELIVERY
    )
    returned = set(
        MonthlyReturn.objects.filter(scheme__in=schemes.values("pk")).values_list(
            "scheme_id", "month"
        )
    )
    found = []
    for scheme in schemes.select_related("organisation", "financial_year", "sro", "project_lead"):
        year = scheme.financial_year
        for month in range(1, reporting_month(year, day) + 1):
            if owes_return(scheme, month) and (scheme.pk, month) not in returned:
                found.append(MissingReturn(scheme, month, return_deadline(year, month), True))
    return found


# --- the dashboard (PMO and QAG; every signed-in user of the system may see it) ---


@dataclass
class OrganisationTotals:
    """One organisation's year as at a month; all amounts are savings in pounds."""

    organisation: Organisation | None  # None on the total row
    target: Decimal | None
    allocation: Decimal | None = None  # the organisation's allocation, when imported
    identified: Decimal = ZERO  # annual plans of the existing (non-recovery) schemes
    ytd_plan: Decimal = ZERO
    ytd_actual: Decimal = ZERO
    ytd_assured: Decimal = ZERO
    forecast: Decimal = ZERO
    recovery_forecast: Decimal = ZERO
    # {"green": n, "amber": n, "red": n, "unrated": n} of the schemes in delivery
    rag_counts: dict = field(default_factory=lambda: dict.fromkeys(RAG_COUNT_KEYS, 0))

    @property
    def target_percent(self) -> Decimal | None:
        """The target as a share of the allocation (DESIGN.md: 6.0% for ELR in 2019/20)."""
        if self.target is None or not self.allocation:
            return None
        return (self.target / self.allocation * 100).quantize(Decimal("0.1"))

    @property
    def unidentified(self) -> Decimal | None:
        return None if self.target is None else self.target - self.identified

    @property
    def total_forecast(self) -> Decimal:
        return self.forecast + self.recovery_forecast

    @property
    def gap(self) -> Decimal | None:
        """How far the total forecast falls short of the target (negative: beyond it)."""
        return None if self.target is None else self.target - self.total_forecast

    @property
    def forecast_percent(self) -> int | None:
        if not self.target:
            return None
        return int((self.total_forecast / self.target * 100).to_integral_value())

    @property
    def ytd_variance(self) -> Decimal:
        return self.ytd_actual - self.ytd_plan


@dataclass
class Dashboard:
    financial_year: FinancialYear
    as_at_month: int
    returns_month: int | None
    rows: list[OrganisationTotals]
    total: OrganisationTotals
    off_track: list[tuple[Scheme, Rag]]
    missing: list[MissingReturn]

    @property
    def as_at_label(self) -> str:
        return month_label(self.financial_year, self.as_at_month) if self.as_at_month else ""

    @property
    def returns_label(self) -> str:
        return month_label(self.financial_year, self.returns_month) if self.returns_month else ""

    @property
    def returns_deadline(self) -> date | None:
        if not self.returns_month:
            return None
        return return_deadline(self.financial_year, self.returns_month)


def dashboard(
    *,
    user: User,
    financial_year: FinancialYear,
    month: int | None = None,
    today: date | None = None,
) -> Dashboard:
    """Totals against target per organisation of the user's systems, RAG counts, off-track
    schemes and missing returns, in a fixed number of queries however many schemes there are.

    With no month, totals and RAG are as at reporting_month() (returns due), and the missing
    returns are last month's; a chosen month sets both.
    """
    day = _today(today)
    if month is None:
        as_at = reporting_month(financial_year, day)
        returns_month = last_month(financial_year, day) or as_at or None
    else:
        as_at = returns_month = month
    organisations = list(Organisation.objects.filter(system_id__in=user.system_ids))
    targets = {
        organisation_id: (requirement, allocation)
        for organisation_id, requirement, allocation in QippTarget.objects.filter(
            financial_year=financial_year, organisation__in=organisations
        ).values_list("organisation_id", "requirement", "allocation")
    }
    counted = Scheme.objects.filter(
        financial_year=financial_year, organisation__in=organisations
    ).exclude(state__in=NOT_COUNTED)
    returns = _returns_of(Q(scheme__in=counted.values("pk")), max(as_at, returns_month or 0))
    rows = {
        org.pk: OrganisationTotals(org, *targets.get(org.pk, (None, None))) for org in organisations
    }
    off_track, missing = [], []
    deadline = return_deadline(financial_year, returns_month) if returns_month else None
    # Plain rows, not schemes: building every counted scheme (and its people) as a model was
    # most of this page's time at a few thousand schemes. Those listed are loaded below.
    columns = ("pk", "organisation_id", "is_recovery", "state", "start_date", *PLAN_FIELDS)
    limits = thresholds()
    for pk, organisation_id, is_recovery, state, start_date, *plan in counted.values_list(*columns):
        got = returns.get(pk, {})
        rating = assess(plan, {m: (a, f) for m, (a, f, _) in got.items()}, as_at, limits)
        row = rows[organisation_id]
        if is_recovery:
            row.recovery_forecast += rating.forecast_outturn
        else:
            row.identified += rating.annual_plan
            row.ytd_plan += rating.ytd_plan
            row.ytd_actual += rating.ytd_actual
            row.ytd_assured += sum(
                (v for m, (_, _, v) in got.items() if m <= as_at and v is not None), ZERO
            )
            row.forecast += rating.forecast_outturn
        if state == SchemeState.IN_DELIVERY:
            row.rag_counts[rating.status or "unrated"] += 1
            if rating.status in (RED, AMBER):
                off_track.append((pk, rating))
            # owes_return(), on the row's values (the state is checked above)
            owed = returns_month and started_by(start_date, financial_year, returns_month)
            if owed and returns_month not in got:
                missing.append(pk)
    listed = counted.select_related("organisation", "project_lead", "finance_lead").in_bulk(
        {pk for pk, _ in off_track} | set(missing)
    )
    for scheme in listed.values():
        scheme.financial_year = financial_year  # the one in hand: no query per scheme
    off_track = [(listed[pk], rating) for pk, rating in off_track]
    missing = [MissingReturn(listed[pk], returns_month, deadline, day > deadline) for pk in missing]
    shown = [
        row
        for row in rows.values()
        if row.target is not None
        or row.identified
        or row.total_forecast
        or any(row.rag_counts.values())
    ]
    total = OrganisationTotals(None, sum((r.target for r in shown if r.target is not None), ZERO))
    if shown and all(r.target is not None and r.allocation for r in shown):
        total.allocation = sum((r.allocation for r in shown), ZERO)
    for row in shown:
        for name in ("identified", "ytd_plan", "ytd_actual", "ytd_assured", "forecast"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.recovery_forecast += row.recovery_forecast
        for status, n in row.rag_counts.items():
            total.rag_counts[status] += n
    off_track.sort(key=lambda pair: (pair[1].status != RED, -pair[1].ytd_shortfall))
    missing.sort(key=lambda m: (m.scheme.organisation.code, m.scheme.sequence))
    return Dashboard(financial_year, as_at, returns_month, shown, total, off_track, missing)


# --- what the pages show: tasks, buttons and the scheme page's delivery block ---


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def start_of_day(value: date) -> datetime:
    """Midnight at the start of the day, in the site's time zone."""
    return timezone.make_aware(datetime.combine(value, time.min))


def _return_tasks(user, limit: int) -> selectors.Tasks:
    """Returns due from the finance lead or project lead of a scheme in delivery, a task for
    each month owed. Counted in the database, a query a financial year, and only the oldest
    `limit` loaded: the cost does not grow with the schemes the person is on."""
    schemes = Scheme.objects.filter(
        Q(finance_lead=user) | Q(project_lead=user), state=SchemeState.IN_DELIVERY
    )
    day = _today(None)
    years = FinancialYear.objects.filter(pk__in=schemes.values("financial_year")).order_by(
        "start_year"
    )

    def owing(year: FinancialYear, month: int) -> QuerySet[Scheme]:
        """The schemes of the year that had started by the month and have no return for it."""
        returned = MonthlyReturn.objects.filter(scheme=OuterRef("pk"), month=month)
        return schemes.filter(financial_year=year, start_date__lte=month_end(year, month)).exclude(
            Exists(returned)
        )

    counts = {}  # (year, month) -> how many schemes owe it, oldest first
    for year in years:
        upto = last_month(year, day) or (12 if day > year.end_date else 0)
        months = range(1, upto + 1)
        owed = schemes.filter(financial_year=year).aggregate(
            **{
                f"m{month}": Count(
                    "pk",
                    filter=Q(start_date__lte=month_end(year, month))
                    & ~Q(Exists(MonthlyReturn.objects.filter(scheme=OuterRef("pk"), month=month))),
                )
                for month in months
            }
        )
        counts.update({(year, month): owed[f"m{month}"] for month in months})
    tasks = []
    for (year, month), count in counts.items():
        if len(tasks) >= limit:
            break
        if not count:
            continue
        deadline = return_deadline(year, month)
        when = "overdue" if day > deadline else f"due by {_day(deadline)}"
        since = start_of_day(month_end(year, month) + timedelta(days=1))
        shown = owing(year, month).select_related("organisation").defer(*selectors.LONG_TEXTS)
        for scheme in shown.order_by("pk")[: limit - len(tasks)]:
            tasks.append(
                selectors.Task(
                    scheme,
                    f"Enter the {month_label(year, month)} return ({when})",
                    reverse("return_edit", args=[scheme.pk, month]),
                    since,
                )
            )
    return selectors.Tasks(tasks, sum(counts.values()))


def _assure_tasks(user, limit: int) -> selectors.Tasks:
    """Returns waiting for the PMO of the scheme's organisation, one task per scheme."""
    if not user.has_role(roles.PMO) or not user.organisation_ids:
        return selectors.Tasks([], 0)
    pending = list(
        MonthlyReturn.objects.filter(
            scheme__organisation_id__in=user.organisation_ids,
            scheme__state__in=DELIVERY_STATES,
            assured_at__isnull=True,
        )
        .exclude(entered_by=user)
        .select_related("scheme__organisation", "scheme__financial_year")
        .order_by("scheme_id", "month")
    )
    if not pending:
        return selectors.Tasks([], 0)
    touched = set(
        SchemeChange.objects.filter(
            scheme_id__in={r.scheme_id for r in pending},
            changed_by=user,
            field__startswith="Month ",
        ).values_list("scheme_id", "field")
    )
    by_scheme: dict[int, list[MonthlyReturn]] = defaultdict(list)
    for ret in pending:
        if not any((ret.scheme_id, f) in touched for f in return_fields(ret.month).values()):
            by_scheme[ret.scheme_id].append(ret)
    tasks = []
    for waiting in by_scheme.values():
        scheme, first = waiting[0].scheme, waiting[0]
        labels = [month_label(scheme.financial_year, r.month) for r in waiting]
        what = (
            f"Assure the {labels[0]} return"
            if len(waiting) == 1
            else f"Assure {len(waiting)} returns ({', '.join(labels)})"
        )
        tasks.append(
            selectors.Task(
                scheme,
                what,
                reverse("return_assure", args=[scheme.pk, first.month]),
                min(r.updated_at for r in waiting),
            )
        )
    return selectors.oldest(tasks, limit)


TRANSITION_BUTTONS = [
    ("start_delivery", "Start delivery", "scheme_start_delivery", "primary"),
    ("complete", "Close scheme", "scheme_complete", "outline-primary"),
    ("stop", "Stop scheme (QAG decision)", "scheme_stop", "outline-danger"),
]


def _delivery_actions(user, scheme: Scheme) -> list[selectors.Action]:
    found = [
        selectors.Action(label, reverse(url_name, args=[scheme.pk]), style)
        for action, label, url_name, style in TRANSITION_BUTTONS
        if can_proceed(getattr(scheme, action)) and policy.refusal(action, user, scheme) is None
    ]
    if (
        scheme.state == SchemeState.IN_DELIVERY
        and policy.refusal("enter_return", user, scheme) is None
    ):
        found.insert(
            0, selectors.Action("Enter a monthly return", reverse("return_new", args=[scheme.pk]))
        )
    return found


def _month_status(year: FinancialYear, month: int, ret, day: date, owed: bool) -> str:
    if ret is not None:
        return "assured" if ret.assured_at else "awaiting assurance"
    if day < year.month_start(month) or not owed:
        return ""
    if day > return_deadline(year, month):
        return "overdue"
    return f"due by {_day(return_deadline(year, month))}"


def _delivery_section(user, scheme: Scheme) -> selectors.Section | None:
    """The scheme page's Delivery block: plan against returns by month, RAG, history."""
    if scheme.state not in DELIVERY_STATES:
        return None
    year, day = scheme.financial_year, _today(None)
    returns = {r.month: r for r in scheme.returns.select_related("entered_by", "assured_by")}
    history = list(return_history(scheme))
    as_at = reporting_month(year, day)
    rating = assess(
        scheme.plan, {m: (r.actual, r.forecast_outturn) for m, r in returns.items()}, as_at
    )
    may_enter = policy.refusal("enter_return", user, scheme) is None
    may_assure = policy.refusal("assure_return", user, scheme) is None
    touched = {c.field for c in history if c.changed_by_id == user.pk}
    rows, cumulative_plan, cumulative_actual = [], ZERO, ZERO
    for month, plan in zip(MONTHS, scheme.plan, strict=True):
        ret = returns.get(month)
        cumulative_plan += plan
        cumulative_actual += ret.actual if ret else ZERO
        mine = ret is not None and (
            ret.entered_by_id == user.pk or touched & set(return_fields(month).values())
        )
        rows.append(
            {
                "month": month,
                "label": month_label(year, month),
                "plan": plan,
                "ret": ret,
                "variance": ret.actual - plan if ret else None,
                "cumulative_plan": cumulative_plan,
                "cumulative_actual": cumulative_actual
                if month <= max(returns, default=0)
                else None,
                "status": _month_status(year, month, ret, day, owes_return(scheme, month)),
                "may_edit": may_enter and year.month_start(month) <= day,
                "may_assure": may_assure and ret is not None and not mine,
            }
        )
    latest_forecast = next(
        (
            returns[m].forecast_outturn
            for m in sorted(returns, reverse=True)
            if returns[m].forecast_outturn is not None
        ),
        None,
    )
    return selectors.Section(
        "delivery/_section.html",
        {
            "scheme": scheme,
            "rag": rating,
            "as_at_label": month_label(year, as_at) if as_at else "",
            "first_deadline": _day(return_deadline(year, 1)),
            "rows": rows,
            "actual_to_date": sum((r.actual for r in returns.values()), ZERO),
            "assured_to_date": sum(
                (r.pmo_assured for r in returns.values() if r.pmo_assured is not None), ZERO
            ),
            "latest_forecast": latest_forecast,
            "history": history,
            "may_enter": may_enter and scheme.state == SchemeState.IN_DELIVERY,
        },
    )


# What delivery adds to the task inbox and the scheme page (GovernanceConfig.ready()).
TASK_SOURCES = [_return_tasks, _assure_tasks]
TEAM_TASK_SOURCES = [_return_tasks]
ACTION_SOURCES = [_delivery_actions]
SECTION_SOURCES = [_delivery_section]
