"""The monthly return due: once a month has ended, each finance lead and project lead of a
scheme in delivery whose return for it is not in yet gets one mail listing those returns (a
task, like a review or a sign-off). Once per person and month, whenever the task runs."""

from collections import defaultdict
from datetime import date

from django.urls import reverse
from django.utils import timezone

from governance.delivery import schedule
from governance.models import FinancialYear, MonthlyReturn, Scheme, SchemeState
from notifications import emails


def remind_returns_due(today: date | None = None) -> int:
    """Mail each person whose returns for last month are due and not in. Returns how many
    people were due a reminder (those already reminded this month are skipped quietly)."""
    today = today or timezone.localdate()
    people = 0
    for year in FinancialYear.objects.filter(schemes__state=SchemeState.IN_DELIVERY).distinct():
        month = schedule.last_month(year, today)
        if not month or today > schedule.return_deadline(year, month):
            continue  # no month just ended in this year, or its deadline passed: escalated
        owing = (
            Scheme.objects.filter(financial_year=year, state=SchemeState.IN_DELIVERY)
            .exclude(pk__in=MonthlyReturn.objects.filter(month=month).values("scheme_id"))
            .select_related("organisation", "project_lead", "finance_lead")
            .order_by("reference")
        )
        by_person = defaultdict(list)
        for scheme in owing:
            scheme.financial_year = year
            if not schedule.owes_return(scheme, month):
                continue
            for person in {scheme.project_lead, scheme.finance_lead} - {None}:
                if person.is_active:
                    by_person[person].append(
                        (scheme, reverse("return_edit", args=[scheme.pk, month]))
                    )
        with emails.batch():
            for person, schemes in by_person.items():
                emails.returns_due(
                    user=person,
                    month=schedule.month_label(year, month),
                    deadline=schedule.return_deadline(year, month),
                    schemes=schemes,
                    dedupe=f"returns-due:{year.start_year}:{month}",
                )
        people += len(by_person)
    return people
