"""A QAG decision binds: it is taken at a meeting, it stands until QAG decides again at a later
meeting, and stopping a scheme is one. Driven through the pages, as a QAG member would."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance.models import AccessRefusal, Scheme, SchemeState
from notifications.models import Decision, EscalationEvent
from tests.notifications.conftest import NOW, as_user, at_qag, refused
from tests.pages import text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def decide(client, escalation, meeting: str, decision: str, note: str, **more):
    url = reverse("escalation_decide", args=[escalation.pk])
    data = {"meeting": meeting, "decision": decision, "note": note, **more}
    return client.post(url, data, follow=True)


def test_a_decision_stands_until_qag_decides_again_at_a_later_meeting(
    client, people, escalation, commit
):
    at_qag(escalation)
    qag = as_user(client, people, "elr-qag-member")
    commit(lambda: decide(qag, escalation, "2019-06-13", "continue", "Minute 12: give it July."))
    mail.outbox.clear()

    # another member, the same meeting, the opposite decision: refused, and told why
    other = as_user(client, people, "wl-qag-member")
    page = text(decide(other, escalation, "2019-06-13", "stop", "Stop it.", confirm="on"))
    assert "QAG's decision of its meeting of 13 June 2019 is already recorded" in page
    assert "It stands until QAG decides again at a later meeting" in page
    assert "Stop it." in page  # what was typed is kept
    # and so for an earlier meeting
    page = text(decide(other, escalation, "2019-06-12", "stop", "Stop it.", confirm="on"))
    assert "already recorded" in page
    escalation.refresh_from_db()
    scheme = Scheme.objects.get(pk=escalation.scheme_id)
    assert escalation.decision == Decision.CONTINUE and scheme.state == SchemeState.IN_DELIVERY
    assert EscalationEvent.objects.filter(what__startswith="QAG decision").count() == 1
    assert not StateLog.objects.for_(scheme).filter(transition="stop").exists()
    assert mail.outbox == []
    assert AccessRefusal.objects.filter(user=people["wl-qag-member"]).count() == 2

    # a later meeting decides again, with its reasons: that one stands, the first is history
    commit(lambda: decide(other, escalation, "2019-06-26", "stop", "Minute 19.", confirm="on"))
    escalation.refresh_from_db()
    scheme.refresh_from_db()
    assert escalation.decision == Decision.STOP and scheme.state == SchemeState.STOPPED
    history = text(qag.get(escalation.get_absolute_url())).split('id="history"')[1]
    assert "At the QAG meeting of 13 June 2019.\nMinute 12: give it July." in history
    assert "At the QAG meeting of 26 June 2019.\nMinute 19." in history
    assert "This replaces the earlier decision: Continue with the remedial plan" in history


def test_the_decision_mail_goes_to_the_team_the_pmo_and_the_qag_list(
    client, people, escalation, commit
):
    at_qag(escalation)
    qag = as_user(client, people, "wl-qag-member")
    commit(lambda: decide(qag, escalation, "2019-06-26", "continue", "One more month."))
    told = sorted(m.to[0] for m in mail.outbox if m.subject.startswith("QAG decision on"))
    assert told == [
        "elr-pmo@example.nhs.uk",
        "elr-project-lead@example.nhs.uk",
        "elr-qag-member@example.nhs.uk",
        "elr-sro@example.nhs.uk",
        "wl-qag-member@example.nhs.uk",
    ]


def test_a_meeting_date_is_needed_and_cannot_be_in_the_future_or_before_the_escalation(
    client, people, escalation
):
    at_qag(escalation)
    qag = as_user(client, people, "elr-qag-member")
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()
    assert "This field is required." in text(decide(qag, escalation, "", "continue", "Go on."))
    page = text(decide(qag, escalation, tomorrow, "continue", "Go on."))
    assert "QAG's meeting cannot be in the future." in page
    page = text(decide(qag, escalation, "2019-06-10", "continue", "Go on."))
    assert "The escalation was raised on 11 June 2019" in page
    escalation.refresh_from_db()
    assert escalation.decision == ""


def test_the_decision_page_offers_the_last_meeting_and_says_what_stopping_does(
    client, people, escalation
):
    at_qag(escalation)
    qag = as_user(client, people, "elr-qag-member")
    response = qag.get(reverse("escalation_decide", args=[escalation.pk]))
    meeting = response.context["form"]["meeting"].value()
    assert meeting is not None and meeting <= NOW.date()
    page = text(response)
    assert "cannot be undone" in page and "its live escalations close" in page
    assert "the PMO of ELR and the QAG list are told" in page


def test_stopping_needs_the_confirmation(client, people, escalation):
    at_qag(escalation)
    qag = as_user(client, people, "elr-qag-member")
    page = text(decide(qag, escalation, "2019-06-26", "replace", "Replace it."))
    assert "Tick to confirm that QAG decided to stop the scheme" in page
    assert Scheme.objects.get(pk=escalation.scheme_id).state == SchemeState.IN_DELIVERY


def test_the_scheme_page_and_the_qag_pack_show_the_decision(client, people, escalation, commit):
    at_qag(escalation)
    qag = as_user(client, people, "elr-qag-member")
    commit(lambda: decide(qag, escalation, "2019-06-26", "continue", "Minute 19: keep going."))
    scheme_page = text(qag.get(escalation.scheme.get_absolute_url()))
    assert "QAG decision: continue with the remedial plan (meeting of 26 Jun 2019)" in scheme_page
    pack = text(qag.get(reverse("qag_pack")))
    decided = pack.split("Decisions recorded since the last pack (")[1].split("Open escalations")[0]
    assert decided.startswith("1)")
    assert escalation.scheme.reference in decided and "Minute 19: keep going." in decided
    assert "26 Jun 2019" in decided


# --- who may raise, decide and stop (ACCESS.md), URL by URL ---

TEAM_PLACES = [
    ("project_lead", "project lead"),
    ("sro", "SRO"),
    ("clinical_lead", "clinical lead"),
    ("finance_lead", "finance lead"),
]


@pytest.mark.parametrize(("place", "words"), TEAM_PLACES)
def test_a_qag_member_on_the_scheme_team_neither_decides_nor_stops(
    client, people, escalation, place, words
):
    at_qag(escalation)
    member = people["elr-qag-member"]
    Scheme.objects.filter(pk=escalation.scheme_id).update(**{place: member})
    c = as_user(client, people, "elr-qag-member")
    reason = f"You are this scheme's {words}"
    decide_url = reverse("escalation_decide", args=[escalation.pk])
    stop_url = reverse("scheme_stop", args=[escalation.scheme_id])
    assert refused(c.get(decide_url), reason, member)
    response = c.post(
        decide_url,
        {"meeting": "2019-06-26", "decision": "stop", "note": "Stop.", "confirm": "on"},
    )
    assert refused(response, reason, member)
    assert refused(c.get(stop_url), reason, member)
    assert "Record QAG's decision" not in text(c.get(reverse("my_tasks")))
    escalation.refresh_from_db()
    assert escalation.decision == ""
    assert Scheme.objects.get(pk=escalation.scheme_id).state == SchemeState.IN_DELIVERY


@pytest.mark.parametrize(("place", "words"), TEAM_PLACES)
def test_a_pmo_officer_on_the_scheme_team_does_not_raise_it_to_qag(
    client, people, escalation, place, words
):
    officer = people["elr-pmo"]
    Scheme.objects.filter(pk=escalation.scheme_id).update(**{place: officer})
    c = as_user(client, people, "elr-pmo")
    response = c.post(reverse("escalation_raise", args=[escalation.pk]), {"note": "To QAG."})
    assert refused(response, f"You are this scheme's {words}", officer)
    escalation.refresh_from_db()
    assert escalation.level == "pmo"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("elr-pmo", "Only a member of the QIPP Assurance Group"),
        ("elr-sro", "Only a member of the QIPP Assurance Group"),
        ("elr-project-lead", "Only a member of the QIPP Assurance Group"),
        ("elr-viewer", "Only a member of the QIPP Assurance Group"),
        ("nn-qag-member", "You do not have access to this scheme."),
    ],
)
def test_only_a_qag_member_of_the_system_reaches_the_stop(client, people, escalation, name, reason):
    at_qag(escalation)
    c = as_user(client, people, name)
    response = c.get(reverse("scheme_stop", args=[escalation.scheme_id]))
    assert refused(response, reason, people[name])
    assert Scheme.objects.get(pk=escalation.scheme_id).state == SchemeState.IN_DELIVERY


@pytest.mark.parametrize("name", ["elr-qag-member", "wl-qag-member"])
def test_a_qag_member_of_the_system_is_led_to_the_decision(client, people, escalation, name):
    at_qag(escalation)
    response = as_user(client, people, name).get(
        reverse("scheme_stop", args=[escalation.scheme_id])
    )
    decide_url = reverse("escalation_decide", args=[escalation.pk])
    assert response.status_code == 302 and response["Location"] == f"{decide_url}?decision=stop"
    assert Scheme.objects.get(pk=escalation.scheme_id).state == SchemeState.IN_DELIVERY


def test_a_decision_by_someone_who_later_joins_the_team_stands_and_is_flagged(
    client, people, escalation, commit
):
    at_qag(escalation)
    qag = as_user(client, people, "wl-qag-member")
    commit(lambda: decide(qag, escalation, "2019-06-26", "continue", "Go on."))
    Scheme.objects.filter(pk=escalation.scheme_id).update(sro=people["wl-qag-member"])
    page = text(as_user(client, people, "elr-pmo").get(escalation.scheme.get_absolute_url()))
    assert "recorded QAG's decision on the off-track delivery (RAG red) escalation" in page
    assert "and is now this scheme's SRO." in page
    escalation.refresh_from_db()
    assert escalation.decision == Decision.CONTINUE  # it stands
