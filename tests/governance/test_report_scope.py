"""What a committee table counts (DESIGN.md: "Every table says what it counts"): the schemes
approved and in delivery, or the whole pipeline with its drafts, said on the page, in every
download and by the command; and the requirement table's pipeline by stage, risk-weighted by
each system's weights, worked by hand."""

import codecs
import csv
import io
import re

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from governance import reports
from governance.models import PipelineStage, SchemeState, StageWeight
from tests.governance.report_fixtures import add_return, add_scheme, add_target, report_world
from tests.governance.report_pipeline import add_opportunity, set_weight
from tests.pages import table as page_table
from tests.pages import text, visible

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.governance.report_urls")]

DELIVERY_COUNTS = "States counted: Approved, In delivery, Completed, Stopped; drafts are not in."
PIPELINE_COUNTS = (
    "States counted: Draft, Confirm and challenge, QIA panel, Awaiting sign-off, "
    "Awaiting QAG approval, Approved, In delivery, Completed, Stopped (every state but "
    "Rejected and Withdrawn); drafts are in."
)
THREE_DRAFTS = "Includes 3 draft PIDs, with annual plans of (1,200)."


@pytest.fixture
def world(db):
    return report_world()


@pytest.fixture
def drafts(world):
    """ELR: £120,000 a year in delivery, and three drafts of £1,200,000 between them."""
    add_scheme(world, "ELR", monthly="10000")
    for monthly in ("40000", "30000", "30000"):
        add_scheme(world, "ELR", monthly=monthly, state=SchemeState.DRAFT)
    return world


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


def command(*args) -> str:
    out = io.StringIO()
    call_command("qipp_report", *args, stdout=out)
    return out.getvalue()


# --- which schemes count ---


def test_a_draft_counts_in_the_whole_pipeline_and_not_in_the_approved_schemes(drafts):
    summary = {s: figures(build("summary", drafts, s))["ELR"] for s in reports.SCOPES}
    forecast = {s: figures(build("forecast", drafts, s))["ELR"] for s in reports.SCOPES}
    requirement = {s: figures(build("requirement", drafts, s)) for s in reports.SCOPES}
    by_area = {s: figures(build("area_of_spend", drafts, s)) for s in reports.SCOPES}

    assert summary["delivery"]["annual_plan"] == -120
    assert summary["pipeline"]["annual_plan"] == -1320
    assert forecast["delivery"]["annual_planned"] == -120
    assert forecast["pipeline"]["annual_planned"] == -1320
    assert requirement["delivery"]["Identified"]["ELR"] == -120
    assert requirement["pipeline"]["Identified"]["ELR"] == -1320
    assert by_area["delivery"]["Elective Care"]["ELR"] == -120
    assert by_area["pipeline"]["Elective Care"]["ELR"] == -1320


def test_each_table_counts_its_own_scope_by_default(drafts):
    defaults = {name: build(name, drafts).scope.key for name in reports.TABLES}

    assert defaults == {
        "summary": "delivery",
        "requirement": "pipeline",
        "area_of_spend": "pipeline",
        "forecast": "delivery",
        "recurrence": "delivery",
        "carry_forward": "delivery",
    }
    assert figures(build("summary", drafts))["ELR"]["annual_plan"] == -120
    assert figures(build("area_of_spend", drafts))["Elective Care"]["ELR"] == -1320


def test_the_scopes_count_the_states_the_committee_asked_for():
    delivery, pipeline = reports.SCOPES["delivery"], reports.SCOPES["pipeline"]

    assert set(delivery.states) == {"approved", "in_delivery", "completed", "stopped"}
    assert set(pipeline.states) == set(SchemeState) - {"rejected", "withdrawn"}
    assert delivery.counts == DELIVERY_COUNTS
    assert pipeline.counts == PIPELINE_COUNTS


def test_the_drafts_counted_are_said_with_their_number_and_annual_plan(drafts):
    pipeline = build("summary", drafts, "pipeline")
    delivery = build("summary", drafts, "delivery")

    assert pipeline.counts == f"{PIPELINE_COUNTS} {THREE_DRAFTS} " + (
        "A draft opens only to its team and the PMO of its organisation."
    )
    assert delivery.drafts is None and delivery.counts == DELIVERY_COUNTS
    # a recovery action that is still a draft counts in the forecast, so it is said too
    add_scheme(drafts, "WL", monthly="500", state=SchemeState.DRAFT, recovery=True)
    forecast = build("forecast", drafts, "pipeline")
    assert "Includes 4 draft PIDs, with annual plans of (1,206)." in forecast.counts
    # but it is not identified QIPP
    assert THREE_DRAFTS in build("requirement", drafts).counts
    assert THREE_DRAFTS in build("area_of_spend", drafts).counts


def test_a_pipeline_without_drafts_says_so(world):
    add_scheme(world, "ELR", monthly="10000")

    assert build("summary", world, "pipeline").counts.endswith("Includes no draft PIDs.")


def test_the_chart_counts_what_its_summary_counts(drafts):
    def planned(scope):
        plan = next(s for s in reports.chart(drafts.year, 4, scope=scope) if s.name == "Plan")
        return plan.points[-1][1]

    assert planned(reports.SCOPES["delivery"]) == 120000
    assert planned(reports.SCOPES["pipeline"]) == 1320000


# --- the page ---


def test_the_page_says_which_states_it_counts_under_the_table(client, drafts):
    response = get(client, drafts.users["wl-viewer"], "summary", month="4")

    shown = visible(response)
    assert response.status_code == 200
    assert "Summary by organisation, 2019/20, as at month 4 (July 2019), approved and in" in shown
    assert shown.count(DELIVERY_COUNTS) == 1
    assert "draft PID" not in shown
    assert text(response).index(DELIVERY_COUNTS) > text(response).index("</table>")
    assert '<option value="delivery" selected>Approved and in delivery</option>' in text(response)


def test_a_reader_who_cannot_open_the_drafts_is_told_they_are_counted(client, drafts):
    # WL's viewer may not open ELR's drafts (ACCESS.md), yet they count in the pipeline
    response = get(client, drafts.users["wl-viewer"], "summary", month="4", scope="pipeline")

    shown = visible(response)
    assert "as at month 4 (July 2019), whole pipeline" in shown
    assert shown.count(PIPELINE_COUNTS) == 1
    assert shown.count(THREE_DRAFTS) == 1  # once, under the table
    assert text(response).index(THREE_DRAFTS) > text(response).index("</table>")
    elr = next(row for row in page_table(response, "report-table") if row[0] == "ELR")
    assert elr[5] == "(1,320)"  # annual plan: the drafts' 1,200 and the 120 in delivery
    assert '<option value="pipeline" selected>Whole pipeline</option>' in text(response)


def test_the_requirement_and_area_of_spend_pages_count_the_whole_pipeline_by_default(
    client, drafts
):
    for name in ("requirement", "area_of_spend"):
        shown = visible(get(client, drafts.users["elr-viewer"], name, month="4"))
        assert "whole pipeline" in shown, name
        assert THREE_DRAFTS in shown, name


def test_the_downloads_keep_the_chosen_scope(client, drafts):
    viewer = drafts.users["elr-viewer"]
    page = text(get(client, viewer, "summary", month="4", scope="pipeline"))
    links = re.findall(r'href="\?([^"]*format=(?:csv|xlsx)[^"]*)"', page)
    assert len(links) == 2 and all("scope=pipeline" in link for link in links)

    client.force_login(viewer)
    url = reverse("report_table", args=["summary"])
    csv_response = client.get(f"{url}?{links[0].replace('&amp;', '&')}")
    xlsx_response = client.get(f"{url}?{links[1].replace('&amp;', '&')}")

    assert (
        'filename="summary_by_organisation_2019-20_m04_pipeline.csv"'
        in (csv_response["Content-Disposition"])
    )
    assert csv_response.content.startswith(codecs.BOM_UTF8)  # the mark Excel needs
    lines = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert [line[0] for line in lines] == ["Organisation", "ELR", "Grand Total"]  # nothing else
    assert lines[1][5] == "-1320"
    assert (
        'filename="summary_by_organisation_2019-20_m04_pipeline.xlsx"'
        in (xlsx_response["Content-Disposition"])
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_response.content)).active
    cells = [row[0].value for row in sheet.iter_rows() if row[0].value]
    assert cells[0] == "Summary by organisation, 2019/20, as at month 4 (July 2019), whole pipeline"
    assert any(THREE_DRAFTS in cell for cell in cells)
    assert any(PIPELINE_COUNTS in cell for cell in cells)


def test_the_delivery_download_is_named_for_its_scope_and_counts_no_draft(client, drafts):
    response = get(client, drafts.users["elr-viewer"], "summary", month="4", format="csv")

    assert "summary_by_organisation_2019-20_m04_delivery.csv" in response["Content-Disposition"]
    assert response.content.decode().splitlines()[1].split(",")[5] == "-120"


@pytest.mark.parametrize("scope", ["everything", "DELIVERY", "approved"])
def test_a_bad_scope_is_a_clear_400_page(client, drafts, scope):
    response = get(client, drafts.users["elr-viewer"], "summary", scope=scope)

    assert response.status_code == 400
    assert (
        "Choose what the table counts: delivery (approved and in delivery) or pipeline "
        f"(whole pipeline), not '{scope}'."
    ) in text(response)
    assert 'id="report-table"' not in text(response)


# --- the command ---


def test_the_command_takes_a_scope_and_prints_what_it_counts(drafts):
    default = command("summary", "--year", "2019/20", "--month", "4")
    pipeline = command("summary", "--year", "2019/20", "--month", "4", "--scope", "pipeline")

    assert default.splitlines()[0].endswith("approved and in delivery")
    assert DELIVERY_COUNTS in default and "draft PID" not in default
    assert pipeline.splitlines()[0].endswith("whole pipeline")
    assert THREE_DRAFTS in pipeline
    elr = next(line for line in pipeline.splitlines() if line.startswith("ELR"))
    assert "(1,320)" in elr


def test_the_command_writes_its_scope_into_the_csv_it_is_asked_for(drafts, tmp_path):
    path = tmp_path / "requirement.csv"

    written = command(
        "requirement", "--year", "2019/20", "--scope", "delivery", "--format", "csv",
        "--output", str(path),
    )  # fmt: skip

    assert written.startswith("Wrote Net QIPP requirement by organisation, 2019/20")
    assert "approved and in delivery" in written
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[1] == ["Identified", "-120", "-120"]


def test_a_bad_scope_is_a_clear_command_error(drafts):
    with pytest.raises(CommandError, match="Choose what the table counts: delivery"):
        command("summary", "--year", "2019/20", "--scope", "all")


# --- the requirement table by stage, worked by hand ---


@pytest.fixture
def pipeline(world):
    """Three organisations of two systems, schemes in every state, opportunities open,
    converted, closed and of another year; LLR weighs the PIDs in review at 40%, NOT at the
    default 50%.

    ELR (LLR), requirement £1,000,000:
      draft £120,000 (development); confirm and challenge £60,000 and QIA panel £15,000
      (review: £75,000); approved £240,000; in delivery £360,000; an open opportunity
      £80,000. Not counted: a rejected and a withdrawn scheme, a recovery action, the
      opportunity converted into the approved scheme (counted as that scheme), a closed one.
    WL (LLR), requirement £100,000: draft £6,000; stopped £30,000 and completed £12,000.
    NN (NOT), requirement £50,000: awaiting sign-off £40,000; an open opportunity £25,000.
    """
    add_target(world, "ELR", "1000000")
    add_target(world, "WL", "100000")
    add_target(world, "NN", "50000")
    add_scheme(world, "ELR", monthly="10000", state=SchemeState.DRAFT)
    add_scheme(world, "ELR", monthly="5000", state=SchemeState.CONFIRM_AND_CHALLENGE)
    add_scheme(world, "ELR", plan=["15000"] + ["0"] * 11, state=SchemeState.QIA_PANEL)
    approved = add_scheme(world, "ELR", monthly="20000", state=SchemeState.APPROVED)
    in_delivery = add_scheme(world, "ELR", monthly="30000")
    add_return(in_delivery, 1, actual="1")  # returns do not move the plan
    add_scheme(world, "ELR", monthly="50000", state=SchemeState.REJECTED)
    add_scheme(world, "ELR", monthly="1000", state=SchemeState.WITHDRAWN)
    add_scheme(world, "ELR", monthly="7000", recovery=True)
    add_opportunity(world, "ELR", "80000")
    add_opportunity(world, "ELR", "999000", status="converted", scheme=approved)
    add_opportunity(world, "ELR", "500000", status="closed")
    add_scheme(world, "WL", monthly="500", state=SchemeState.DRAFT)
    add_scheme(world, "WL", monthly="2500", state=SchemeState.STOPPED)
    add_scheme(world, "WL", monthly="1000", state=SchemeState.COMPLETED)
    add_scheme(world, "NN", plan=["40000"] + ["0"] * 11, state=SchemeState.AWAITING_SIGN_OFF)
    add_opportunity(world, "NN", "25000")
    set_weight(world, "LLR", PipelineStage.ASSURANCE, "40")
    return world


REVIEW = "In confirm and challenge, QIA or sign-off"


def test_the_requirement_table_by_stage_unweighted_and_risk_weighted(pipeline):
    result = build("requirement", pipeline)

    assert [c.label for c in result.columns] == ["ELR", "NN", "WL", "Total"]
    assert figures(result) == {
        # as the committee has always had it: the PIDs' plans against the requirement
        "Identified": {"ELR": -795, "NN": -40, "WL": -48, "total": -883},
        "Unidentified": {"ELR": -205, "NN": -10, "WL": -52, "total": -267},
        "Total": {"ELR": -1000, "NN": -50, "WL": -100, "total": -1150},
        # by stage, unweighted
        "Identified: Opportunity": {"ELR": -80, "NN": -25, "WL": 0, "total": -105},
        "Identified: PID in development": {"ELR": -120, "NN": 0, "WL": -6, "total": -126},
        f"Identified: {REVIEW}": {"ELR": -75, "NN": -40, "WL": 0, "total": -115},
        "Identified: Approved": {"ELR": -240, "NN": 0, "WL": 0, "total": -240},
        "Identified: In delivery": {"ELR": -360, "NN": 0, "WL": -42, "total": -402},
        # weighted: 10% of 80,000 and 25,000 (2,500 shows as 3: half away from zero)
        "Risk-weighted: Opportunity (10%)": {"ELR": -8, "NN": -3, "WL": 0, "total": -11},
        # 25% of 120,000 and of 6,000 (1,500 shows as 2); the total 31,500 as 32
        "Risk-weighted: PID in development (25%)": {
            "ELR": -30,
            "NN": 0,
            "WL": -2,
            "total": -32,
        },
        # LLR's own 40% of ELR's 75,000; NOT's default 50% of NN's 40,000
        f"Risk-weighted: {REVIEW} (LLR 40%, NOT 50%)": {
            "ELR": -30,
            "NN": -20,
            "WL": 0,
            "total": -50,
        },
        "Risk-weighted: Approved (75%)": {"ELR": -180, "NN": 0, "WL": 0, "total": -180},
        "Risk-weighted: In delivery (100%)": {"ELR": -360, "NN": 0, "WL": -42, "total": -402},
        # ELR 608,000; NN 22,500 (23); WL 43,500 (44); the total from exact pounds, 674,000,
        # not the 675 of the rounded figures
        "Risk-weighted identified": {"ELR": -608, "NN": -23, "WL": -44, "total": -674},
        "Unidentified after risk weighting": {
            "ELR": -392,
            "NN": -28,  # 27,500
            "WL": -57,  # 56,500
            "total": -476,
        },
    }
    assert result.drafts == reports.parts.Drafts(2, 126000)  # ELR's and WL's
    assert "Includes 2 draft PIDs, with annual plans of (126)." in result.counts


def test_the_requirement_table_of_the_approved_schemes_has_no_opportunities(pipeline):
    result = build("requirement", pipeline, "delivery")

    assert figures(result) == {
        "Identified": {"ELR": -600, "NN": 0, "WL": -42, "total": -642},
        "Unidentified": {"ELR": -400, "NN": -50, "WL": -58, "total": -508},
        "Total": {"ELR": -1000, "NN": -50, "WL": -100, "total": -1150},
        "Identified: Approved": {"ELR": -240, "NN": 0, "WL": 0, "total": -240},
        "Identified: In delivery": {"ELR": -360, "NN": 0, "WL": -42, "total": -402},
        "Risk-weighted: Approved (75%)": {"ELR": -180, "NN": 0, "WL": 0, "total": -180},
        "Risk-weighted: In delivery (100%)": {"ELR": -360, "NN": 0, "WL": -42, "total": -402},
        "Risk-weighted identified": {"ELR": -540, "NN": 0, "WL": -42, "total": -582},
        "Unidentified after risk weighting": {
            "ELR": -460,
            "NN": -50,
            "WL": -58,
            "total": -568,
        },
    }
    assert result.drafts is None
    assert "Opportunities count in the whole pipeline only." in result.notes


def test_a_system_of_the_readers_own_shows_its_own_weight(pipeline):
    llr = {pipeline.org("ELR").system_id}

    labels = [row.label for row in build("requirement", pipeline, system_ids=llr).rows]

    assert f"Risk-weighted: {REVIEW} (40%)" in labels


def test_the_requirement_page_shows_the_stages_and_their_weights(client, pipeline):
    response = get(client, pipeline.users["elr-viewer"], "requirement", month="4")

    rows = {row[0]: row[1:] for row in page_table(response, "report-table")[1:]}
    assert rows["Identified"] == ["(795)", "(48)", "(843)"]  # ELR, WL: the reader's system
    assert rows[f"Risk-weighted: {REVIEW} (40%)"] == ["(30)", "0", "(30)"]
    assert rows["Risk-weighted identified"] == ["(608)", "(44)", "(652)"]  # 651,500
    assert rows["Unidentified after risk weighting"] == ["(392)", "(57)", "(449)"]  # 448,500
    shown = visible(response)
    assert "Includes 2 draft PIDs, with annual plans of (126)." in shown
    assert "Opportunity: the estimated savings of the open opportunities" in shown


# --- the weights in the admin ---


def test_an_administrator_sets_a_systems_weight_and_the_table_uses_it(client, pipeline):
    admin = pipeline.add_user("admin", [], is_staff=True, is_superuser=True)
    client.force_login(admin)
    listed = client.get(reverse("admin:governance_stageweight_changelist"))
    assert listed.status_code == 200 and "Weight (%)" in text(listed)

    added = client.post(
        reverse("admin:governance_stageweight_add"),
        {"system": pipeline.systems["LLR"].pk, "stage": "opportunity", "weight_percent": "20"},
    )

    assert added.status_code == 302
    weight = StageWeight.objects.get(system__code="LLR", stage="opportunity")
    assert weight.weight_percent == 20
    labels = [row.label for row in build("requirement", pipeline).rows]
    assert "Risk-weighted: Opportunity (LLR 20%, NOT 10%)" in labels


def test_the_admin_lists_and_searches_opportunities_and_changes_none(client, pipeline):
    admin = pipeline.add_user("admin", [], is_staff=True, is_superuser=True)
    client.force_login(admin)

    listed = client.get(reverse("admin:governance_opportunity_changelist"), {"q": "OPP-NN"})
    filtered = client.get(reverse("admin:governance_opportunity_changelist"), {"status": "open"})

    assert listed.status_code == 200
    assert "OPP-NN-" in text(listed) and "OPP-ELR-" not in text(listed)
    assert filtered.status_code == 200
    assert "OPP-ELR-1920-001" in text(filtered) and "OPP-NN-1920-001" in text(filtered)
    assert "OPP-ELR-1920-003" not in text(filtered)  # closed
    assert client.get(reverse("admin:governance_opportunity_add")).status_code == 403
