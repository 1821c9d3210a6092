"""A QAG member's deputy records QAG's decision for them (ACCESS.md "Deputies"): QAG decides
for its whole system, and so does the deputy; the record names both."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from governance import deputies, roles
from governance.models import DeputyAct
from notifications.models import Decision, EscalationEvent
from tests.notifications.conftest import NOW, at_qag
from tests.pages import visible

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def qag_deputy(llr, people):
    """WL's QAG member is away; another WL QAG member deputises."""
    deputy = llr.add_user("wl-qag-deputy", "wl", roles.QAG_MEMBER)
    principal = people["wl-qag-member"]
    return deputies.name_deputy(
        by=principal,
        principal=principal,
        deputy=deputy,
        role=roles.QAG_MEMBER,
        organisation=llr.org("wl"),
        starts_on=NOW.date(),
        ends_on=NOW.date() + timedelta(days=7),
    )


def decide(client, escalation, delegation, **data):
    url = reverse("escalation_decide", args=[escalation.pk]) + f"?for={delegation.pk}"
    return client.post(
        url, {"meeting": "2019-06-25", "decision": "continue", "note": "Minute 4.", **data}
    )


def test_the_deputy_decides_for_the_qag_member_on_a_scheme_of_another_organisation(
    client, escalation, qag_deputy, commit
):
    at_qag(escalation)  # an ELR scheme: QAG decides for the whole system
    client.force_login(qag_deputy.deputy)
    inbox = visible(client.get(reverse("my_tasks")))
    assert "for WL Qag Member" in inbox
    commit(lambda: decide(client, escalation, qag_deputy))
    escalation.refresh_from_db()
    assert escalation.decision == Decision.CONTINUE
    assert escalation.decided_by == qag_deputy.deputy
    assert escalation.decided_for == qag_deputy.principal
    page = visible(client.get(escalation.get_absolute_url()))
    assert "recorded by wl-qag-deputy for WL Qag Member" in page
    event = EscalationEvent.objects.get(what__startswith="QAG decision")
    assert (
        event.what
        == "QAG decision: continue with the remedial plan (wl-qag-deputy for WL Qag Member)"
    )
    assert DeputyAct.objects.get().what.startswith("wl-qag-deputy for WL Qag Member: QAG decision")


def test_the_qag_deputy_may_not_decide_on_a_scheme_whose_team_they_are_on(
    client, escalation, qag_deputy
):
    at_qag(escalation)
    scheme = escalation.scheme
    scheme.clinical_lead = qag_deputy.deputy
    scheme.save()
    client.force_login(qag_deputy.deputy)
    response = decide(client, escalation, qag_deputy)
    assert response.status_code == 403
    assert "You are this scheme's clinical lead" in visible(response)
    escalation.refresh_from_db()
    assert escalation.decision == ""
