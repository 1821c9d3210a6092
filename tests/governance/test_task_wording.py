"""What My tasks tells each person to do names the step that is really waiting: who returned a
draft and why, and a panel that cannot agree yet."""

import pytest
from django.urls import reverse

from governance import services as governance
from qia import services as qia
from tests.pages import table, text

pytestmark = pytest.mark.django_db


def tasks(client, user) -> list[tuple[str, str]]:
    """The user's task list as they see it: (scheme reference, what to do) a row."""
    client.force_login(user)
    response = client.get(reverse("my_tasks"))
    assert response.status_code == 200
    return [(row[0].split()[0], row[2]) for row in table(response, "")[1:]]


def test_a_draft_the_panel_returned_says_what_the_panel_asked_for(client, journey, people):
    scheme = journey.scored()
    qia.panel_close(
        version_id=journey.version(scheme).pk,
        by=people["elr-quality-lead"],
        decision="return",
        reason="Say how patients without a phone will be reached.",
    )
    wanted = (
        "Add the detail the QIA panel asked for and resubmit: Say how patients without a "
        "phone will be reached."
    )
    assert (scheme.reference, wanted) in tasks(client, people["elr-project-lead"])
    for page in ("scheme_detail", "scheme_submit"):
        shown = text(client.get(reverse(page, args=[scheme.pk])))
        assert "Returned by the QIA panel for more detail" in shown, page
        assert "Say how patients without a phone will be reached." in shown, page


def test_a_draft_declined_at_sign_off_says_what_the_signatory_asked_for(client, journey, people):
    scheme = journey.awaiting_sign_off()
    journey.sign(scheme, "elr-clinical-chair", decision="declined", comment="Add the audit plan.")
    wanted = "Revise as the Clinical Chair asked and resubmit: Add the audit plan."
    assert (scheme.reference, wanted) in tasks(client, people["elr-project-lead"])
    shown = text(client.get(scheme.get_absolute_url()))
    assert "Returned by the Clinical Chair for revision" in shown


def test_a_draft_the_reviewers_returned_still_asks_for_answers(client, journey, people):
    scheme = journey.submitted()
    governance.scheme_review(
        scheme_id=scheme.pk,
        by=people["elr-finance-reviewer"],
        kind="finance",
        decision="revise",
        comment="Show the activity baseline.",
        expected_version=None,
    )
    found = tasks(client, people["elr-project-lead"])
    assert (scheme.reference, "Answer the reviewers and resubmit") in found
    assert "Returned by" not in text(client.get(scheme.get_absolute_url()))


def test_the_quality_lead_waits_for_the_panel_before_agreeing(client, journey, people):
    scheme = journey.at_panel()
    journey.score(scheme, "elr-quality-lead")
    assert (scheme.reference, "Waiting for panel scores (1 of 3)") in tasks(
        client, people["elr-quality-lead"]
    )
    journey.score(scheme, "elr-panel-member")
    assert (scheme.reference, "Waiting for panel scores (2 of 3)") in tasks(
        client, people["elr-quality-lead"]
    )
    journey.score(scheme, "elr-panel-member-2")
    assert (scheme.reference, "Agree the QIA at panel") in tasks(client, people["elr-quality-lead"])
