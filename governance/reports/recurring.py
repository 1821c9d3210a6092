"""The two committee tables of what recurs: recurrent and one-off savings, and recurrent
savings delivered and carried into next year (README, "Committee reports and imports")."""

from functools import reduce
from operator import add

from governance.models import FinancialYear
from governance.reports import parts, queries
from governance.reports.parts import (
    BY_CHOICES,
    DEFAULT_SCOPES,
    GRAND_TOTAL,
    Carry,
    Column,
    Kinds,
    Row,
    Scope,
    Table,
)

RECURRENCE_COLUMNS = [
    Column("annual_plan", "Annual plan (gross)"),
    Column("recurrent_plan", "Recurrent plan"),
    Column("non_recurrent_plan", "Non-recurrent plan"),
    Column("cash_releasing_plan", "Cash-releasing plan"),
    Column("non_cash_releasing_plan", "Non-cash-releasing plan"),
    Column("investment_one_off", "One-off investment"),
    Column("investment_recurring", "Recurring investment"),
    Column("net_plan", "Net plan"),
    Column("full_year_effect", "Full-year effect"),
]
CARRY_COLUMNS = [
    Column("recurrent_plan_ytd", "Recurrent plan to date"),
    Column("recurrent_delivered_ytd", "Recurrent delivered to date"),
    Column("full_year_effect", "Full-year effect"),
    Column("carried", "Carried into next year"),
    Column("not_carried", "Not yet carried"),
]
# Said under both tables: they count what the summary's plan columns leave out.
RECOVERY_NOTE = (
    "Every scheme counted, recovery actions included: a recovery action's saving recurs or not "
    "like any other (the summary's plan columns count the original schemes only)."
)


def recurrence(
    year: FinancialYear,
    month: int,
    by: str = "organisation",
    system_ids=None,
    scope: Scope = DEFAULT_SCOPES["recurrence"],
) -> Table:
    """The year's plans split into recurrent and non-recurrent, cash-releasing or not, with the
    investment, the net plan and the full-year effect, per organisation or programme area: one
    query. The plans are the whole year's, whatever the month."""
    groups = queries.kinds(year, scope, by=by, system_ids=system_ids)

    def row(label: str, k: Kinds, total: bool = False) -> Row:
        # investment is money spent, not saved: in the report's sign it shows positive
        values = [
            k.annual_plan,
            k.recurrent_plan,
            k.non_recurrent_plan,
            k.cash_releasing_plan,
            k.non_cash_releasing_plan,
            -k.investment_one_off,
            -k.investment_recurring,
            k.net_plan,
            k.full_year_effect,
        ]
        cells = [parts.money(c, v) for c, v in zip(RECURRENCE_COLUMNS, values, strict=True)]
        return Row(label, cells, total)

    rows = [row(label, groups[label]) for label in queries.sorted_labels(groups)]
    grand_total = reduce(add, groups.values(), Kinds())
    rows.append(row(GRAND_TOTAL, grand_total, total=True))
    return Table(
        name="recurrence",
        title=f"Recurrent and one-off savings by {BY_CHOICES[by].lower()}",
        year=year,
        month=month,
        by=by,
        label_key=by,
        label_header=BY_CHOICES[by],
        columns=RECURRENCE_COLUMNS,
        rows=rows,
        scope=scope,
        drafts=parts.drafts_said(scope, grand_total.drafts),
        notes=[
            "The whole year's plans. Recurrent plan: all of a recurrent scheme's plan, the "
            "recurrent part given month by month of a mixed one, none of a non-recurrent one; "
            "Non-recurrent plan: the rest. Cash-releasing: the money leaves the budget; not "
            "cash-releasing: time or capacity freed for other work.",
            "Investment is money spent, so it shows as a positive figure, without brackets. "
            "Net plan is the annual plan less this year's one-off and recurring investment.",
            "Full-year effect: each scheme's recurrent saving in its last month (March), twelve "
            "times: £10,000 a month from October is a plan of (60) this year and (120) over a "
            "full year.",
            RECOVERY_NOTE,
        ],
    )


def carry_forward(
    year: FinancialYear,
    month: int,
    by: str = "organisation",
    system_ids=None,
    scope: Scope = DEFAULT_SCOPES["carry_forward"],
) -> Table:
    """The recurrent savings of year Y as at month N per organisation: planned and delivered to
    date, their full-year effect, what the plan of year Y+1 carries of it and what is not
    carried yet. Three queries however many schemes.

    Recurrent delivered to date: each return's actual times its month's recurrent share of the
    plan: all of it for a recurrent scheme, none for a non-recurrent one, recurrent_mNN /
    plan_mNN for a mixed one, and none when that month's plan is 0 (queries.recurrent_delivered,
    exact). Carried into next year: the annual plans of the schemes of year Y+1 carried on
    from (Scheme.carried_from) a scheme counted here, in any state but rejected and withdrawn;
    0 when the system has no year Y+1 yet, and the table says so.
    """
    groups = queries.carried(year, month, scope, system_ids)
    for org, delivered in queries.recurrent_delivered(year, month, scope, system_ids).items():
        groups[org].recurrent_delivered = delivered
    plan, delivered_column, effect, carried, not_carried = CARRY_COLUMNS

    def row(label: str, c: Carry, total: bool = False) -> Row:
        cells = [
            parts.money(plan, c.recurrent_plan),
            parts.money_exactly(delivered_column, c.recurrent_delivered),
            parts.money(effect, c.full_year_effect),
            parts.money(carried, c.carried),
            parts.money(not_carried, c.not_carried),
        ]
        return Row(label, cells, total)

    rows = [row(label, groups[label]) for label in queries.sorted_labels(groups)]
    grand_total = reduce(add, groups.values(), Carry())
    rows.append(row(GRAND_TOTAL, grand_total, total=True))
    next_label = FinancialYear(start_year=year.start_year + 1).label
    notes = [
        f"Recurrent plan to date: the recurrent part of the plan of months 1 to {month}. "
        "Recurrent delivered to date: each return's actual times its month's recurrent share "
        "of the plan: all of it for a recurrent scheme, none for a non-recurrent one, the "
        "month's recurrent part over its plan for a mixed one (none when that month's plan is "
        "0).",
        "Full-year effect: each scheme's recurrent saving in its last month (March), twelve times.",
    ]
    if queries.has_next_year(year):
        notes.append(
            f"Carried into next year: the annual plans in {next_label} of the plan lines carried "
            "on from these schemes, in any state but rejected and withdrawn (a carried plan not "
            "yet confirmed counts as it stands). Not yet carried: the full-year effect of the "
            f"schemes counted with no plan line in {next_label} yet."
        )
    else:
        notes.append(
            f"No {next_label} yet: nothing can be carried into it, so Carried into next year is "
            "0 and Not yet carried is the whole full-year effect."
        )
    notes.append(RECOVERY_NOTE)
    return Table(
        name="carry_forward",
        title="Recurrent savings delivered and carried into next year",
        year=year,
        month=month,
        by="organisation",
        label_key="organisation",
        label_header=BY_CHOICES["organisation"],
        columns=CARRY_COLUMNS,
        rows=rows,
        scope=scope,
        drafts=parts.drafts_said(scope, grand_total.drafts),
        notes=notes,
    )
