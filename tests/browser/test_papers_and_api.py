"""The committee papers, the PDFs, the audit export and the API in a real browser, on the
demo, as ELR's PMO officer: the paper downloaded as Word and as PDF and read back; a QIA and
the QAG pack as PDFs; the audit trail as CSV; an API token made on the Account page, used as
Power BI would use it, then revoked; and the API's documentation page drawn under the site's
Content Security Policy. Our pages are checked with axe-core."""

import csv
import io
from pathlib import Path

import docx
import pytest
from django.urls import reverse
from playwright.sync_api import expect
from pypdf import PdfReader

from governance.models import Scheme

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def downloaded(page, click) -> bytes:
    with page.expect_download() as info:
        click()
    return Path(info.value.path()).read_bytes()


def pdf_text(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


def test_the_pmo_downloads_papers_pdfs_the_audit_trail_and_reads_the_api(demo, visit):
    page = visit.page
    main = page.get_by_role("main")
    visit.sign_in("elr-pmo")

    # the committee paper, as Word and as PDF
    visit.nav("Reports").click()
    page.get_by_role("link", name="Committee paper").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Committee paper")
    visit.step("the committee paper page")
    word = docx.Document(
        io.BytesIO(
            downloaded(page, page.get_by_role("button", name="Download the paper (Word)").click)
        )
    )
    captions = [p.text for p in word.paragraphs if p.text.startswith("Table ")]
    assert captions[0] == "Table 1: Summary by organisation"
    assert len(word.tables) >= 6
    assert word.tables[0].rows[0].cells[0].text  # a real Word table, headed
    paper = pdf_text(downloaded(page, page.get_by_role("button", name="Download as PDF").click))
    assert "Table 1: Summary by organisation" in paper and "OFFICIAL" in paper

    # a QIA and the QAG pack as PDFs
    scheme = Scheme.objects.get(title="Outpatient follow-up reduction")
    page.goto(visit.url(reverse("qia_detail", args=[scheme.pk])))
    qia = pdf_text(downloaded(page, page.get_by_role("link", name="Download PDF").click))
    assert scheme.reference in qia and "Page 1 of" in qia
    visit.nav("QAG pack").click()
    visit.step("the QAG pack, with its PDF")
    pack = pdf_text(downloaded(page, page.get_by_role("link", name="Download PDF").click))
    assert "OFFICIAL" in pack

    # the audit trail of her organisation, as CSV
    visit.nav("Audit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Audit")
    visit.step("the audit export")
    trail = downloaded(page, page.get_by_role("button", name="Download").click)
    rows = list(csv.reader(io.StringIO(trail.decode("utf-8-sig"))))
    assert rows[0][0] == "Kind" and len(rows) > 1
    assert any(scheme.reference in row for row in rows)

    # an API token, used as Power BI would, then revoked
    page.get_by_role("link", name="Account").click()
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Power BI")
    page.get_by_label("ELR", exact=False).first.check()
    page.get_by_role("button", name="Make the token").click()
    key = page.locator("#new-key").inner_text()
    visit.step("a new API token, its key shown once")
    answer = page.request.get(
        visit.url("/api/schemes/?year=" + scheme.financial_year.label),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status == 200
    references = [row["reference"] for row in answer.json()["results"]]
    assert scheme.reference in references
    page.get_by_role("button", name="Revoke Power BI").click()
    expect(main).to_contain_text("Revoked")
    refused = page.request.get(
        visit.url("/api/schemes/"), headers={"Authorization": f"Bearer {key}"}
    )
    assert refused.status == 401

    # the API's documentation, drawn from our own files under the site's CSP
    page.goto(visit.url("/api/docs/"))
    expect(page.locator("#swagger-ui")).to_contain_text("/api/schemes/", timeout=15_000)
    page.screenshot(path=visit.shots / "api-docs.png", full_page=True)

    visit.assert_accessible()
    visit.assert_no_browser_errors()
