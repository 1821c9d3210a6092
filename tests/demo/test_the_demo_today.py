"""The demo is alive on the day it is loaded: its years are around today, this year's schemes
in delivery have their returns up to last month (one is late, on purpose), a few are off
track, and every demo user who holds a role finds something in My tasks.

Loaded on two days, in December and in the May after, and read as its users read it."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from demo.data import LAST, NEXT, THIS, start_years
from governance import roles
from governance.models import MonthlyReturn, Scheme, SchemeState, User
from notifications.models import Escalation
from tests.pages import table, visible

LATE = "Elective referral management"  # its finance lead has not sent the return due last


@dataclass(frozen=True)
class Day:
    today: date
    this_year: str  # the financial year the dashboard opens on
    as_at: str  # the latest month whose returns are due
    last_month: str  # the latest month with returns in
    late: str  # the month of the late scheme's overdue return


DAYS = [
    Day(date(2026, 12, 4), "2026/27", "Oct 2026", "Nov 2026", late="Oct 2026"),
    Day(date(2027, 5, 20), "2027/28", "Apr 2027", "Apr 2027", late="Apr 2027"),
]
ORGS = ["elr", "wl", "lc"]
ROLE_SLUGS = [slug for name, slug in roles.ALL.items() if name != roles.VIEWER]


@pytest.fixture(scope="class", params=DAYS, ids=lambda day: day.today.isoformat())
def day(request, django_db_setup, django_db_blocker):
    """The demo loaded at noon on the day, the clock still running from there; rolled back
    after the class's tests."""
    noon = datetime.combine(request.param.today, time(12), tzinfo=ZoneInfo(settings.TIME_ZONE))
    with (
        time_machine.travel(noon),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        call_command("seed_demo", stdout=StringIO())
        yield request.param
        transaction.set_rollback(True)


def signed_in(client, username: str):
    client.force_login(User.objects.get(username=username))
    return client


def return_status(page, month: str) -> str | None:
    """What the scheme page's returns by month say of a month's return: the month, its
    amounts, then its status."""
    statuses = "Overdue|Awaiting assurance|Assured|Due by"
    found = re.search(rf"{month} [^A-Za-z]*({statuses})", visible(page))
    return found[1] if found else None


def task_count(page) -> int:
    found = re.search(r"(\d+) tasks?\b", visible(page))
    return int(found[1]) if found else 0


@pytest.mark.django_db
@pytest.mark.usefixtures("day")
class TestTheDemoOnTheDay:
    def test_the_dashboard_opens_on_the_year_of_the_day(self, client, day):
        page = signed_in(client, "elr-pmo").get(reverse("dashboard"))
        shown = visible(page)
        assert f"Delivery dashboard · {day.this_year}" in shown
        assert f"Figures as at {day.as_at}" in shown

    def test_a_few_schemes_are_amber_or_red_on_the_dashboard(self, client, day):
        page = signed_in(client, "elr-pmo").get(reverse("dashboard"))
        rows = table(page, "off-track-table")[1:]
        # each row: the reference and title, the organisation, the RAG and why, ...
        off_track = {row[0].split(" ", 1)[1]: row[2].split(":")[0] for row in rows}
        assert off_track == {
            "CHC care package review": "Red",
            "Non-acute contract review": "Red",
            LATE: "Red",  # its missing return counts as nothing saved
            "Medicines waste reduction": "Amber",
        }
        in_delivery = Scheme.objects.filter(state=SchemeState.IN_DELIVERY).count()
        assert in_delivery - len(off_track) == 4  # the rest are on plan

    def test_returns_are_in_up_to_last_month_but_the_late_one(self, client, day):
        in_delivery = Scheme.objects.filter(state=SchemeState.IN_DELIVERY)
        # the recovery scheme saves from September: in May it owes no return yet
        started = in_delivery.filter(start_date__lt=day.today.replace(day=1))
        assert started.count() >= 7
        for scheme in started:
            pmo = signed_in(client, f"{scheme.organisation.code.lower()}-pmo")
            page = pmo.get(scheme.get_absolute_url())
            if scheme.title == LATE:
                assert return_status(page, day.late) == "Overdue"
            else:
                assert return_status(page, day.last_month) == "Awaiting assurance", scheme

    def test_nothing_is_overdue_but_the_late_return(self, client, day):
        overdue = []
        for org in ORGS:
            for slug in ("finance-lead", "project-lead"):
                page = signed_in(client, f"{org}-{slug}").get(reverse("my_tasks"))
                overdue += re.findall(r"Enter the (\w+ \d+) return \(overdue\)", visible(page))
        # the late scheme's finance lead and project lead are each told
        assert overdue == [day.late, day.late]
        board = signed_in(client, "elr-pmo").get(reverse("dashboard"))
        missing = [row[0].split(" ", 1)[1] for row in table(board, "missing-table")[1:]]
        assert missing == [LATE]

    def test_everyone_who_holds_a_role_has_a_task(self, client, day):
        idle = [
            f"{org}-{slug}"
            for org in ORGS
            for slug in [*ROLE_SLUGS, "panel-member-2"]
            if not task_count(signed_in(client, f"{org}-{slug}").get(reverse("my_tasks")))
        ]
        assert idle == []

    def test_the_escalations_wait_for_the_sro_and_for_qag(self, client, day):
        sro = signed_in(client, "elr-sro").get(reverse("my_tasks"))
        assert "Record a remedial action (off-track delivery (RAG red))" in visible(sro)
        qag = signed_in(client, "wl-qag-member").get(reverse("my_tasks"))
        assert "Record QAG's decision (off-track delivery (RAG red))" in visible(qag)
        assert "CHC care package review" in visible(qag)


def snapshot() -> tuple:
    """What a user of the demo sees of it: its schemes, their returns and escalations."""
    return (
        list(Scheme.objects.order_by("reference").values_list("reference", "title", "state")),
        list(
            MonthlyReturn.objects.order_by("scheme__reference", "month").values_list(
                "scheme__reference", "month", "actual", "forecast_outturn", "pmo_assured"
            )
        ),
        list(
            Escalation.objects.order_by("scheme__reference", "rule").values_list(
                "scheme__reference", "rule", "level", "status"
            )
        ),
    )


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 12, 4, 12, 0, tzinfo=ZoneInfo(settings.TIME_ZONE)))
def test_the_same_day_gives_the_same_demo():
    loaded = []
    for _ in range(2):
        with transaction.atomic():
            call_command("seed_demo", stdout=StringIO())
            loaded.append(snapshot())
            transaction.set_rollback(True)
    assert loaded[0] == loaded[1]
    assert len(loaded[0][1]) > 50


@pytest.mark.parametrize(
    ("today", "years"),
    [
        (date(2026, 12, 4), (2025, 2026, 2027)),
        (date(2027, 3, 31), (2025, 2026, 2027)),
        # April: no month of 2027/28 has ended, so this year is 2026/27, its March returns in
        (date(2027, 4, 15), (2025, 2026, 2027)),
        (date(2027, 5, 1), (2026, 2027, 2028)),
    ],
)
def test_this_year_is_the_one_last_month_belongs_to(today, years):
    assert tuple(start_years(today)[offset] for offset in (LAST, THIS, NEXT)) == years
