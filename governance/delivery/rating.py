"""The RAG rating of a scheme in delivery, from its returns against plan (DESIGN.md "RAG")."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet

from governance import money
from governance.delivery.schedule import DELIVERY_STATES, ZERO, reporting_month, setting, today_or
from governance.models import FinancialYear, MonthlyReturn, Scheme

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
        "amber": setting("QIPP_RAG_AMBER_PERCENT", 5),
        "red": setting("QIPP_RAG_RED_PERCENT", 10),
        "forecast_red": setting("QIPP_RAG_FORECAST_RED_PERCENT", 10),
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
        reasons.append(f"Behind year-to-date plan by {money.pounds(behind)}{share}.")
    short = annual - forecast
    if short > 0 and (annual <= 0 or short * 100 > forecast_red * annual):
        status = RED
        share = f" ({_percent(short, annual)})" if annual > 0 else ""
        shown = money.pounds(short)
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


def returns_of(schemes_filter: Q, upto: int) -> dict[int, dict[int, tuple]]:
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
        day = today_or(today)
        months = {s.pk: reporting_month(years[s.financial_year_id], day) for s in rated}
    else:
        months = {s.pk: as_at_month for s in rated}
    if among is None:
        among = Q(scheme_id__in=[s.pk for s in rated])
    returns = returns_of(among, max(months.values()))
    for pk in set(as_reported) & months.keys():
        returned = [m for m in returns.get(pk, {}) if m <= months[pk]]
        months[pk] = max(returned, default=months[pk])
    limits = thresholds()
    for scheme in rated:
        got = {m: (a, f) for m, (a, f, _) in returns.get(scheme.pk, {}).items()}
        result[scheme.pk] = assess(scheme.plan, got, months[scheme.pk], limits)
    return result
