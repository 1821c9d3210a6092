"""What delivery tracking adds to the PID workflow's pages: its tasks in the inbox, its buttons
and its block on the scheme page, and the carry into next year in the history (listed in
GovernanceConfig.ready())."""

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django_fsm import can_proceed

from governance import money, policy, roles, selectors
from governance.delivery import carry
from governance.delivery.monthly_returns import open_years_only, return_fields, return_history
from governance.delivery.rating import assess
from governance.delivery.schedule import (
    DELIVERY_STATES,
    ZERO,
    day_text,
    earliest_open_year,
    last_month,
    month_end,
    month_label,
    owes_return,
    return_deadline,
    start_of_day,
    today_or,
)
from governance.models import (
    MONTHS,
    FinancialYear,
    MonthlyReturn,
    Scheme,
    SchemeChange,
    SchemeState,
)

# --- what the pages show: tasks, buttons and the scheme page's delivery block ---


def _return_tasks(user, limit: int) -> selectors.Tasks:
    """Returns due from the finance lead or project lead of a scheme in delivery, a task for
    each month owed. Counted in the database, a query a financial year, and only the oldest
    `limit` loaded: the cost does not grow with the schemes the person is on."""
    day = today_or(None)
    # a closed year asks for no more returns (monthly_returns.open_years_only)
    schemes = Scheme.objects.filter(
        Q(finance_lead=user) | Q(project_lead=user),
        state=SchemeState.IN_DELIVERY,
        financial_year__start_year__gte=earliest_open_year(day),
    )
    years = FinancialYear.objects.filter(pk__in=schemes.values("financial_year")).order_by(
        "start_year"
    )

    def owing(year: FinancialYear, month: int) -> QuerySet[Scheme]:
        """The schemes of the year that had started by the month and have no return for it."""
        returned = MonthlyReturn.objects.filter(scheme=OuterRef("pk"), month=month)
        return schemes.filter(financial_year=year, start_date__lte=month_end(year, month)).exclude(
            Exists(returned)
        )

    counts = {}  # (year, month) -> how many schemes owe it, oldest first
    for year in years:
        upto = last_month(year, day) or (12 if day > year.end_date else 0)
        months = range(1, upto + 1)
        owed = schemes.filter(financial_year=year).aggregate(
            **{
                f"m{month}": Count(
                    "pk",
                    filter=Q(start_date__lte=month_end(year, month))
                    & ~Q(Exists(MonthlyReturn.objects.filter(scheme=OuterRef("pk"), month=month))),
                )
                for month in months
            }
        )
        counts.update({(year, month): owed[f"m{month}"] for month in months})
    tasks = []
    for (year, month), count in counts.items():
        if len(tasks) >= limit:
            break
        if not count:
            continue
        deadline = return_deadline(year, month)
        when = "overdue" if day > deadline else f"due by {day_text(deadline)}"
        since = start_of_day(month_end(year, month) + timedelta(days=1))
        shown = owing(year, month).select_related("organisation").defer(*selectors.LONG_TEXTS)
        for scheme in shown.order_by("pk")[: limit - len(tasks)]:
            tasks.append(
                selectors.Task(
                    scheme,
                    f"Enter the {month_label(year, month)} return ({when})",
                    reverse("return_edit", args=[scheme.pk, month]),
                    since,
                )
            )
    return selectors.Tasks(tasks, sum(counts.values()))


def _assure_tasks(user, limit: int) -> selectors.Tasks:
    """Returns waiting for the PMO of the scheme's organisation, one task per scheme."""
    if not user.has_role(roles.PMO) or not user.organisation_ids:
        return selectors.Tasks([], 0)
    pending = list(
        MonthlyReturn.objects.filter(
            scheme__organisation_id__in=user.organisation_ids,
            scheme__state__in=DELIVERY_STATES,
            assured_at__isnull=True,
        )
        .filter(open_years_only())
        .exclude(entered_by=user)
        # nobody assures their own scheme's returns: the team is never offered them
        .exclude(policy.on_team_of(user, "scheme__"))
        .select_related("scheme__organisation", "scheme__financial_year")
        .order_by("scheme_id", "month")
    )
    if not pending:
        return selectors.Tasks([], 0)
    touched = set(
        SchemeChange.objects.filter(
            scheme_id__in={r.scheme_id for r in pending},
            changed_by=user,
            field__startswith="Month ",
        ).values_list("scheme_id", "field")
    )
    by_scheme: dict[int, list[MonthlyReturn]] = defaultdict(list)
    for ret in pending:
        if not any((ret.scheme_id, f) in touched for f in return_fields(ret.month).values()):
            by_scheme[ret.scheme_id].append(ret)
    tasks = []
    for waiting in by_scheme.values():
        scheme, first = waiting[0].scheme, waiting[0]
        labels = [month_label(scheme.financial_year, r.month) for r in waiting]
        what = (
            f"Assure the {labels[0]} return"
            if len(waiting) == 1
            else f"Assure {len(waiting)} returns ({', '.join(labels)})"
        )
        tasks.append(
            selectors.Task(
                scheme,
                what,
                reverse("return_assure", args=[scheme.pk, first.month]),
                min(r.updated_at for r in waiting),
            )
        )
    return selectors.oldest(tasks, limit)


def _start_delivery_tasks(user, limit: int) -> selectors.Tasks:
    """Approved schemes waiting for the PMO of their organisation to start delivery, the
    longest approved first. A PMO on a scheme's team is not offered its own scheme: another
    PMO of the organisation starts it. Two queries, whatever the number of schemes."""
    if not user.has_role(roles.PMO) or not user.organisation_ids:
        return selectors.Tasks([], 0)
    waiting = Scheme.objects.filter(
        state=SchemeState.APPROVED, organisation_id__in=user.organisation_ids
    ).exclude(policy.on_team_of(user))
    # a scheme imported as approved has no transition here: it waits from its import
    oldest_first = waiting.annotate(
        approved_at=Coalesce("state_changed_at", "created_at")
    ).order_by("approved_at", "pk")
    return selectors.Tasks(
        [
            selectors.Task.on(
                pk,
                f"Start delivery (approved {day_text(timezone.localdate(approved_at))})",
                reverse("scheme_start_delivery", args=[pk]),
                approved_at,
            )
            for pk, approved_at in oldest_first.values_list("pk", "approved_at")[:limit]
        ],
        waiting.count(),
    )


def _carried_plan_tasks(user, limit: int) -> selectors.Tasks:
    """Plans carried into a scheme's year, each waiting for the scheme's project lead to
    confirm or edit it. Two queries, whatever the number of schemes they lead."""
    waiting = Scheme.objects.filter(
        project_lead=user,
        carried_from__isnull=False,
        carry_confirmed_at__isnull=True,
        state__in=policy.CONFIRMABLE_STATES,
    )
    oldest_first = waiting.order_by("created_at", "pk").values_list(
        "pk", "carried_from__reference", "created_at"
    )
    return selectors.Tasks(
        [
            selectors.Task.on(
                pk,
                f"Confirm the plan carried from {reference}",
                reverse("carried_plan_confirm", args=[pk]),
                since,
            )
            for pk, reference, since in oldest_first[:limit]
        ],
        waiting.count(),
    )


TRANSITION_BUTTONS = [
    ("start_delivery", "Start delivery", "scheme_start_delivery", "primary"),
    ("complete", "Close scheme", "scheme_complete", "outline-primary"),
    ("stop", "Stop scheme (QAG decision)", "scheme_stop", "outline-danger"),
]


def _delivery_actions(user, scheme: Scheme) -> list[selectors.Action]:
    found = [
        selectors.Action(label, reverse(url_name, args=[scheme.pk]), style)
        for action, label, url_name, style in TRANSITION_BUTTONS
        if can_proceed(getattr(scheme, action)) and policy.refusal(action, user, scheme) is None
    ]
    if (
        scheme.state == SchemeState.IN_DELIVERY
        and policy.refusal("enter_return", user, scheme) is None
    ):
        found.insert(
            0, selectors.Action("Enter a monthly return", reverse("return_new", args=[scheme.pk]))
        )
    return found


def _carry_actions(user, scheme: Scheme) -> list[selectors.Action]:
    """Its project lead confirms a carried plan; the PMO carries a scheme's recurrent saving
    into next year, on the page of the organisation's year."""
    if scheme.carried_from_id and policy.refusal("confirm_carry", user, scheme) is None:
        url = reverse("carried_plan_confirm", args=[scheme.pk])
        return [selectors.Action("Confirm the carried plan", url)]
    year = scheme.financial_year
    if (
        policy.refusal("carry", user, scheme) is None
        and carry.why_not_carried(scheme, scheme.organisation, year) is None
        # offered once next year is there to carry it into (until then the page says so)
        and carry.following_year(year) is not None
    ):
        return [
            selectors.Action(
                f"Carry into {carry.following_label(year)}",
                carry.page_url(scheme.organisation_id, year),
                "outline-primary",
            )
        ]
    return []


def _month_status(year: FinancialYear, month: int, ret, day: date, owed: bool) -> str:
    if ret is not None:
        return "assured" if ret.assured_at else "awaiting assurance"
    if day < year.month_start(month) or not owed:
        return ""
    if day > return_deadline(year, month):
        return "overdue"
    return f"due by {day_text(return_deadline(year, month))}"


def _delivery_section(user, scheme: Scheme, as_at_month: int) -> selectors.Section | None:
    """The scheme page's Delivery block: plan against returns by month, RAG, history; the RAG
    and the figures to date as at the page's month."""
    if scheme.state not in DELIVERY_STATES:
        return None
    year, day, as_at = scheme.financial_year, today_or(None), as_at_month
    returns = {r.month: r for r in scheme.returns.select_related("entered_by", "assured_by")}
    to_date = [returns[m] for m in sorted(returns) if m <= as_at]
    history = list(return_history(scheme))
    rating = assess(scheme.plan, {r.month: (r.actual, r.forecast_outturn) for r in to_date}, as_at)
    may_enter = policy.refusal("enter_return", user, scheme) is None
    may_assure = policy.refusal("assure_return", user, scheme) is None
    touched = {c.field for c in history if c.changed_by_id == user.pk}
    rows, cumulative_plan, cumulative_actual = [], ZERO, ZERO
    for month, plan in zip(MONTHS, scheme.plan, strict=True):
        ret = returns.get(month)
        cumulative_plan += plan
        cumulative_actual += ret.actual if ret else ZERO
        mine = ret is not None and (
            ret.entered_by_id == user.pk or touched & set(return_fields(month).values())
        )
        rows.append(
            {
                "month": month,
                "label": month_label(year, month),
                "plan": plan,
                "ret": ret,
                "variance": money.variance(plan, ret.actual) if ret else None,
                "cumulative_plan": cumulative_plan,
                "cumulative_actual": cumulative_actual
                if month <= max(returns, default=0)
                else None,
                "after_as_at": month > as_at,
                "status": _month_status(year, month, ret, day, owes_return(scheme, month)),
                "may_edit": may_enter and year.month_start(month) <= day,
                "may_assure": may_assure and ret is not None and not mine,
            }
        )
    forecasts = [r.forecast_outturn for r in to_date if r.forecast_outturn is not None]
    return selectors.Section(
        "delivery/_section.html",
        {
            "scheme": scheme,
            "rag": rating,
            "as_at_month": as_at,
            "as_at_label": month_label(year, as_at) if as_at else "",
            "months": [(m, month_label(year, m)) for m in MONTHS],
            "first_deadline": day_text(return_deadline(year, 1)),
            "rows": rows,
            "actual_to_date": sum((r.actual for r in to_date), ZERO),
            "assured_to_date": sum(
                (r.pmo_assured for r in to_date if r.pmo_assured is not None), ZERO
            ),
            "latest_forecast": forecasts[-1] if forecasts else None,
            "history": history,
            "may_enter": may_enter and scheme.state == SchemeState.IN_DELIVERY,
        },
    )


# What delivery adds to the task inbox and the scheme page (GovernanceConfig.ready()).
TASK_SOURCES = [_return_tasks, _assure_tasks, _start_delivery_tasks, _carried_plan_tasks]
TEAM_TASK_SOURCES = [_return_tasks, _carried_plan_tasks]
ACTION_SOURCES = [_delivery_actions, _carry_actions]
SECTION_SOURCES = [_delivery_section]
HISTORY_SOURCES = [carry.history_events]
