"""The QAG pack as a PDF for the meeting's papers: the pack page's content, read back with
pypdf, for the PMO and QAG only; a server without WeasyPrint's libraries says so, never a 500."""

import io
import logging

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from governance import pdf
from governance.models import AccessRefusal
from tests.notifications.conftest import at
from tests.pages import text, visible

pytestmark = pytest.mark.django_db

# two days before the meeting of Thursday 27 June 2019
PACK_DAY = at(2019, 6, 25, 9)


def read(response) -> str:
    """The PDF's text, each run of spaces as one."""
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def get_as(client, people, name, url_name="qag_pack_pdf", **query):
    client.force_login(people[name])
    with time_machine.travel(PACK_DAY, tick=False):
        return client.get(reverse(url_name), query)


@pytest.mark.parametrize("name", ["elr-pmo", "wl-qag-member"])
def test_the_pdf_is_the_pack_with_its_marking_date_and_page_numbers(
    client, people, escalated, name
):
    response = get_as(client, people, name)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="QAG-pack-LLR-2019-06-27.pdf"'
    paper = read(response)
    assert "QAG pack: Leicester, Leicestershire and Rutland" in paper
    assert "For the meeting of Thursday 27 June 2019" in paper
    assert "figures as at May 2019" in paper
    assert "Decisions due (1)" in paper and "Open escalations (2)" in paper
    assert "Off-track schemes, RAG red (2)" in paper and "YTD variance" in paper
    first, second = escalated
    assert first.reference in paper and second.reference in paper
    assert "Reopen the clinic." in paper
    # the pack page's button to a form is not on paper
    assert "Record decision" not in paper
    assert "OFFICIAL" in paper
    assert "25 June 2019" in paper  # the day it was printed
    assert "Page 1 of" in paper


def test_the_pdf_is_the_pack_chosen_on_the_page(client, people, escalated):
    page = text(get_as(client, people, "elr-qag-member", "qag_pack", as_at="2019-04"))
    link = f"{reverse('qag_pack_pdf')}?system="
    assert link in page
    start = page.index(link)
    address = page[start : page.index('"', start)]
    assert address.endswith("&meeting=2019-06-27&as_at=2019-04")

    with time_machine.travel(PACK_DAY, tick=False):
        paper = read(client.get(address))
    assert "figures as at April 2019" in paper


@pytest.mark.parametrize(
    "query",
    [
        {"as_at": "2019-13"},
        {"as_at": "April"},
        {"as_at": "2017-04"},
        {"meeting": "9999-12-31"},
        {"meeting": "2019-06-26"},  # no meeting that day
        {"meeting": "27/06/2019"},
    ],
)
def test_a_pdf_for_a_meeting_or_month_not_offered_is_refused_not_dated_another(
    client, people, escalated, query
):
    response = get_as(client, people, "elr-pmo", **query)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("meeting", ["9999-12-31", "2019-06-26", "27/06/2019"])
def test_the_page_for_a_date_that_is_no_meeting_says_so_and_shows_the_next(
    client, people, escalated, meeting
):
    page = visible(get_as(client, people, "elr-pmo", "qag_pack", meeting=meeting))

    assert "For the meeting of Thursday 27 June 2019" in page
    assert (
        f"\u201c{meeting}\u201d is not a QAG meeting date the pack can be for (27 June 2019, "
    ) in page
    assert "): it is for the next meeting." in page
    assert "Friday 31 December 9999" not in page


@pytest.mark.parametrize("name", ["elr-sro", "elr-viewer", "elr-project-lead"])
def test_nobody_else_gets_the_pdf(client, people, escalated, name):
    response = get_as(client, people, name)
    assert response.status_code == 403
    assert "QIPP Assurance Group" in text(response)
    assert AccessRefusal.objects.filter(user=people[name], action="view QAG pack").exists()


def test_a_member_gets_only_their_own_systems_pack(client, people, escalated):
    nottingham = get_as(client, people, "nn-qag-member")
    assert nottingham.status_code == 200
    assert escalated[0].reference not in read(nottingham)
    llr = escalated[0].organisation.system
    assert get_as(client, people, "nn-qag-member", system=llr.pk).status_code == 404
    # the page says so and shows their own system's pack
    for asked in (str(llr.pk), "999", "abc"):
        page = visible(get_as(client, people, "nn-qag-member", "qag_pack", system=asked))
        said = f"\u201c{asked}\u201d is not a system of yours: the pack is Nottinghamshire's."
        assert said in page
        assert "QAG pack: Nottinghamshire" in page


def test_someone_signed_out_is_sent_to_sign_in(client):
    url = reverse("qag_pack_pdf")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_without_weasyprints_libraries_the_pdf_link_says_so_and_logs_it(
    client, people, escalated, monkeypatch, caplog
):
    def import_module(name):
        raise OSError("cannot load library 'libpango-1.0-0': cannot open shared object file")

    monkeypatch.setattr(pdf, "import_module", import_module)
    with caplog.at_level(logging.ERROR, logger="qipp.governance"):
        response = get_as(client, people, "elr-pmo")

    assert response.status_code == 503
    page = text(response)
    assert "PDFs are not available on this server: its administrator must install" in page
    assert "libpango-1.0-0" in page
    logged = [r for r in caplog.records if r.name == "qipp.governance"]
    assert len(logged) == 1 and "cannot load library" in logged[0].getMessage()
