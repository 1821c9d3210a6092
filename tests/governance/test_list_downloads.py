"""The scheme list as a CSV or XLSX download: every scheme the page lists for that user with its
filters (all pages of it), under the page's headings; money in the papers' sign; a name never
becomes a formula; a bad filter gives the page's error, never a 500 or an unfiltered file."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from governance.models import SchemeState
from tests.pages import table, text, visible

pytestmark = pytest.mark.django_db

HEADINGS = [
    "Reference",
    "Title",
    "Organisation",
    "Year",
    "Programme area",
    "SRO",
    "State",
    "RAG",
    "Annual plan (£)",
]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="schemes_')
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_sheet(response):
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    return load_workbook(io.BytesIO(response.content)).active


def page_rows(client, **filters) -> tuple[list[str], list[list[str]]]:
    """The page's headings and the rows of every page of it, as the user reads them."""
    header, rows, number = None, [], 1
    while True:
        response = client.get(reverse("scheme_list"), {**filters, "page": number})
        assert response.status_code == 200
        found = table(response, "")
        if not found:
            return header or [], rows
        header = found[0]
        rows += found[1:]
        if f"page={number + 1}" not in text(response):
            return header, rows
        number += 1


@pytest.fixture
def schemes(make_scheme):
    """Delivering and draft schemes of ELR and WL, one of NN (another system), a recovery."""
    return {
        "elr": make_scheme(monthly="1000"),
        "elr-recovery": make_scheme(SchemeState.APPROVED, is_recovery=True, monthly="250.50"),
        "elr-draft": make_scheme(SchemeState.DRAFT, title="Draft of ELR"),
        "wl": make_scheme(org="WL"),
        "wl-draft": make_scheme(SchemeState.DRAFT, org="WL", title="Draft of WL"),
        "nn": make_scheme(org="NN"),
    }


@pytest.mark.parametrize(
    "who, sees",
    [
        # a draft: its team and the PMO of its organisation; the rest: the same system
        ("elr-project-lead", {"elr", "elr-recovery", "elr-draft", "wl"}),
        ("elr-pmo", {"elr", "elr-recovery", "elr-draft", "wl"}),
        ("elr-viewer", {"elr", "elr-recovery", "wl"}),
        ("wl-pmo", {"elr", "elr-recovery", "wl", "wl-draft"}),
        ("nn-viewer", {"nn"}),
    ],
)
def test_each_role_downloads_exactly_the_schemes_its_page_lists(
    client, people, schemes, monkeypatch, who, sees
):
    monkeypatch.setattr("governance.views.SCHEMES_PER_PAGE", 2)  # the page is one of several
    client.force_login(people[who])
    header, rows = page_rows(client)
    listed = [row[0] for row in rows]
    assert set(listed) == {schemes[key].reference for key in sees}

    from_csv = csv_rows(client.get(reverse("scheme_list"), {"format": "csv"}))
    sheet = xlsx_sheet(client.get(reverse("scheme_list"), {"format": "xlsx"}))
    from_xlsx = [list(row) for row in sheet.iter_rows(values_only=True)]

    # the same schemes in the same order, under the page's headings, the money one in £
    assert [row[0] for row in from_csv[1:]] == listed
    assert [row[0] for row in from_xlsx[1:]] == listed
    assert from_csv[0] == from_xlsx[0] == HEADINGS
    assert [h.removesuffix(" (£)") for h in HEADINGS] == header


def test_the_download_has_the_pages_columns_with_savings_negative_in_pounds(
    client, people, schemes
):
    client.force_login(people["elr-pmo"])
    page = table(client.get(reverse("scheme_list")), "")
    recovery = schemes["elr-recovery"]
    on_page = next(row for row in page if row[0] == recovery.reference)
    assert on_page[-1] == "(£3,006)"

    rows = csv_rows(client.get(reverse("scheme_list"), {"format": "csv"}))
    row = next(row for row in rows if row[0] == recovery.reference)
    assert row == [
        recovery.reference,
        f"{recovery.title} (Recovery)",
        "ELR",
        "2019/20",
        "Planned Care",
        str(people["elr-sro"]),
        "Approved",
        "",  # rated only once in delivery, as on the page
        "-3006",  # 12 x 250.50 saved: a saving is negative, as in the committee papers
    ]
    delivering = next(row for row in rows if row[0] == schemes["elr"].reference)
    assert delivering[-1] == "-12000"
    assert delivering[-2] == on_rag(page, schemes["elr"].reference)

    sheet = xlsx_sheet(client.get(reverse("scheme_list"), {"format": "xlsx"}))
    cell = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == recovery.reference)[-1]
    assert cell.value == Decimal("-3006") and cell.data_type == "n"
    assert cell.number_format == "#,##0;(#,##0)"


def on_rag(page: list[list[str]], reference: str) -> str:
    """The RAG word of the page's badge (its hidden summary follows a colon)."""
    row = next(row for row in page if row[0] == reference)
    return row[page[0].index("RAG")].split(":")[0]


def test_the_list_shows_savings_in_brackets_and_says_so_once(client, people, schemes):
    client.force_login(people["elr-viewer"])
    page = visible(client.get(reverse("scheme_list")))
    assert "(£12,000)" in page
    assert page.count("Savings are shown as negative figures in brackets") == 1


def test_the_filters_apply_to_the_download(client, people, schemes):
    client.force_login(people["elr-pmo"])
    filters = {"state": SchemeState.DRAFT, "organisation": schemes["elr"].organisation_id}
    _header, rows = page_rows(client, **filters)
    assert [row[0] for row in rows] == [schemes["elr-draft"].reference]

    found = csv_rows(client.get(reverse("scheme_list"), {**filters, "format": "csv"}))
    assert [row[0] for row in found[1:]] == [schemes["elr-draft"].reference]
    searched = csv_rows(client.get(reverse("scheme_list"), {"q": "Draft of", "format": "csv"}))
    assert [row[0] for row in searched[1:]] == [schemes["elr-draft"].reference]


def test_the_download_buttons_keep_the_filters_and_leave_out_the_page(client, people, schemes):
    client.force_login(people["elr-pmo"])
    page = text(client.get(reverse("scheme_list"), {"state": "draft", "page": "1"}))
    assert 'href="?state=draft&format=csv">Download CSV</a>' in page
    assert 'href="?state=draft&format=xlsx">Download XLSX</a>' in page


@pytest.mark.parametrize(
    "asked, error",
    [
        ({"state": "nonsense", "format": "csv"}, "Nothing was downloaded: correct the filters"),
        ({"organisation": "x", "format": "xlsx"}, "Nothing was downloaded: correct the filters"),
        # an organisation of another system is no choice of this user's
        ({"organisation": "999999", "format": "csv"}, "Nothing was downloaded"),
        ({"format": "pdf"}, "Choose CSV or XLSX to download, not 'pdf'."),
    ],
)
def test_a_bad_filter_or_format_gives_the_pages_error_not_a_file(
    client, people, schemes, asked, error
):
    client.force_login(people["elr-pmo"])
    response = client.get(reverse("scheme_list"), asked)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert error in visible(response)
    if "format" in asked and asked["format"] != "pdf":
        assert "Select a valid choice" in visible(response)  # said at the filter itself


def labels(response) -> dict[str, str]:
    """{field name: its label's words} of the labels a sighted user sees."""
    found = re.findall(
        r'<label\s+for="id_(\w+)" class="([^"]*)">(.*?)</label>', text(response), re.S
    )
    return {name: " ".join(words.split()) for name, css, words in found if "hidden" not in css}


def test_each_filter_has_a_visible_label_and_wraps_rather_than_being_cut_off(client, people):
    client.force_login(people["elr-pmo"])
    response = client.get(reverse("scheme_list"))
    assert labels(response) == {
        "q": "Search",
        "organisation": "Organisation",
        "financial_year": "Year",
        "programme_area": "Programme area",
        "state": "State",
    }
    # each filter is as wide as its longest choice from the small screen up, and the row wraps
    assert text(response).count('<div class="col-12 col-sm-auto flex-grow-1">') == 5


def test_a_title_that_starts_a_formula_stays_text(client, people, make_scheme):
    scheme = make_scheme(title='=HYPERLINK("http://evil.example","Click")')
    client.force_login(people["elr-viewer"])

    rows = csv_rows(client.get(reverse("scheme_list"), {"format": "csv"}))
    row = next(row for row in rows if row[0] == scheme.reference)
    assert row[1] == "'" + scheme.title

    sheet = xlsx_sheet(client.get(reverse("scheme_list"), {"format": "xlsx"}))
    cell = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == scheme.reference)[1]
    assert cell.value == scheme.title and cell.data_type == "s"
