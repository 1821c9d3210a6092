"""One way to show a figure (DESIGN.md "Rules that hold on every page"): one scheme's figures
read off the dashboard, a committee table and its CSV and XLSX, the scheme page and the QAG
pack agree, in the committee papers' sign (savings negative in brackets, a positive variance is
under-delivery, a percentage carries its variance's sign), all as at one month."""

import csv
import io
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from governance.money import SIGN_CONVENTION, parse_pounds
from tests.pages import table, text, visible
from tests.world import add_return

pytestmark = pytest.mark.django_db

# The returns of June 2019 (month 3 of 2019/20) were due by 10 July.
AFTER_JUNE_IS_DUE = timezone.make_aware(timezone.datetime(2019, 7, 15, 9))


@pytest.fixture
def behind(make_scheme):
    """£10,000 a month planned; £4,000 saved in each of April to June; forecast £60,000."""
    scheme = make_scheme(monthly="10000", title="Behind plan")
    for month in (1, 2, 3):
        add_return(scheme, month, "4000", forecast="60000" if month == 3 else None)
    return scheme


def figure(shown: str) -> Decimal:
    """A figure as shown, in the papers' sign: "(£30,000)" -> -30000, "18" -> 18, "50%" -> 50."""
    shown = shown.strip().replace("%", "")
    if not re.fullmatch(r"\(?£?[\d,.]+\)?", shown):
        raise AssertionError(f"{shown!r} is not a figure in the papers' style")
    return parse_pounds(shown)


def thousands(pounds: Decimal) -> Decimal:
    return (pounds / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def row_of(rows: list[list[str]], starts: str) -> list[str]:
    return next(row for row in rows if row and row[0].startswith(starts))


def test_every_page_and_download_shows_the_schemes_figures_alike(client, people, behind):
    with time_machine.travel(AFTER_JUNE_IS_DUE, tick=False):
        client.force_login(people["elr-pmo"])
        dashboard = client.get(reverse("dashboard"))
        scheme_page = client.get(behind.get_absolute_url())
        client.force_login(people["elr-qag-member"])
        pack = client.get(reverse("qag_pack"))
        client.force_login(people["elr-viewer"])
        summary = reverse("report_table", args=["summary"])
        chosen = {"year": "2019/20", "month": "3"}
        report = client.get(summary, chosen)
        report_csv = client.get(summary, {**chosen, "format": "csv"}).content.decode("utf-8-sig")
        report_xlsx = client.get(summary, {**chosen, "format": "xlsx"}).content

    # the committee table, £'000: plan 30, actual 12, variance 18 behind; annual plan 120,
    # forecast 60, annual variance 60 behind, which is 50% of the plan, the same sign
    headings = table(report, "report-table")[0]
    page_row = dict(zip(headings, row_of(table(report, "report-table"), "ELR"), strict=True))
    csv_rows = list(csv.reader(io.StringIO(report_csv)))
    assert csv_rows[0] == headings  # the same columns under the same headings
    csv_row = dict(zip(csv_rows[0], row_of(csv_rows, "ELR"), strict=True))
    sheet = openpyxl.load_workbook(io.BytesIO(report_xlsx)).active
    sheet_rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [str(v) for v in row_of([[str(v) for v in r] for r in sheet_rows], "Organisation")] == (
        headings
    )
    xlsx_row = dict(zip(headings, next(r for r in sheet_rows if r[0] == "ELR"), strict=True))
    expected = {
        "YTD Plan": -30,
        "YTD Actuals": -12,
        "YTD Variance": 18,
        "Annual Plan": -120,
        "Forecast Outturn": -60,
        "Annual Variance": 60,
        "Annual variance %": 50,
    }
    for heading, value in expected.items():
        assert figure(page_row[heading]) == value, heading
        assert Decimal(csv_row[heading]) == value, heading
        assert xlsx_row[heading] == value, heading
    assert page_row["Annual Plan"] == "(120)" and page_row["Annual variance %"] == "50%"

    # the dashboard, in pounds: the same figures and signs
    dash_headings = table(dashboard, "totals-table")[0]
    dash = dict(zip(dash_headings, row_of(table(dashboard, "totals-table"), "ELR"), strict=True))
    assert thousands(figure(dash["YTD plan"])) == expected["YTD Plan"]
    assert thousands(figure(dash["YTD actual"])) == expected["YTD Actuals"]
    assert thousands(figure(dash["YTD variance"])) == expected["YTD Variance"]
    assert thousands(figure(dash["Forecast outturn"])) == expected["Forecast Outturn"]
    assert dash["YTD variance"] == "£18,000"
    assert "Figures as at Jun 2019" in text(dashboard)

    # the scheme page, as at June: the delivery block and its RAG
    page = visible(scheme_page)
    assert "RAG as at Jun 2019" in page
    assert "Plan to Jun 2019 (£30,000)" in page
    assert "Actual to Jun 2019 (£12,000)" in page
    assert "Annual plan (£120,000)" in page
    assert "Latest forecast outturn (£60,000)" in page
    assert "Behind year-to-date plan by £18,000 (60.0%)." in page
    june = row_of(table(scheme_page, "delivery-table"), "Jun 2019")
    assert june[1:7] == ["(£10,000)", "(£4,000)", "£6,000", "(£30,000)", "(£12,000)", "(£60,000)"]

    # the QAG pack, as at the same month
    assert "figures as at <strong>June 2019</strong>" in text(pack)
    pack_row = row_of(table(pack, "pack-off-track-table"), behind.reference)
    assert pack_row[2:] == ["(£30,000)", "(£12,000)", "£18,000", "(£60,000)", "(£120,000)"]

    # each page states the convention once
    for response in (dashboard, scheme_page, pack, report):
        assert visible(response).count(SIGN_CONVENTION) == 1, response.request["PATH_INFO"]


def test_the_scheme_page_month_is_chosen_on_the_page(client, people, behind):
    client.force_login(people["elr-pmo"])
    with time_machine.travel(AFTER_JUNE_IS_DUE, tick=False):
        may = visible(client.get(behind.get_absolute_url(), {"month": "2"}))
        nonsense = visible(client.get(behind.get_absolute_url(), {"month": "thirteen"}))
        too_late = visible(client.get(behind.get_absolute_url(), {"month": "13"}))

    assert "RAG as at May 2019" in may
    assert "Plan to May 2019 (£20,000)" in may
    assert "Behind year-to-date plan by £12,000 (60.0%)." in may
    for page in (nonsense, too_late):  # not a month of the year: the default month
        assert "RAG as at Jun 2019" in page


def test_a_scheme_ahead_of_plan_has_a_negative_variance_in_brackets_everywhere(
    client, people, make_scheme
):
    ahead = make_scheme(monthly="1000", title="Ahead")
    for month in (1, 2, 3):
        add_return(ahead, month, "1500", forecast="15000" if month == 3 else None)
    with time_machine.travel(AFTER_JUNE_IS_DUE, tick=False):
        client.force_login(people["elr-pmo"])
        dashboard = client.get(reverse("dashboard"))
        scheme_page = client.get(ahead.get_absolute_url())
        report = client.get(
            reverse("report_table", args=["summary"]), {"year": "2019/20", "month": "3"}
        )

    dash_headings = table(dashboard, "totals-table")[0]
    dash = dict(zip(dash_headings, row_of(table(dashboard, "totals-table"), "ELR"), strict=True))
    assert dash["YTD variance"] == "(£1,500)"
    headings = table(report, "report-table")[0]
    row = dict(zip(headings, row_of(table(report, "report-table"), "ELR"), strict=True))
    assert row["YTD Variance"] == "(2)"  # 1,500 ahead, rounded half away from zero
    assert row["Annual Variance"] == "(3)" and row["Annual variance %"] == "(25%)"
    june = row_of(table(scheme_page, "delivery-table"), "Jun 2019")
    assert june[3] == "(£500)"


def test_the_area_of_spend_table_drills_down_to_its_schemes(client, people, make_scheme):
    delivering = make_scheme(monthly="1000", title="Delivering")
    draft = make_scheme("draft", monthly="2000", title="Secret draft")
    client.force_login(people["wl-viewer"])  # of the same system, not of ELR's team
    with time_machine.travel(date(2019, 7, 15), tick=False):
        page = client.get(
            reverse("report_table", args=["area_of_spend"]), {"year": "2019/20", "month": "3"}
        )
    shown = visible(page)
    assert '<a href="#area-1">Elective Care</a>' in text(page)
    assert "Elective Care (2 schemes)" in shown
    assert f"{delivering.reference} Delivering" in shown
    # the draft counts in the figure, but its title stays with its team and the PMO
    assert draft.reference in shown and "Secret draft" not in shown
    assert "(12)" in shown and "(24)" in shown


def test_the_chart_is_shown_once_under_the_summary_only(client, people, behind):
    client.force_login(people["elr-viewer"])
    chosen = {"year": "2019/20", "month": "3"}
    for name in ("summary", "requirement", "area_of_spend", "forecast"):
        page = text(client.get(reverse("report_table", args=[name]), chosen))
        assert page.count("<svg") == (1 if name == "summary" else 0), name
