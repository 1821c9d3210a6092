"""The committee tables of DESIGN.md ("Committee reports"), computed in the database.

Each table costs a fixed handful of aggregate queries, however many schemes there are. Money is
summed in SQL as integer pence: SQLite keeps decimals as floating point, and a float sum can put
a half-thousand on the wrong side. Here the pence become exact Decimal pounds, and every figure
shown, totals included, is rounded from those exact pounds, half away from zero; so a total may
differ from the sum of its rounded rows, as in the published papers.

The tables are plain data (columns, rows of cells holding the exact figure and the figure shown)
that the HTML page, the CSV and XLSX downloads and the command's text table all render.
"""

import csv
import io
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import reduce
from operator import add

from django.db.models import BigIntegerField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round

from governance.models import (
    MONTH_NAMES,
    PLAN_FIELDS,
    FinancialYear,
    MonthlyReturn,
    QippTarget,
    Scheme,
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
_LABEL_FIELDS = {"organisation": "organisation__code", "programme_area": "programme_area__name"}


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

    def value(self, key: str) -> int | None:
        return next(cell.value for cell in self.cells if cell.column.key == key)


@dataclass
class Table:
    name: str
    title: str
    year: FinancialYear
    month: int
    by: str
    label_key: str  # the first CSV column's name
    label_header: str
    columns: list[Column]
    rows: list[Row]
    csv_keys: list[str] = field(default_factory=list)

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


def _money(column: Column, pounds: Decimal | None) -> Cell:
    if pounds is None:
        return Cell(column, None, None)
    return Cell(column, -pounds, thousands(pounds))


def _percent(column: Column, part: Decimal, whole: Decimal) -> Cell:
    if not whole:
        return Cell(column, None, None)
    exact = part / whole * 100
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


# --- the queries ---


def _pounds(pence) -> Decimal:
    return Decimal(pence or 0) / 100


def _pence(expression):
    return Cast(Round(expression * 100), BigIntegerField())


def _plan_pence(months):
    """The plan of `months` of a scheme, in pence: one SQL expression."""
    if not months:
        return Value(0, output_field=BigIntegerField())
    return _pence(reduce(add, [F(PLAN_FIELDS[m - 1]) for m in months]))


def counted_schemes(year: FinancialYear, system_ids=None):
    """The schemes a report counts: those of the year, bar rejected and withdrawn ones."""
    schemes = Scheme.objects.filter(financial_year=year).exclude(state__in=NOT_COUNTED)
    if system_ids is not None:
        schemes = schemes.filter(organisation__system_id__in=system_ids)
    return schemes


def scheme_figures(
    year: FinancialYear, month: int, *, by: str | None, system_ids=None
) -> dict[str, Figures]:
    """Figures per organisation code or programme area name (by=None: one total): one query.

    A scheme's forecast outturn is the forecast on its latest return at or before the month;
    without one, its actuals to date plus its plan for the months still to come.
    """
    returns = MonthlyReturn.objects.filter(scheme=OuterRef("pk"), month__lte=month).order_by()
    per_scheme = returns.values("scheme")
    actual = Subquery(
        per_scheme.annotate(t=Sum(_pence(F("actual")))).values("t"),
        output_field=BigIntegerField(),
    )
    assured = Subquery(
        per_scheme.filter(pmo_assured__isnull=False)
        .annotate(t=Sum(_pence(F("pmo_assured"))))
        .values("t"),
        output_field=BigIntegerField(),
    )
    forecast = Subquery(
        returns.filter(forecast_outturn__isnull=False)
        .order_by("-month")
        .values(p=_pence(F("forecast_outturn")))[:1],
        output_field=BigIntegerField(),
    )
    group = {"recovery": F("is_recovery")}
    if by is not None:
        group["label"] = F(_LABEL_FIELDS[by])
    rows = (
        counted_schemes(year, system_ids)
        .annotate(
            r_actual=Coalesce(actual, Value(0), output_field=BigIntegerField()),
            r_assured=assured,
            r_forecast=forecast,
        )
        .values(**group)
        .annotate(
            annual_plan=Sum(_plan_pence(range(1, 13))),
            ytd_plan=Sum(_plan_pence(range(1, month + 1))),
            ytd_actual=Sum("r_actual"),
            ytd_assured=Sum("r_assured"),
            forecast=Sum(
                Coalesce(
                    "r_forecast",
                    F("r_actual") + _plan_pence(range(month + 1, 13)),
                    output_field=BigIntegerField(),
                )
            ),
        )
        .order_by()
    )
    found: dict[str, Figures] = {}
    for row in rows:
        figures = Figures(
            ytd_actual=_pounds(row["ytd_actual"]),
            ytd_assured=None if row["ytd_assured"] is None else _pounds(row["ytd_assured"]),
        )
        if row["recovery"]:
            figures.recovery_forecast = _pounds(row["forecast"])
        else:
            figures.annual_plan = _pounds(row["annual_plan"])
            figures.ytd_plan = _pounds(row["ytd_plan"])
            figures.existing_forecast = _pounds(row["forecast"])
        label = row.get("label", GRAND_TOTAL)
        found[label] = found[label] + figures if label in found else figures
    return found


def identified(year: FinancialYear, system_ids=None) -> dict[tuple[str, str], Decimal]:
    """Annual plans of the identified (non-recovery) schemes per (organisation, area of spend)."""
    rows = (
        counted_schemes(year, system_ids)
        .filter(is_recovery=False)
        .values_list("organisation__code", "area_of_spend__name")
        .annotate(plan=Sum(_plan_pence(range(1, 13))))
        .order_by()
    )
    return {(org, area): _pounds(plan) for org, area, plan in rows}


def requirements(year: FinancialYear, system_ids=None) -> dict[str, Decimal]:
    """Each organisation's QIPP requirement for the year, in pounds."""
    targets = QippTarget.objects.filter(financial_year=year)
    if system_ids is not None:
        targets = targets.filter(organisation__system_id__in=system_ids)
    rows = targets.values_list("organisation__code", _pence(F("requirement")))
    return {org: _pounds(pence) for org, pence in rows}


def _sorted(labels):
    return sorted(labels, key=lambda label: (label.casefold(), label))


def _total(figures) -> Figures:
    return reduce(add, figures, Figures())


# --- the four tables ---

SUMMARY_COLUMNS = [
    Column("ytd_plan", "YTD Plan"),
    Column("ytd_actual", "YTD Actuals"),
    Column("ytd_assured", "YTD PMO assured"),
    Column("ytd_variance", "YTD Variance"),
    Column("annual_plan", "Annual Plan"),
    Column("forecast_outturn", "Forecast Outturn"),
    Column("annual_variance", "Annual Variance"),
    Column("annual_variance_pct", "Annual variance %", percent=True),
]
FORECAST_COLUMNS = [
    Column("annual_planned", "Annual Planned Savings"),
    Column("existing_forecast", "Existing Schemes Forecast"),
    Column("recovery_forecast", "Recovery Actions Forecast"),
    Column("final_forecast", "Final Forecast Savings"),
]


def summary(year: FinancialYear, month: int, by: str = "organisation", system_ids=None) -> Table:
    groups = scheme_figures(year, month, by=by, system_ids=system_ids)
    ytd_plan, ytd_actual, ytd_assured, ytd_variance, annual_plan, outturn, variance, pct = (
        SUMMARY_COLUMNS
    )

    def row(label: str, f: Figures, total: bool = False) -> Row:
        # variance = actual - plan in the report's sign: positive is under-delivery
        return Row(
            label,
            [
                _money(ytd_plan, f.ytd_plan),
                _money(ytd_actual, f.ytd_actual),
                _money(ytd_assured, f.ytd_assured),
                _money(ytd_variance, f.ytd_actual - f.ytd_plan),
                _money(annual_plan, f.annual_plan),
                _money(outturn, f.forecast),
                _money(variance, f.forecast - f.annual_plan),
                _percent(pct, -(f.forecast - f.annual_plan), -f.annual_plan),
            ],
            total,
        )

    rows = [row(label, groups[label]) for label in _sorted(groups)]
    rows.append(row(GRAND_TOTAL, _total(groups.values()), total=True))
    return Table(
        name="summary",
        title=f"Summary by {BY_CHOICES[by].lower()}",
        year=year,
        month=month,
        by=by,
        label_key=by,
        label_header=BY_CHOICES[by],
        columns=SUMMARY_COLUMNS,
        rows=rows,
        csv_keys=[c.key for c in SUMMARY_COLUMNS if c.key != "ytd_assured"],
    )


def forecast(year: FinancialYear, month: int, by: str = "organisation", system_ids=None) -> Table:
    groups = scheme_figures(year, month, by=by, system_ids=system_ids)
    planned, existing, recovery, final = FORECAST_COLUMNS

    def row(label: str, f: Figures, total: bool = False) -> Row:
        return Row(
            label,
            [
                _money(planned, f.annual_plan),
                _money(existing, f.existing_forecast),
                _money(recovery, f.recovery_forecast),
                _money(final, f.forecast),
            ],
            total,
        )

    rows = [row(label, groups[label]) for label in _sorted(groups)]
    rows.append(row(GRAND_TOTAL, _total(groups.values()), total=True))
    return Table(
        name="forecast",
        title=f"Forecast delivery by {BY_CHOICES[by].lower()}",
        year=year,
        month=month,
        by=by,
        label_key="label",
        label_header=BY_CHOICES[by],
        columns=FORECAST_COLUMNS,
        rows=rows,
        csv_keys=[c.key for c in FORECAST_COLUMNS],
    )


def _organisation_columns(codes) -> list[Column]:
    return [Column(code, code) for code in codes] + [Column("total", "Total")]


def _unidentified(required: Decimal | None, found: Decimal) -> Decimal | None:
    """Requirement minus identified plans; unknown (None) when no target is recorded."""
    return None if required is None else required - found


def requirement(
    year: FinancialYear, month: int, by: str = "organisation", system_ids=None
) -> Table:
    """Identified, Unidentified and Total per organisation, plus a total column."""
    plans = identified(year, system_ids)
    required = requirements(year, system_ids)
    codes = _sorted({org for org, _area in plans} | set(required))
    found = {code: sum((v for (o, _a), v in plans.items() if o == code), ZERO) for code in codes}
    gap = {code: _unidentified(required.get(code), found[code]) for code in codes}
    columns = _organisation_columns(codes)

    def row(label: str, per_org: dict, total: bool = False) -> Row:
        known = [v for v in per_org.values() if v is not None]
        values = [per_org[code] for code in codes] + [sum(known, ZERO)]
        return Row(label, [_money(c, v) for c, v in zip(columns, values, strict=True)], total)

    rows = [
        row("Identified", found),
        row(UNIDENTIFIED, gap),
        row("Total", {c: found[c] + (gap[c] or ZERO) for c in codes}, total=True),
    ]
    return Table(
        name="requirement",
        title="Net QIPP requirement by organisation",
        year=year,
        month=month,
        by="organisation",
        label_key="label",
        label_header="",
        columns=columns,
        rows=rows,
        csv_keys=[c.key for c in columns],
    )


def area_of_spend(
    year: FinancialYear, month: int, by: str = "organisation", system_ids=None
) -> Table:
    """Identified plans per area of spend (rows) and organisation (columns)."""
    plans = identified(year, system_ids)
    required = requirements(year, system_ids)
    codes = _sorted({org for org, _area in plans} | set(required))
    areas = _sorted({area for _org, area in plans})
    columns = _organisation_columns(codes)

    def row(label: str, per_org: dict, total: bool = False) -> Row:
        known = [v for v in per_org.values() if v is not None]
        values = [per_org.get(code, ZERO) for code in codes] + [sum(known, ZERO)]
        return Row(label, [_money(c, v) for c, v in zip(columns, values, strict=True)], total)

    rows = [row(area, {o: v for (o, a), v in plans.items() if a == area}) for area in areas]
    found = {code: sum((v for (o, _a), v in plans.items() if o == code), ZERO) for code in codes}
    gap = {code: _unidentified(required.get(code), found[code]) for code in codes}
    rows.append(row(UNIDENTIFIED, gap))
    rows.append(
        row(GRAND_TOTAL, {c: found[c] + (gap[c] or ZERO) for c in codes}, total=True),
    )
    return Table(
        name="area_of_spend",
        title="Schemes by area of spend",
        year=year,
        month=month,
        by="organisation",
        label_key="area_of_spend",
        label_header="Area of spend",
        columns=columns,
        rows=rows,
        csv_keys=[c.key for c in columns],
    )


BUILDERS = {
    "summary": summary,
    "requirement": requirement,
    "area_of_spend": area_of_spend,
    "forecast": forecast,
}


def parse_selection(table: str, *, year, month, by) -> tuple[FinancialYear, int, str]:
    """Check the user's choices; a ReportError says what is wrong in words they understand."""
    if table not in TABLES:
        raise ReportError(
            f"There is no report called {table!r}: choose one of {', '.join(TABLES)}."
        )
    if not str(year or "").strip():
        raise ReportError("Choose a financial year, e.g. 2019/20.")
    start = FinancialYear.parse_label(str(year))
    if start is None:
        raise ReportError(f"{year!r} is not a financial year: write it like 2019/20.")
    try:
        month = int(str(month).strip())
    except ValueError:
        raise ReportError(f"{month!r} is not a month: give a number from 1 to 12.") from None
    if not 1 <= month <= 12:
        raise ReportError(f"Month {month} is outside the year: give a number from 1 to 12.")
    by = str(by or "organisation")
    if by not in BY_CHOICES:
        raise ReportError(f"Group by organisation or programme_area, not {by!r}.")
    try:
        financial_year = FinancialYear.objects.get(start_year=start)
    except FinancialYear.DoesNotExist:
        raise ReportError(f"There is no financial year {year} in the system yet.") from None
    return financial_year, month, by


def build(
    table: str, *, year: FinancialYear, month: int, by: str = "organisation", system_ids=None
):
    """One of the four tables; `system_ids` limits it to those systems' organisations."""
    return BUILDERS[table](
        year, month, by if table in TABLES_WITH_BY else "organisation", system_ids
    )


# --- renderers ---


# A cell that starts with one of these is read as a formula by spreadsheets (OWASP "CSV
# injection"): a name typed in the admin must never become one in a download.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: str) -> str:
    """A text cell of a CSV, with a quote before it when it would start a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def to_csv(table: Table) -> str:
    """Header row first, plain signed £'000 and whole percents, as finance teams' scripts read.
    Names (organisations, areas) are text cells that no spreadsheet runs as a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([as_text(table.label_key), *(as_text(k) for k in table.csv_keys)])
    for row in table.rows:
        by_key = {cell.column.key: cell.value for cell in row.cells}
        writer.writerow(
            [as_text(row.label), *("" if by_key[k] is None else by_key[k] for k in table.csv_keys)]
        )
    return out.getvalue()


def to_text(table: Table) -> str:
    """An aligned table like the committee paper: brackets for savings, thousands separated."""
    header = [table.label_header, *(c.label for c in table.columns)]
    body = [[row.label, *(cell.text for cell in row.cells)] for row in table.rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells):
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "-" * len(line(header))
    lines = [table.heading, "£'000; savings shown as negative figures in brackets", ""]
    lines += [line(header), rule]
    for row, cells in zip(table.rows, body, strict=True):
        if row.total:
            lines.append(rule)
        lines.append(line(cells))
    return "\n".join(lines) + "\n"


def to_xlsx(table: Table) -> bytes:
    """One sheet: title, header, rows; numbers stay numbers, shown in the papers' brackets."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = TABLES[table.name][:31]
    sheet.append([table.heading])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append(["£'000; savings shown as negative figures in brackets"])
    sheet.append([])
    sheet.append([table.label_header, *(c.label for c in table.columns)])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for row in table.rows:
        sheet.append([row.label, *(cell.value for cell in row.cells)])
        for cell, source in zip(sheet[sheet.max_row][1:], row.cells, strict=True):
            cell.number_format = XLSX_PERCENT_FORMAT if source.column.percent else XLSX_MONEY_FORMAT
        if row.total:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = (
        max([len(table.label_header), *(len(r.label) for r in table.rows)]) + 2
    )
    for index in range(2, len(table.columns) + 2):
        sheet.column_dimensions[get_column_letter(index)].width = 14
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
    # every text cell is stored as text: openpyxl would store one starting with "=" as a
    # formula, and a name typed in the admin must never become one
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- the chart: cumulative plan, actual, forecast and assured value by month ---


@dataclass
class Series:
    name: str
    points: list[tuple[int, Decimal]]  # (month, cumulative pounds saved)
    colour: str
    dashed: bool = False


def chart(year: FinancialYear, month: int, system_ids=None) -> list[Series]:
    """Cumulative savings by month for the selection, savings positive: three queries.

    The forecast runs from the actuals to date to the forecast outturn at month 12, spread over
    the remaining months in proportion to their plan (evenly where there is no plan left).
    """
    schemes = counted_schemes(year, system_ids)
    plan_row = schemes.filter(is_recovery=False).aggregate(
        **{f"m{m}": Sum(_plan_pence([m])) for m in range(1, 13)}
    )
    plan = [_pounds(plan_row[f"m{m}"]) for m in range(1, 13)]
    delivered = (
        MonthlyReturn.objects.filter(scheme__in=schemes, month__lte=month)
        .values("month")
        .annotate(actual=Sum(_pence(F("actual"))), assured=Sum(_pence(F("pmo_assured"))))
        .order_by()
    )
    actual = {r["month"]: _pounds(r["actual"]) for r in delivered}
    assured = {r["month"]: r["assured"] for r in delivered}
    outturn = _total(scheme_figures(year, month, by=None, system_ids=system_ids).values())

    def cumulative(values):
        running, points = ZERO, []
        for m, v in values:
            running += v
            points.append((m, running))
        return points

    plan_points = cumulative(zip(range(1, 13), plan, strict=True))
    actual_points = cumulative((m, actual.get(m, ZERO)) for m in range(1, month + 1))
    # the assured line stops at the last month the PMO has assured anything
    assured_to = max((m for m, v in assured.items() if v is not None), default=0)
    assured_points = cumulative((m, _pounds(assured.get(m))) for m in range(1, assured_to + 1))
    to_date = actual_points[-1][1]
    remaining_plan = plan[month:]
    still_to_come = outturn.forecast - to_date
    forecast_points = [(month, to_date if remaining_plan else outturn.forecast)]
    running = to_date
    for offset, planned in enumerate(remaining_plan, start=1):
        if sum(remaining_plan):
            running += still_to_come * planned / sum(remaining_plan)
        else:
            running += still_to_come / len(remaining_plan)
        forecast_points.append((month + offset, running))
    series = [
        Series("Plan", plan_points, "#005eb8"),
        Series("Actual", actual_points, "#007f3b"),
        Series("Forecast", forecast_points, "#ed8b00", dashed=True),
    ]
    if assured_points:
        series.append(Series("PMO assured", assured_points, "#7c2855"))
    return series


def _tick_step(span: Decimal) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving at most five intervals."""
    magnitude = Decimal(10) ** (len(str(int(span / 5))) - 1)
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if magnitude * factor * 5 >= span:
            return magnitude * factor
    return magnitude * 10


@dataclass
class ChartLine:
    name: str
    colour: str
    dashed: bool
    points: str  # "x,y x,y ..." for the polyline
    key_x: int  # where its entry in the key starts


@dataclass
class ChartTick:
    y: str
    label: str  # £'000


@dataclass
class Chart:
    """Where each line, tick and label of the chart goes, in the SVG's own units, for
    templates/reports/_chart.html to draw: no script, nothing fetched."""

    title: str
    width: int
    height: int
    left: int  # the plot's left edge
    right: int  # and its right edge
    plot_top: int
    plot_bottom: int
    ticks: list[ChartTick]
    months: list[tuple[str, str]]  # (x, name)
    lines: list[ChartLine]

    @property
    def middle(self) -> str:
        """Half way down the plot, where the axis title goes."""
        return f"{(self.plot_top + self.plot_bottom) / 2:.0f}"


def chart_drawing(series: list[Series], *, title: str) -> Chart:
    """The chart of `series`: the axis runs from tick to tick, about five ticks of a round
    step, months along the bottom."""
    width, height = 720, 300
    left, right, top, bottom = 70, 20, 20, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for _m, v in s.points]
    highest, lowest = max([Decimal(5000), *values]), min([ZERO, *values])
    step = _tick_step(highest - lowest)
    top_value = (highest / step).to_integral_value(rounding=ROUND_CEILING) * step
    bottom_value = (lowest / step).to_integral_value(rounding=ROUND_FLOOR) * step
    span = top_value - bottom_value

    def x(month: int) -> str:
        return f"{left + plot_w * (month - 1) / 11:.1f}"

    def y(value: Decimal) -> str:
        return f"{top + plot_h * float((top_value - value) / span):.1f}"

    ticks = [
        ChartTick(y(bottom_value + step * tick), f"{thousands(-(bottom_value + step * tick)):,}")
        for tick in range(int(span / step) + 1)
    ]
    return Chart(
        title=title,
        width=width,
        height=height,
        left=left,
        right=width - right,
        plot_top=top,
        plot_bottom=top + plot_h,
        ticks=ticks,
        months=[(x(m), name) for m, name in enumerate(MONTH_NAMES, start=1)],
        lines=[
            ChartLine(
                name=s.name,
                colour=s.colour,
                dashed=s.dashed,
                points=" ".join(f"{x(m)},{y(v)}" for m, v in s.points),
                key_x=left + index * 140,
            )
            for index, s in enumerate(series)
        ],
    )
