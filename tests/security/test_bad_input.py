"""Input no page should take as it comes: a NUL character, a line break in a one-line field,
and a sign-in page reached with someone else's session still open."""

import html
import io

import pytest
from django.core import mail
from django.urls import reverse

from governance import importers, services
from governance.models import Scheme
from notifications.models import OutboxEmail
from tests.factories import complete_self_assessment

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.parametrize(
    "address",
    [
        "/admin/governance/scheme/?q=%00",
        "/admin/governance/scheme/?q=care%00drop",
        "/schemes/?q=%00",
        "/reports/summary/?year=2019%00/20",
        "/admin/governance/scheme/?%00=1",
    ],
)
def test_a_nul_character_in_an_address_is_bad_input_not_a_server_error(client, staff, address):
    client.force_login(staff)

    response = client.get(address)

    assert response.status_code == 400
    assert "contains a character no page accepts" in text(response)


def test_a_nul_character_in_an_import_is_a_row_error(llr):
    data = "organisation,financial_year,requirement\nELR,2019/20,100\nWL\x00,2019/20,5\n"

    result = importers.import_file(
        "targets", io.BytesIO(data.encode()), name="targets.csv", by=llr.user("elr", "pmo")
    )

    assert [str(e) for e in result.errors] == [
        "row 3: a cell holds a NUL character, which no spreadsheet saves: remove it"
    ]


def test_a_line_break_in_a_title_never_reaches_a_mail_as_a_line_of_its_own(client, llr):
    lead = llr.user("elr", "project-lead")
    client.force_login(lead)
    data = llr.pid_data("ELR")
    form = {
        "title": "Virtual wards\r\nBcc: everyone@example.com\tand more",
        "description": data["description"],
        "organisation": data["organisation"].pk,
        "financial_year": data["financial_year"].pk,
        "programme_area": data["programme_area"].pk,
        "area_of_spend": data["area_of_spend"].pk,
        "scheme_type": data["scheme_type"],
        "sro": data["sro"].pk,
        "start_date": "2019-04-01",
        **{f"plan_m{m:02d}": "1000" for m in range(1, 13)},
        "recurrence": "recurrent",
        "cash_releasing": "True",
    }
    assert client.post(reverse("scheme_create"), form).status_code == 302
    scheme = Scheme.objects.get()
    complete_self_assessment(scheme)
    services.scheme_submit(scheme_id=scheme.pk, by=lead, expected_version=None)

    assert scheme.title == "Virtual wards Bcc: everyone@example.com and more"
    bodies = [row.text_body for row in OutboxEmail.objects.all()]
    assert bodies and not any(
        line.startswith("Bcc:") for body in bodies for line in body.splitlines()
    )


def test_the_sign_in_page_signs_out_whoever_was_signed_in_and_says_so(client, llr):
    before, me = llr.user("elr", "pmo"), llr.user("wl", "viewer")
    client.force_login(before)

    page = client.get(reverse("login"))

    assert page.status_code == 200
    assert f"{before} was signed in on this browser and has been signed out" in text(page)
    assert client.get(reverse("home")).status_code == 302  # nobody is signed in now
    signed_in = client.post(reverse("login"), {"username": me.username, "password": "pw"})
    assert signed_in.status_code == 302
    assert client.get(reverse("home")).context["user"] == me


def test_a_wrong_password_on_a_session_left_open_leaves_nobody_signed_in(client, llr):
    client.force_login(llr.user("elr", "pmo"))

    client.post(reverse("login"), {"username": "elr-pmo", "password": "not this"})

    assert client.get(reverse("home")).status_code == 302
    assert not mail.outbox
