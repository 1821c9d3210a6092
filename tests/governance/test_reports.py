"""The committee tables: the published example, the rules, the formats and the query count."""

import csv
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance import reports
from governance.models import Scheme, SchemeState
from governance.reports.tables import FORECAST_COLUMNS, SUMMARY_COLUMNS
from tests.governance.report_fixtures import (
    EXAMPLES,
    add_return,
    add_scheme,
    add_target,
    import_example,
    report_world,
)
from tests.governance.report_pipeline import add_opportunity

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return report_world()


def report(*args) -> str:
    out = io.StringIO()
    call_command("qipp_report", *args, stdout=out)
    return out.getvalue()


def table(name, world, month=12, by="organisation", system_ids=None, scope=None):
    return reports.build(
        name,
        year=world.year,
        month=month,
        by=by,
        system_ids=system_ids,
        scope=scope and reports.SCOPES[scope],
    )


def table_columns(name):
    return {"summary": SUMMARY_COLUMNS, "forecast": FORECAST_COLUMNS}[name]


def figures(result) -> dict[str, dict[str, int | None]]:
    """{row label: {column key: figure shown}}"""
    return {row.label: {cell.column.key: cell.value for cell in row.cells} for row in result.rows}


# --- the published example ---


def test_the_published_month_4_tables_come_out_of_the_imported_files_exactly(db):
    import_example()
    # a past year is loaded as it stood, in delivery: every scheme counts in the committee's
    # default scope, so the published figures come out of it unchanged
    assert set(Scheme.objects.values_list("state", flat=True)) == {SchemeState.IN_DELIVERY}
    assert SchemeState.IN_DELIVERY in reports.DEFAULT_SCOPES["summary"].states

    expected = {
        ("summary", "organisation"): "expected_summary_by_organisation_m4.csv",
        ("forecast", "programme_area"): "expected_forecast_by_programme_area_m4.csv",
        ("forecast", "organisation"): "expected_forecast_by_organisation_m4.csv",
    }
    for (name, by), filename in expected.items():
        printed = report(name, "--year", "2018/19", "--month", "4", "--by", by, "--format", "csv")
        # the published files name their columns by key; ours carry the page's headings
        published = list(csv.DictReader(io.StringIO((EXAMPLES / filename).read_text())))
        ours = list(csv.DictReader(io.StringIO(printed)))
        keys = {c.label: c.key for c in table_columns(name)}
        keys[reports.BY_CHOICES[by]] = "organisation" if name == "summary" else "label"
        ours = [{keys[heading]: value for heading, value in row.items()} for row in ours]
        assert len(ours) == len(published), filename
        for expected_row, our_row in zip(published, ours, strict=True):
            assert expected_row == {k: our_row[k] for k in expected_row}, filename


# --- the rules ---


def test_a_scheme_without_a_forecast_forecasts_its_actuals_plus_the_rest_of_its_plan(world):
    no_forecast = add_scheme(world, "ELR", monthly="10000")
    for month in (1, 2, 3):
        add_return(no_forecast, month, actual="12000")

    rows = figures(table("forecast", world, month=3))

    # 3 x 12,000 actual + 9 x 10,000 plan
    assert rows["ELR"]["existing_forecast"] == -126


def test_the_forecast_is_the_one_on_the_latest_return_at_or_before_the_month(world):
    scheme = add_scheme(world, "WL", monthly="10000")
    add_return(scheme, 1, actual="8000", forecast="100000")
    add_return(scheme, 2, actual="8000", forecast="90000")
    add_return(scheme, 3, actual="8000")  # no forecast this month: the last one stands
    add_return(scheme, 5, actual="8000", forecast="200000")

    assert figures(table("forecast", world, month=1))["WL"]["existing_forecast"] == -100
    assert figures(table("forecast", world, month=4))["WL"]["existing_forecast"] == -90
    assert figures(table("forecast", world, month=5))["WL"]["existing_forecast"] == -200
    assert figures(table("summary", world, month=4))["WL"]["forecast_outturn"] == -90


def test_recovery_schemes_count_in_actuals_and_forecasts_but_not_in_the_plan(world):
    existing = add_scheme(world, "ELR", monthly="10000")
    recovery = add_scheme(world, "ELR", plan=[0] * 5 + [7000] * 7, recovery=True)
    for month in (1, 2, 3, 4):
        add_return(existing, month, actual="10000")
    add_return(recovery, 4, actual="2000")

    forecast = figures(table("forecast", world, month=4))["ELR"]
    summary = figures(table("summary", world, month=4))["ELR"]

    assert forecast == {
        "annual_planned": -120,
        "existing_forecast": -120,
        "recovery_forecast": -51,  # 2,000 delivered + 7 x 7,000 still planned
        "final_forecast": -171,
    }
    assert summary["ytd_plan"] == -40
    assert summary["ytd_actual"] == -42
    assert summary["annual_plan"] == -120
    assert summary["forecast_outturn"] == -171
    identified = figures(table("requirement", world))["Identified"]
    assert identified["ELR"] == -120


def test_unidentified_qipp_is_the_requirement_less_the_identified_schemes_plans(world):
    add_scheme(world, "ELR", monthly="10000")
    add_scheme(world, "ELR", monthly="5000", recovery=True)  # not identified QIPP
    add_scheme(world, "WL", monthly="5000", area="Urgent Care", spend="Emergency Care")
    add_target(world, "ELR", "150000")
    add_target(world, "WL", "50000")  # WL has found more than it needs

    requirement = figures(table("requirement", world))
    by_area = figures(table("area_of_spend", world))

    assert dict(list(requirement.items())[:3]) == {
        "Identified": {"ELR": -120, "WL": -60, "total": -180},
        "Unidentified": {"ELR": -30, "WL": 10, "total": -20},
        "Total": {"ELR": -150, "WL": -50, "total": -200},
    }
    assert by_area == {
        "Elective Care": {"ELR": -120, "WL": 0, "total": -120},
        "Emergency Care": {"ELR": 0, "WL": -60, "total": -60},
        "Unidentified": {"ELR": -30, "WL": 10, "total": -20},
        "Grand Total": {"ELR": -150, "WL": -50, "total": -200},
    }


def test_an_organisation_without_a_target_shows_no_unidentified_figure(world):
    add_scheme(world, "NN", monthly="1000")

    rows = figures(table("requirement", world))

    assert rows["Unidentified"]["NN"] is None
    assert rows["Total"]["NN"] == -12
    assert "Unidentified,," in reports.to_csv(table("requirement", world))


def test_rejected_and_withdrawn_schemes_never_count_and_drafts_only_in_the_pipeline(world):
    for state in (
        SchemeState.IN_DELIVERY,
        SchemeState.DRAFT,
        SchemeState.STOPPED,
        SchemeState.REJECTED,
        SchemeState.WITHDRAWN,
    ):
        scheme = add_scheme(world, "ELR", monthly="1000", state=state)
        add_return(scheme, 1, actual="2000")

    delivery = figures(table("summary", world, month=1))
    pipeline = figures(table("summary", world, month=1, scope="pipeline"))

    assert delivery["ELR"]["annual_plan"] == -24  # in delivery and stopped
    assert delivery["ELR"]["ytd_actual"] == -4
    assert pipeline["ELR"]["annual_plan"] == -36  # and the draft
    assert pipeline["ELR"]["ytd_actual"] == -6


def test_variance_is_actual_less_plan_and_its_percent_of_the_plan_has_its_sign(world):
    behind = add_scheme(world, "ELR", monthly="10000")
    add_return(behind, 1, actual="4000", forecast="60000")

    rows = figures(table("summary", world, month=1))

    assert rows["ELR"]["ytd_variance"] == 6  # positive: under-delivery
    assert rows["ELR"]["annual_variance"] == 60
    assert rows["ELR"]["annual_variance_pct"] == 50  # under-delivery, like its variance


def test_half_a_thousand_rounds_away_from_zero(world):
    scheme = add_scheme(world, "ELR", plan=["2500"] + ["0"] * 11)
    add_return(scheme, 1, actual="-2500")  # costs rose
    on_half_percent = add_scheme(world, "WL", monthly="10000")
    add_return(on_half_percent, 1, actual="0", forecast="120600")  # 0.5% over plan

    rows = figures(table("summary", world, month=1))

    assert rows["ELR"]["ytd_plan"] == -3  # banker's rounding would say -2
    assert rows["ELR"]["ytd_actual"] == 3
    assert rows["WL"]["annual_variance"] == -1  # over-delivery
    assert rows["WL"]["annual_variance_pct"] == -1


def test_each_total_is_rounded_from_exact_pounds_not_added_up_from_rounded_rows(world):
    add_scheme(world, "ELR", plan=["1400"] + ["0"] * 11)
    add_scheme(world, "WL", plan=["1400"] + ["0"] * 11)

    rows = figures(table("summary", world, month=1))

    assert rows["ELR"]["ytd_plan"] == rows["WL"]["ytd_plan"] == -1
    assert rows["Grand Total"]["ytd_plan"] == -3


def test_the_pmo_assured_value_shows_beside_the_actuals_in_the_page_and_the_csv(world):
    scheme = add_scheme(world, "ELR", monthly="10000")
    add_return(scheme, 1, actual="10000", assured="9000")
    add_return(scheme, 2, actual="10000")  # not assured yet
    add_scheme(world, "WL", monthly="10000")

    result = table("summary", world, month=2)
    rows = figures(result)

    assert [c.label for c in result.columns][1:3] == ["YTD Actuals", "YTD PMO assured"]
    assert rows["ELR"]["ytd_assured"] == -9
    assert rows["WL"]["ytd_assured"] is None
    assert reports.to_csv(result).splitlines()[0] == (
        "Organisation,YTD Plan,YTD Actuals,YTD PMO assured,YTD Variance,Annual Plan,"
        "Forecast Outturn,Annual Variance,Annual variance %"
    )
    assert reports.to_csv(result).splitlines()[1].startswith("ELR,-20,-20,-9,0,")


def test_by_programme_area_labels_rows_by_name(world):
    add_scheme(world, "ELR", monthly="1000", area="Urgent Care")
    add_scheme(world, "WL", monthly="1000", area="Planned Care")

    printed = report("summary", "--year", "2019/20", "--by", "programme_area", "--format", "csv")

    assert printed.splitlines()[0].startswith("Programme area,YTD Plan,")
    assert [line.split(",")[0] for line in printed.splitlines()[1:]] == [
        "Planned Care",
        "Urgent Care",
        "Grand Total",
    ]


def test_a_report_for_a_system_leaves_other_systems_out(world):
    add_scheme(world, "ELR", monthly="1000")
    add_scheme(world, "NN", monthly="1000")

    llr = {world.org("ELR").system_id}
    rows = figures(table("summary", world, system_ids=llr))

    assert list(rows) == ["ELR", "Grand Total"]


# the queries of each table, in either scope: the requirement table reads the plans by state,
# the targets, the open opportunities and the systems' stage weights; the carry-forward table
# the schemes and their carried lines, the returns, and whether the next year exists
QUERIES = {
    "summary": 1,
    "forecast": 1,
    "area_of_spend": 2,
    "requirement": 4,
    "recurrence": 1,
    "carry_forward": 3,
}


@pytest.mark.parametrize("scope", list(reports.SCOPES))
@pytest.mark.parametrize("name", list(reports.TABLES))
def test_the_number_of_queries_does_not_grow_with_the_number_of_schemes(world, name, scope):
    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            table(name, world, month=6, scope=scope)
        with CaptureQueriesContext(connection) as charted:
            reports.chart(world.year, 6, scope=reports.SCOPES[scope])
        return len(captured), len(charted)

    states = [SchemeState.IN_DELIVERY, SchemeState.DRAFT, SchemeState.QIA_PANEL]
    statuses = ["open", "converted", "closed"]

    def add(n):
        for i in range(n):
            org = "ELR" if i % 2 else "NN"  # two systems, each with its own weights
            scheme = add_scheme(world, org, recovery=i % 5 == 0, state=states[i % 3])
            add_return(scheme, 1, actual="900", forecast="11000" if i % 3 else None)
            add_return(scheme, 2, actual="1100", assured="1000")
            add_opportunity(world, org, "5000", status=statuses[i % 3])

    add_target(world, "ELR", "100000")
    add(5)
    few = count_queries()
    add(45)
    many = count_queries()

    assert few == many
    assert many[0] <= QUERIES[name]
    assert many[1] <= 3  # the chart


# --- formats ---


def test_the_text_table_prints_brackets_and_thousands_separators(world):
    add_scheme(world, "ELR", monthly="1637250")  # 19,647,000 a year

    printed = report("summary", "--year", "2019/20")

    assert "Summary by organisation, 2019/20, as at month 12 (March 2020)" in printed
    assert "(19,647)" in printed
    elr = next(line for line in printed.splitlines() if line.startswith("ELR"))
    # no return by month 12: nothing delivered, nothing forecast, the whole plan behind
    assert elr.split() == ["ELR", "(19,647)", "0", "19,647", "(19,647)", "0", "19,647", "100%"]
    lines = printed.splitlines()
    assert lines[-3].startswith("Grand Total")
    assert (
        lines[-1] == "States counted: Approved, In delivery, Completed, Stopped; drafts are not in."
    )


def test_the_xlsx_opens_with_openpyxl_and_carries_the_number_formats(world, tmp_path):
    add_scheme(world, "ELR", monthly="1637250")
    path = tmp_path / "summary.xlsx"

    report(
        "summary", "--year", "2019/20", "--month", "4", "--format", "xlsx", "--output", str(path)
    )

    sheet = openpyxl.load_workbook(path).active
    rows = {row[0].value: row for row in sheet.iter_rows() if row[0].value}
    header = [cell.value for cell in rows["Organisation"]]
    elr = {h: cell for h, cell in zip(header, rows["ELR"], strict=True)}
    assert elr["Annual Plan"].value == -19647
    assert elr["Annual Plan"].number_format == "#,##0;(#,##0)"
    assert elr["YTD Plan"].value == -6549
    assert elr["Annual variance %"].value == 33  # 4 months of nothing, 8 still planned
    assert elr["Annual variance %"].number_format == reports.XLSX_PERCENT_FORMAT
    assert rows["Grand Total"][4].number_format == "#,##0;(#,##0)"


def test_an_xlsx_without_an_output_file_is_refused_clearly(world):
    with pytest.raises(CommandError, match="--output"):
        report("summary", "--year", "2019/20", "--format", "xlsx")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--year", "2019-20"], "not a financial year"),
        (["--year", "2031/32"], "no financial year 2031/32"),
        (["--year", "2019/20", "--month", "13"], "Month 13 is outside the year"),
        (["--year", "2019/20", "--month", "May"], "not a month"),
        (["--year", "2019/20", "--by", "area"], "organisation or programme area, not 'area'"),
    ],
)
def test_a_bad_year_month_or_grouping_is_a_clear_command_error(world, args, message):
    with pytest.raises(CommandError, match=message):
        report("summary", *args)
