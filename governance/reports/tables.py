"""The four committee tables of DESIGN.md ("Committee reports"), and choosing one: table,
year, month and grouping, checked."""

from dataclasses import dataclass
from decimal import Decimal

from governance.models import (
    FinancialYear,
)
from governance.reports import parts, queries
from governance.reports.parts import (
    BY_CHOICES,
    GRAND_TOTAL,
    TABLES,
    TABLES_WITH_BY,
    UNIDENTIFIED,
    ZERO,
    Cell,
    Column,
    Figures,
    ReportError,
    Row,
    Table,
)

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
    groups = queries.scheme_figures(year, month, by=by, system_ids=system_ids)
    ytd_plan, ytd_actual, ytd_assured, ytd_variance, annual_plan, outturn, variance, pct = (
        SUMMARY_COLUMNS
    )

    def row(label: str, f: Figures, total: bool = False) -> Row:
        # variance = actual - plan in the report's sign: positive is under-delivery; its percent
        # of the plan carries the same sign
        return Row(
            label,
            [
                parts.money(ytd_plan, f.ytd_plan),
                parts.money(ytd_actual, f.ytd_actual),
                parts.money(ytd_assured, f.ytd_assured),
                parts.money(ytd_variance, f.ytd_actual - f.ytd_plan),
                parts.money(annual_plan, f.annual_plan),
                parts.money(outturn, f.forecast),
                parts.money(variance, f.forecast - f.annual_plan),
                parts.percent(pct, f.annual_plan - f.forecast, f.annual_plan),
            ],
            total,
        )

    rows = [row(label, groups[label]) for label in queries.sorted_labels(groups)]
    rows.append(row(GRAND_TOTAL, queries.total(groups.values()), total=True))
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
    )


def forecast(year: FinancialYear, month: int, by: str = "organisation", system_ids=None) -> Table:
    groups = queries.scheme_figures(year, month, by=by, system_ids=system_ids)
    planned, existing, recovery, final = FORECAST_COLUMNS

    def row(label: str, f: Figures, total: bool = False) -> Row:
        return Row(
            label,
            [
                parts.money(planned, f.annual_plan),
                parts.money(existing, f.existing_forecast),
                parts.money(recovery, f.recovery_forecast),
                parts.money(final, f.forecast),
            ],
            total,
        )

    rows = [row(label, groups[label]) for label in queries.sorted_labels(groups)]
    rows.append(row(GRAND_TOTAL, queries.total(groups.values()), total=True))
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
    plans = queries.identified(year, system_ids)
    required = queries.requirements(year, system_ids)
    codes = queries.sorted_labels({org for org, _area in plans} | set(required))
    found = {code: sum((v for (o, _a), v in plans.items() if o == code), ZERO) for code in codes}
    gap = {code: _unidentified(required.get(code), found[code]) for code in codes}
    columns = _organisation_columns(codes)

    def row(label: str, per_org: dict, total: bool = False) -> Row:
        known = [v for v in per_org.values() if v is not None]
        values = [per_org[code] for code in codes] + [sum(known, ZERO)]
        return Row(label, [parts.money(c, v) for c, v in zip(columns, values, strict=True)], total)

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
    )


def area_of_spend(
    year: FinancialYear, month: int, by: str = "organisation", system_ids=None
) -> Table:
    """Identified plans per area of spend (rows) and organisation (columns)."""
    plans = queries.identified(year, system_ids)
    required = queries.requirements(year, system_ids)
    codes = queries.sorted_labels({org for org, _area in plans} | set(required))
    areas = queries.sorted_labels({area for _org, area in plans})
    columns = _organisation_columns(codes)

    def row(label: str, per_org: dict, total: bool = False) -> Row:
        known = [v for v in per_org.values() if v is not None]
        values = [per_org.get(code, ZERO) for code in codes] + [sum(known, ZERO)]
        return Row(label, [parts.money(c, v) for c, v in zip(columns, values, strict=True)], total)

    rows = [row(area, {o: v for (o, a), v in plans.items() if a == area}) for area in areas]
    for number, area_row in enumerate(rows, start=1):
        area_row.anchor = parts.area_anchor(number)
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
    )


@dataclass
class SchemeLine:
    """A scheme behind a figure of the area-of-spend table."""

    pk: int
    reference: str
    title: str
    organisation: str
    state: str
    annual_plan: Cell


@dataclass
class AreaSchemes:
    area: str
    anchor: str  # the id of its list on the page
    schemes: list[SchemeLine]


def area_of_spend_schemes(year: FinancialYear, system_ids=None) -> list[AreaSchemes]:
    """The schemes behind each row of the area-of-spend table, area by area (the drill-down)."""
    plan = Column("annual_plan", "Annual plan")
    by_area: dict[str, list[SchemeLine]] = {}
    for scheme in queries.identified_schemes(year, system_ids):
        by_area.setdefault(scheme.area_of_spend.name, []).append(
            SchemeLine(
                scheme.pk,
                scheme.reference,
                scheme.title,
                scheme.organisation.code,
                scheme.get_state_display(),
                parts.money(plan, queries.pounds(scheme.plan_pence)),
            )
        )
    return [
        AreaSchemes(area, parts.area_anchor(number), by_area[area])
        for number, area in enumerate(queries.sorted_labels(by_area), start=1)
    ]


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
