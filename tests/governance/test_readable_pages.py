"""Pages that stay readable: the scheme list names each scheme's SRO; a committee table has a
Print button (its downloads and form stay off the paper)."""

import pytest
from django.urls import reverse

from governance.models import SchemeChange, SchemeState
from tests.pages import table, text

pytestmark = pytest.mark.django_db


def test_the_scheme_list_names_each_schemes_sro(client, people, make_scheme):
    scheme = make_scheme()
    client.force_login(people["elr-pmo"])
    rows = table(client.get(reverse("scheme_list")), "")
    header = rows[0]
    assert "SRO" in header
    row = next(r for r in rows[1:] if r[0] == scheme.reference)
    assert row[header.index("SRO")] == str(people["elr-sro"])


def test_a_committee_table_can_be_printed(client, people, make_scheme):
    make_scheme()
    client.force_login(people["elr-pmo"])
    page = text(
        client.get(
            reverse("report_table", args=["summary"]),
            {"year": "2019/20", "month": "3", "by": "organisation"},
        )
    )
    assert "data-print>Print</button>" in page
    assert "js/print" in page


def test_the_pid_form_shows_each_person_with_their_role_and_organisation(client, people):
    client.force_login(people["elr-project-lead"])
    page = text(client.get(reverse("scheme_create")))
    assert f">{people['elr-sro']} (SRO; ELR)</option>" in page
    # the finance lead may be anyone of the organisation: their roles say who they are
    assert f">{people['elr-finance-reviewer']} (Finance reviewer; ELR)</option>" in page


def test_the_history_shows_the_latest_ten_and_the_rest_on_request(client, people, make_scheme):
    scheme = make_scheme(SchemeState.DRAFT)
    lead = people["elr-project-lead"]
    for n in range(12):
        SchemeChange.objects.create(
            scheme=scheme, changed_by=lead, field="Title", old_value=f"v{n}", new_value=f"v{n + 1}"
        )
    client.force_login(lead)
    page = text(client.get(scheme.get_absolute_url()))
    history = page.split('id="history"')[1]
    shown, rest = history.split("<details", 1)
    assert "Show all 13 entries" in rest  # twelve changes and the creation
    assert "Created" in rest and "Created" not in shown  # the oldest is behind "Show all"
    assert shown.count("<li>") == 10
