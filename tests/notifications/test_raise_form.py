"""The PMO's "Raise to QAG" form and the SRO's remedial action: bad input gets a clear error
beside its field, and what was typed stays on the page."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from governance.services import ActionRefused
from notifications import escalations
from notifications.models import EscalationStatus, Level
from tests.notifications.conftest import NOW, as_user, at_qag
from tests.pages import text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):  # 26 June 2019
        yield


# --- raise to QAG ---


def test_a_note_too_long_is_refused_beside_its_field_and_kept(client, people, escalation):
    pmo = as_user(client, people, "elr-pmo")
    note = "Third month behind plan. " * 400 + "x"  # 10,001 characters
    assert len(note) == 10001

    response = pmo.post(reverse("escalation_raise", args=[escalation.pk]), {"note": note})

    assert response.status_code == 200  # the escalation's page again, not a redirect
    page = text(response)
    assert "There is a problem" in page
    assert "at most 10000 characters (it has 10001)" in page
    assert note in page
    assert "Say why the escalation goes to QAG." not in page
    escalation.refresh_from_db()
    assert escalation.level == Level.PMO


def test_an_empty_note_asks_why_it_goes_to_qag(client, people, escalation):
    pmo = as_user(client, people, "elr-pmo")

    response = pmo.post(reverse("escalation_raise", args=[escalation.pk]), {"note": "  "})

    assert response.status_code == 200
    assert "Why QAG should decide now: Say why the escalation goes to QAG." in text(response)
    escalation.refresh_from_db()
    assert escalation.level == Level.PMO


def test_a_note_for_an_escalation_raised_meanwhile_is_shown_to_copy(client, people, escalation):
    pmo = as_user(client, people, "elr-pmo")
    at_qag(escalation)  # another PMO officer got there first

    response = pmo.post(
        reverse("escalation_raise", args=[escalation.pk]), {"note": "Third month behind plan."}
    )

    page = text(response)
    assert "This escalation is already with QAG." in page
    assert "Nothing was saved: your note is below, to copy." in page
    assert ">Third month behind plan.</textarea>" in page and "readonly" in page


# --- the remedial action's due date ---


def test_a_remedial_action_due_years_away_is_refused_and_keeps_what_was_typed(
    client, people, escalation
):
    sro = as_user(client, people, "elr-sro")
    url = reverse("escalation_remedial", args=[escalation.pk])

    response = sro.post(url, {"action": "Recover the lost clinics.", "due": "2099-01-01"})

    assert response.status_code == 200
    page = text(response)
    assert (
        "To be done by: The remedial action's due date, 1 January 2099, is more than 2 years "
        "away: give a date by 26 June 2021." in page
    )
    assert "Recover the lost clinics." in page
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.OPEN and escalation.remedial_due is None


def test_a_remedial_action_due_within_two_years_is_recorded(client, people, escalation):
    sro = as_user(client, people, "elr-sro")
    url = reverse("escalation_remedial", args=[escalation.pk])

    response = sro.post(url, {"action": "Recover the lost clinics.", "due": "2021-06-26"})

    assert response.status_code == 302
    escalation.refresh_from_db()
    assert escalation.remedial_due == date(2021, 6, 26)


def test_the_service_refuses_a_due_date_years_away_too(people, escalation):
    with pytest.raises(ActionRefused, match="more than 2 years away"):
        escalations.escalation_record_remedial(
            escalation_id=escalation.pk,
            by=people["elr-sro"],
            action="Recover the lost clinics.",
            due=date(2021, 6, 27),
        )
    escalation.refresh_from_db()
    assert escalation.remedial_due is None
