"""The report pages, their downloads and the PMO's upload page, as users drive them."""

import csv
import html
import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from governance.models import (
    AccessRefusal,
    AreaOfSpend,
    FinancialYear,
    Organisation,
    ProgrammeArea,
    QippTarget,
    Scheme,
)
from tests.governance.report_fixtures import add_return, add_scheme, report_world
from tests.pages import visible

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.governance.report_urls")]


@pytest.fixture
def world(db):
    world = report_world()
    scheme = add_scheme(world, "ELR", monthly="1637250")  # 19,647,000 a year
    add_return(scheme, 1, actual="1500000", forecast="19000000", assured="1400000")
    add_scheme(world, "NN", monthly="5000000")  # another system's
    return world


def page(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def text(response) -> str:
    return html.unescape(response.content.decode())


def summary_url():
    return reverse("report_table", args=["summary"])


def test_a_signed_in_user_sees_the_summary_in_brackets_with_its_chart(client, world):
    response = page(client, world.users["elr-viewer"], summary_url(), year="2019/20", month="1")

    assert response.status_code == 200
    body = text(response)
    assert "Summary by organisation, 2019/20, as at month 1 (April 2019)" in body
    assert "(19,647)" in body  # annual plan
    assert "(1,400)" in body  # the PMO assured value beside the actuals
    assert "<svg" in body and "Cumulative savings, 2019/20, as at month 1" in body
    for line in ("Plan", "Actual", "Forecast", "PMO assured"):
        assert f"<title>{line}</title>" in body


def test_a_user_sees_only_the_organisations_of_their_own_system(client, world):
    ours = text(page(client, world.users["elr-viewer"], summary_url(), year="2019/20"))
    theirs = text(page(client, world.users["nn-viewer"], summary_url(), year="2019/20"))

    assert '<th scope="row">ELR</th>' in ours and '<th scope="row">NN</th>' not in ours
    assert '<th scope="row">NN</th>' in theirs and '<th scope="row">ELR</th>' not in theirs


def test_every_table_has_a_page_for_every_signed_in_user(client, world):
    headings = {
        "summary": "Summary by organisation, 2019/20, as at month 6 (September 2019)",
        "requirement": "Net QIPP requirement by organisation, 2019/20",
        "area_of_spend": "Schemes by area of spend, 2019/20",
        "forecast": "Forecast delivery by organisation, 2019/20",
    }
    for name, heading in headings.items():
        url = reverse("report_table", args=[name])
        response = page(client, world.users["elr-project-lead"], url, year="2019/20", month="6")
        assert response.status_code == 200, name
        assert heading in text(response)
        assert "(19,647)" in text(response)


def test_the_table_downloads_as_csv_and_xlsx(client, world):
    csv_response = page(
        client, world.users["elr-viewer"], summary_url(), year="2019/20", month="1", format="csv"
    )
    xlsx_response = page(
        client, world.users["elr-viewer"], summary_url(), year="2019/20", month="1", format="xlsx"
    )

    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    # the scope in the file's name: the CSV itself is the page's headings and rows only
    assert "summary_by_organisation_2019-20_m01_delivery.csv" in csv_response["Content-Disposition"]
    assert len(csv_response.content.decode().splitlines()) == 1 + 2  # ELR and the Grand Total
    assert (
        csv_response.content.decode().splitlines()[1]
        == "ELR,-1637,-1500,-1400,137,-19647,-19000,647,3"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_response.content)).active
    elr = next(row for row in sheet.iter_rows() if row[0].value == "ELR")
    assert elr[1].value == -1637
    assert elr[1].number_format == "#,##0;(#,##0)"


HOSTILE = '=HYPERLINK("http://evil.example","Click")'


@pytest.mark.parametrize(
    ("table", "by", "renamed"),
    [
        ("summary", "programme_area", ("programme area", HOSTILE)),
        ("area_of_spend", "organisation", ("area of spend", "+cmd|' /C calc'!A0")),
        ("requirement", "organisation", ("organisation", "@SUM(1+1)")),
        ("summary", "organisation", ("organisation", "-2+3")),
    ],
)
def test_names_that_look_like_formulas_download_as_plain_text(client, world, table, by, renamed):
    what, name = renamed
    if what == "programme area":
        ProgrammeArea.objects.filter(name="Planned Care").update(name=name)
    elif what == "area of spend":
        AreaOfSpend.objects.filter(name="Elective Care").update(name=name)
    else:
        Organisation.objects.filter(code="ELR").update(code=name)
    url = reverse("report_table", args=[table])
    params = {"year": "2019/20", "month": "1", "by": by}

    csv_text = page(client, world.users["elr-viewer"], url, **params, format="csv").content.decode(
        "utf-8-sig"
    )
    workbook = page(client, world.users["elr-viewer"], url, **params, format="xlsx").content

    cells = [cell for line in csv.reader(io.StringIO(csv_text)) for cell in line]
    assert f"'{name}" in cells and name not in cells  # the OWASP quote before it
    assert any(cell.startswith("-") and cell[1:].isdigit() for cell in cells)  # numbers stay
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).active
    found = [c for row in sheet.iter_rows() for c in row if c.value == name]
    assert found and all(c.data_type == "s" for c in found)
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(workbook)).read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"year": "garbage"}, "'garbage' is not a financial year: write it like 2019/20."),
        ({"year": "\u00b2019/20"}, "'\u00b2019/20' is not a financial year"),
        ({"year": "2019/20", "month": "\u00b3"}, "'\u00b3' is not a month"),
        ({"year": "2019/20", "month": "13"}, "Month 13 is outside the year"),
        ({"year": "2019/20", "month": "x"}, "'x' is not a month"),
        ({"year": "2031/32"}, "There is no financial year 2031/32"),
        (
            {"year": "2019/20", "by": "nonsense"},
            "Group by organisation or programme area, not 'nonsense'.",
        ),
        ({"year": "2019/20", "format": "pdf"}, "Choose html, csv or xlsx"),
        (
            {"year": "2019/20", "scope": "drafts"},
            "Choose what the table counts: delivery (approved and in delivery) or pipeline "
            "(whole pipeline), not 'drafts'.",
        ),
    ],
)
def test_a_bad_choice_on_the_report_page_shows_a_clear_message(client, world, params, message):
    response = page(client, world.users["elr-viewer"], summary_url(), **params)

    assert response.status_code == 400
    assert message in text(response)


LONG = "x" * 5000


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"year": LONG}, f"'{'x' * 39}…' is not a financial year: write it like 2019/20."),
        ({"year": "2019/20", "month": LONG}, f"'{'x' * 39}…' is not a month"),
        ({"year": "2019/20", "month": "9" * 100}, f"Month {'9' * 39}… is outside the year"),
        ({"year": "2019/20", "by": LONG}, f"programme area, not '{'x' * 39}…'."),
        ({"year": "2019/20", "scope": LONG}, f"(whole pipeline), not '{'x' * 39}…'."),
    ],
)
def test_a_long_bad_choice_is_repeated_cut_to_40_characters(client, world, params, message):
    response = page(client, world.users["elr-viewer"], summary_url(), **params)

    assert response.status_code == 400
    assert message in text(response)
    assert "x" * 41 not in text(response) and "9" * 41 not in text(response)


def test_an_unknown_report_is_not_found(client, world):
    url = reverse("report_table", args=["nonsense"])

    assert page(client, world.users["elr-viewer"], url).status_code == 404


def test_the_reports_need_a_signed_in_user(client, world):
    response = client.get(summary_url(), {"year": "2019/20"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_index_lists_the_four_tables_and_offers_the_import_to_the_pmo_only(client, world):
    for_viewer = text(page(client, world.users["elr-viewer"], reverse("report_index")))
    for_pmo = text(page(client, world.users["pmo"], reverse("report_index")))

    for title in ("Summary", "Net QIPP requirement", "Schemes by area of spend", "Forecast"):
        assert title in for_viewer
    shown = visible(page(client, world.users["elr-viewer"], reverse("report_index")))
    assert "Summary (by default approved and in delivery)" in shown
    assert "Net QIPP requirement (by default whole pipeline)" in shown
    assert reverse("import_upload") not in for_viewer
    assert reverse("import_upload") in for_pmo


# --- upload ---


def upload(client, user, kind, content: bytes, name="file.csv", **extra):
    client.force_login(user)
    data = {"kind": kind, "file": SimpleUploadedFile(name, content), **extra}
    # the upload commits, then a worker (here, in-process) imports the file
    with TestCase.captureOnCommitCallbacks(execute=True):
        posted = client.post(reverse("import_upload"), data)
    return client.get(posted["Location"]) if posted.status_code == 302 else posted


TARGETS = b"organisation,financial_year,requirement\nELR,2019/20,20000000\nWL,2019/20,15000000\n"


def test_only_the_pmo_may_open_or_use_the_upload_page(client, world):
    for who in ("elr-viewer", "elr-project-lead"):
        client.force_login(world.users[who])
        shown = client.get(reverse("import_upload"))
        posted = upload(client, world.users[who], "targets", TARGETS)

        assert shown.status_code == posted.status_code == 403
        assert "Only the PMO can import targets, plans and returns" in text(shown)
    assert not QippTarget.objects.exists()
    assert AccessRefusal.objects.filter(action="import").count() == 4


def test_the_pmo_uploads_a_file_and_sees_the_counts(client, world):
    response = upload(client, world.users["pmo"], "targets", TARGETS)

    assert response.status_code == 200
    assert "file.csv: Imported targets: 2 created, 0 updated, 0 unchanged." in text(response)
    assert QippTarget.objects.count() == 2


def test_the_upload_page_lists_every_bad_row_with_its_row_number(client, world):
    content = (
        b"reference,month,actual\nELR-1920-001,1,100\nELR-1920-999,1,100\nELR-1920-001,13,100\n"
    )

    response = upload(client, world.users["pmo"], "returns", content)

    body = text(response)
    assert "Nothing was imported: 2 problems to fix in the file" in body
    assert "<li>row 3: no scheme has the reference 'ELR-1920-999'</li>" in body
    assert "<li>row 4: month 13 is outside 1 to 12 (1 is April, 12 is March)</li>" in body
    assert Scheme.objects.get(reference="ELR-1920-001").returns.count() == 1


def test_a_pmo_imports_for_their_own_organisations_only(client, world):
    response = upload(client, world.users["elr-pmo"], "targets", TARGETS)

    assert "row 3: you can import for your own organisations only, not WL" in text(response)
    assert not QippTarget.objects.exists()


def test_the_pmo_cannot_create_financial_years_or_areas_from_the_upload_page(client, world):
    new_year = b"organisation,financial_year,requirement\nELR,2031/32,1000\n"
    client.force_login(world.users["elr-pmo"])
    page = text(client.get(reverse("import_upload")))
    assert "Create financial years" not in page
    assert "ask an administrator to add it first" in page

    # a forged tick is ignored: the year is unknown, and nothing is made
    response = upload(client, world.users["elr-pmo"], "targets", new_year, create_missing="on")

    assert "row 2: unknown financial year 2031/32" in text(response)
    assert not FinancialYear.objects.filter(start_year=2031).exists()


def test_staff_may_create_financial_years_from_the_upload_page(client, world):
    pmo = world.users["elr-pmo"]
    pmo.is_staff = True
    pmo.save()
    new_year = b"organisation,financial_year,requirement\nELR,2031/32,1000\n"
    client.force_login(pmo)
    assert "Create financial years" in text(client.get(reverse("import_upload")))

    response = upload(client, pmo, "targets", new_year, create_missing="on")

    assert "Imported targets: 1 created" in text(response)
    assert FinancialYear.objects.filter(start_year=2031).exists()


def test_the_upload_refuses_a_file_that_is_not_csv_or_xlsx(client, world):
    response = upload(client, world.users["pmo"], "targets", b"%PDF-1.4", name="targets.pdf")

    assert "Choose a .csv or .xlsx file." in text(response)


def test_the_pmo_uploads_an_xlsx_workbook(client, world):
    workbook = openpyxl.Workbook()
    workbook.active.append(["Organisation", "Financial_Year", "Requirement", "Allocation"])
    workbook.active.append(["ELR", "2019/20", 19647000, 327450000])
    content = io.BytesIO()
    workbook.save(content)

    response = upload(client, world.users["pmo"], "targets", content.getvalue(), "t.xlsx")

    assert "t.xlsx: Imported targets: 1 created, 0 updated, 0 unchanged." in text(response)
    assert QippTarget.objects.get().target_percent == 6
