"""The QIA as a PDF: the print view's paper, read back with pypdf. Whoever may see the print
view gets the PDF, with the same blind scoring; a server without WeasyPrint's libraries
answers with a page that says so, never a 500."""

import io
import logging

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from pypdf import PdfReader

from governance import pdf
from governance.models import AccessRefusal
from tests.qia.conftest import scores, text

pytestmark = pytest.mark.django_db

# What elr-panel-member scored (tests/qia/test_blind_scoring.py), and nobody else.
THEIR_SCORE = "16 · Extreme"
THEIR_RATIONALE = "Scored 4 x 4."
THEIR_NAME = "ELR Panel Member (Nursing)"


def pdf_url(scheme, number=1) -> str:
    return reverse("qia_pdf", args=[scheme.pk, number])


def read(response) -> str:
    """The PDF's text, each run of spaces as one."""
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_the_pdf_is_the_print_views_paper_with_its_marking_date_and_page_numbers(qia, as_user):
    scheme = qia.approved(headings=scores(patient_safety=(5, 4)))
    viewer = as_user(qia["elr-viewer"])

    response = viewer.get(pdf_url(scheme))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"] == f'attachment; filename="QIA-{scheme.reference}-v1.pdf"'
    )
    paper = read(response)
    assert f"Quality Impact Assessment: {scheme.reference}" in paper
    assert scheme.title in paper
    # what the print view shows of the agreed QIA
    assert "20 · Extreme" in paper
    assert "Justification for accepting an extreme risk" in paper
    assert "Chief Nurse and Quality Officer" in paper
    assert "OFFICIAL" in paper
    assert date_format(timezone.localdate(), "j F Y") in paper
    assert "Page 1 of" in paper


def test_the_qia_pages_link_to_the_pdf(qia, as_user):
    scheme = qia.approved()
    user = as_user(qia["elr-viewer"])
    for name, args in (
        ("qia_detail", [scheme.pk]),
        ("qia_history", [scheme.pk]),
        ("qia_print", [scheme.pk, 1]),
    ):
        assert pdf_url(scheme) in text(user.get(reverse(name, args=args))), name


def test_a_drafts_pdf_is_refused_to_whoever_may_not_see_its_print_view(qia, as_user, client):
    scheme = qia.draft()
    qia.self_assess(scheme)
    assert as_user(qia["elr-sro"]).get(pdf_url(scheme)).status_code == 200

    response = as_user(qia["elr-quality-lead"]).get(pdf_url(scheme))

    assert response.status_code == 403
    assert "You do not have access to this scheme." in text(response)
    assert AccessRefusal.objects.filter(user=qia["elr-quality-lead"]).exists()
    assert response["Content-Type"].startswith("text/html")


def test_someone_signed_out_is_sent_to_sign_in(qia, client):
    scheme = qia.approved()
    url = pdf_url(scheme)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_there_is_no_pdf_of_a_version_that_does_not_exist(qia, as_user):
    scheme = qia.approved()
    assert as_user(qia["elr-viewer"]).get(pdf_url(scheme, 9)).status_code == 404


def test_a_scorer_sees_no_other_score_in_the_pdf_until_they_have_scored(qia, as_user):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member", scores(patient_safety=(4, 4)))
    member = as_user(qia["elr-panel-member-2"])

    before = member.get(pdf_url(scheme))

    assert before.status_code == 200
    paper = read(before)
    assert f"Quality Impact Assessment: {scheme.reference}" in paper
    for theirs in (THEIR_SCORE, THEIR_RATIONALE, THEIR_NAME):
        assert theirs not in paper
    assert not any(row.scores for row in before.context["rows"])

    qia.score(scheme, "elr-panel-member-2")
    after = member.get(pdf_url(scheme))
    # hers to see now, as on the print view (which prints the agreed risk, not each member's)
    assert any(row.scores for row in after.context["rows"])


def test_the_pdf_fetches_nothing_but_our_own_static_files(qia, as_user, monkeypatch):
    scheme = qia.approved()
    fetched, refused = [], []
    made = pdf._static_fetcher

    def watched(weasyprint, prefix):
        fetcher = made(weasyprint, prefix)
        fetch = fetcher.fetch

        def fetch_and_note(url, headers=None):
            try:
                found = fetch(url, headers)
            except ValueError:
                refused.append(url)
                raise
            fetched.append(url)
            return found

        fetcher.fetch = fetch_and_note
        return fetcher

    monkeypatch.setattr(pdf, "_static_fetcher", watched)
    assert as_user(qia["elr-viewer"]).get(pdf_url(scheme)).status_code == 200
    assert any(url.endswith("/static/css/pdf.css") for url in fetched)
    assert any(url.endswith("/static/vendor/bootstrap/bootstrap.min.css") for url in fetched)
    assert refused == []


def test_the_fetcher_refuses_another_server_and_files_outside_static(settings):
    import weasyprint

    fetcher = pdf._static_fetcher(weasyprint, "http://testserver/static/")
    for url in (
        "https://example.com/static/css/pdf.css",
        "http://testserver/media/secret.pdf",
        "http://testserver/static/../../config/settings/base.py",
        "file:///etc/passwd",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert b"@page" in fetcher.fetch("http://testserver/static/css/pdf.css").read()


@pytest.mark.parametrize(
    "broken",
    [
        # WeasyPrint installed, pango missing: its import fails as cffi cannot open the library
        OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared file"),
        ImportError("No module named 'weasyprint'"),
    ],
    ids=["no-pango", "no-weasyprint"],
)
def test_without_weasyprints_libraries_the_pdf_link_says_so_and_logs_it(
    qia, as_user, monkeypatch, caplog, broken
):
    scheme = qia.approved()

    def import_module(name):
        raise broken

    monkeypatch.setattr(pdf, "import_module", import_module)
    with caplog.at_level(logging.ERROR, logger="qipp.governance"):
        response = as_user(qia["elr-viewer"]).get(pdf_url(scheme))

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    page = text(response)
    assert "PDFs are not available on this server: its administrator must install" in page
    assert "libpango-1.0-0" in page
    logged = [r for r in caplog.records if r.name == "qipp.governance"]
    assert [r.levelname for r in logged] == ["ERROR"]
    assert str(broken) in logged[0].getMessage()
