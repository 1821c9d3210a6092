"""What a committee table is made of (columns, rows, cells holding the exact figure and the
figure shown), what it counts (its scope: which scheme states, whether drafts are in) and how a
figure is shown: thousands of pounds, whole percents, losses in brackets."""

from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import floor

from governance.models import (
    FinancialYear,
    SchemeState,
)

TABLES = {
    "summary": "Summary",
    "requirement": "Net QIPP requirement",
    "area_of_spend": "Schemes by area of spend",
    "forecast": "Forecast delivery",
    "recurrence": "Recurrent and one-off savings",
    "carry_forward": "Recurrent savings delivered and carried into next year",
}
BY_CHOICES = {"organisation": "Organisation", "programme_area": "Programme area"}
# The others are by organisation by nature: a carried plan line is an organisation's.
TABLES_WITH_BY = {"summary", "forecast", "recurrence"}
# A scheme still in development is identified QIPP; a stopped one keeps its plan and actuals.
NOT_COUNTED = [SchemeState.REJECTED, SchemeState.WITHDRAWN]
GRAND_TOTAL = "Grand Total"
UNIDENTIFIED = "Unidentified"
XLSX_MONEY_FORMAT = "#,##0;(#,##0)"
XLSX_PERCENT_FORMAT = '#,##0"%";(#,##0"%")'

ZERO = Decimal(0)
LABEL_FIELDS = {"organisation": "organisation__code", "programme_area": "programme_area__name"}


# --- what a table counts ---


@dataclass(frozen=True)
class Scope:
    """Which schemes a table counts: those in `states`; with `opportunities`, the requirement
    table's pipeline rows count the open opportunities too."""

    key: str  # as the page's address and the command write it
    label: str
    states: tuple[SchemeState, ...]
    opportunities: bool = False

    @property
    def includes_drafts(self) -> bool:
        return SchemeState.DRAFT in self.states

    @property
    def counts(self) -> str:
        """Which states it counts and whether drafts are in, in one sentence for every output:
        'States counted: Approved, In delivery, Completed, Stopped; drafts are not in.'"""
        named = ", ".join(SchemeState(state).label for state in self.states)
        left_out = [SchemeState(state).label for state in SchemeState if state not in self.states]
        but = f" (every state but {' and '.join(left_out)})" if len(left_out) <= 2 else ""
        drafts = "drafts are in" if self.includes_drafts else "drafts are not in"
        return f"States counted: {named}{but}; {drafts}."


# The committee's figures: what has been signed off, and what became of it.
DELIVERY = Scope(
    "delivery",
    "approved and in delivery",
    (SchemeState.APPROVED, SchemeState.IN_DELIVERY, SchemeState.COMPLETED, SchemeState.STOPPED),
)
# Everything still in play: drafts and the PIDs in review too, and the open opportunities.
PIPELINE = Scope(
    "pipeline",
    "whole pipeline",
    tuple(state for state in SchemeState if state not in NOT_COUNTED),
    opportunities=True,
)
SCOPES = {scope.key: scope for scope in (DELIVERY, PIPELINE)}
# Delivery against plan is judged on the approved schemes. The requirement table weighs the
# whole pipeline against the gap; the area-of-spend table splits its Identified row by area
# (the same schemes, the same Unidentified row), so it counts the same scope.
DEFAULT_SCOPES = {
    "summary": DELIVERY,
    "requirement": PIPELINE,
    "area_of_spend": PIPELINE,
    "forecast": DELIVERY,
    "recurrence": DELIVERY,
    "carry_forward": DELIVERY,
}


@dataclass
class Drafts:
    """The draft PIDs a table counts: how many, and their annual plans in exact pounds."""

    count: int = 0
    plan: Decimal = ZERO

    def __add__(self, other: "Drafts") -> "Drafts":
        return Drafts(self.count + other.count, self.plan + other.plan)

    @property
    def note(self) -> str:
        """'Includes 3 draft PIDs, with annual plans of (1,200).', in the table's £'000 (never
        pounds and £'000 in one sentence). Every draft counted, whether or not the reader may
        open it: a draft opens only to its team and its PMO."""
        if not self.count:
            return "Includes no draft PIDs."
        plural = "" if self.count == 1 else "s"
        return (
            f"Includes {self.count} draft PID{plural}, with annual plans of "
            f"{bracketed(thousands(self.plan))}. A draft opens only to its team and the PMO of "
            "its organisation."
        )


def drafts_said(scope: Scope, drafts: Drafts) -> Drafts | None:
    """What a table says of its drafts: nothing when its scope leaves them out."""
    return drafts if scope.includes_drafts else None


class ReportError(Exception):
    """A bad choice of table, year, month, grouping or scope; `message` says what, for the
    user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- figures ---


def thousands(pounds: Decimal) -> int:
    """Savings in pounds -> the report's £'000, savings negative, half away from zero."""
    return int((-pounds / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def thousands_exactly(pounds: Fraction) -> int:
    """thousands() of an exact fraction of pounds: savings negative, half away from zero."""
    shown = -pounds / 1000
    rounded = floor(abs(shown) + Fraction(1, 2))
    return rounded if shown >= 0 else -rounded


def whole_percent(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def bracketed(value: int | None, suffix: str = "") -> str:
    """-19647 -> '(19,647)', as the committee papers print it."""
    if value is None:
        return ""
    if value < 0:
        return f"({-value:,}{suffix})"
    return f"{value:,}{suffix}"


def area_anchor(number: int) -> str:
    """The id of the drill-down list of the `number`th area of spend, in label order."""
    return f"area-{number}"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    percent: bool = False


@dataclass
class Cell:
    column: Column
    exact: Decimal | None  # pounds in the report's sign (savings negative), or the exact percent
    value: int | None  # as shown: £'000, or a whole percent

    @property
    def text(self) -> str:
        return bracketed(self.value, "%" if self.column.percent else "")


@dataclass
class Row:
    label: str
    cells: list[Cell]
    total: bool = False
    anchor: str = ""  # the id of the list of its schemes on the page, where there is one

    def value(self, key: str) -> int | None:
        return next(cell.value for cell in self.cells if cell.column.key == key)


@dataclass
class Table:
    name: str
    title: str
    year: FinancialYear
    month: int
    by: str
    label_key: str  # what the first column holds, for code that reads rows by key
    label_header: str
    columns: list[Column]
    rows: list[Row]
    scope: Scope
    drafts: Drafts | None = None  # the drafts it counts; None when its scope leaves them out
    notes: list[str] = field(default_factory=list)  # what its rows mean, beyond the scope

    @property
    def as_at(self) -> str:
        return f"as at month {self.month} ({self.year.month_start(self.month):%B %Y})"

    @property
    def heading(self) -> str:
        return f"{self.title}, {self.year.label}, {self.as_at}, {self.scope.label}"

    @property
    def counts(self) -> str:
        """The states it counts, then (when its scope takes drafts in) how many and how much:
        said once, under the table, in every output but the CSV (whose name says the scope)."""
        lines = [self.scope.counts]
        if self.drafts is not None:
            lines.append(self.drafts.note)
        return " ".join(lines)

    @property
    def filename(self) -> str:
        by = f"_by_{self.by}" if self.name in TABLES_WITH_BY else ""
        year = f"{self.year.start_year}-{self.year.code[2:]}"
        return f"{self.name}{by}_{year}_m{self.month:02d}_{self.scope.key}"


def money(column: Column, pounds: Decimal | None) -> Cell:
    if pounds is None:
        return Cell(column, None, None)
    return Cell(column, -pounds, thousands(pounds))


def money_exactly(column: Column, pounds: Fraction) -> Cell:
    """money() of an exact fraction of pounds (a share of a return): the figure shown is
    rounded from the fraction itself; the Decimal beside it is only near it."""
    return Cell(column, -Decimal(pounds.numerator) / pounds.denominator, thousands_exactly(pounds))


def percent(column: Column, part: Decimal, whole: Decimal) -> Cell:
    """part as a percent of whole, with part's sign (a variance's percent has its sign)."""
    if not whole:
        return Cell(column, None, None)
    exact = part / abs(whole) * 100
    return Cell(column, exact, whole_percent(exact))


@dataclass
class Figures:
    """Exact pounds of a group of schemes as at month N, savings positive.

    Plans count the original plan only (recovery actions excluded); actuals, assured values and
    forecasts count every scheme, existing and recovery kept apart for the forecast table.
    """

    annual_plan: Decimal = ZERO
    ytd_plan: Decimal = ZERO
    ytd_actual: Decimal = ZERO
    ytd_assured: Decimal | None = None
    existing_forecast: Decimal = ZERO
    recovery_forecast: Decimal = ZERO
    drafts: Drafts = field(default_factory=Drafts)  # the drafts among them, recovery ones too

    @property
    def forecast(self) -> Decimal:
        return self.existing_forecast + self.recovery_forecast

    def __add__(self, other: "Figures") -> "Figures":
        assured = [a for a in (self.ytd_assured, other.ytd_assured) if a is not None]
        return Figures(
            annual_plan=self.annual_plan + other.annual_plan,
            ytd_plan=self.ytd_plan + other.ytd_plan,
            ytd_actual=self.ytd_actual + other.ytd_actual,
            ytd_assured=sum(assured, ZERO) if assured else None,
            existing_forecast=self.existing_forecast + other.existing_forecast,
            recovery_forecast=self.recovery_forecast + other.recovery_forecast,
            drafts=self.drafts + other.drafts,
        )


def _add(first, second):
    """The sum of two dataclasses of figures, field by field."""
    return type(first)(
        **{f.name: getattr(first, f.name) + getattr(second, f.name) for f in fields(first)}
    )


@dataclass
class Kinds:
    """Exact pounds of a group of schemes by kind of saving: the plans for the whole year,
    savings positive, and the investment, pounds spent. Every scheme counted, recovery actions
    too: what recurs and what it costs matter whichever plan a saving is in."""

    annual_plan: Decimal = ZERO
    recurrent_plan: Decimal = ZERO
    cash_releasing_plan: Decimal = ZERO
    investment_one_off: Decimal = ZERO
    investment_recurring: Decimal = ZERO
    full_year_effect: Decimal = ZERO
    drafts: Drafts = field(default_factory=Drafts)

    @property
    def non_recurrent_plan(self) -> Decimal:
        return self.annual_plan - self.recurrent_plan

    @property
    def non_cash_releasing_plan(self) -> Decimal:
        return self.annual_plan - self.cash_releasing_plan

    @property
    def net_plan(self) -> Decimal:
        """The gross plan less this year's investment, one-off and recurring (Scheme.net_saving)."""
        return self.annual_plan - self.investment_one_off - self.investment_recurring

    __add__ = _add


@dataclass
class Carry:
    """Exact pounds of a group of schemes' recurrent savings as at month N, savings positive:
    planned and delivered to date, the full-year effect, what next year's plan carries of it
    and the full-year effect not carried yet. Recurrent delivered is a sum of shares of returns
    (a fraction of a penny), kept exact as a Fraction."""

    recurrent_plan: Decimal = ZERO
    recurrent_delivered: Fraction = Fraction(0)
    full_year_effect: Decimal = ZERO
    carried: Decimal = ZERO
    not_carried: Decimal = ZERO
    drafts: Drafts = field(default_factory=Drafts)

    __add__ = _add
