"""Delivery tracking (DESIGN.md "Delivery tracking"): after approval, month by month.

Services for the delivery transitions (start delivery, complete, stop) and for monthly returns
(enter, correct, assure); the RAG rating; the return deadline and the returns missing; the
PMO / QAG dashboard figures. At import time this module adds its rules to governance.policy
and its tasks, buttons and scheme-page block to governance.selectors (GovernanceConfig.ready
imports it).
"""

from calendar import monthrange
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, Exists, Max, Min, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.functional import lazy
from django_fsm import can_proceed

from governance import policy, reports, roles, selectors, services
from governance.kept import FIGURES, kept, kept_each
from governance.links import object_url
from governance.models import (
    MONTH_NAMES,
    MONTHS,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    QippTarget,
    Scheme,
    SchemeChange,
    SchemeState,
    User,
)
from governance.reference import reference
from governance.services import ActionRefused, Conflict, run_transition
from notifications.services import notify

ZERO = Decimal("0")

# Returns are entered, corrected and assured, and the RAG rated, once delivery has started.
# A completed or stopped scheme keeps its returns and may still have a past month corrected.
DELIVERY_STATES = (SchemeState.IN_DELIVERY, SchemeState.COMPLETED, SchemeState.STOPPED)


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
    years = list(reference().years.values())  # by start year
    if not years:
        return None
    return next((y for y in reversed(years) if y.start_year <= start_year), years[0])


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def _money(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"-£{-value:,.2f}" if value < 0 else f"£{value:,.2f}"


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
        field__in=_return_fields(monthly_return.month).values(),
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


policy.register("enter_return", _enter_return)
policy.register("assure_return", _assure_return)
services.ACTION_VERBS.update(
    {"start_delivery": "start delivery of", "complete": "close", "stop": "stop"}
)


# --- the delivery transitions ---


def scheme_start_delivery(
    *, scheme_id: int, by: User, expected_version: int | None, comment: str = ""
) -> Scheme:
    """The PMO starts delivery of an approved scheme: returns are due from now on."""

    def work(scheme: Scheme):
        scheme.start_delivery(by=by, description=comment.strip() or "Delivery started")
        notify(
            users=services._team(scheme),
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
            users=services._team(scheme) + services._users_with_role(scheme, roles.PMO),
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
            users=services._team(scheme) + services._users_with_role(scheme, roles.PMO),
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
# hook(monthly_return=..., by=..., created=...): rules that react to a return (escalation of
# off-track delivery) write their rows and queue their mail atomically with it.
RETURN_SAVED_HOOKS: list[Callable] = []


# How the history names each figure of a month's return: 'Month 3 actual'.
RETURN_FIELD = "Month "
RETURN_FIELD_WORDS = {
    "actual": "actual",
    "forecast_outturn": "forecast outturn",
    "commentary": "commentary",
}


def _return_fields(month: int) -> dict[str, str]:
    """The history label of each figure of a month's return, e.g. 'Month 3 actual'."""
    return {name: f"Month {month} {words}" for name, words in RETURN_FIELD_WORDS.items()}


def assured_field(month: int) -> str:
    return f"Month {month} PMO assured value"


def return_token(monthly_return: MonthlyReturn | None) -> str:
    """What a form carries to spot a change made since it was drawn ('' for a new return)."""
    return monthly_return.updated_at.isoformat() if monthly_return else ""


def _show(name: str, value) -> str:
    return value if name == "commentary" else _money(value)


def entered_changes(monthly_return: MonthlyReturn, *, by) -> list[SchemeChange]:
    """The history rows of a return just entered (in the browser or by an import): each
    figure given, from empty."""
    labels = _return_fields(monthly_return.month)
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
    return services._lock(scheme_id, None)


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
            labels = _return_fields(month)
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
                        old_value=_money(ret.pmo_assured),
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

    return services._refuse_logged(by, "enter_return", scheme_id, attempt)


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
                old_value=_money(old),
                new_value=_money(value),
            )
            return ret

    return services._refuse_logged(by, "assure_return", scheme_id, attempt)


def return_history(scheme: Scheme, month: int | None = None) -> QuerySet[SchemeChange]:
    """The recorded figures of a scheme's returns (one month's, or all), newest first."""
    changes = scheme.changes.select_related("changed_by")
    if month is not None:
        return changes.filter(
            Q(field__in=_return_fields(month).values()) | Q(field=assured_field(month))
        )
    return changes.filter(field__startswith=RETURN_FIELD)


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
    the year-to-date actual plus the remaining months' plan. Rating many schemes, pass the
    thresholds() read once as `limits`.
    """
    n = as_at_month
    ytd_actual = sum((returns[m][0] for m in returns if m <= n), ZERO)
    forecasts = [returns[m][1] for m in sorted(returns) if m <= n and returns[m][1] is not None]
    return rating(
        ytd_plan=sum(plan[:n], ZERO),
        ytd_actual=ytd_actual,
        annual_plan=sum(plan, ZERO),
        forecast_outturn=forecasts[-1] if forecasts else ytd_actual + sum(plan[n:], ZERO),
        as_at_month=n,
        limits=limits,
    )


def rag_status(ytd_plan, ytd_actual, annual_plan, forecast_outturn, limits) -> str:
    """Green, amber or red for figures in any one unit (pounds, or pence). Percentages are
    compared exactly (no rounding): behind by exactly 5% is still green."""
    behind = ytd_plan - ytd_actual
    status = GREEN
    if behind > 0:
        if ytd_plan <= 0 or behind * 100 > limits["red"] * ytd_plan:
            status = RED
        elif behind * 100 > limits["amber"] * ytd_plan:
            status = AMBER
    if _forecast_short(annual_plan, forecast_outturn, limits):
        status = RED
    return status


def _forecast_short(annual_plan, forecast_outturn, limits) -> bool:
    """Whether the forecast outturn falls short of the annual plan by more than the limit."""
    short = annual_plan - forecast_outturn
    return short > 0 and (annual_plan <= 0 or short * 100 > limits["forecast_red"] * annual_plan)


def rating(
    *,
    ytd_plan: Decimal,
    ytd_actual: Decimal,
    annual_plan: Decimal,
    forecast_outturn: Decimal,
    as_at_month: int,
    limits: dict[str, Decimal] | None = None,
) -> Rag:
    """The RAG of a scheme's figures in pounds as at a month, with the reasons in words."""
    figures = dict(
        as_at_month=as_at_month,
        ytd_plan=ytd_plan,
        ytd_actual=ytd_actual,
        annual_plan=annual_plan,
        forecast_outturn=forecast_outturn,
    )
    if as_at_month == 0:
        return Rag(None, reasons=("No return is due yet.",), **figures)
    limits = limits or thresholds()
    status = rag_status(ytd_plan, ytd_actual, annual_plan, forecast_outturn, limits)
    reasons = []
    behind = ytd_plan - ytd_actual
    if behind > 0:
        share = f" ({_percent(behind, ytd_plan)})" if ytd_plan > 0 else ""
        reasons.append(f"Behind year-to-date plan by {_money(behind)}{share}.")
    if _forecast_short(annual_plan, forecast_outturn, limits):
        short = annual_plan - forecast_outturn
        share = f" ({_percent(short, annual_plan)})" if annual_plan > 0 else ""
        reasons.append(f"Forecast outturn is short of the annual plan by {_money(short)}{share}.")
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


def _returns_kept(scheme_ids: list[int]) -> dict[int, dict[int, tuple]]:
    """The schemes' returns as _returns_of() reads them, every month: each scheme's kept
    until a return (or a plan) changes anywhere (the figures stamp, governance.kept). A list
    rates every page's schemes; a transition changes none of their returns."""

    def read(missing: list[int]) -> dict[int, dict[int, tuple]]:
        found = _returns_of(Q(scheme_id__in=missing), 12)
        return {pk: found.get(pk, {}) for pk in missing}

    return kept_each(FIGURES, scheme_ids, read)


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
        # a list's schemes come with their years: no need to read the years again
        loaded = Scheme._meta.get_field("financial_year")
        years = {s.financial_year_id: s.financial_year for s in rated if loaded.is_cached(s)}
        if missing := {s.financial_year_id for s in rated} - years.keys():
            held = reference().years
            years.update({pk: held[pk] for pk in missing if pk in held})
            if unknown := missing - years.keys():  # made since the reference data was read
                years.update(FinancialYear.objects.in_bulk(unknown))
        day = _today(today)
        due = {pk: reporting_month(year, day) for pk, year in years.items()}  # once a year
        months = {s.pk: due[s.financial_year_id] for s in rated}
    else:
        months = {s.pk: as_at_month for s in rated}
    if among is None:
        returns = _returns_kept([s.pk for s in rated])
    else:
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
    scheme: "Scheme | ListedScheme"
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


# What the dashboard adds up for each organisation, in pence until it is done.
PENCE_TOTALS = (
    "identified",
    "ytd_plan",
    "ytd_actual",
    "ytd_assured",
    "forecast",
    "recovery_forecast",
)


@dataclass(frozen=True, slots=True)
class ListedScheme:
    """What the dashboard's lists show of a scheme, read as plain rows: the lists may run to
    a few hundred schemes, and a model with three related ones each cost a third of the page.
    The leads are their names, as str(user) gives them."""

    pk: int
    reference: str
    title: str
    is_recovery: bool
    sequence: int
    organisation: Organisation
    financial_year: FinancialYear
    project_lead: str
    finance_lead: str | None

    def get_absolute_url(self) -> str:
        return object_url("scheme_detail", self.pk)


def _listed(pks, financial_year: FinancialYear) -> dict[int, ListedScheme]:
    """The schemes the dashboard lists, in two queries: theirs, and their leads' names."""
    rows = list(
        Scheme.objects.filter(pk__in=pks)
        .order_by()
        .values_list(
            "pk",
            "reference",
            "title",
            "is_recovery",
            "sequence",
            "organisation_id",
            "project_lead_id",
            "finance_lead_id",
        )
    )
    names = {
        pk: User.name_of(username, first, last)
        for pk, username, first, last in User.objects.filter(
            pk__in={row[6] for row in rows} | {row[7] for row in rows if row[7]}
        )
        .order_by()
        .values_list("pk", "username", "first_name", "last_name")
    }
    held = reference().organisations
    listed = {}
    for pk, ref, title, recovery, sequence, org_id, lead_id, finance_id in rows:
        organisation = held.get(org_id) or Organisation.objects.get(pk=org_id)
        listed[pk] = ListedScheme(
            pk,
            ref,
            title,
            recovery,
            sequence,
            organisation,
            financial_year,
            names[lead_id],
            names.get(finance_id),
        )
    return listed


def _rating_in_pence(as_at_month, limits, ytd_plan, ytd_actual, annual_plan, forecast) -> Rag:
    return rating(
        ytd_plan=reports.from_pence(ytd_plan),
        ytd_actual=reports.from_pence(ytd_actual),
        annual_plan=reports.from_pence(annual_plan),
        forecast_outturn=reports.from_pence(forecast),
        as_at_month=as_at_month,
        limits=limits,
    )


def _scheme_pence(
    financial_year: FinancialYear, organisations, as_at: int, returns_month, *, fresh=False
):
    """Each counted scheme's figures as at a month, in pence, summed in the database (a row a
    scheme, not a row a return): {id: (organisation id, recovery, annual plan, YTD plan, YTD
    actual, YTD assured or None, forecast outturn, whether `returns_month` is returned)}. Kept
    until the figures change (governance.kept): a transition changes none of them."""

    def work():
        counted = Scheme.objects.filter(
            financial_year=financial_year, organisation__in=organisations
        ).exclude(state__in=reports.NOT_COUNTED)
        returned = (
            Exists(MonthlyReturn.objects.filter(scheme=OuterRef("pk"), month=returns_month))
            if returns_month
            else Value(False)
        )
        rows = counted.annotate(
            **reports.scheme_sums(as_at),
            annual=reports.plan_pence(MONTHS),
            ytd=reports.plan_pence(range(1, as_at + 1)),
            returned=returned,
        ).values_list(
            "pk",
            "organisation_id",
            "is_recovery",
            "annual",
            "ytd",
            "r_actual",
            "r_assured",
            "r_forecast",
            "returned",
        )
        found = {}
        for pk, org, recovery, annual, ytd, actual, assured, forecast, got in rows.order_by():
            if forecast is None:  # none returned: the actuals, then the plan still to come
                forecast = actual + annual - ytd
            found[pk] = (org, recovery, annual, ytd, actual, assured, forecast, got)
        return found

    if fresh:
        return work()
    key = (
        "dashboard",
        financial_year.pk,
        frozenset(o.pk for o in organisations),
        as_at,
        returns_month,
    )
    return kept(FIGURES, key, work)


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
    organisations = reference().organisations_in(user.system_ids)
    targets = {
        organisation_id: (requirement, allocation)
        for organisation_id, requirement, allocation in QippTarget.objects.filter(
            financial_year=financial_year, organisation__in=organisations
        )
        .order_by()
        .values_list("organisation_id", "requirement", "allocation")
    }
    # Each counted scheme's figures (in pence): the RAG status is worked out on them
    # directly, and the Rag with its reasons built only for the schemes listed. Which schemes
    # are in delivery, and since when, is read afresh: transitions change those.
    schemes = _scheme_pence(financial_year, organisations, as_at, returns_month)
    delivering = dict(
        Scheme.objects.filter(
            financial_year=financial_year,
            organisation__in=organisations,
            state=SchemeState.IN_DELIVERY,
        )
        .order_by()
        .values_list("pk", "start_date")
    )
    if not delivering.keys() <= schemes.keys():  # counted since the figures were read
        schemes = _scheme_pence(financial_year, organisations, as_at, returns_month, fresh=True)
    pence = {org.pk: dict.fromkeys(PENCE_TOTALS, 0) for org in organisations}
    rows = {
        org.pk: OrganisationTotals(org, *targets.get(org.pk, (None, None))) for org in organisations
    }
    off_track, missing = [], []
    deadline = return_deadline(financial_year, returns_month) if returns_month else None
    limits = thresholds()
    for pk, (org, recovery, annual, ytd_plan, actual, assured, forecast, got) in schemes.items():
        sums = pence[org]
        if recovery:
            sums["recovery_forecast"] += forecast
        else:
            sums["identified"] += annual
            sums["ytd_plan"] += ytd_plan
            sums["ytd_actual"] += actual
            sums["ytd_assured"] += assured or 0
            sums["forecast"] += forecast
        if pk in delivering:
            status = rag_status(ytd_plan, actual, annual, forecast, limits) if as_at else None
            rows[org].rag_counts[status or "unrated"] += 1
            if status in (RED, AMBER):
                off_track.append((pk, (ytd_plan, actual, annual, forecast)))
            # owes_return(), on the row's values (the state is read above)
            owed = returns_month and started_by(delivering[pk], financial_year, returns_month)
            if owed and not got:
                missing.append(pk)
    for org_id, sums in pence.items():
        for name, value in sums.items():
            setattr(rows[org_id], name, reports.from_pence(value))
    listed = _listed({pk for pk, _ in off_track} | set(missing), financial_year)
    off_track = [
        (listed[pk], _rating_in_pence(as_at, limits, *figures)) for pk, figures in off_track
    ]
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


def _return_tasks(user) -> list[selectors.Task]:
    """Returns due from the finance lead or project lead of a scheme in delivery."""
    schemes = list(
        Scheme.objects.filter(
            Q(finance_lead=user) | Q(project_lead=user), state=SchemeState.IN_DELIVERY
        ).select_related("organisation", "financial_year")
    )
    if not schemes:
        return []
    day = _today(None)
    returned = set(
        MonthlyReturn.objects.filter(scheme__in=schemes).values_list("scheme_id", "month")
    )
    tasks = []
    for scheme in schemes:
        year = scheme.financial_year
        upto = last_month(year, day) or (12 if day > year.end_date else 0)
        for month in range(1, upto + 1):
            if not owes_return(scheme, month) or (scheme.pk, month) in returned:
                continue
            deadline = return_deadline(year, month)
            when = "overdue" if day > deadline else f"due by {_day(deadline)}"
            tasks.append(
                selectors.Task(
                    scheme,
                    f"Enter the {month_label(year, month)} return ({when})",
                    reverse("return_edit", args=[scheme.pk, month]),
                    start_of_day(month_end(year, month) + timedelta(days=1)),
                )
            )
    return tasks


def _words_for_assurance(year: FinancialYear, waiting: Sequence[int]) -> str:
    labels = [month_label(year, month) for month in waiting]
    if len(waiting) == 1:
        return f"Assure the {labels[0]} return"
    return f"Assure {len(waiting)} returns ({', '.join(labels)})"


_assurance_words = lazy(_words_for_assurance, str)


def _assure_tasks(user) -> list[selectors.Task]:
    """Returns waiting for the PMO of the scheme's organisation, one task per scheme: those
    someone else entered and this user has not corrected (segregation of duties)."""
    if not user.has_role(roles.PMO) or not user.organisation_ids:
        return []
    # Kept until a return changes anywhere (the figures stamp, governance.kept): what waits
    # changes only with the returns. A return is entered, corrected or assured only while its
    # scheme is in delivery (_enter_return, the returns import), and a scheme never leaves
    # delivery but by a change the figures stamp covers; a correction changes its return.
    key = ("assure", user.pk, tuple(sorted(user.organisation_ids)))
    schemes, months = kept(FIGURES, key, lambda: _waiting_assurance(user))
    years = dict(reference().years)
    if unknown := {row[5] for row in schemes} - years.keys():  # made since the reference was read
        years.update(FinancialYear.objects.in_bulk(unknown))
    tasks = []
    for scheme_id, since, first, last, _count, year_id in schemes:
        waiting = months.get(scheme_id) or range(first, last + 1)
        # put in words only for the tasks shown: a PMO may have hundreds
        what = _assurance_words(years[year_id], waiting)
        url = reverse_lazy("return_assure", args=[scheme_id, waiting[0]])
        tasks.append(selectors.Task.on(scheme_id, what, url, since))
    return tasks


def _waiting_assurance(user) -> tuple[tuple, dict[int, tuple[int, ...]]]:
    """The returns waiting for `user` to assure, as plain rows: (scheme id, the oldest change
    of its waiting returns, their first and last month, how many, the scheme's year id) a
    scheme, in the order of the schemes; and the waiting months of the schemes with a gap."""
    corrected_by_user = SchemeChange.objects.filter(
        scheme_id=OuterRef("scheme_id"),
        changed_by=user,
        field__in=[
            Concat(Value("Month "), Cast(OuterRef("month"), CharField()), Value(f" {words}"))
            for words in RETURN_FIELD_WORDS.values()
        ],
    )
    # A PMO may have thousands of returns waiting: plain rows, and the schemes only of the
    # tasks shown (selectors.with_schemes).
    pending = (
        MonthlyReturn.objects.filter(
            scheme__organisation_id__in=user.organisation_ids,
            scheme__state__in=DELIVERY_STATES,
            assured_at__isnull=True,
        )
        .exclude(entered_by=user)
        .exclude(Exists(corrected_by_user))
    )
    # The months are read one by one only for the schemes with a gap among them (most have
    # every month since the first waiting).
    schemes = tuple(
        pending.order_by("scheme_id")
        .values("scheme_id")
        .annotate(
            since=Min("updated_at"),
            first=Min("month"),
            last=Max("month"),
            count=Count("pk"),
            year_id=Max("scheme__financial_year_id"),
        )
        .values_list("scheme_id", "since", "first", "last", "count", "year_id")
    )
    gaps = [row[0] for row in schemes if row[3] - row[2] + 1 != row[4]]
    months: dict[int, list[int]] = defaultdict(list)
    for scheme_id, month in (
        pending.filter(scheme_id__in=gaps)
        .order_by("scheme_id", "month")
        .values_list("scheme_id", "month")
        if gaps
        else ()
    ):
        months[scheme_id].append(month)
    return schemes, {scheme_id: tuple(found) for scheme_id, found in months.items()}


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


# A scheme's returns for its page, written out: the ORM took as long to build this query as
# the database took to answer it.
_RETURNS_SQL = "SELECT {} FROM governance_monthlyreturn WHERE scheme_id = %s".format(  # noqa: S608, UP032  # nosec B608
    selectors.columns_of(MonthlyReturn)
)


def _delivery_section(user, scheme: Scheme) -> selectors.Section | None:
    """The scheme page's Delivery block: plan against returns by month, RAG, history."""
    if scheme.state not in DELIVERY_STATES:
        return None
    year, day = scheme.financial_year, _today(None)
    returns = {r.month: r for r in MonthlyReturn.objects.raw(_RETURNS_SQL, [scheme.pk])}
    # the page's history has read every change already: the returns' are among them
    history = [c for c in selectors.changes_on_page(scheme) if c.field.startswith(RETURN_FIELD)]
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
            ret.entered_by_id == user.pk or touched & set(_return_fields(month).values())
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


selectors.TASK_SOURCES += [_return_tasks, _assure_tasks]
selectors.TEAM_TASK_SOURCES.add(_return_tasks)
selectors.ACTION_SOURCES.append(_delivery_actions)
selectors.SECTION_SOURCES.append(_delivery_section)
