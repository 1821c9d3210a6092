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
    today_or,
)
from governance.models import (
    MONTHS,
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


@dataclass(frozen=True)
class OverdueReturns:
    """A scheme's returns still missing after their deadlines: the months, in order."""

    scheme: Scheme
    months: list[int]

    @property
    def labels(self) -> str:
        """'Aug 2026, Sep 2026, Oct 2026'."""
        return ", ".join(month_label(self.scheme.financial_year, m) for m in self.months)


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
    recovery_ytd_actual: Decimal = ZERO  # what the recovery actions saved to date
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


@dataclass
class TotalRow(OrganisationTotals):
    """The total of the organisations' rows. Its target is theirs added up, and so are its
    Unidentified, gap and forecast share of target, from the organisations that have a target
    only, as the requirement table adds them: an organisation without a target for the year
    leaves them alone rather than counting its plans against the others' targets."""

    with_target: list[OrganisationTotals] = field(default_factory=list)
    without_target: list[OrganisationTotals] = field(default_factory=list)

    @property
    def unidentified(self) -> Decimal | None:
        if self.target is None:
            return None
        return sum((row.unidentified for row in self.with_target), ZERO)

    @property
    def gap(self) -> Decimal | None:
        if self.target is None:
            return None
        return sum((row.gap for row in self.with_target), ZERO)

    @property
    def forecast_percent(self) -> int | None:
        if not self.target:
            return None
        forecast = sum((row.total_forecast for row in self.with_target), ZERO)
        return int((forecast / self.target * 100).to_integral_value())

    @property
    def without_target_note(self) -> str:
        """'ELR has no QIPP target for the year: ...', or nothing when every row has one."""
        if not self.without_target or not self.with_target:
            return ""
        codes = [row.organisation.code for row in self.without_target]
        named = " and ".join([", ".join(codes[:-1]), codes[-1]] if len(codes) > 1 else codes)
        has = "has" if len(codes) == 1 else "have"
        return (
            f"{named} {has} no QIPP target for the year: the total's Unidentified, gap to "
            "target and forecast % of target count only the organisations with one."
        )


# what the total row adds up from the organisations' rows
ADDED_UP = (
    "identified",
    "drafts",
    "drafts_plan",
    "ytd_plan",
    "ytd_actual",
    "ytd_assured",
    "forecast",
    "recovery_ytd_actual",
    "recovery_forecast",
)


@dataclass
class Dashboard:
    financial_year: FinancialYear
    as_at_month: int
    rows: list[OrganisationTotals]
    total: TotalRow
    off_track: list[tuple[Scheme, Rag]]
    # the returns missing after their deadline, months up to the page's month, a row a scheme
    overdue: list[OverdueReturns]
    # the month whose returns come due next (it has ended, its deadline has not passed), and
    # the schemes whose return for it is not in yet; None when the page is as at an earlier
    # month, or no month is coming due
    due_month: int | None
    due: list[MissingReturn]

    @property
    def as_at_label(self) -> str:
        return month_label(self.financial_year, self.as_at_month) if self.as_at_month else ""

    @property
    def due_label(self) -> str:
        return month_label(self.financial_year, self.due_month) if self.due_month else ""

    @property
    def due_deadline(self) -> date | None:
        return return_deadline(self.financial_year, self.due_month) if self.due_month else None


def coming_due(financial_year: FinancialYear, as_at: int, today: date) -> int | None:
    """The month whose returns come due next, when the page is as at the latest month due or
    later: the month just ended, while its deadline has not passed (on 5 December, November,
    due by the 10th)."""
    latest_due = reporting_month(financial_year, today)
    ended = last_month(financial_year, today)
    if ended and ended > latest_due and as_at >= latest_due:
        return ended
    return None


def dashboard(
    *,
    user: User,
    financial_year: FinancialYear,
    month: int | None = None,
    today: date | None = None,
) -> Dashboard:
    """Totals against target per organisation of the user's systems, RAG counts, off-track
    schemes and missing returns, in a fixed number of queries however many schemes there are.

    Everything is as at one month (DESIGN.md): the chosen one, else reporting_month() (the
    latest whose returns are due). The overdue returns are those of that month and the months
    before it whose deadline has passed; the returns coming due next are listed apart.
    """
    day = today_or(today)
    as_at = reporting_month(financial_year, day) if month is None else month
    # a return is overdue the day after its deadline: months up to the latest month due
    overdue_upto = min(as_at, reporting_month(financial_year, day))
    due_month = coming_due(financial_year, as_at, day)
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
    returns = returns_of(Q(scheme__in=counted.values("pk")), max(as_at, due_month or 0))
    rows = {
        org.pk: OrganisationTotals(org, *targets.get(org.pk, (None, None))) for org in organisations
    }
    off_track, late, due = [], {}, []  # late: {scheme id: the months overdue}
    month_ends = {m: month_end(financial_year, m) for m in MONTHS}
    # Plain rows, not schemes: building every counted scheme (and its people) as a model was
    # most of this page's time at a few thousand schemes. Those listed are loaded below.
    columns = ("pk", "organisation_id", "is_recovery", "state", "start_date", *PLAN_FIELDS)
    limits = thresholds()
    for pk, organisation_id, is_recovery, state, start_date, *plan in counted.values_list(*columns):
        got = returns.get(pk, {})
        rating = assess(plan, {m: (a, f) for m, (a, f, _) in got.items()}, as_at, limits)
        row = rows[organisation_id]
        # recovery actions are reported apart from the existing schemes (DESIGN.md), what they
        # saved to date as well as their forecast; the committee's summary adds the two
        if is_recovery:
            row.recovery_ytd_actual += rating.ytd_actual
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
            # the months it owes a return for (owes_return(), on the row's values; the state
            # is checked above): those ending after it started
            owed = [m for m in MONTHS if start_date <= month_ends[m]]
            if months := [m for m in owed if m <= overdue_upto and m not in got]:
                late[pk] = months
            if due_month in owed and due_month not in got:
                due.append(pk)
    listed = counted.select_related("organisation", "project_lead", "finance_lead").in_bulk(
        {pk for pk, _ in off_track} | set(late) | set(due)
    )
    for scheme in listed.values():
        scheme.financial_year = financial_year  # the one in hand: no query per scheme
    off_track = [(listed[pk], rating) for pk, rating in off_track]
    overdue = [OverdueReturns(listed[pk], months) for pk, months in late.items()]
    if due_month:
        deadline = return_deadline(financial_year, due_month)
        due = [MissingReturn(listed[pk], due_month, deadline, False) for pk in due]
    shown = [
        row
        for row in rows.values()
        if row.target is not None
        or row.identified
        or row.total_forecast
        or any(row.rag_counts.values())
    ]
    with_target = [r for r in shown if r.target is not None]
    total = TotalRow(
        None,
        sum((r.target for r in with_target), ZERO) if with_target else None,
        with_target=with_target,
        without_target=[r for r in shown if r.target is None],
    )
    if shown and all(r.target is not None and r.allocation for r in shown):
        total.allocation = sum((r.allocation for r in shown), ZERO)
    for row in shown:
        for name in ADDED_UP:
            setattr(total, name, getattr(total, name) + getattr(row, name))
        for status, n in row.rag_counts.items():
            total.rag_counts[status] += n
    off_track.sort(key=lambda pair: (pair[1].status != RED, -pair[1].ytd_shortfall))
    overdue.sort(key=lambda o: (o.scheme.organisation.code, o.scheme.sequence))
    due.sort(key=lambda m: (m.scheme.organisation.code, m.scheme.sequence))
    return Dashboard(financial_year, as_at, shown, total, off_track, overdue, due_month, due)
