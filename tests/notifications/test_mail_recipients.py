"""A mail that says a person or group has something goes to that person or group: the PMO is
told to start delivery and of the escalations "escalated to the PMO", QAG's decision reaches
everyone who acts on it, and a task mail never goes to the scheme's own team."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from governance.delivery import lifecycle
from governance.models import SchemeState
from notifications import emails
from notifications.models import (
    Decision,
    Escalation,
    EscalationStatus,
    Level,
    QagListEntry,
    Rule,
)
from notifications.sweep import sweep
from tests.notifications.conftest import at
from tests.world import add_return

pytestmark = pytest.mark.django_db


def to(subject_start: str) -> list[str]:
    """Who got the mails whose subject starts so, by username, sorted."""
    return sorted(m.to[0].split("@")[0] for m in mail.outbox if m.subject.startswith(subject_start))


def body(address: str, subject_start: str) -> str:
    (message,) = [
        m for m in mail.outbox if m.to == [address] and m.subject.startswith(subject_start)
    ]
    return message.body


# --- approved: the PMO starts delivery ---


@time_machine.travel(at(2019, 5, 2, 9), tick=False)
def test_the_approved_mail_tells_the_pmo_of_the_organisation_to_start_delivery(journey, commit):
    scheme = commit(lambda: journey.approved())

    assert to("Approved") == ["elr-pmo", "elr-project-lead", "elr-sro"]  # not WL's PMO
    pmo = body("elr-pmo@example.nhs.uk", "Approved")
    assert "as the PMO of the scheme's organisation, you can now start delivery" in pmo
    assert f"/schemes/{scheme.pk}/start-delivery/" in pmo
    lead = body("elr-project-lead@example.nhs.uk", "Approved")
    assert "the PMO of the scheme's organisation starts delivery" in lead
    (pmo_mail,) = [m for m in mail.outbox if m.to == ["elr-pmo@example.nhs.uk"]]
    assert pmo_mail.subject == f"Approved, start delivery: {scheme.reference} {scheme.title}"


def test_a_pmo_on_the_schemes_team_is_not_told_to_start_its_delivery(make_scheme, team_pmo, commit):
    scheme = make_scheme(SchemeState.APPROVED, clinical_lead=team_pmo)
    commit(lambda: emails.scheme_approved(scheme=scheme))
    assert to("Approved") == ["elr-pmo", "elr-project-lead", "elr-sro"]


# --- an approved scheme waiting past its service level: the PMO is reminded ---


def test_the_pmo_is_reminded_once_when_delivery_has_not_started_in_ten_days(
    make_scheme, team_pmo, commit
):
    approved = at(2019, 5, 2, 9)
    scheme = make_scheme(SchemeState.APPROVED, state_changed_at=approved, clinical_lead=team_pmo)
    make_scheme(SchemeState.APPROVED, org="WL", state_changed_at=approved + timedelta(days=5))

    with time_machine.travel(approved + timedelta(days=9), tick=False):
        commit(sweep)
    assert mail.outbox == []

    with time_machine.travel(approved + timedelta(days=10), tick=False):
        commit(sweep)
    (message,) = mail.outbox
    assert message.to == ["elr-pmo@example.nhs.uk"]  # neither WL's nor the team's PMO
    assert message.subject == f"Reminder, start of delivery waiting 10 days: {scheme.reference}"
    assert "the start of delivery of the scheme below has been waiting 10 days" in message.body
    assert "escalated" not in message.body  # the PMO is the one it waits for
    assert f"/schemes/{scheme.pk}/start-delivery/" in message.body

    with time_machine.travel(approved + timedelta(days=25), tick=False):
        commit(sweep)
    elr = [m for m in mail.outbox if m.to == ["elr-pmo@example.nhs.uk"]]
    assert len(elr) == 1  # once for this approval, and never an escalation
    assert not Escalation.objects.filter(scheme=scheme).exists()


def test_other_steps_reminders_still_say_they_are_escalated_to_the_pmo(make_scheme, commit):
    make_scheme(
        SchemeState.CONFIRM_AND_CHALLENGE,
        finance_lead=None,
        state_changed_at=at(2019, 5, 1, 9),
    )
    with time_machine.travel(at(2019, 5, 11, 9), tick=False):
        commit(sweep)
    assert to("Reminder") == ["elr-clinical-reviewer", "elr-finance-reviewer"]
    text = body("elr-finance-reviewer@example.nhs.uk", "Reminder")
    assert "escalated to the PMO" in text


# --- escalations ---


@pytest.fixture
def escalation(make_scheme, people):
    scheme = make_scheme()
    return Escalation.objects.create(
        scheme=scheme,
        rule=Rule.OFF_TRACK,
        owner=people["elr-sro"],
        reason="Behind plan.",
        raised_at=timezone.now(),
        last_fired_at=timezone.now(),
    )


def test_an_escalation_raised_to_the_pmo_reaches_the_pmo_of_the_organisation(make_scheme, commit):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 0)
    with time_machine.travel(at(2019, 6, 11, 9), tick=False):
        commit(sweep)
    assert to("Escalation raised") == ["elr-pmo", "elr-project-lead", "elr-sro"]
    assert "has been escalated to the PMO" in body("elr-pmo@example.nhs.uk", "Escalation raised")


def test_qags_decision_reaches_the_sro_the_lead_the_pmo_and_the_qag_list(
    escalation, people, llr, commit
):
    QagListEntry.objects.create(system=llr.system, email="qag-secretary@example.nhs.uk")
    escalation.level = Level.QAG
    escalation.raised_to_qag_at = timezone.now()
    escalation.decision = Decision.CONTINUE
    escalation.decision_note = "One more month."
    escalation.decided_at = timezone.now()
    escalation.decided_by = people["elr-qag-member"]
    escalation.status = EscalationStatus.OPEN
    escalation.save()

    commit(lambda: emails.escalation_decided(escalation=escalation))
    commit(lambda: emails.escalation_decided(escalation=escalation))  # told once

    assert to("QAG decision") == [
        "elr-pmo",
        "elr-project-lead",
        "elr-qag-member",
        "elr-sro",
        "qag-secretary",
        "wl-qag-member",  # QAG is the system's: not Nottinghamshire's
    ]
    assert "One more month." in body("elr-pmo@example.nhs.uk", "QAG decision")


# --- task mails: never to the scheme's own team ---


def test_a_review_is_never_requested_from_the_schemes_own_finance_lead(journey, commit):
    draft = journey.draft(finance_lead=journey["elr-finance-reviewer"])
    commit(lambda: journey.submitted(draft))
    assert to("Review requested") == ["elr-clinical-reviewer"]


def test_closing_tells_a_pmo_on_the_team_once(make_scheme, team_pmo, people, commit):
    scheme = make_scheme(clinical_lead=team_pmo)
    commit(
        lambda: lifecycle.scheme_complete(
            scheme_id=scheme.pk,
            by=people["elr-sro"],
            expected_version=None,
            delivered="All of it.",
            lessons="Start earlier.",
        )
    )
    assert to("Closed") == [
        "elr-finance-reviewer",
        "elr-pmo",
        "elr-pmo-clinical-lead",
        "elr-project-lead",
        "elr-sro",
    ]
