"""The QIA risk register names each scheme's SRO and downloads as CSV or XLSX: every risk the
page lists for that user with its filters and sort (all pages of it), under the page's
headings; a draft's risk only for those who may see the draft; a bad filter gives the page's
error, never a 500 or an unfiltered file."""

import csv
import io
import re
from datetime import date

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from governance.models import Scheme, SchemeState, User
from tests.pages import table, text, visible
from tests.qia.conftest import scores

pytestmark = pytest.mark.django_db

HEADINGS = [
    "Scheme",
    "Organisation",
    "Year",
    "SRO",
    "Scheme state",
    "QIA",
    "Overall score",
    "Highest heading",
    "Review date",
]


@pytest.fixture
def risks(qia):
    """Three ELR schemes with agreed risks, 20 (5 x 4) signed off, 12 (4 x 3) and 6 (3 x 2);
    the 12 one's scheme back in draft (returned after its QIA was agreed)."""
    with time_machine.travel(date(2019, 6, 3)):
        extreme = qia.approved(qia.draft(title="Extreme"), scores(patient_safety=(5, 4)))
        high = qia.awaiting_sign_off(qia.draft(title="High"), scores(patient_safety=(4, 3)))
        moderate = qia.awaiting_sign_off(qia.draft(title="Moderate"))
    Scheme.objects.filter(pk=high.pk).update(state=SchemeState.DRAFT)
    return {"extreme": extreme, "high": high, "moderate": moderate}


def page_rows(client, **asked) -> tuple[list[str], list[list[str]]]:
    """The page's headings and the rows of every page of it, as the user reads them."""
    header, rows, number = [], [], 1
    while True:
        response = client.get(reverse("qia_register"), {**asked, "page": number})
        assert response.status_code == 200
        found = table(response, "")
        header = found[0]
        rows += [row for row in found[1:] if row != ["No QIAs match."]]
        if f"page={number + 1}" not in text(response):
            return header, rows
        number += 1


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="qia_risk_register_' in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list]:
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def reference(cell: str) -> str:
    return cell.split()[0]


@pytest.mark.parametrize(
    "who, sees",
    [
        # the draft's risk: its team and its organisation's PMO only
        ("elr-project-lead", ["extreme", "high", "moderate"]),
        ("elr-pmo", ["extreme", "high", "moderate"]),
        ("elr-viewer", ["extreme", "moderate"]),
        ("wl-quality-lead", ["extreme", "moderate"]),
        ("nn-viewer", []),
    ],
)
def test_each_role_downloads_exactly_the_risks_its_page_lists(
    client, qia, risks, settings, who, sees
):
    settings.QIPP_PAGE_SIZE = 2  # the page is one of several
    client.force_login(qia[who])
    header, rows = page_rows(client)
    listed = [reference(row[0]) for row in rows]
    assert listed == [risks[key].reference for key in sees]  # highest score first

    from_csv = csv_rows(client.get(reverse("qia_register"), {"format": "csv"}))
    from_xlsx = xlsx_rows(client.get(reverse("qia_register"), {"format": "xlsx"}))
    assert [h.rstrip(" ▲▼") for h in header] == HEADINGS  # the sort's arrow aside
    assert from_csv[0] == HEADINGS
    assert from_xlsx[0] == HEADINGS
    # each cell as the page shows it, its badges ("QAG flag") set off by a " · " in the file
    assert [[cell.replace(" · ", " ") for cell in row] for row in from_csv[1:]] == [
        [cell.replace(" · ", " ") for cell in row] for row in rows
    ]
    assert [reference(row[0]) for row in from_xlsx[1:]] == listed


def test_the_register_names_each_schemes_sro(client, qia, risks):
    client.force_login(qia["elr-viewer"])
    header, rows = page_rows(client)
    assert {row[header.index("SRO")] for row in rows} == {str(qia["elr-sro"])}
    found = csv_rows(client.get(reverse("qia_register"), {"format": "csv"}))
    assert {row[3] for row in found[1:]} == {str(qia["elr-sro"])}


def test_the_filters_and_sort_apply_to_the_download(client, qia, risks):
    client.force_login(qia["elr-pmo"])
    asked = {"sort": "score_asc", "band": "", "consequence": ""}
    _header, rows = page_rows(client, **asked)
    found = csv_rows(client.get(reverse("qia_register"), {**asked, "format": "csv"}))
    assert [reference(row[0]) for row in found[1:]] == [reference(row[0]) for row in rows]
    assert [reference(row[0]) for row in found[1:]] == [
        risks[key].reference for key in ("moderate", "high", "extreme")
    ]

    extreme = csv_rows(client.get(reverse("qia_register"), {"band": "extreme", "format": "csv"}))
    assert [reference(row[0]) for row in extreme[1:]] == [risks["extreme"].reference]
    assert extreme[1][6] == "20 · Extreme"
    assert extreme[1][7] == "Patient safety: 5 × 4"
    cell = csv_rows(
        client.get(
            reverse("qia_register"), {"consequence": "4", "likelihood": "3", "format": "csv"}
        )
    )
    assert [reference(row[0]) for row in cell[1:]] == [risks["high"].reference]


@pytest.mark.parametrize(
    "asked, error",
    [
        ({"band": "purple", "format": "csv"}, "Nothing was downloaded: correct the filters"),
        ({"consequence": "9", "format": "xlsx"}, "Nothing was downloaded: correct the filters"),
        ({"financial_year": "x", "format": "csv"}, "Nothing was downloaded: correct the filters"),
        ({"format": "ods"}, "Choose CSV or XLSX to download, not 'ods'."),
    ],
)
def test_a_bad_filter_or_format_gives_the_pages_error_not_a_file(client, qia, risks, asked, error):
    client.force_login(qia["elr-viewer"])
    response = client.get(reverse("qia_register"), asked)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert error in visible(response)


def test_a_name_that_starts_a_formula_stays_text(client, qia, risks):
    User.objects.filter(pk=qia["elr-sro"].pk).update(first_name='=HYPERLINK("http://x")')
    client.force_login(qia["elr-pmo"])
    name = str(User.objects.get(pk=qia["elr-sro"].pk))
    assert name.startswith("=")

    found = csv_rows(client.get(reverse("qia_register"), {"format": "csv"}))
    assert {row[3] for row in found[1:]} == {"'" + name}
    rows = load_workbook(
        io.BytesIO(client.get(reverse("qia_register"), {"format": "xlsx"}).content)
    ).active.iter_rows(min_row=2)
    assert {(row[3].value, row[3].data_type) for row in rows} == {(name, "s")}


def test_each_filter_has_a_visible_label_and_wraps_rather_than_being_cut_off(client, qia):
    client.force_login(qia["elr-viewer"])
    page = text(client.get(reverse("qia_register")))
    found = re.findall(r'<label\s+for="id_(\w+)" class="([^"]*)">\s*(.*?)\s*</label>', page)
    assert {name: words for name, css, words in found if "hidden" not in css} == {
        "organisation": "Organisation",
        "financial_year": "Year",
        "band": "Overall band",
        "consequence": "Consequence",
        "likelihood": "Likelihood",
        "sort": "Sort",
    }
    assert page.count('<div class="col-12 col-sm-auto flex-grow-1">') == 6
