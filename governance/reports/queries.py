"""The queries behind the tables: each a fixed handful of aggregates, however many schemes.
Money is summed in SQL as integer pence and becomes exact Decimal pounds here."""

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from functools import reduce
from operator import add

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DecimalField,
    F,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round

from governance.models import (
    PLAN_FIELDS,
    RECURRENT_FIELDS,
    FinancialYear,
    MonthlyReturn,
    Opportunity,
    OpportunityStatus,
    QippTarget,
    Recurrence,
    Scheme,
    SchemeState,
    StageWeight,
)
from governance.reports.parts import (
    GRAND_TOTAL,
    LABEL_FIELDS,
    NOT_COUNTED,
    Carry,
    Drafts,
    Figures,
    Kinds,
    Scope,
)

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


def recurrent_pence(months):
    """The recurrent part of the plan of `months` of a scheme, in pence: all of it for a
    recurrent saving, none of a non-recurrent one, the parts given for a mixed one (a month
    left blank: none). One SQL expression, as Scheme.recurrent_plan works it out."""
    parts = [Coalesce(F(RECURRENT_FIELDS[m - 1]), Value(Decimal(0))) for m in months]
    return Case(
        When(recurrence=Recurrence.RECURRENT, then=plan_pence(months)),
        When(recurrence=Recurrence.MIXED, then=pence(reduce(add, parts)) if parts else Value(0)),
        default=Value(0),
        output_field=BigIntegerField(),
    )


def full_year_effect_pence():
    """The last month's recurrent saving twelve times (Scheme.full_year_effect), in pence."""
    return recurrent_pence([12]) * 12


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


def kinds(year: FinancialYear, scope: Scope, *, by: str, system_ids=None) -> dict[str, Kinds]:
    """The plans by kind of saving and the investment, per organisation code or programme
    area name: one query, grouped by state (for the drafts) and cash-releasing or not."""
    rows = (
        counted_schemes(year, scope, system_ids)
        .values(label=F(LABEL_FIELDS[by]), scheme_state=F("state"), cash=F("cash_releasing"))
        .annotate(
            schemes=Count("pk"),
            annual_plan=Sum(plan_pence(range(1, 13))),
            recurrent_plan=Sum(recurrent_pence(range(1, 13))),
            one_off=Sum(pence(F("investment_one_off"))),
            recurring=Sum(pence(F("investment_recurring"))),
            full_year_effect=Sum(full_year_effect_pence()),
        )
        .order_by()
    )
    found: dict[str, Kinds] = {}
    for row in rows:
        annual_plan = pounds(row["annual_plan"])
        kinds = Kinds(
            annual_plan=annual_plan,
            recurrent_plan=pounds(row["recurrent_plan"]),
            cash_releasing_plan=annual_plan if row["cash"] else Decimal(0),
            investment_one_off=pounds(row["one_off"]),
            investment_recurring=pounds(row["recurring"]),
            full_year_effect=pounds(row["full_year_effect"]),
            drafts=_drafts(row["scheme_state"], row["schemes"], row["annual_plan"]),
        )
        label = row["label"]
        found[label] = found[label] + kinds if label in found else kinds
    return found


def carried(year: FinancialYear, month: int, scope: Scope, system_ids=None) -> dict[str, Carry]:
    """The recurrent savings of each organisation as at month N (but what was delivered: see
    recurrent_delivered()), and what the next year's plan carries of them: one query.

    Carried is the annual plan of the plan line of year Y+1 carried on from each scheme counted
    (Scheme.carried_from), in any state but rejected and withdrawn: a carried plan its project
    lead has yet to confirm counts as it stands. Not yet carried is the full-year effect of the
    schemes counted that have no such line.
    """
    next_line = (
        Scheme.objects.filter(
            carried_from=OuterRef("pk"), financial_year__start_year=year.start_year + 1
        )
        .exclude(state__in=NOT_COUNTED)
        .order_by()
    )
    carried_plan = Subquery(
        next_line.values(p=plan_pence(range(1, 13)))[:1], output_field=BigIntegerField()
    )
    rows = (
        counted_schemes(year, scope, system_ids)
        .annotate(r_carried=carried_plan)
        .values(label=F("organisation__code"), scheme_state=F("state"))
        .annotate(
            schemes=Count("pk"),
            annual_plan=Sum(plan_pence(range(1, 13))),
            recurrent_plan=Sum(recurrent_pence(range(1, month + 1))),
            full_year_effect=Sum(full_year_effect_pence()),
            carried=Sum("r_carried"),
            not_carried=Sum(
                Case(
                    When(r_carried__isnull=True, then=full_year_effect_pence()),
                    default=Value(0),
                    output_field=BigIntegerField(),
                )
            ),
        )
        .order_by()
    )
    found: dict[str, Carry] = {}
    for row in rows:
        carry = Carry(
            recurrent_plan=pounds(row["recurrent_plan"]),
            full_year_effect=pounds(row["full_year_effect"]),
            carried=pounds(row["carried"]),
            not_carried=pounds(row["not_carried"]),
            drafts=_drafts(row["scheme_state"], row["schemes"], row["annual_plan"]),
        )
        label = row["label"]
        found[label] = found[label] + carry if label in found else carry
    return found


def _of_its_month(names):
    """The field of a return's scheme for the return's own month: plan_m07 for month 7."""
    return Case(
        *[When(month=m, then=F(f"scheme__{name}")) for m, name in enumerate(names, start=1)],
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )


def recurrent_delivered(
    year: FinancialYear, month: int, scope: Scope, system_ids=None
) -> dict[str, Fraction]:
    """Each organisation's recurrent savings delivered to month N, in exact pounds: one query.

    A return's recurrent part is its actual times its month's recurrent share of the plan: all
    of it for a recurrent scheme, none for a non-recurrent one, recurrent_mNN / plan_mNN for a
    mixed one (none when that month's plan is 0).

    The share of a mixed scheme is a fraction: SQL would divide it in floating point (SQLite)
    or to a fixed scale, and a sum of rounded shares can put a half-thousand on the wrong side.
    So the query sums the actuals in integer pence per organisation and share (the month's
    plan and recurrent part in pence, 1 and 1 for a recurrent scheme), which keeps the query
    count fixed (at most a row per mixed scheme and month), and the shares are applied here
    with Fraction, exactly.
    """
    recurrent = When(scheme__recurrence=Recurrence.RECURRENT, then=Value(1))
    rows = (
        MonthlyReturn.objects.filter(
            scheme__in=counted_schemes(year, scope, system_ids),
            scheme__recurrence__in=[Recurrence.RECURRENT, Recurrence.MIXED],
            month__lte=month,
        )
        .annotate(
            plan_part=Case(
                recurrent,
                default=pence(_of_its_month(PLAN_FIELDS)),
                output_field=BigIntegerField(),
            ),
            recurrent_part=Case(
                recurrent,
                default=pence(Coalesce(_of_its_month(RECURRENT_FIELDS), Value(Decimal(0)))),
                output_field=BigIntegerField(),
            ),
        )
        .values_list("scheme__organisation__code", "plan_part", "recurrent_part")
        .annotate(actual=Sum(pence(F("actual"))))
        .order_by()
    )
    delivered: dict[str, Fraction] = defaultdict(Fraction)
    for org, plan_part, recurrent_part, actual in rows:
        if plan_part:
            delivered[org] += Fraction(actual * recurrent_part, plan_part * 100)
    return delivered


def has_next_year(year: FinancialYear) -> bool:
    """Whether the system has the financial year after `year` yet: one query."""
    return FinancialYear.objects.filter(start_year=year.start_year + 1).exists()


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
