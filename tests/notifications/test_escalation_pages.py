"""The escalation pages as users drive them: who may see and do what, allowed and refused."""

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from governance.delivery import monthly_returns
from governance.models import AccessRefusal, Scheme, SchemeState
from notifications.models import (
    Decision,
    Escalation,
    EscalationEvent,
    EscalationStatus,
    Level,
    Notification,
    Rule,
)
from notifications.sweep import sweep
from tests.notifications.conftest import NOW, as_user, at, at_qag, refused
from tests.pages import text
from tests.world import add_return

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


# --- seeing ---


@pytest.mark.parametrize(
    "name", ["elr-pmo", "wl-pmo", "elr-qag-member", "wl-qag-member", "elr-sro", "elr-project-lead"]
)
def test_the_pmo_qag_and_the_scheme_team_see_the_escalation(client, people, escalation, name):
    c = as_user(client, people, name)
    assert escalation.scheme.reference in text(c.get(reverse("escalation_list")))
    page = text(c.get(escalation.get_absolute_url()))
    assert "Off-track delivery (RAG red)" in page and "£2,000" in page


@pytest.mark.parametrize("name", ["elr-viewer", "elr-clinical-reviewer", "nn-pmo", "nn-qag-member"])
def test_nobody_else_sees_it(client, people, escalation, name):
    c = as_user(client, people, name)
    assert escalation.scheme.reference not in text(c.get(reverse("escalation_list")))
    response = c.get(escalation.get_absolute_url())
    assert response.status_code == 403
    assert AccessRefusal.objects.filter(user=people[name]).exists()


def test_the_list_filters_by_status_level_and_rule(client, people, escalation):
    c = as_user(client, people, "elr-pmo")
    assert escalation.scheme.reference in text(c.get(reverse("escalation_list"), {"level": "pmo"}))
    assert escalation.scheme.reference not in text(
        c.get(reverse("escalation_list"), {"level": "qag"})
    )
    assert escalation.scheme.reference not in text(
        c.get(reverse("escalation_list"), {"status": "resolved"})
    )
    assert escalation.scheme.reference in text(
        c.get(reverse("escalation_list"), {"rule": "off_track", "status": ""})
    )


def test_anonymous_visitors_are_sent_to_sign_in(client, escalation):
    for url in [
        reverse("escalation_list"),
        escalation.get_absolute_url(),
        reverse("escalation_remedial", args=[escalation.pk]),
        reverse("escalation_decide", args=[escalation.pk]),
        reverse("qag_pack"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login")
    assert client.post(reverse("escalation_raise", args=[escalation.pk])).status_code == 302


def test_the_scheme_page_shows_the_escalation_block_to_those_who_may_see_it(
    client, people, escalation
):
    url = escalation.scheme.get_absolute_url()
    page = text(as_user(client, people, "elr-sro").get(url))
    assert "Escalations" in page and "Record a remedial action" in page
    # everyone who may see the scheme sees the step in its history, not the block
    page = text(as_user(client, people, "elr-viewer").get(url))
    assert "Escalation raised to the PMO: off-track delivery (RAG red)" in page
    assert "Record a remedial action" not in page
    assert reverse("escalation_detail", args=[escalation.pk]) not in page


# --- the SRO's remedial action ---


def test_the_sro_records_a_remedial_action(client, people, escalation):
    c = as_user(client, people, "elr-sro")
    url = reverse("escalation_remedial", args=[escalation.pk])
    assert "Record the remedial action" in text(c.get(url))
    response = c.post(url, {"action": "Recover the lost clinics.", "due": "2019-07-15"})
    assert response["Location"] == escalation.get_absolute_url()
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.REMEDIAL_AGREED
    assert escalation.remedial_due == date(2019, 7, 15)
    assert escalation.remedial_by == people["elr-sro"]
    assert EscalationEvent.objects.filter(what="Remedial action agreed").exists()
    page = text(c.get(escalation.scheme.get_absolute_url()))
    assert "Remedial action agreed" in page
    assert "Recover the lost clinics." not in page  # the plan stays on the escalation page
    assert "Recover the lost clinics." in text(c.get(escalation.get_absolute_url()))


def test_a_remedial_action_due_in_the_past_is_refused_and_keeps_what_was_typed(
    client, people, escalation
):
    c = as_user(client, people, "elr-sro")
    url = reverse("escalation_remedial", args=[escalation.pk])
    response = c.post(url, {"action": "Recover the lost clinics by July.", "due": "2019-06-01"})
    assert response.status_code == 200  # the form again, not a redirect
    page = text(response)
    assert "cannot be in the past" in page
    assert "Recover the lost clinics by July." in page
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.OPEN


def remedial_entries(escalation) -> list[str]:
    """The remedial actions in the escalation's history, oldest first."""
    events = EscalationEvent.objects.filter(escalation=escalation, what__startswith="Remedial")
    return [event.what for event in events.order_by("pk")]


def test_a_remedial_action_sent_twice_from_one_page_is_already_recorded(client, people, escalation):
    c = as_user(client, people, "elr-sro")
    url = reverse("escalation_remedial", args=[escalation.pk])
    sent = {"action": "Recover the lost clinics.", "due": "2019-07-15"}
    c.post(url, {**sent, "version": escalation.version})

    # the second submit of a double click: drawn from the same page, before the first
    response = c.post(url, {**sent, "version": escalation.version}, follow=True)

    assert response.redirect_chain[-1][0] == escalation.get_absolute_url()
    page = text(response)
    assert "Your remedial action is already recorded, due by 15 July 2019." in page
    assert "Someone else recorded something" not in page
    assert remedial_entries(escalation) == ["Remedial action agreed"]
    assert not AccessRefusal.objects.exists()


def test_the_same_remedial_action_sent_again_after_back_records_no_second_entry(
    client, people, escalation
):
    c = as_user(client, people, "elr-sro")
    url = reverse("escalation_remedial", args=[escalation.pk])
    c.post(url, {"action": "Reopen the Saturday clinic.", "due": "2019-07-15"})
    revised = {"action": "Move follow-ups to the community.", "due": "2019-07-31"}
    c.post(url, revised)
    escalation.refresh_from_db()

    # Back, and the revision sent again from a page drawn after it
    response = c.post(url, {**revised, "version": escalation.version}, follow=True)

    assert "Your remedial action is already recorded, due by 31 July 2019." in text(response)
    assert remedial_entries(escalation) == ["Remedial action agreed", "Remedial action revised"]


def test_another_due_date_from_the_same_old_page_is_still_a_change_meanwhile(
    client, people, escalation
):
    c = as_user(client, people, "elr-sro")
    url = reverse("escalation_remedial", args=[escalation.pk])
    sent = {"action": "Recover the lost clinics.", "version": escalation.version}
    c.post(url, {**sent, "due": "2019-07-15"})

    response = c.post(url, {**sent, "due": "2019-07-31"})

    assert response.status_code == 200  # the form again, with what was typed
    assert "Someone else recorded something on this escalation" in text(response)
    escalation.refresh_from_db()
    assert escalation.remedial_due == date(2019, 7, 15)
    assert remedial_entries(escalation) == ["Remedial action agreed"]


@pytest.mark.parametrize(
    "name", ["elr-project-lead", "elr-pmo", "elr-qag-member", "wl-sro", "elr-viewer"]
)
def test_only_the_sro_records_a_remedial_action(client, people, escalation, name):
    c = as_user(client, people, name)
    url = reverse("escalation_remedial", args=[escalation.pk])
    assert c.get(url).status_code == 403
    response = c.post(url, {"action": "Mine.", "due": "2019-07-15"})
    assert response.status_code == 403
    escalation.refresh_from_db()
    assert escalation.remedial_action == ""


# --- the PMO raises it to QAG ---


def test_the_pmo_raises_it_to_qag_and_qag_is_mailed(client, people, escalation, commit):
    c = as_user(client, people, "elr-pmo")
    page = text(c.get(escalation.get_absolute_url()))
    assert "Raise to QAG" in page
    response = commit(
        lambda: c.post(
            reverse("escalation_raise", args=[escalation.pk]), {"note": "Third month behind."}
        )
    )
    assert response["Location"] == escalation.get_absolute_url()
    escalation.refresh_from_db()
    assert escalation.level == Level.QAG and escalation.raised_to_qag_by == people["elr-pmo"]
    to = sorted(m.to[0] for m in mail.outbox)
    assert "elr-qag-member@example.nhs.uk" in to and "wl-qag-member@example.nhs.uk" in to
    assert "elr-sro@example.nhs.uk" in to
    assert f"by {people['elr-pmo']}" in mail.outbox[0].body
    assert Notification.objects.filter(user=people["elr-qag-member"]).exists()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("wl-pmo", "Only the PMO of the scheme's organisation"),
        ("elr-sro", "Only the PMO"),
        ("elr-qag-member", "Only the PMO"),
        ("elr-viewer", "seen by the PMO, QAG members and the scheme's team"),
    ],
)
def test_only_the_pmo_of_the_organisation_raises_it(client, people, escalation, name, reason):
    c = as_user(client, people, name)
    response = c.post(reverse("escalation_raise", args=[escalation.pk]), {"note": "Now."})
    assert refused(response, reason, people[name])
    escalation.refresh_from_db()
    assert escalation.level == Level.PMO and mail.outbox == []


def test_a_pmo_on_the_scheme_team_may_not_raise_it(client, people, escalation):
    Scheme.objects.filter(pk=escalation.scheme_id).update(finance_lead=people["elr-pmo"])
    c = as_user(client, people, "elr-pmo")
    response = c.post(reverse("escalation_raise", args=[escalation.pk]), {"note": "Now."})
    assert refused(response, "segregation of duties", people["elr-pmo"])


def test_raising_twice_says_it_is_already_with_qag(client, people, escalation):
    c = as_user(client, people, "elr-pmo")
    c.post(reverse("escalation_raise", args=[escalation.pk]), {"note": "Now."})
    response = c.post(
        reverse("escalation_raise", args=[escalation.pk]), {"note": "Again."}, follow=True
    )
    assert "already with QAG" in text(response)


# --- QAG decides ---


def test_qag_decides_to_continue_with_a_new_due_date(client, people, escalation, commit):
    at_qag(escalation)
    c = as_user(client, people, "wl-qag-member")  # same system, another organisation
    url = reverse("escalation_decide", args=[escalation.pk])
    assert "Record QAG's decision" in text(c.get(url))
    commit(
        lambda: c.post(
            url,
            {
                "meeting": "2019-06-26",
                "decision": "continue",
                "note": "One more month.",
                "due": "2019-07-31",
            },
        )
    )
    escalation.refresh_from_db()
    assert (
        escalation.decision == Decision.CONTINUE
        and escalation.decided_by == people["wl-qag-member"]
    )
    assert escalation.remedial_due == date(2019, 7, 31)
    assert escalation.is_active and not escalation.decision_due
    assert [m.subject for m in mail.outbox if m.to == ["elr-sro@example.nhs.uk"]] == [
        f"QAG decision on {escalation.scheme.reference}: continue with the remedial plan"
    ]


@pytest.mark.parametrize("decision", ["stop", "replace"])
def test_qag_stops_the_scheme_and_closes_its_escalations(
    client, people, escalation, make_scheme, decision
):
    at_qag(escalation)
    other = Escalation.objects.create(
        scheme=escalation.scheme,
        rule=Rule.MISSING_RETURN,
        owner=people["elr-sro"],
        reason="June missing.",
        raised_at=NOW,
        last_fired_at=NOW,
    )
    c = as_user(client, people, "elr-qag-member")
    c.post(
        reverse("escalation_decide", args=[escalation.pk]),
        {
            "meeting": "2019-06-26",
            "decision": decision,
            "note": "Not recoverable this year.",
            "confirm": "on",
        },
    )
    escalation.refresh_from_db()
    other.refresh_from_db()
    scheme = escalation.scheme
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.STOPPED
    assert "Not recoverable this year." in scheme.stop_decision
    assert escalation.status == EscalationStatus.CLOSED and other.status == EscalationStatus.CLOSED
    page = text(c.get(scheme.get_absolute_url()))
    assert "In delivery → Stopped" in page and "QAG decision:" in page
    # the next sweep leaves a stopped scheme alone
    assert sweep().counts()["raised"] == 0


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("elr-pmo", "Only a member of the QIPP Assurance Group"),
        ("elr-sro", "Only a member of the QIPP Assurance Group"),
        ("nn-qag-member", "You do not have access to this scheme."),
        ("elr-viewer", "seen by the PMO, QAG members and the scheme's team"),
    ],
)
def test_only_a_qag_member_of_the_system_decides(client, people, escalation, name, reason):
    at_qag(escalation)
    c = as_user(client, people, name)
    url = reverse("escalation_decide", args=[escalation.pk])
    assert c.get(url).status_code == 403
    response = c.post(
        url, {"meeting": "2019-06-26", "decision": "stop", "note": "Stop it.", "confirm": "on"}
    )
    assert refused(response, reason, people[name])
    escalation.refresh_from_db()
    assert escalation.decision == "" and escalation.scheme.state == SchemeState.IN_DELIVERY


def test_a_qag_member_on_the_scheme_team_may_not_decide(client, people, escalation):
    at_qag(escalation)
    Scheme.objects.filter(pk=escalation.scheme_id).update(clinical_lead=people["elr-qag-member"])
    c = as_user(client, people, "elr-qag-member")
    response = c.post(
        reverse("escalation_decide", args=[escalation.pk]),
        {"meeting": "2019-06-26", "decision": "stop", "note": "x", "confirm": "on"},
    )
    assert refused(response, "You are this scheme's clinical lead", people["elr-qag-member"])


def test_a_second_decision_from_a_page_drawn_before_the_first_is_not_recorded(
    client, people, escalation, commit
):
    at_qag(escalation)
    url = reverse("escalation_decide", args=[escalation.pk])
    first, second = Client(), Client()
    first.force_login(people["elr-qag-member"])
    second.force_login(people["wl-qag-member"])
    drawn = [c.get(url).context["form"]["version"].value() for c in (first, second)]
    assert drawn[0] == drawn[1]  # both hold the same escalation

    commit(
        lambda: first.post(
            url,
            {
                "version": drawn[0],
                "meeting": "2019-06-26",
                "decision": "continue",
                "note": "Minuted: continue.",
            },
        )
    )
    page = text(
        second.post(
            url,
            {
                "version": drawn[1],
                "meeting": "2019-06-26",
                "decision": "stop",
                "note": "Minuted: stop.",
                "confirm": "on",
            },
        )
    )

    assert "Someone else recorded something on this escalation" in page
    assert "Minuted: stop." in page  # what was typed is kept
    assert "Decision standing" in page and "Minuted: continue." in page  # and what stands
    escalation.refresh_from_db()
    assert escalation.decision == Decision.CONTINUE
    assert escalation.scheme.state == SchemeState.IN_DELIVERY
    assert [e.what for e in escalation.events.filter(what__startswith="QAG decision")] == [
        "QAG decision: continue with the remedial plan"
    ]
    assert not AccessRefusal.objects.exists()  # a conflict, not a refusal


def test_qag_decides_only_once_the_escalation_is_with_it(client, people, escalation):
    c = as_user(client, people, "elr-qag-member")
    url = reverse("escalation_decide", args=[escalation.pk])
    shown = c.get(url, follow=True)
    assert shown.redirect_chain[-1][0] == escalation.get_absolute_url()
    assert "This escalation is still with the PMO" in text(shown)

    response = c.post(
        url,
        {"meeting": "2019-06-26", "decision": "stop", "note": "Minuted: stop it.", "confirm": "on"},
        follow=True,
    )
    page = text(response)
    assert "the PMO raises this one first" in page
    assert "Minuted: stop it." in page  # the minuted reasons are kept on the form
    escalation.refresh_from_db()
    assert escalation.decision == ""


def test_a_decision_needs_its_reasons_and_a_due_date_only_to_continue(client, people, escalation):
    at_qag(escalation)
    c = as_user(client, people, "elr-qag-member")
    url = reverse("escalation_decide", args=[escalation.pk])
    page = text(c.post(url, {"decision": "stop", "note": "", "due": "2019-07-31"}))
    assert "This field is required." in page
    assert "A new due date goes with a decision to continue only." in page
    escalation.refresh_from_db()
    assert escalation.decision == ""


@pytest.mark.parametrize(
    "due, said",
    [
        ("2019-06-01", "The remedial action's due date cannot be in the past."),
        ("2099-01-01", "is more than 2 years away"),
    ],
)
def test_a_new_due_date_keeps_the_remedial_actions_rule(client, people, escalation, due, said):
    at_qag(escalation)
    c = as_user(client, people, "elr-qag-member")
    url = reverse("escalation_decide", args=[escalation.pk])
    sent = {"meeting": "2019-06-26", "decision": "continue", "note": "Later.", "due": due}

    page = text(c.post(url, sent))

    assert said in page and "Later." in page
    escalation.refresh_from_db()
    assert escalation.decision == ""


def test_nothing_more_is_recorded_on_a_resolved_escalation(client, people, escalation):
    Escalation.objects.filter(pk=escalation.pk).update(status=EscalationStatus.RESOLVED)
    c = as_user(client, people, "elr-sro")
    response = c.post(
        reverse("escalation_remedial", args=[escalation.pk]),
        {"action": "Late.", "due": "2019-07-15"},
        follow=True,
    )
    assert "This escalation is resolved: nothing more can be recorded" in text(response)


# --- tasks ---


def test_the_sro_and_qag_find_their_escalations_in_my_tasks(client, people, escalation):
    page = text(as_user(client, people, "elr-sro").get(reverse("my_tasks")))
    assert "Record a remedial action (off-track delivery (RAG red))" in page
    at_qag(escalation)
    page = text(as_user(client, people, "wl-qag-member").get(reverse("my_tasks")))
    assert "Record QAG's decision" in page
    page = text(as_user(client, people, "nn-qag-member").get(reverse("my_tasks")))
    assert "Record QAG's decision" not in page


# --- notifications ---


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(client, people, escalation):
    c = as_user(client, people, "elr-sro")
    notice = Notification.objects.get(user=people["elr-sro"])
    assert '1<span class="visually-hidden"> unread' in c.get(reverse("home")).content.decode()
    response = c.post(reverse("notification_open", args=[notice.pk]))
    assert response["Location"] == escalation.get_absolute_url()
    notice.refresh_from_db()
    assert notice.read_at is not None
    # someone else's notification is not found
    other = as_user(client, people, "elr-project-lead")
    assert other.post(reverse("notification_open", args=[notice.pk])).status_code == 404


# --- the whole journey ---


def test_an_off_track_scheme_is_escalated_to_qag_packed_and_resolves_itself(
    client, people, make_scheme, commit
):
    """DESIGN.md's story, each step in the scheme's history."""
    from notifications import qag

    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 100)
    with time_machine.travel(at(2019, 6, 11, 5), tick=False):  # the beat's morning sweep
        commit(sweep)
    escalation = Escalation.objects.get()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "elr-pmo@example.nhs.uk",  # "escalated to the PMO": the PMO is told
        "elr-project-lead@example.nhs.uk",
        "elr-sro@example.nhs.uk",
    ]
    assert len([m for m in mail.outbox if m.to == ["elr-sro@example.nhs.uk"]]) == 1

    sro = as_user(client, people, "elr-sro")
    with time_machine.travel(at(2019, 6, 12, 9), tick=False):
        sro.post(
            reverse("escalation_remedial", args=[escalation.pk]),
            {"action": "Recover the clinic list.", "due": "2019-06-20"},
        )
    with time_machine.travel(at(2019, 6, 21, 5), tick=False):
        assert commit(sweep).to_qag == [escalation]
    with time_machine.travel(at(2019, 6, 25, 7), tick=False):  # two working days before
        commit(qag.send_due_packs)
        pack = text(as_user(client, people, "elr-qag-member").get(reverse("qag_pack")))
    pack_mail = next(m for m in mail.outbox if m.subject.startswith("QAG pack LLR"))
    assert scheme.reference in pack_mail.body.split("DECISIONS DUE")[1]
    assert "Decisions due (1)" in pack and scheme.reference in pack

    mail.outbox.clear()
    lead = people["elr-finance-reviewer"]  # the scheme's finance lead corrects May
    with time_machine.travel(at(2019, 6, 26, 9), tick=False):
        commit(
            lambda: monthly_returns.return_save(scheme_id=scheme.pk, month=2, by=lead, actual=1000)
        )
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.RESOLVED
    told = sorted(m.to[0] for m in mail.outbox if m.subject.startswith("Escalation resolved"))
    assert "elr-sro@example.nhs.uk" in told and "elr-qag-member@example.nhs.uk" in told

    page = text(as_user(client, people, "elr-viewer").get(scheme.get_absolute_url()))
    for step in [
        "Escalation raised to the PMO: off-track delivery (RAG red)",
        "Remedial action agreed",
        "Raised to QAG",
        "Escalation resolved: off-track delivery (RAG red) no longer applies",
    ]:
        assert step in page, step


# --- after QAG lets the scheme continue ---


def _pack(client, people) -> tuple[str, str]:
    """The pack page as a QAG member reads it, and its "Decisions due" section."""
    page = text(as_user(client, people, "wl-qag-member").get(reverse("qag_pack")))
    return page, page.split("Decisions due (")[1].split("Decisions recorded since")[0]


def test_when_the_due_date_qag_set_passes_still_off_track_qag_decides_again(
    client, people, escalation, commit
):
    for month in (3, 4):  # the returns keep coming, still behind plan
        add_return(escalation.scheme, month, 0)
    at_qag(escalation)
    c = as_user(client, people, "elr-qag-member")
    url = reverse("escalation_decide", args=[escalation.pk])
    commit(
        lambda: c.post(
            url,
            {
                "meeting": "2019-06-26",
                "decision": "continue",
                "note": "Give it July.",
                "due": "2019-07-31",
            },
        )
    )
    qag_subject = f"Due for a QAG decision again: {escalation.scheme.reference}"

    def qag_mails():
        return sorted(m.to[0] for m in mail.outbox if m.subject.startswith(qag_subject))

    with time_machine.travel(at(2019, 7, 31, 9), tick=False):  # due today: not yet
        commit(sweep)
        page, due = _pack(client, people)
        assert due.startswith("0)") and escalation.scheme.reference not in due
    assert qag_mails() == []

    with time_machine.travel(at(2019, 8, 1, 9), tick=False):
        commit(sweep)
        page, due = _pack(client, people)
        assert due.startswith("1)") and escalation.scheme.reference in due
        detail = text(as_user(client, people, "elr-pmo").get(escalation.get_absolute_url()))
        assert "Remedial action overdue" in detail
        assert "Due for a QAG decision again: the remedial action was due by 31 July 2019" in detail
        listed = text(as_user(client, people, "elr-pmo").get(reverse("escalation_list")))
        assert "Remedial action overdue" in listed
        tasks = text(as_user(client, people, "wl-qag-member").get(reverse("my_tasks")))
        assert "Record QAG's decision" in tasks
    assert qag_mails() == [
        "elr-project-lead@example.nhs.uk",
        "elr-qag-member@example.nhs.uk",
        "elr-sro@example.nhs.uk",
        "wl-qag-member@example.nhs.uk",
    ]
    body = next(m.body for m in mail.outbox if m.subject.startswith(qag_subject))
    assert "QAG decided on 26 June 2019 to continue" in body
    assert "the remedial action was due by 31 July 2019" in body

    with time_machine.travel(at(2019, 8, 2, 9), tick=False):  # told once
        commit(sweep)
    assert len(qag_mails()) == 4

    with time_machine.travel(at(2019, 8, 8, 9), tick=False):  # QAG decides again
        c = as_user(client, people, "elr-qag-member")
        commit(
            lambda: c.post(
                url,
                {
                    "meeting": "2019-08-08",
                    "decision": "continue",
                    "note": "Last chance.",
                    "due": "2019-08-31",
                },
            )
        )
        page, due = _pack(client, people)
        assert due.startswith("0)")
    escalation.refresh_from_db()
    assert escalation.decision_note == "Last chance."


def test_the_history_keeps_every_remedial_action_and_every_decision_as_it_was(
    client, people, escalation
):
    sro = as_user(client, people, "elr-sro")
    remedial = reverse("escalation_remedial", args=[escalation.pk])
    sro.post(remedial, {"action": "Reopen the Saturday clinic.", "due": "2019-07-15"})
    sro.post(remedial, {"action": "Move follow-ups to the community.", "due": "2019-07-31"})
    at_qag(escalation)
    qag = as_user(client, people, "elr-qag-member")
    decide = reverse("escalation_decide", args=[escalation.pk])
    qag.post(
        decide,
        {
            "meeting": "2019-06-13",
            "decision": "continue",
            "note": "Minute 12: give it July.",
            "due": "2019-07-31",
        },
    )
    qag.post(
        decide,
        {"meeting": "2019-06-26", "decision": "continue", "note": "Minute 19: keep the plan."},
    )

    page = text(as_user(client, people, "elr-pmo").get(escalation.get_absolute_url()))
    history = page.split('id="history"')[1]
    for was in [
        "Remedial action agreed",
        "Reopen the Saturday clinic.\nDue by 15 July 2019.",
        "Remedial action revised",
        "Move follow-ups to the community.\nDue by 31 July 2019.",
        "At the QAG meeting of 13 June 2019.\nMinute 12: give it July.\nNew due date 31 July 2019.",
        "At the QAG meeting of 26 June 2019.\nMinute 19: keep the plan.",
        "This replaces the earlier decision: Continue with the remedial plan at the meeting of "
        "13 June 2019.",
        "Minute 19: keep the plan.",
    ]:
        assert was in history, was
    assert history.count("QAG decision: continue with the remedial plan") == 2


def test_a_past_due_date_is_an_error_of_its_field_linked_from_the_summary(
    client, people, escalation
):
    c = as_user(client, people, "elr-sro")
    url = reverse("escalation_remedial", args=[escalation.pk])
    page = text(c.post(url, {"action": "Recover the lost clinics.", "due": "2019-06-25"}))
    summary = page.split("There is a problem")[1].split("</ul>")[0]
    error = "To be done by: The remedial action's due date cannot be in the past."
    assert f'<a href="#id_due">{error}</a>' in summary
    assert "Recover the lost clinics." in page
    escalation.refresh_from_db()
    assert escalation.remedial_action == ""
