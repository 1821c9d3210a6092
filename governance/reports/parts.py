"""What a committee table is made of (columns, rows, cells holding the exact figure and the
figure shown) and how a figure is shown: thousands of pounds, whole percents, losses in
brackets."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from governance.models import (
    FinancialYear,
    SchemeState,
)

TABLES = {
    "summary": "Summary",
    "requirement": "Net QIPP requirement",
    "area_of_spend": "Schemes by area of spend",
    "forecast": "Forecast delivery",
}
BY_CHOICES = {"organisation": "Organisation", "programme_area": "Programme area"}
# The other two tables are by organisation by nature.
TABLES_WITH_BY = {"summary", "forecast"}
# A scheme still in development is identified QIPP; a stopped one keeps its plan and actuals.
NOT_COUNTED = [SchemeState.REJECTED, SchemeState.WITHDRAWN]
GRAND_TOTAL = "Grand Total"
UNIDENTIFIED = "Unidentified"
XLSX_MONEY_FORMAT = "#,##0;(#,##0)"
XLSX_PERCENT_FORMAT = '#,##0"%";(#,##0"%")'

ZERO = Decimal(0)
LABEL_FIELDS = {"organisation": "organisation__code", "programme_area": "programme_area__name"}


class ReportError(Exception):
    """A bad choice of table, year, month or grouping; `message` says what, for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- figures ---


def thousands(pounds: Decimal) -> int:
    """Savings in pounds -> the report's £'000, savings negative, half away from zero."""
    return int((-pounds / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


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

    @property
    def as_at(self) -> str:
        return f"as at month {self.month} ({self.year.month_start(self.month):%B %Y})"

    @property
    def heading(self) -> str:
        return f"{self.title}, {self.year.label}, {self.as_at}"

    @property
    def filename(self) -> str:
        by = f"_by_{self.by}" if self.name in TABLES_WITH_BY else ""
        return f"{self.name}{by}_{self.year.start_year}-{self.year.code[2:]}_m{self.month:02d}"


def money(column: Column, pounds: Decimal | None) -> Cell:
    if pounds is None:
        return Cell(column, None, None)
    return Cell(column, -pounds, thousands(pounds))


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
        )
