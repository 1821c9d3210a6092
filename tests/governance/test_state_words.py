"""A scheme's state as it reads in a sentence: on messages, refusal pages and mails."""

import pytest
from django.urls import reverse

from governance.models import SchemeState, state_words
from tests.pages import text

pytestmark = pytest.mark.django_db


def test_every_state_reads_naturally_after_is():
    said = {state: f"ELR-2627-010 is now {state_words(state)}." for state in SchemeState}
    assert said == {
        SchemeState.DRAFT: "ELR-2627-010 is now a draft.",
        SchemeState.CONFIRM_AND_CHALLENGE: "ELR-2627-010 is now in confirm and challenge.",
        SchemeState.QIA_PANEL: "ELR-2627-010 is now at the QIA panel.",
        SchemeState.AWAITING_SIGN_OFF: "ELR-2627-010 is now awaiting sign-off.",
        SchemeState.AWAITING_QAG: "ELR-2627-010 is now awaiting QAG approval.",
        SchemeState.APPROVED: "ELR-2627-010 is now approved.",
        SchemeState.IN_DELIVERY: "ELR-2627-010 is now in delivery.",
        SchemeState.COMPLETED: "ELR-2627-010 is now completed.",
        SchemeState.STOPPED: "ELR-2627-010 is now stopped.",
        SchemeState.REJECTED: "ELR-2627-010 is now rejected.",
        SchemeState.WITHDRAWN: "ELR-2627-010 is now withdrawn.",
    }


def test_the_refusal_page_says_where_the_scheme_now_is(client, people, make_scheme):
    scheme = make_scheme(SchemeState.CONFIRM_AND_CHALLENGE)
    client.force_login(people["elr-project-lead"])

    response = client.get(reverse("scheme_edit", args=[scheme.pk]))

    assert response.status_code == 403
    assert (
        "The PID can only be changed while it is a draft; it is now in confirm and challenge."
        in text(response)
    )
