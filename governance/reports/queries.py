"""The queries behind the tables: each a fixed handful of aggregates, however many schemes.
Money is summed in SQL as integer pence and becomes exact Decimal pounds here."""

from decimal import Decimal
from functools import reduce
from operator import add

from django.db.models import BigIntegerField, Count, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round

from governance.models import (
    PLAN_FIELDS,
    FinancialYear,
    MonthlyReturn,
    Opportunity,
    OpportunityStatus,
    QippTarget,
    Scheme,
    SchemeState,
    StageWeight,
)
from governance.reports.parts import GRAND_TOTAL, LABEL_FIELDS, Drafts, Figures, Scope

# --- the queries ---


def pounds(pence) -> Decimal:
    return Decimal(pence or 0) / 100


def pence(expression):
    return Cast(Round(expression * 100), BigIntegerField())


def plan_pence(months):
    """The plan of `months` of a scheme, in pence: one SQL expression."""
    if not months:
        return Value(0, output_field=BigIntegerField())
    return pence(reduce(add, [F(PLAN_FIELDS[m - 1]) for m in months]))


def counted_schemes(year: FinancialYear, scope: Scope, system_ids=None):
    """The schemes a report counts: those of the year in the states of its scope."""
    schemes = Scheme.objects.filter(financial_year=year, state__in=scope.states)
    if system_ids is not None:
        schemes = schemes.filter(organisation__system_id__in=system_ids)
    return schemes


def _drafts(state: str, count: int, plan) -> Drafts:
    return Drafts(count, pounds(plan)) if state == SchemeState.DRAFT else Drafts()


def scheme_figures(
    year: FinancialYear, month: int, scope: Scope, *, by: str | None, system_ids=None
) -> dict[str, Figures]:
    """Figures per organisation code or programme area name (by=None: one total): one query.

    A scheme's forecast outturn is the forecast on its latest return at or before the month;
    without one, its actuals to date plus its plan for the months still to come. Grouped by
    state too, so that the drafts among them are counted from the same rows.
    """
    returns = MonthlyReturn.objects.filter(scheme=OuterRef("pk"), month__lte=month).order_by()
    per_scheme = returns.values("scheme")
    actual = Subquery(
        per_scheme.annotate(t=Sum(pence(F("actual")))).values("t"),
        output_field=BigIntegerField(),
    )
    assured = Subquery(
        per_scheme.filter(pmo_assured__isnull=False)
        .annotate(t=Sum(pence(F("pmo_assured"))))
        .values("t"),
        output_field=BigIntegerField(),
    )
    forecast = Subquery(
        returns.filter(forecast_outturn__isnull=False)
        .order_by("-month")
        .values(p=pence(F("forecast_outturn")))[:1],
        output_field=BigIntegerField(),
    )
    group = {"recovery": F("is_recovery"), "scheme_state": F("state")}
    if by is not None:
        group["label"] = F(LABEL_FIELDS[by])
    rows = (
        counted_schemes(year, scope, system_ids)
        .annotate(
            r_actual=Coalesce(actual, Value(0), output_field=BigIntegerField()),
            r_assured=assured,
            r_forecast=forecast,
        )
        .values(**group)
        .annotate(
            schemes=Count("pk"),
            annual_plan=Sum(plan_pence(range(1, 13))),
            ytd_plan=Sum(plan_pence(range(1, month + 1))),
            ytd_actual=Sum("r_actual"),
            ytd_assured=Sum("r_assured"),
            forecast=Sum(
                Coalesce(
                    "r_forecast",
                    F("r_actual") + plan_pence(range(month + 1, 13)),
                    output_field=BigIntegerField(),
                )
            ),
        )
        .order_by()
    )
    found: dict[str, Figures] = {}
    for row in rows:
        figures = Figures(
            ytd_actual=pounds(row["ytd_actual"]),
            ytd_assured=None if row["ytd_assured"] is None else pounds(row["ytd_assured"]),
            drafts=_drafts(row["scheme_state"], row["schemes"], row["annual_plan"]),
        )
        if row["recovery"]:
            figures.recovery_forecast = pounds(row["forecast"])
        else:
            figures.annual_plan = pounds(row["annual_plan"])
            figures.ytd_plan = pounds(row["ytd_plan"])
            figures.existing_forecast = pounds(row["forecast"])
        label = row.get("label", GRAND_TOTAL)
        found[label] = found[label] + figures if label in found else figures
    return found


def identified(
    year: FinancialYear, scope: Scope, system_ids=None
) -> tuple[dict[tuple[str, str], Decimal], Drafts]:
    """Annual plans of the identified (non-recovery) schemes per (organisation, area of spend),
    and the drafts among them: one query."""
    rows = (
        counted_schemes(year, scope, system_ids)
        .filter(is_recovery=False)
        .values_list("organisation__code", "area_of_spend__name", "state")
        .annotate(schemes=Count("pk"), plan=Sum(plan_pence(range(1, 13))))
        .order_by()
    )
    plans: dict[tuple[str, str], Decimal] = {}
    drafts = Drafts()
    for org, area, state, schemes, plan in rows:
        plans[org, area] = plans.get((org, area), Decimal(0)) + pounds(plan)
        drafts += _drafts(state, schemes, plan)
    return plans, drafts


def identified_schemes(year: FinancialYear, scope: Scope, system_ids=None):
    """The schemes behind identified(): one query, with each scheme's annual plan in pence."""
    return (
        counted_schemes(year, scope, system_ids)
        .filter(is_recovery=False)
        .select_related("organisation", "area_of_spend")
        .only(
            "reference", "title", "state", "organisation__code", "area_of_spend__name", "sequence"
        )
        .annotate(plan_pence=plan_pence(range(1, 13)))
        .order_by("area_of_spend__name", "organisation__code", "sequence")
    )


def requirements(year: FinancialYear, system_ids=None) -> dict[str, Decimal]:
    """Each organisation's QIPP requirement for the year, in pounds."""
    return {org: required for org, _system, required in requirement_rows(year, system_ids)}


def requirement_rows(year: FinancialYear, system_ids=None) -> list[tuple[str, str, Decimal]]:
    """(organisation, its system's code, its requirement in pounds) for the year: one query."""
    targets = QippTarget.objects.filter(financial_year=year)
    if system_ids is not None:
        targets = targets.filter(organisation__system_id__in=system_ids)
    rows = targets.values_list(
        "organisation__code", "organisation__system__code", pence(F("requirement"))
    )
    return [(org, system, pounds(p)) for org, system, p in rows]


# --- the pipeline: the identified schemes by state, the open opportunities, the weights ---


def plans_by_state(
    year: FinancialYear, scope: Scope, system_ids=None
) -> list[tuple[str, str, str, int, Decimal]]:
    """(organisation, its system's code, state, how many schemes, their annual plans in
    pounds) of the identified (non-recovery) schemes: one query."""
    rows = (
        counted_schemes(year, scope, system_ids)
        .filter(is_recovery=False)
        .values_list("organisation__code", "organisation__system__code", "state")
        .annotate(schemes=Count("pk"), plan=Sum(plan_pence(range(1, 13))))
        .order_by()
    )
    return [(org, system, state, n, pounds(plan)) for org, system, state, n, plan in rows]


def open_opportunities(year: FinancialYear, system_ids=None) -> list[tuple[str, str, Decimal]]:
    """(organisation, its system's code, the estimated savings of its open opportunities in
    pounds): one query. An opportunity written up as a PID counts as that PID's plan, whatever
    its status says; a closed one not at all."""
    opportunities = Opportunity.objects.filter(
        financial_year=year, status=OpportunityStatus.OPEN, scheme__isnull=True
    )
    if system_ids is not None:
        opportunities = opportunities.filter(organisation__system_id__in=system_ids)
    rows = (
        opportunities.values_list("organisation__code", "organisation__system__code")
        .annotate(saving=Sum(pence(F("estimated_saving"))))
        .order_by()
    )
    return [(org, system, pounds(saving)) for org, system, saving in rows]


def stage_weights(system_codes) -> dict[tuple[str, str], Decimal]:
    """{(system code, stage): weight in percent} set by the systems' admins: one query."""
    rows = StageWeight.objects.filter(system__code__in=system_codes).values_list(
        "system__code", "stage", "weight_percent"
    )
    return {(system, stage): weight for system, stage, weight in rows}


def sorted_labels(labels):
    return sorted(labels, key=lambda label: (label.casefold(), label))


def total(figures) -> Figures:
    return reduce(add, figures, Figures())
