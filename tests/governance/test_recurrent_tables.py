"""The recurrent and one-off savings table and the recurrent savings delivered and carried
into next year, worked by hand; their page, downloads and command; their query count."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance import reports
from governance.models import RECURRENT_FIELDS, FinancialYear, Scheme, SchemeState
from governance.reports.parts import bracketed
from tests.governance.report_fixtures import add_return, add_scheme, report_world
from tests.pages import table as page_table
from tests.pages import text, visible

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.governance.report_urls")]

FROM_OCTOBER = ["0"] * 6 + ["10000"] * 6
RECURRENCE_HEADINGS = [
    "Organisation",
    "Annual plan (gross)",
    "Recurrent plan",
    "Non-recurrent plan",
    "Cash-releasing plan",
    "Non-cash-releasing plan",
    "One-off investment",
    "Recurring investment",
    "Net plan",
    "Full-year effect",
]
CARRY_HEADINGS = [
    "Organisation",
    "Recurrent plan to date",
    "Recurrent delivered to date",
    "Full-year effect",
    "Carried into next year",
    "Not yet carried",
]


def change(scheme: Scheme, **fields) -> Scheme:
    """Set a scheme's kind of saving (or its carried_from) straight in the database."""
    Scheme.objects.filter(pk=scheme.pk).update(**fields)
    scheme.refresh_from_db()
    return scheme


def mixed(parts: list) -> dict:
    """The recurrent part of each month of a mixed saving."""
    return {"recurrence": "mixed"} | {
        name: Decimal(part) for name, part in zip(RECURRENT_FIELDS, parts, strict=True)
    }


@pytest.fixture
def world(db):
    return report_world()


@pytest.fixture
def savings(world):
    """ELR: a recurrent scheme from October at £10,000 a month, with £20,000 invested once and
    £5,000 a year; a mixed one of £8,000 a month but none in June, £6,000 of it recurrent
    (75%); a non-recurrent one of £2,000 a month (Urgent Care). WL: a recurrent scheme of
    £1,000 a month that releases no cash, with £2,500 invested once. Never counted: a
    rejected scheme."""
    world.from_october = change(
        add_scheme(world, "ELR", plan=FROM_OCTOBER),
        investment_one_off=Decimal("20000"),
        investment_recurring=Decimal("5000"),
    )
    world.mixed = change(
        add_scheme(world, "ELR", plan=["8000", "8000", "0"] + ["8000"] * 9),
        **mixed(["6000", "6000", "0"] + ["6000"] * 9),
    )
    world.one_off = change(
        add_scheme(world, "ELR", monthly="2000", area="Urgent Care"), recurrence="non_recurrent"
    )
    world.no_cash = change(
        add_scheme(world, "WL", monthly="1000"),
        cash_releasing=False,
        investment_one_off=Decimal("2500"),
    )
    add_scheme(world, "WL", monthly="99000", state=SchemeState.REJECTED)
    return world


@pytest.fixture
def delivered(savings):
    """Returns to December (month 9) and one after it; 2020/21 with the recurrent scheme
    carried on at £9,000 a month (approved as its scheme was; its project lead has edited the
    plan), and WL's carried line withdrawn (it counts for nothing)."""
    for month, actual in ((7, "10000"), (8, "9000"), (9, "11000"), (10, "50000")):
        add_return(savings.from_october, month, actual=actual)
    add_return(savings.mixed, 1, actual="8000")  # 75% recurrent: 6,000
    add_return(savings.mixed, 2, actual="4000")  # 3,000
    add_return(savings.mixed, 3, actual="1000")  # no plan in June: none of it recurrent
    add_return(savings.one_off, 1, actual="2000")  # none of it recurrent
    add_return(savings.no_cash, 1, actual="1000")
    add_return(savings.no_cash, 2, actual="1000")
    savings.next_year = FinancialYear.objects.create(start_year=2020)
    carried = add_scheme(
        savings, "ELR", monthly="9000", state=SchemeState.APPROVED, year=savings.next_year
    )
    change(carried, carried_from=savings.from_october)
    withdrawn = add_scheme(
        savings, "WL", monthly="1000", state=SchemeState.WITHDRAWN, year=savings.next_year
    )
    change(withdrawn, carried_from=savings.no_cash)
    return savings


def build(name, world, scope=None, **choices):
    return reports.build(
        name,
        year=world.year,
        month=choices.pop("month", 12),
        scope=scope and reports.SCOPES[scope],
        **choices,
    )


def figures(result) -> dict[str, dict[str, int | None]]:
    """{row label: {column key: figure shown}}"""
    return {row.label: {cell.column.key: cell.value for cell in row.cells} for row in result.rows}


def get(client, user, name, **params):
    client.force_login(user)
    return client.get(reverse("report_table", args=[name]), {"year": "2019/20", **params})


# --- recurrent and one-off savings ---


def test_the_plans_split_into_recurrent_and_one_off_cash_releasing_or_not(savings):
    result = build("recurrence", savings)

    assert figures(result) == {
        "ELR": {
            "annual_plan": -172,  # 60,000 + 88,000 + 24,000
            "recurrent_plan": -126,  # 60,000 + 66,000
            "non_recurrent_plan": -46,  # the mixed scheme's 22,000 and the one-off 24,000
            "cash_releasing_plan": -172,
            "non_cash_releasing_plan": 0,
            "investment_one_off": 20,  # money spent: no brackets
            "investment_recurring": 5,
            "net_plan": -147,  # 172,000 less 25,000
            "full_year_effect": -192,  # 10,000 x 12 and 6,000 x 12
        },
        "WL": {
            "annual_plan": -12,
            "recurrent_plan": -12,
            "non_recurrent_plan": 0,
            "cash_releasing_plan": 0,
            "non_cash_releasing_plan": -12,
            "investment_one_off": 3,  # 2,500: half a thousand, away from zero
            "investment_recurring": 0,
            "net_plan": -10,  # 9,500
            "full_year_effect": -12,
        },
        "Grand Total": {
            "annual_plan": -184,
            "recurrent_plan": -138,
            "non_recurrent_plan": -46,
            "cash_releasing_plan": -172,
            "non_cash_releasing_plan": -12,
            "investment_one_off": 23,  # 22,500 (banker's rounding would say 22)
            "investment_recurring": 5,
            "net_plan": -157,  # 156,500 (banker's rounding would say 156)
            "full_year_effect": -204,
        },
    }
    assert result.title == "Recurrent and one-off savings by organisation"
    assert result.scope.key == "delivery" and result.drafts is None


def test_a_recurrent_saving_from_october_plans_60_this_year_and_120_a_full_year(world):
    add_scheme(world, "ELR", plan=FROM_OCTOBER)

    elr = figures(build("recurrence", world))["ELR"]

    assert elr["annual_plan"] == elr["recurrent_plan"] == elr["net_plan"] == -60
    assert elr["full_year_effect"] == -120


def test_the_recurrence_table_groups_by_programme_area_like_the_summary(savings):
    result = build("recurrence", savings, by="programme_area")

    rows = figures(result)
    assert list(rows) == ["Planned Care", "Urgent Care", "Grand Total"]
    assert rows["Planned Care"]["annual_plan"] == -160  # 60,000 + 88,000 + 12,000
    assert rows["Urgent Care"]["non_recurrent_plan"] == -24
    assert rows["Grand Total"]["annual_plan"] == -184
    assert result.label_header == "Programme area"
    assert result.filename == "recurrence_by_programme_area_2019-20_m12_delivery"


def test_the_whole_pipeline_counts_the_drafts_and_says_so(savings):
    add_scheme(savings, "ELR", monthly="500", state=SchemeState.DRAFT)

    delivery = build("recurrence", savings)
    pipeline = build("recurrence", savings, "pipeline")

    assert figures(delivery)["ELR"]["annual_plan"] == -172
    assert figures(pipeline)["ELR"]["annual_plan"] == -178
    assert figures(pipeline)["ELR"]["full_year_effect"] == -198
    assert "drafts are not in." in delivery.counts and "draft PID" not in delivery.counts
    assert "drafts are in." in pipeline.counts
    assert "Includes 1 draft PID, with annual plans of (6)." in pipeline.counts


# --- recurrent savings delivered and carried into next year ---


def test_recurrent_delivered_is_each_returns_recurrent_share_and_next_years_plan_carries(
    delivered,
):
    result = build("carry_forward", delivered, month=9)

    assert figures(result) == {
        "ELR": {
            "recurrent_plan_ytd": -78,  # 3 x 10,000 from October; 8 x 6,000 to December
            "recurrent_delivered_ytd": -39,  # 30,000; 75% of 8,000 and 4,000; none of June's
            "full_year_effect": -192,
            "carried": -108,  # next year's line at 9,000 a month, not the 120,000 effect
            "not_carried": -72,  # the mixed scheme's effect: no line in 2020/21 yet
        },
        "WL": {
            "recurrent_plan_ytd": -9,
            "recurrent_delivered_ytd": -2,
            "full_year_effect": -12,
            "carried": 0,  # its carried line was withdrawn
            "not_carried": -12,
        },
        "Grand Total": {
            "recurrent_plan_ytd": -87,
            "recurrent_delivered_ytd": -41,
            "full_year_effect": -204,
            "carried": -108,
            "not_carried": -84,
        },
    }
    assert result.heading == (
        "Recurrent savings delivered and carried into next year, 2019/20, as at month 9 "
        "(December 2019), approved and in delivery"
    )
    assert "No 2020/21 yet" not in " ".join(result.notes)
    assert "Carried into next year: the annual plans in 2020/21 of the plan lines" in (
        " ".join(result.notes)
    )


def test_the_rule_for_recurrent_delivered_is_said_under_the_table(delivered):
    notes = build("carry_forward", delivered, month=9).notes

    assert notes[0] == (
        "Recurrent plan to date: the recurrent part of the plan of months 1 to 9. Recurrent "
        "delivered to date: each return's actual times its month's recurrent share of the "
        "plan: all of it for a recurrent scheme, none for a non-recurrent one, the month's "
        "recurrent part over its plan for a mixed one (none when that month's plan is 0)."
    )


def test_returns_after_the_month_do_not_count(delivered):
    at = {m: figures(build("carry_forward", delivered, month=m))["ELR"] for m in (6, 7, 10)}

    assert at[6]["recurrent_delivered_ytd"] == -9  # the mixed scheme's 6,000 and 3,000
    assert at[7]["recurrent_delivered_ytd"] == -19
    assert at[10]["recurrent_delivered_ytd"] == -89  # and October's 50,000
    assert at[6]["recurrent_plan_ytd"] == -30  # 5 x 6,000: none in June, none yet from October


def test_without_next_year_nothing_is_carried_and_the_table_says_so(savings):
    add_return(savings.from_october, 7, actual="10000")

    result = build("carry_forward", savings, month=7)

    rows = figures(result)
    assert rows["ELR"]["carried"] == 0
    assert rows["ELR"]["not_carried"] == rows["ELR"]["full_year_effect"] == -192
    assert rows["Grand Total"]["not_carried"] == -204
    assert (
        "No 2020/21 yet: nothing can be carried into it, so Carried into next year is 0 and Not "
        "yet carried is the whole full-year effect."
    ) in result.notes


def test_a_share_of_a_third_sums_exactly_to_a_half_thousand_and_rounds_away_from_zero(world):
    scheme = change(add_scheme(world, "NN", monthly="3000"), **mixed(["1000"] * 12))
    add_return(scheme, 1, actual="1000")  # 333.33...
    add_return(scheme, 2, actual="3500")  # 1,166.66...: 1,500 between them, exactly

    nn = figures(build("carry_forward", world, month=2))["NN"]

    assert nn["recurrent_delivered_ytd"] == -2  # 1.5 thousand, away from zero
    assert nn["recurrent_plan_ytd"] == -2  # 2,000
    assert nn["full_year_effect"] == -12


def test_costs_that_rose_show_as_a_positive_recurrent_delivered(world):
    scheme = add_scheme(world, "ELR", monthly="10000")
    add_return(scheme, 1, actual="-2500")

    assert figures(build("carry_forward", world, month=1))["ELR"]["recurrent_delivered_ytd"] == 3


def test_the_carry_forward_table_counts_the_drafts_of_the_pipeline_and_says_so(delivered):
    draft = add_scheme(delivered, "ELR", monthly="500", state=SchemeState.DRAFT)
    add_return(draft, 1, actual="500")

    pipeline = build("carry_forward", delivered, "pipeline", month=9)

    assert figures(pipeline)["ELR"]["recurrent_plan_ytd"] == -83  # 78,000 and 4,500
    assert figures(pipeline)["ELR"]["recurrent_delivered_ytd"] == -40  # 39,000 and 500
    assert figures(pipeline)["ELR"]["not_carried"] == -78  # and the draft's 6,000
    assert "Includes 1 draft PID, with annual plans of (6)." in pipeline.counts
    assert build("carry_forward", delivered, month=9).drafts is None


def test_the_carry_forward_table_is_by_organisation_whatever_is_asked(delivered):
    result = build("carry_forward", delivered, month=9, by="programme_area")

    assert [row.label for row in result.rows] == ["ELR", "WL", "Grand Total"]
    assert result.filename == "carry_forward_2019-20_m09_delivery"


# --- the pages, the downloads, the command ---


@pytest.mark.parametrize(
    ("name", "headings", "month"),
    [("recurrence", RECURRENCE_HEADINGS, "12"), ("carry_forward", CARRY_HEADINGS, "9")],
)
def test_the_page_csv_and_xlsx_carry_the_same_headings_and_figures(
    client, delivered, name, headings, month
):
    viewer = delivered.users["elr-viewer"]

    page = get(client, viewer, name, month=month)
    downloaded = get(client, viewer, name, month=month, format="csv").content.decode("utf-8-sig")
    workbook = get(client, viewer, name, month=month, format="xlsx").content

    assert page.status_code == 200
    shown = page_table(page, "report-table")
    csv_rows = list(csv.reader(io.StringIO(downloaded)))
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).active
    xlsx_rows = [[c.value for c in row] for row in sheet.iter_rows()]
    xlsx_rows = xlsx_rows[xlsx_rows.index(headings) :][: len(csv_rows)]
    assert shown[0] == csv_rows[0] == xlsx_rows[0] == headings
    assert (
        [row[0] for row in shown] == [row[0] for row in csv_rows] == [row[0] for row in xlsx_rows]
    )
    assert [row[0] for row in csv_rows[1:]] == ["ELR", "WL", "Grand Total"]
    for on_page, in_csv, in_xlsx in zip(shown[1:], csv_rows[1:], xlsx_rows[1:], strict=True):
        assert on_page[1:] == [bracketed(int(value)) for value in in_csv[1:]]
        assert in_xlsx[1:] == [int(value) for value in in_csv[1:]]
    assert "drafts are not in." in visible(page)


def test_the_carry_forward_page_shows_its_figures_and_rules(client, delivered):
    page = get(client, delivered.users["wl-viewer"], "carry_forward", month="9")

    rows = {row[0]: row[1:] for row in page_table(page, "report-table")}
    assert rows["ELR"] == ["(78)", "(39)", "(192)", "(108)", "(72)"]
    assert rows["Grand Total"] == ["(87)", "(41)", "(204)", "(108)", "(84)"]
    shown = visible(page)
    assert "each return's actual times its month's recurrent share of the plan" in shown
    assert '<option value="delivery" selected>' in text(page)


def test_the_page_says_when_there_is_no_next_year(client, savings):
    page = get(client, savings.users["elr-viewer"], "carry_forward", month="6")

    assert page.status_code == 200
    assert "No 2020/21 yet" in visible(page)


def test_the_recurrence_page_in_the_pipeline_says_how_many_drafts_it_counts(client, savings):
    add_scheme(savings, "WL", monthly="500", state=SchemeState.DRAFT)

    page = get(client, savings.users["elr-viewer"], "recurrence", scope="pipeline")

    shown = visible(page)
    assert "Recurrent and one-off savings by organisation, 2019/20, as at month 12" in shown
    assert "whole pipeline" in shown
    assert shown.count("Includes 1 draft PID, with annual plans of (6).") == 1
    assert '<select name="by"' in text(page)  # by organisation or programme area


def test_the_index_lists_the_new_tables(client, savings):
    client.force_login(savings.users["elr-viewer"])
    page = visible(client.get(reverse("report_index")))

    assert "Recurrent and one-off savings (by default approved and in delivery)" in page
    assert (
        "Recurrent savings delivered and carried into next year (by default approved and in "
        "delivery)"
    ) in page


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("recurrence", {"scope": "everything"}, "Choose what the table counts: delivery"),
        ("carry_forward", {"scope": "all"}, "Choose what the table counts: delivery"),
        ("carry_forward", {"month": "13"}, "Month 13 is outside the year"),
        ("recurrence", {"by": "area"}, "Group by organisation or programme area, not 'area'."),
        ("carry_forward", {"year": "2031/32"}, "There is no financial year 2031/32"),
        ("recurrence", {"format": "pdf"}, "Choose html, csv or xlsx"),
    ],
)
def test_a_bad_choice_is_a_clear_400(client, savings, name, params, message):
    response = get(client, savings.users["elr-viewer"], name, **params)

    assert response.status_code == 400
    assert message in text(response)
    assert 'id="report-table"' not in text(response)


def test_the_command_prints_the_tables_with_their_rules(delivered):
    out = io.StringIO()
    call_command("qipp_report", "carry_forward", "--year", "2019/20", "--month", "9", stdout=out)
    printed = out.getvalue()

    assert printed.startswith("Recurrent savings delivered and carried into next year, 2019/20")
    elr = next(line for line in printed.splitlines() if line.startswith("ELR"))
    assert elr.split() == ["ELR", "(78)", "(39)", "(192)", "(108)", "(72)"]
    assert "recurrent share of the plan" in printed
    out = io.StringIO()
    call_command(
        "qipp_report", "recurrence", "--year", "2019/20", "--by", "programme_area",
        "--format", "csv", stdout=out,
    )  # fmt: skip
    assert out.getvalue().splitlines()[0] == ",".join(["Programme area", *RECURRENCE_HEADINGS[1:]])


# --- a fixed handful of queries ---

QUERIES = {"recurrence": 1, "carry_forward": 3}


@pytest.mark.parametrize("scope", list(reports.SCOPES))
@pytest.mark.parametrize("name", list(QUERIES))
def test_the_queries_do_not_grow_with_mixed_schemes_returns_or_carried_lines(world, name, scope):
    next_year = FinancialYear.objects.create(start_year=2020)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            build(name, world, scope, month=9)
        return len(captured)

    def add(n):
        kinds = [{"recurrence": "recurrent"}, {"recurrence": "non_recurrent"}, mixed(["500"] * 12)]
        states = [SchemeState.IN_DELIVERY, SchemeState.DRAFT, SchemeState.APPROVED]
        for i in range(n):
            org = "ELR" if i % 2 else "NN"
            scheme = change(add_scheme(world, org, state=states[i % 3]), **kinds[i % 3])
            for month in (1, 2, 3):
                add_return(scheme, month, actual=str(900 + i))
            if i % 2:
                line = add_scheme(world, org, state=states[i % 3], year=next_year)
                change(line, carried_from=scheme)

    add(5)
    few = count()
    add(45)
    many = count()

    assert few == many <= QUERIES[name]
