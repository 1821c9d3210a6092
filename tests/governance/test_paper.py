"""The committee paper as DOCX (issue 21), read back with python-docx against the tables the
report pages show, on the published month-4 example of 2018/19 (tests/data/month4-2018-19).

The June 2019 committee report's month-12 tables are not in the project, so the month-4 example
is the published paper the figures are checked against; the month-12 wording ("ELR
over-achieved its annual plan by £0.062m") is checked on figures made up for it.
"""

import io

import docx
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from pypdf import PdfReader

from governance import reports
from governance.models import FinancialYear
from governance.reports.paper import Text
from governance.reports.paper_docx import NOTE_STYLE, PLACEHOLDER_STYLE
from tests.governance.report_fixtures import (
    add_return,
    add_scheme,
    add_target,
    import_example,
    report_world,
)
from tests.pages import text

pytestmark = pytest.mark.django_db

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TITLES = [
    "Table 1: Summary by organisation",
    "Table 2: Summary by programme area",
    "Table 3: Net QIPP requirement by organisation",
    "Table 4: Schemes by area of spend",
    "Table 5: Forecast delivery by programme area",
    "Table 6: Forecast delivery by organisation",
]


@pytest.fixture
def world(db):
    """The test world (ELR and WL in LLR, NN in another system) with the month-4 example
    imported as the published-example test imports it, and one NN scheme in 2018/19."""
    world = report_world()
    import_example()
    world.example_year = FinancialYear.objects.get(start_year=2018)
    add_scheme(world, "NN", monthly="5000", year=world.example_year)
    return world


def open_docx(content: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(content))


def read_tables(document) -> list[list[list[str]]]:
    """Every Word table of the document, cell by cell, as the reader sees the text."""
    return [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]


def expected_tables(year, month, system_ids=None) -> list[list[list[str]]]:
    """The paper's tables as the report pages build them: headings, row labels, shown
    figures."""
    tables = []
    for contents in reports.PAPER_CONTENTS:
        table = reports.build(
            contents.name, year=year, month=month, by=contents.by, system_ids=system_ids
        )
        header = [table.label_header, *(column.label for column in table.columns)]
        rows = [[row.label, *(cell.text for cell in row.cells)] for row in table.rows]
        tables.append([header, *rows])
    return tables


def captions(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == "Caption"]


def paper_for(world, month=4, system_ids=None) -> bytes:
    paper = reports.committee_paper(year=world.example_year, month=month, system_ids=system_ids)
    return reports.to_docx(paper)


def download(client, user, **params):
    client.force_login(user)
    return client.get(reverse("report_paper"), params)


# --- the document ---


def test_every_table_reads_back_cell_by_cell_as_the_report_builds_it(world):
    document = open_docx(paper_for(world))

    assert read_tables(document) == expected_tables(world.example_year, 4)


def test_the_published_month_4_figures_are_in_the_word_tables(world):
    summary, by_area, _requirement, _spend, forecast_by_area, forecast = read_tables(
        open_docx(paper_for(world, system_ids={world.system.pk}))
    )

    # the published Table 1 (expected_summary_by_organisation_m4.csv), in brackets
    assert summary[0] == [
        "Organisation",
        "YTD Plan",
        "YTD Actuals",
        "YTD PMO assured",
        "YTD Variance",
        "Annual Plan",
        "Forecast Outturn",
        "Annual Variance",
        "Annual variance %",
    ]
    assert summary[1] == [
        "ELR",
        "(4,475)",
        "(5,117)",
        "",
        "(642)",
        "(19,647)",
        "(19,662)",
        "(15)",
        "0%",
    ]
    assert summary[3][0] == "Grand Total" and summary[3][4] == "(1,197)"
    assert by_area[0][0] == "Programme area"
    # the published Table 2: the total rounded from exact pounds, not added up from the rows
    assert forecast[1:] == [
        ["ELR", "(19,647)", "(16,388)", "(3,275)", "(19,662)"],
        ["WL", "(20,498)", "(16,773)", "(3,800)", "(20,573)"],
        ["Grand Total", "(40,145)", "(33,161)", "(7,075)", "(40,236)"],
    ]
    assert forecast_by_area[1] == ["Acute", "(3,616)", "(1,116)", "(804)", "(1,919)"]
    assert forecast_by_area[2] == ["CHC", "(4,337)", "(4,903)", "0", "(4,903)"]


def test_the_tables_are_numbered_and_titled_in_order_each_with_what_it_counts(world):
    document = open_docx(paper_for(world))
    built = [
        reports.build(c.name, year=world.example_year, month=4, by=c.by)
        for c in reports.PAPER_CONTENTS
    ]

    assert captions(document) == TITLES
    # the contents' titles are the tables' own, so the page and the paper never drift apart
    assert [
        f"Table {c.number}: {t.title}" for c, t in zip(reports.PAPER_CONTENTS, built, strict=True)
    ] == TITLES
    # in the body: caption, the line saying units and as-at, the table, what it counts
    blocks = list(document.iter_inner_content())
    tables_at = [i for i, block in enumerate(blocks) if isinstance(block, docx.table.Table)]
    assert len(tables_at) == 6
    for at, table, title in zip(tables_at, built, TITLES, strict=True):
        assert blocks[at - 2].text == title
        assert blocks[at - 1].text.startswith(
            f"2018/19, as at month 4 (July 2018), {table.scope.label}."
        )
        assert "£'000; savings are shown as negative figures in brackets" in blocks[at - 1].text
        assert blocks[at + 1].text == table.counts
        assert blocks[at + 1].style.name == NOTE_STYLE


def test_the_figures_are_right_aligned_and_the_header_row_repeats_on_each_page(world):
    table = open_docx(paper_for(world)).tables[0]

    header = table.rows[0]
    assert header._tr.trPr is not None and header._tr.trPr.xpath("./w:tblHeader")
    assert all(run.bold for cell in header.cells for run in cell.paragraphs[0].runs)
    body = table.rows[1]
    assert body.cells[0].paragraphs[0].alignment is None  # the name reads from the left
    assert all(
        cell.paragraphs[0].alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.RIGHT
        for cell in body.cells[1:]
    )


def test_the_title_purpose_classification_and_narrative_placeholders_are_there(world):
    document = open_docx(paper_for(world))
    paragraphs = document.paragraphs

    assert paragraphs[0].style.name == "Title"
    assert paragraphs[0].text == "QIPP savings: delivery report 2018/19, as at month 4 (July 2018)"
    assert paragraphs[1].text == "Report to the scrutiny committee"
    headings = [p.text for p in paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "1. Purpose",
        "2. Summary",
        "3. Delivery to date",
        "4. QIPP requirement",
        "5. Forecast",
        "6. Recommendation",
    ]
    purpose = paragraphs[
        paragraphs.index(next(p for p in paragraphs if p.text == "1. Purpose")) + 1
    ]
    assert purpose.text.startswith(
        "This paper reports the delivery of the QIPP savings schemes of ELR, NN and WL in 2018/19"
    )
    placeholders = [p for p in paragraphs if p.style.name == PLACEHOLDER_STYLE]
    assert len(placeholders) == 6
    assert all(p.text.startswith("[Narrative: ") and p.text.endswith("]") for p in placeholders)
    # nothing else looks like a placeholder, so the officer's search for "[Narrative" finds all
    assert [p for p in paragraphs if "[Narrative" in p.text] == placeholders
    section = document.sections[0]
    assert section.header.paragraphs[0].text == "OFFICIAL"
    assert section.footer.paragraphs[0].text == "OFFICIAL"


def sentences(document) -> list[str]:
    """The sentences the paper worked out: plain Normal paragraphs after the Purpose's."""
    return [p.text for p in document.paragraphs if p.style.name == "Normal"][1:]


def test_the_generated_sentences_say_the_figures_worked_by_hand(world):
    # from expected_summary_by_organisation_m4.csv: YTD variance ELR -642, WL -555, total
    # -1,197; annual variance ELR -15, WL -75, total -91 (£'000; negative is over-delivery);
    # from expected_forecast_by_organisation_m4.csv: recovery actions -7,075 in all; and the
    # targets equal the existing plans, so nothing is unidentified
    document = open_docx(paper_for(world, system_ids={world.system.pk}))

    assert sentences(document) == [
        "ELR is £0.642m ahead of plan for the year to date.",
        "ELR is forecast to over-achieve its annual plan by £0.015m.",
        "WL is £0.555m ahead of plan for the year to date.",
        "WL is forecast to over-achieve its annual plan by £0.075m.",
        "Overall, the organisations are £1.197m ahead of plan for the year to date.",
        "Overall, the organisations are forecast to over-achieve their annual plan by £0.091m.",
        "ELR has identified schemes for all of its QIPP requirement.",
        "WL has identified schemes for all of its QIPP requirement.",
        "Recovery actions are forecast to deliver £7.075m of savings.",
    ]


def test_at_month_12_the_sentence_says_what_the_year_delivered(db):
    # figures made up for month 12 (the June 2019 paper's tables are not in the project):
    # plan 12 x 10,000 = 120,000; actuals 11 x 15,000 + 17,000 = 182,000; variance -62
    world = report_world()
    scheme = add_scheme(world, "ELR", monthly="10000")
    for month in range(1, 12):
        add_return(scheme, month, actual="15000")
    add_return(scheme, 12, actual="17000")
    behind = add_scheme(world, "WL", monthly="10000")
    add_return(behind, 12, actual="100500")  # 120,000 planned: 19,500 short, shown as 20

    paper = reports.committee_paper(year=world.year, month=12, system_ids={world.system.pk})

    # the total is said from exact pounds, as the table shows it: 62,000 - 19,500 = 42,500,
    # half away from zero 43, not 62 - 20 = 42
    assert [b.text for b in paper.sections[1].blocks] == [
        "ELR over-achieved its annual plan by £0.062m.",
        "WL fell short of its annual plan by £0.020m.",
        "Overall, the organisations over-achieved their annual plan by £0.043m.",
        "[Narrative: the main points, risks and actions for the committee.]",
    ]


def test_an_organisation_short_of_its_requirement_is_told_how_much_is_unidentified(db):
    world = report_world()
    add_scheme(world, "ELR", monthly="10000")  # 120,000 identified
    add_target(world, "ELR", "1120000")  # 1,000,000 still to find

    paper = reports.committee_paper(year=world.year, month=6, system_ids={world.system.pk})

    said = [b.text for b in paper.sections[3].blocks if isinstance(b, Text)]
    assert said[0] == "ELR has £1.000m of its QIPP requirement unidentified."


# --- the page ---


def test_a_signed_in_user_downloads_the_paper_of_their_own_system(client, world):
    user = world.users["elr-viewer"]
    response = download(client, user, year="2018/19", month="4", format="docx")

    assert response.status_code == 200
    assert response["Content-Type"] == DOCX_TYPE
    assert 'filename="committee_paper_2018-19_m04.docx"' in response["Content-Disposition"]
    document = open_docx(response.content)
    assert read_tables(document) == expected_tables(world.example_year, 4, user.system_ids)
    labels = {row[0] for table in read_tables(document) for row in table}
    headers = {cell for table in read_tables(document) for cell in table[0]}
    assert {"ELR", "WL"} <= labels and "NN" not in labels | headers


def test_a_user_of_another_system_gets_tables_without_the_llr_organisations(client, world):
    user = world.users["nn-viewer"]
    document = open_docx(download(client, user, year="2018/19", month="4", format="docx").content)

    tables = read_tables(document)
    assert tables == expected_tables(world.example_year, 4, user.system_ids)
    assert [row[0] for row in tables[0]] == ["Organisation", "NN", "Grand Total"]
    everything = {cell for table in tables for row in table for cell in row}
    assert not {"ELR", "WL"} & everything
    assert "ELR" not in " ".join(p.text for p in document.paragraphs)


def test_the_page_offers_the_year_and_month_and_the_reports_index_links_to_it(client, world):
    response = download(client, world.users["elr-viewer"])

    assert response.status_code == 200
    body = text(response)
    assert 'name="year"' in body and 'name="month"' in body
    assert '<option value="2018/19"' in body
    assert "Table 6: Forecast delivery by organisation" in body
    index = text(client.get(reverse("report_index")))
    assert reverse("report_paper") in index


def test_the_paper_needs_a_signed_in_user(client, world):
    response = client.get(reverse("report_paper"), {"year": "2018/19", "format": "docx"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"year": "2018-19", "month": "4"}, "'2018-19' is not a financial year"),
        ({"year": "2031/32", "month": "4"}, "There is no financial year 2031/32"),
        ({"year": "2018/19", "month": "13"}, "Month 13 is outside the year"),
        ({"year": "2018/19", "month": "July"}, "'July' is not a month"),
    ],
)
def test_a_bad_year_or_month_shows_the_page_again_with_the_message(client, world, params, message):
    response = download(client, world.users["elr-viewer"], format="docx", **params)

    assert response.status_code == 400
    assert message in text(response)
    assert 'name="year"' in text(response)


def test_a_format_other_than_docx_or_pdf_is_refused_clearly(client, world):
    response = download(client, world.users["elr-viewer"], year="2018/19", month="4", format="odt")

    assert response.status_code == 400
    assert "Choose the paper as docx or pdf, not 'odt'." in text(response)


def test_the_paper_as_a_pdf_has_the_same_numbered_tables_and_figures(client, world):
    response = download(client, world.users["elr-viewer"], year="2018/19", month="4", format="pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith('committee_paper_2018-19_m04.pdf"')
    pages = PdfReader(io.BytesIO(response.content)).pages
    read = " ".join(" ".join(page.extract_text().split()) for page in pages)
    paper = reports.committee_paper(
        year=FinancialYear.objects.get(start_year=2018),
        month=4,
        system_ids=world.users["elr-viewer"].system_ids,
    )
    for numbered in paper.tables:
        assert numbered.caption in read
        for row in numbered.table.rows:
            # each row's label and figures, in the order the table shows them
            assert " ".join([row.label, *(c.text for c in row.cells if c.text)]) in read
    assert "OFFICIAL" in read and "Page 1 of" in read
    assert "[Narrative:" in read


# --- the command ---


def test_the_command_writes_the_paper_to_the_file(world, tmp_path):
    out = io.StringIO()
    path = tmp_path / "paper.docx"

    call_command(
        "qipp_report",
        "paper",
        "--year",
        "2018/19",
        "--month",
        "4",
        "--output",
        str(path),
        stdout=out,
    )

    document = open_docx(path.read_bytes())
    assert captions(document) == TITLES
    assert read_tables(document) == expected_tables(world.example_year, 4)
    assert f"to {path}." in out.getvalue()


def test_the_command_refuses_the_paper_without_an_output_file(world):
    with pytest.raises(CommandError, match="Word document: add --output FILE.docx"):
        call_command("qipp_report", "paper", "--year", "2018/19", stdout=io.StringIO())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "programme_area"], "takes no --by"),
        (["--format", "csv"], "takes no --format"),
        (["--year", "2018-19"], "not a financial year"),
        (["--month", "13"], "Month 13 is outside the year"),
    ],
)
def test_the_command_refuses_what_the_paper_cannot_take(world, tmp_path, args, message):
    path = tmp_path / "paper.docx"
    arguments = ["paper", "--year", "2018/19", "--output", str(path), *args]

    with pytest.raises(CommandError, match=message):
        call_command("qipp_report", *arguments, stdout=io.StringIO())
    assert not path.exists()
