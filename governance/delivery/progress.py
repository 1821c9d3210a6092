"""The PMO / QAG dashboard figures: totals per organisation, and the returns missing or
overdue."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet

from governance import money
from governance.delivery.rating import (
    AMBER,
    RAG_COUNT_KEYS,
    RED,
    Rag,
    assess,
    returns_of,
    thresholds,
)
from governance.delivery.schedule import (
    NOT_COUNTED,
    ZERO,
    last_month,
    month_end,
    month_label,
    owes_return,
    reporting_month,
    return_deadline,
    started_by,
    today_or,
)
from governance.models import (
    PLAN_FIELDS,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    QippTarget,
    Scheme,
    SchemeState,
    User,
)

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
    overdue = today_or(today) > deadline
    return [MissingReturn(s, month, deadline, overdue) for s in schemes]


def overdue_returns(
    *, schemes: QuerySet[Scheme] | None = None, today: date | None = None
) -> list[MissingReturn]:
    """Every return of a scheme in delivery still missing after its deadline, in two queries."""
    day = today_or(today)
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
    drafts: int = 0  # the draft PIDs among them, and their annual plans
    drafts_plan: Decimal = ZERO
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
    def drafts_note(self) -> str:
        """What Identified owes to drafts, which only their team and PMO may open:
        'Identified includes 2 draft PIDs, £24,000. ...'"""
        if not self.drafts:
            return "Identified includes no draft PIDs."
        plural = "" if self.drafts == 1 else "s"
        plan = money.pounds(self.drafts_plan)
        return (
            f"Identified includes {self.drafts} draft PID{plural}, {plan}. A draft opens only "
            "to its team and the PMO of its organisation."
        )

    @property
    def unidentified(self) -> Decimal | None:
        return None if self.target is None else self.target - self.identified

    @property
    def total_forecast(self) -> Decimal:
        return self.forecast + self.recovery_forecast

    @property
    def gap(self) -> Decimal | None:
        """How far the total forecast falls short of the target (negative: beyond it); in the
        papers' sign, total forecast minus target."""
        return None if self.target is None else self.target - self.total_forecast

    @property
    def forecast_percent(self) -> int | None:
        if not self.target:
            return None
        return int((self.total_forecast / self.target * 100).to_integral_value())

    @property
    def ytd_variance(self) -> Decimal:
        """Actual minus plan in the papers' sign (savings negative): positive is behind plan."""
        return money.variance(self.ytd_plan, self.ytd_actual)


# what the total row adds up from the organisations' rows
ADDED_UP = (
    "identified",
    "drafts",
    "drafts_plan",
    "ytd_plan",
    "ytd_actual",
    "ytd_assured",
    "forecast",
)


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
    day = today_or(today)
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
    returns = returns_of(Q(scheme__in=counted.values("pk")), max(as_at, returns_month or 0))
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
            if state == SchemeState.DRAFT:
                row.drafts += 1
                row.drafts_plan += rating.annual_plan
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
        for name in ADDED_UP:
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.recovery_forecast += row.recovery_forecast
        for status, n in row.rag_counts.items():
            total.rag_counts[status] += n
    off_track.sort(key=lambda pair: (pair[1].status != RED, -pair[1].ytd_shortfall))
    missing.sort(key=lambda m: (m.scheme.organisation.code, m.scheme.sequence))
    return Dashboard(financial_year, as_at, returns_month, shown, total, off_track, missing)
