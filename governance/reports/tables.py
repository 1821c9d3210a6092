"""The committee tables of DESIGN.md ("Committee reports"), and choosing one: table, year,
month, grouping and scope, checked."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.text import Truncator

from governance.models import (
    DEFAULT_WEIGHTS,
    STAGE_OF_STATE,
    FinancialYear,
    PipelineStage,
    SchemeState,
)
from governance.reports import parts, queries
from governance.reports.parts import (
    BY_CHOICES,
    DEFAULT_SCOPES,
    GRAND_TOTAL,
    SCOPES,
    TABLES,
    TABLES_WITH_BY,
    UNIDENTIFIED,
    ZERO,
    Cell,
    Column,
    Drafts,
    Figures,
    ReportError,
    Row,
    Scope,
    Table,
)
from governance.reports.recurring import carry_forward, recurrence

# --- the tables ---

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


def summary(
    year: FinancialYear,
    month: int,
    by: str = "organisation",
    system_ids=None,
    scope: Scope = DEFAULT_SCOPES["summary"],
) -> Table:
    groups = queries.scheme_figures(year, month, scope, by=by, system_ids=system_ids)
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
    grand_total = queries.total(groups.values())
    rows.append(row(GRAND_TOTAL, grand_total, total=True))
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
        scope=scope,
        drafts=parts.drafts_said(scope, grand_total.drafts),
    )


def forecast(
    year: FinancialYear,
    month: int,
    by: str = "organisation",
    system_ids=None,
    scope: Scope = DEFAULT_SCOPES["forecast"],
) -> Table:
    groups = queries.scheme_figures(year, month, scope, by=by, system_ids=system_ids)
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
    grand_total = queries.total(groups.values())
    rows.append(row(GRAND_TOTAL, grand_total, total=True))
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
        scope=scope,
        drafts=parts.drafts_said(scope, grand_total.drafts),
    )


def _organisation_columns(codes) -> list[Column]:
    return [Column(code, code) for code in codes] + [Column("total", "Total")]


def _unidentified(required: Decimal | None, found: Decimal) -> Decimal | None:
    """Requirement minus identified plans; unknown (None) when no target is recorded."""
    return None if required is None else required - found


def _percent(weight: Decimal) -> str:
    """50.00 -> '50%', 37.50 -> '37.5%'."""
    return f"{weight.normalize():f}%"


def _weights_label(stage: PipelineStage, weights: dict[str, Decimal], system_of: dict) -> str:
    """The weight shown beside a stage: '(50%)', or each system's where the table's systems
    differ: '(LLR 40%, NOT 50%)'."""
    by_system = {system_of[code]: weight for code, weight in weights.items()}
    if len(set(by_system.values())) <= 1:
        return f"({_percent(next(iter(by_system.values()), DEFAULT_WEIGHTS[stage]))})"
    shown = ", ".join(f"{system} {_percent(by_system[system])}" for system in sorted(by_system))
    return f"({shown})"


def _stages(scope: Scope) -> list[PipelineStage]:
    """The stages of the pipeline a scope counts, in the pipeline's order."""
    counted = {STAGE_OF_STATE[state] for state in scope.states}
    if scope.opportunities:
        counted.add(PipelineStage.OPPORTUNITY)
    return [stage for stage in PipelineStage if stage in counted]


def _by_stage(stages, codes, by_state, opportunities) -> tuple[dict, Drafts]:
    """{stage: {organisation: exact pounds}}: the PIDs' annual plans by the stage of their
    state, the open opportunities' estimated savings; and the drafts among the PIDs."""
    in_stage = {stage: dict.fromkeys(codes, ZERO) for stage in stages}
    drafts = Drafts()
    for org, _system, state, schemes, plan in by_state:
        in_stage[STAGE_OF_STATE[state]][org] += plan
        if state == SchemeState.DRAFT:
            drafts += Drafts(schemes, plan)
    for org, _system, saving in opportunities:
        in_stage[PipelineStage.OPPORTUNITY][org] += saving
    return in_stage, drafts


def requirement(
    year: FinancialYear,
    month: int,
    by: str = "organisation",
    system_ids=None,
    scope: Scope = DEFAULT_SCOPES["requirement"],
) -> Table:
    """Identified, Unidentified and Total per organisation, plus a total column; then the
    identified QIPP by stage of the pipeline, and risk-weighted by each organisation's system's
    weights, with the gap left after them. Four queries however many schemes."""
    by_state = queries.plans_by_state(year, scope, system_ids)
    targets = queries.requirement_rows(year, system_ids)
    opportunities = queries.open_opportunities(year, system_ids) if scope.opportunities else []
    system_of = {org: system for org, system, *_rest in by_state + targets + opportunities}
    weights = queries.stage_weights(set(system_of.values()))
    codes = queries.sorted_labels(system_of)
    columns = _organisation_columns(codes)
    required = {org: pounds for org, _system, pounds in targets}

    stages = _stages(scope)
    in_stage, drafts = _by_stage(stages, codes, by_state, opportunities)
    # the committee's Identified is the PIDs' plans; an opportunity is not a PID yet
    found = {
        code: sum((in_stage[s][code] for s in stages if s != PipelineStage.OPPORTUNITY), ZERO)
        for code in codes
    }
    gap = {code: _unidentified(required.get(code), found[code]) for code in codes}
    # each organisation's weights are its system's, where its administrator has set them
    weight = {
        stage: {
            code: weights.get((system_of[code], stage), DEFAULT_WEIGHTS[stage]) for code in codes
        }
        for stage in stages
    }
    weighted = {
        stage: {code: in_stage[stage][code] * weight[stage][code] / 100 for code in codes}
        for stage in stages
    }
    risk_weighted = {code: sum((weighted[s][code] for s in stages), ZERO) for code in codes}

    def row(label: str, per_org: dict, total: bool = False) -> Row:
        known = [v for v in per_org.values() if v is not None]
        values = [per_org[code] for code in codes] + [sum(known, ZERO)]
        return Row(label, [parts.money(c, v) for c, v in zip(columns, values, strict=True)], total)

    rows = [
        row("Identified", found),
        row(UNIDENTIFIED, gap),
        row("Total", {c: found[c] + (gap[c] or ZERO) for c in codes}, total=True),
    ]
    rows += [row(f"Identified: {stage.label}", in_stage[stage]) for stage in stages]
    rows += [
        row(
            f"Risk-weighted: {stage.label} {_weights_label(stage, weight[stage], system_of)}",
            weighted[stage],
        )
        for stage in stages
    ]
    rows.append(row("Risk-weighted identified", risk_weighted, total=True))
    rows.append(
        row(
            "Unidentified after risk weighting",
            {code: _unidentified(required.get(code), risk_weighted[code]) for code in codes},
        )
    )
    notes = [
        "Identified is the annual plans of the PIDs counted (recovery actions are not "
        "identified QIPP); Unidentified is the requirement less Identified.",
        "Risk-weighted: each stage's value times its weight, the weight of the organisation's "
        "system (set by its administrator), else the default.",
    ]
    if scope.opportunities:
        notes.append(
            "Opportunity: the estimated savings of the open opportunities, not yet PIDs, so "
            "not in Identified; they count in the risk-weighted rows. One written up as a PID "
            "counts as that PID's plan."
        )
    else:
        notes.append("Opportunities count in the whole pipeline only.")
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
        scope=scope,
        drafts=parts.drafts_said(scope, drafts),
        notes=notes,
    )


def area_of_spend(
    year: FinancialYear,
    month: int,
    by: str = "organisation",
    system_ids=None,
    scope: Scope = DEFAULT_SCOPES["area_of_spend"],
) -> Table:
    """Identified plans per area of spend (rows) and organisation (columns)."""
    plans, drafts = queries.identified(year, scope, system_ids)
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
        scope=scope,
        drafts=parts.drafts_said(scope, drafts),
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


def area_of_spend_schemes(
    year: FinancialYear, system_ids=None, scope: Scope = DEFAULT_SCOPES["area_of_spend"]
) -> list[AreaSchemes]:
    """The schemes behind each row of the area-of-spend table, area by area (the drill-down)."""
    plan = Column("annual_plan", "Annual plan")
    by_area: dict[str, list[SchemeLine]] = {}
    for scheme in queries.identified_schemes(year, scope, system_ids):
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
    "recurrence": recurrence,
    "carry_forward": carry_forward,
}


def _typed(value) -> str:
    """A value the user typed, quoted as a message repeats it: cut to 40 characters, so that a
    pasted page does not fill the message."""
    return repr(Truncator(str(value)).chars(40))


def parse_selection(table: str, *, year, month, by) -> tuple[FinancialYear, int, str]:
    """Check the user's choices; a ReportError says what is wrong in words they understand."""
    if table not in TABLES:
        raise ReportError(
            f"There is no report called {_typed(table)}: choose one of {', '.join(TABLES)}."
        )
    if not str(year or "").strip():
        raise ReportError("Choose a financial year, e.g. 2019/20.")
    start = FinancialYear.parse_label(str(year))
    if start is None:
        raise ReportError(f"{_typed(year)} is not a financial year: write it like 2019/20.")
    try:
        month = int(str(month).strip())
    except ValueError:
        raise ReportError(f"{_typed(month)} is not a month: give a number from 1 to 12.") from None
    if not 1 <= month <= 12:
        raise ReportError(
            f"Month {Truncator(month).chars(40)} is outside the year: give a number from 1 to 12."
        )
    by = str(by or "organisation")
    if by not in BY_CHOICES:
        raise ReportError(f"Group by organisation or programme area, not {_typed(by)}.")
    try:
        financial_year = FinancialYear.objects.get(start_year=start)
    except FinancialYear.DoesNotExist:
        raise ReportError(
            f"There is no financial year {Truncator(year).chars(40)} in the system yet."
        ) from None
    return financial_year, month, by


def parse_scope(table: str, scope) -> Scope:
    """What the table counts, as chosen (blank: the table's own default); a ReportError for
    anything else."""
    key = str(scope or "").strip() or DEFAULT_SCOPES[table].key
    if key not in SCOPES:
        choices = " or ".join(f"{s.key} ({s.label})" for s in SCOPES.values())
        raise ReportError(f"Choose what the table counts: {choices}, not {_typed(scope)}.")
    return SCOPES[key]


def build(
    table: str,
    *,
    year: FinancialYear,
    month: int,
    by: str = "organisation",
    system_ids=None,
    scope: Scope | None = None,
):
    """One of the tables; `system_ids` limits it to those systems' organisations; `scope`
    says which schemes it counts (default: the table's own, DEFAULT_SCOPES)."""
    return BUILDERS[table](
        year,
        month,
        by if table in TABLES_WITH_BY else "organisation",
        system_ids,
        scope or DEFAULT_SCOPES[table],
    )
