"""The reports and the committee paper open on the month every other page opens on (DESIGN.md:
one "as at" month, by default the latest whose returns are due), and a table as at a month
whose returns are not due yet says so above its figures."""

import io
from datetime import date

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from governance.models import FinancialYear
from governance.views_reports import default_selection
from tests.governance.report_fixtures import add_return, add_scheme, report_world
from tests.pages import table, text, visible

pytestmark = pytest.mark.django_db

# Returns are due by the 10th of the month after: on 5 December 2019 the October returns are
# the latest due (month 7); November's (month 8) are not due until 10 December.
BEFORE_THE_DEADLINE = date(2019, 12, 5)


@pytest.fixture
def world(db):
    world = report_world()
    scheme = add_scheme(world, "ELR", monthly="1000")
    for month in range(1, 8):
        add_return(scheme, month, actual="1000")
    world.pmo = world.users["pmo"]
    return world


def signed_in(client, world):
    client.force_login(world.pmo)
    return client


@time_machine.travel(BEFORE_THE_DEADLINE, tick=False)
def test_the_reports_open_as_at_the_month_the_dashboard_opens_on(client, world):
    signed_in(client, world)

    dashboard = client.get(reverse("dashboard"))
    index = client.get(reverse("report_index"))
    summary = client.get(reverse("report_table", args=["summary"]))

    assert "Figures as at Oct 2019 (month 7)" in text(dashboard)
    assert "The links open 2019/20 as at month 7" in visible(index)
    assert "/reports/summary/?year=2019%2F20&month=7" in text(index)
    assert "Summary by organisation, 2019/20, as at month 7 (October 2019)" in text(summary)
    assert "not due until" not in text(summary)


@time_machine.travel(BEFORE_THE_DEADLINE, tick=False)
def test_the_committee_paper_opens_and_downloads_as_at_the_latest_month_due(client, world):
    signed_in(client, world)

    page = client.get(reverse("report_paper"))
    paper = client.get(reverse("report_paper"), {"format": "docx"})

    assert '<option value="7" selected>' in page.content.decode()
    assert paper.status_code == 200
    assert 'filename="committee_paper_2019-20_m07.docx"' in paper["Content-Disposition"]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2019, 12, 10), ("2019/20", 7)),  # due by the 10th: the day itself is not late
        (date(2019, 12, 11), ("2019/20", 8)),
        (date(2020, 3, 31), ("2019/20", 11)),
        # no return of 2020/21 is due before 10 May: the year before, at its latest month due
        (date(2020, 4, 5), ("2019/20", 11)),
        (date(2020, 5, 5), ("2019/20", 12)),
        (date(2020, 5, 11), ("2020/21", 1)),
    ],
)
def test_the_default_is_the_latest_month_whose_returns_are_due(world, today, expected):
    FinancialYear.objects.create(start_year=2020)

    assert default_selection(today) == expected


def test_with_no_year_before_a_year_not_due_yet_opens_at_month_1(world):
    # 2019/20 is the only year: on 5 April 2019 none of its returns is due yet
    assert default_selection(date(2019, 4, 5)) == ("2019/20", 1)


@time_machine.travel(BEFORE_THE_DEADLINE, tick=False)
def test_a_month_not_due_yet_says_its_actuals_are_not_in_and_keeps_its_figures(client, world):
    signed_in(client, world)
    url = reverse("report_table", args=["summary"])
    due = client.get(url, {"year": "2019/20", "month": "7"})
    not_due = client.get(url, {"year": "2019/20", "month": "8"})

    shown = visible(not_due)
    assert (
        "Returns for Nov 2019 are not due until 10 December 2019, so its actuals are not all "
        "in yet" in shown
    )
    assert "Show month 7 (Oct 2019) , the latest month whose returns are due." in shown
    assert '<a href="?year=2019%2F20&month=7&by=organisation&scope=delivery">' in text(not_due)
    # the figures stay the table's own (£'000): a month more of plan, the same actual, so the
    # variance to date shows under-delivery
    [_, elr_due, _] = table(due, "report-table")
    [_, elr_not_due, _] = table(not_due, "report-table")
    assert elr_due[:5] == ["ELR", "(7)", "(7)", "", "0"]
    assert elr_not_due[:5] == ["ELR", "(8)", "(7)", "", "1"]
    assert "not due until" not in visible(due)


@time_machine.travel(BEFORE_THE_DEADLINE, tick=False)
def test_a_year_not_started_says_none_of_its_returns_is_due(client, world):
    FinancialYear.objects.create(start_year=2020)
    signed_in(client, world)

    response = client.get(
        reverse("report_table", args=["summary"]), {"year": "2020/21", "month": "1"}
    )

    shown = visible(response)
    assert "Returns for Apr 2020 are not due until 10 May 2020" in shown
    assert "No return of 2020/21 is due yet." in shown


# --- the command, which the finance teams' scripts call ---


def command_output(*args) -> str:
    out = io.StringIO()
    call_command("qipp_report", *args, "--format", "csv", stdout=out)
    return out.getvalue()


@time_machine.travel(BEFORE_THE_DEADLINE, tick=False)
def test_the_command_without_a_month_is_as_at_the_latest_month_due(world):
    assert command_output("summary", "--year", "2019/20") == command_output(
        "summary", "--year", "2019/20", "--month", "7"
    )


@time_machine.travel(date(2021, 1, 5), tick=False)
def test_the_command_without_a_month_gives_a_year_gone_by_whole(world):
    assert command_output("summary", "--year", "2019/20") == command_output(
        "summary", "--year", "2019/20", "--month", "12"
    )


@time_machine.travel(BEFORE_THE_DEADLINE, tick=False)
def test_the_command_asks_for_a_month_of_a_year_with_no_return_due(world):
    FinancialYear.objects.create(start_year=2020)

    with pytest.raises(CommandError, match="No return of 2020/21 is due yet.*give --month"):
        command_output("summary", "--year", "2020/21")
