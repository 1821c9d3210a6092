"""QAG: the distribution list, meeting dates, the pack as a page and as a mail."""

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from governance.models import System
from notifications import qag
from notifications.emails import qag_recipients
from notifications.models import (
    Escalation,
    QagListEntry,
    QagMeeting,
    QagPack,
)
from notifications.sweep import sweep
from qia import escalation_feed
from qia.escalation_feed import QiaFlag
from tests.notifications.conftest import at
from tests.pages import text
from tests.world import add_return

pytestmark = pytest.mark.django_db


@pytest.fixture
def system(llr) -> System:
    """The LLR system of the test world."""
    return llr.system


# --- the distribution list ---


def test_the_list_is_the_systems_qag_members_and_the_admins_entries(system, people):
    QagListEntry.objects.create(system=system, email="secretary@example.nhs.uk", name="Secretary")
    QagListEntry.objects.create(system=system, user=people["elr-chief-nurse"])
    QagListEntry.objects.create(system=system, user=people["elr-qag-member"])  # no duplicate
    QagListEntry.objects.create(system=system, email="gone@example.nhs.uk", is_active=False)
    QagListEntry.objects.create(system=System.objects.get(code="NOT"), email="notts@example.nhs.uk")
    found = qag_recipients(system.pk)
    assert sorted(str(r) for r in found) == sorted(
        [
            str(people["elr-qag-member"]),
            str(people["wl-qag-member"]),
            str(people["elr-chief-nurse"]),
            "secretary@example.nhs.uk",
        ]
    )


def test_an_entry_needs_a_user_or_an_address(system):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        QagListEntry(system=system).full_clean()


def test_staff_manage_the_list_and_meetings_in_the_admin(admin_client, system):
    response = admin_client.post(
        "/admin/notifications/qaglistentry/add/",
        {"system": system.pk, "email": "chair@example.nhs.uk", "name": "Chair", "is_active": "on"},
    )
    assert response.status_code == 302
    response = admin_client.post(
        "/admin/notifications/qagmeeting/add/", {"system": system.pk, "date": "2019-06-19"}
    )
    assert response.status_code == 302
    assert QagMeeting.objects.get().date == date(2019, 6, 19)
    assert admin_client.get("/admin/notifications/escalation/").status_code == 200
    assert admin_client.get("/admin/notifications/escalation/add/").status_code == 403


# --- meeting dates ---


def test_by_default_qag_meets_on_the_second_and_fourth_thursday(system):
    assert qag.default_meetings(2019, 6) == [date(2019, 6, 13), date(2019, 6, 27)]
    assert qag.meetings(system, date(2019, 6, 14)) == [
        date(2019, 6, 27),
        date(2019, 7, 11),
        date(2019, 7, 25),
    ]


def test_dates_in_the_admin_replace_the_defaults_for_their_month(system):
    QagMeeting.objects.create(system=system, date=date(2019, 6, 19))
    assert qag.meetings(system, date(2019, 6, 1)) == [
        date(2019, 6, 19),
        date(2019, 7, 11),
        date(2019, 7, 25),
    ]
    other = System.objects.get(code="NOT")
    assert qag.next_meeting(other, date(2019, 6, 1)) == date(2019, 6, 13)


def test_the_defaults_are_a_setting(system, settings):
    settings.QIPP_QAG_MEETINGS = [(1, 0)]  # the first Monday
    assert qag.meetings(system, date(2019, 6, 1), months=1) == [date(2019, 6, 3)]


@pytest.mark.parametrize(
    ("meeting", "due"),
    [
        (date(2019, 6, 27), date(2019, 6, 25)),  # Thursday -> Tuesday
        (date(2019, 7, 1), date(2019, 6, 27)),  # Monday -> the Thursday before
        (date(2019, 7, 2), date(2019, 6, 28)),  # Tuesday -> Friday
    ],
)
def test_the_pack_is_due_two_working_days_before_the_meeting(meeting, due):
    assert qag.pack_due(meeting) == due


# --- the pack ---


def _extreme(system_id, since):
    from governance.models import Scheme

    scheme = Scheme.objects.order_by("pk").first()
    return [
        QiaFlag(
            scheme,
            "Extreme risk signed off",
            20,
            at(2019, 6, 20, 12),
            "/qia/1/",
            "Mitigated by audit.",
        )
    ]


def test_the_pack_mail_goes_to_the_list_two_working_days_before_the_meeting_once(
    escalated, commit, system, monkeypatch
):
    monkeypatch.setattr(escalation_feed, "flagged_to_qag", _extreme)
    QagListEntry.objects.create(system=system, email="secretary@example.nhs.uk")
    with time_machine.travel(at(2019, 6, 24, 9), tick=False):
        assert commit(qag.send_due_packs) == []
    with time_machine.travel(at(2019, 6, 25, 9), tick=False):
        sent = commit(qag.send_due_packs)
        assert commit(qag.send_due_packs) == []  # a second beat run sends nothing
    assert {(p.system.code, p.meeting_date) for p in sent} == {
        ("LLR", date(2019, 6, 27)),
        ("NOT", date(2019, 6, 27)),
    }
    llr_mail = [m for m in mail.outbox if "LLR" in m.subject]
    assert sorted(m.to[0] for m in llr_mail) == [
        "elr-qag-member@example.nhs.uk",
        "secretary@example.nhs.uk",
        "wl-qag-member@example.nhs.uk",
    ]
    body = llr_mail[0].body
    assert llr_mail[0].subject == "QAG pack LLR for the meeting of 27 June 2019"
    assert "2 open escalations, 1 decision due, 2 off-track schemes" in body
    first, second = escalated
    decisions = body.split("DECISIONS DUE")[1].split("OPEN ESCALATIONS")[0]
    assert first.reference in decisions and second.reference not in decisions
    assert "Reopen the clinic. (due 30 Jun 2019)" in decisions
    assert "raised 14 days ago" in decisions
    assert f"/notifications/escalations/{Escalation.objects.get(scheme=first).pk}/decide/" in body
    off_track = body.split("OFF-TRACK SCHEMES")[1]
    assert "Figures as at May 2019" in body
    assert "YTD plan (£2,000), actual (£1,000), variance £1,000" in off_track
    assert "actual (£1,500), variance £500" in off_track
    assert "Extreme risk signed off, agreed score 20" in body
    html = llr_mail[0].alternatives[0][0]
    assert "Record QAG&#x27;s decision" in html or "Record QAG's decision" in html
    assert QagPack.objects.get(system=system).recipients == 3


def test_the_pack_page_shows_the_same_and_decisions_are_recorded_from_it(
    client, people, escalated, commit
):
    client.force_login(people["wl-qag-member"])
    with time_machine.travel(at(2019, 6, 25, 9), tick=False):
        page = text(client.get(reverse("qag_pack")))
        assert "For the meeting of <strong>Thursday 27 June 2019</strong>" in page
        assert "Decisions due (1)" in page and "Open escalations (2)" in page
        assert "Off-track schemes, RAG red (2)" in page and "YTD variance" in page
        assert "figures as at <strong>May 2019</strong>" in page
        first = Escalation.objects.get(scheme=escalated[0])
        decide = reverse("escalation_decide", args=[first.pk])
        assert decide in page
        here = reverse("qag_pack") + "?"
        response = commit(
            lambda: client.post(
                decide,
                {
                    "meeting": "2019-06-25",
                    "decision": "continue",
                    "note": "Give it July.",
                    "next": here,
                },
            )
        )
    assert response["Location"] == here
    first.refresh_from_db()
    assert first.decision == "continue"


@pytest.mark.parametrize("name", ["elr-pmo", "elr-qag-member"])
def test_the_pmo_and_qag_open_the_pack(client, people, escalated, name):
    client.force_login(people[name])
    assert client.get(reverse("qag_pack")).status_code == 200


@pytest.mark.parametrize("name", ["elr-sro", "elr-viewer", "elr-project-lead"])
def test_nobody_else_opens_the_pack(client, people, escalated, name):
    client.force_login(people[name])
    response = client.get(reverse("qag_pack"))
    assert response.status_code == 403 and "QIPP Assurance Group" in text(response)


def test_a_member_sees_only_their_own_systems_pack(client, people, escalated):
    client.force_login(people["nn-qag-member"])
    page = text(client.get(reverse("qag_pack")))
    assert "Nottinghamshire" in page and escalated[0].reference not in page
    llr = System.objects.get(code="LLR")
    other = text(client.get(reverse("qag_pack"), {"system": llr.pk}))
    assert "is not a system of yours" in other and escalated[0].reference not in other


def test_qia_flags_are_those_since_the_last_pack(escalated, system, monkeypatch):
    seen = []
    monkeypatch.setattr(
        escalation_feed, "flagged_to_qag", lambda system_id, since: seen.append(since) or []
    )
    QagPack.objects.create(
        system=system, meeting_date=date(2019, 6, 13), assembled_at=at(2019, 6, 11, 7)
    )
    qag.assemble(system, meeting_date=date(2019, 6, 27), today=date(2019, 6, 25))
    assert seen == [at(2019, 6, 11, 7)]


def test_the_pack_rates_every_scheme_as_at_one_month_the_escalation_quoting_it_too(
    make_scheme, commit, client, people, system
):
    scheme = make_scheme()  # £1,000 a month
    for month in (1, 2, 3):
        add_return(scheme, month, 100)
    with time_machine.travel(at(2019, 7, 11, 9), tick=False):  # June's return was due
        commit(sweep)
    with time_machine.travel(at(2019, 10, 22, 9), tick=False):  # September's return was due
        commit(sweep)
        escalation = Escalation.objects.get(scheme=scheme, rule="off_track")
        # raised on the figures returned: June's, kept on the escalation's own page
        assert "as at Jun 2019" in escalation.reason
        assert "actual (£300) against plan (£3,000)" in escalation.reason
        client.force_login(people["elr-qag-member"])
        page = text(client.get(reverse("qag_pack")))
        june = text(client.get(reverse("qag_pack"), {"as_at": "2019-06"}))
        nonsense = text(client.get(reverse("qag_pack"), {"as_at": "June"}))
        commit(qag.send_due_packs)

    def off_track_row(page):
        row = page.split("Off-track schemes, RAG red (1)")[1].split("</tr>", 2)[1]
        return [cell.split("<")[0] for cell in row.split('class="num">')[1:]]

    # YTD plan, YTD actual, YTD variance, forecast outturn, annual plan: as at September
    assert "figures as at <strong>September 2019</strong>" in page
    assert off_track_row(page)[:3] == ["(£6,000)", "(£300)", "£5,700"]
    assert off_track_row(page)[4] == "(£12,000)"
    assert "As at September 2019: RAG red. Behind year-to-date plan by £5,700" in page
    assert "RAG red as at Jun 2019" not in page  # the reason it was raised with
    # the month is chosen on the page
    assert "figures as at <strong>June 2019</strong>" in june
    assert off_track_row(june)[:3] == ["(£3,000)", "(£300)", "£2,700"]
    assert "figures as at <strong>September 2019</strong>" in nonsense
    assert (
        "The figures can be as at a month from October 2018 to September 2019 (written like "
        "2019-09), not \u201cJune\u201d: they are as at the latest month."
    ) in nonsense
    assert "they are as at the latest month" not in june + page
    body = next(m.body for m in mail.outbox if m.subject.startswith("QAG pack LLR"))
    assert "Figures as at September 2019" in body
    assert "YTD plan (£6,000), actual (£300), variance £5,700;" in body
