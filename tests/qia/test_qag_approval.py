"""QAG's approval page when another member of QAG decided first, or the scheme changed while
the page was open: nothing typed is lost, and the page says who decided and when."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_fsm_log.models import StateLog

from governance.models import Organisation, Scheme, SchemeState
from qia import services
from qia.models import Condition, Route, RouteRule
from qia.views import qag_approval as qag_views
from tests.pages import visible

pytestmark = pytest.mark.django_db

COMMENT = "Minute 12: proceed once the community team is recruited."
CONDITION = "Recruit two community nurses before the clinics close."


@pytest.fixture
def awaiting_qag(qia):
    """A scheme signed off on the route that asks QAG to approve it next."""
    RouteRule.objects.create(
        organisation=Organisation.objects.get(code="ELR"),
        name="Large schemes",
        order=1,
        route=Route.QAG_APPROVAL,
        at_least=Decimal("50000"),
    )
    scheme = qia.approved()
    assert scheme.state == SchemeState.AWAITING_QAG
    return scheme


def url(scheme) -> str:
    return reverse("qia_qag_approval", args=[scheme.pk])


def decision(scheme, people) -> dict:
    """QAG's approval with a condition, as the page posts it (drawn at the scheme's version)."""
    due = timezone.localdate() + timedelta(days=60)
    return {
        "version": str(scheme.version),
        "decision": "approve_with_conditions",
        "comment": COMMENT,
        "condition-TOTAL_FORMS": "1",
        "condition-INITIAL_FORMS": "0",
        "condition-MIN_NUM_FORMS": "0",
        "condition-MAX_NUM_FORMS": "10",
        "condition-0-text": CONDITION,
        "condition-0-owner": str(people["elr-quality-lead"].pk),
        "condition-0-due_on": f"{due:%Y-%m-%d}",
    }


def approved_by(scheme, user, comment="Minute 7.") -> StateLog:
    services.qag_approval_record(scheme_id=scheme.pk, by=user, decision="approve", comment=comment)
    return StateLog.objects.for_(scheme).latest("id")


def at(log: StateLog) -> str:
    return f"{timezone.localtime(log.timestamp):%H:%M}"


def test_a_decision_sent_after_another_member_decided_shows_what_was_typed_and_who_decided(
    client, people, awaiting_qag
):
    scheme = awaiting_qag
    client.force_login(people["wl-qag-member"])
    assert client.get(url(scheme)).status_code == 200  # the page drawn
    first = approved_by(scheme, people["elr-qag-member"])  # meanwhile

    response = client.post(url(scheme), decision(scheme, people))

    assert response.status_code == 409
    page = visible(response)
    assert (
        f"{scheme.reference} is approved: it is not waiting for QAG. Approved by "
        f"{people['elr-qag-member']} at {at(first)}. Nothing was saved."
    ) in page
    assert "What you typed" in page
    assert COMMENT in page
    assert "Proceed with conditions: approve, on the conditions below" in page
    assert CONDITION in page and "Owner: ELR Quality Lead" in page
    # the first decision stands, alone
    scheme = Scheme.objects.get(pk=scheme.pk)
    assert scheme.state == SchemeState.APPROVED
    decided = StateLog.objects.for_(scheme).filter(transition="qag_approve")
    assert [(log.by, log.description) for log in decided] == [
        (people["elr-qag-member"], "QAG approved: Minute 7.")
    ]
    assert not Condition.objects.exists()


def test_a_decision_overtaken_while_it_was_being_saved_shows_what_was_typed(
    client, people, awaiting_qag, monkeypatch
):
    scheme = awaiting_qag
    client.force_login(people["wl-qag-member"])
    record = services.qag_approval_record
    first = []

    def overtaken(**arguments):
        # the other member's decision lands between the page's check and this save
        record(scheme_id=scheme.pk, by=people["elr-qag-member"], decision="approve", comment="M7.")
        first.append(StateLog.objects.for_(scheme).latest("id"))
        return record(**arguments)

    monkeypatch.setattr(qag_views.services, "qag_approval_record", overtaken)

    response = client.post(url(scheme), decision(scheme, people))

    assert response.status_code == 409
    page = visible(response)
    assert f"Approved by {people['elr-qag-member']} at {at(first[0])}. Nothing was saved." in page
    assert COMMENT in page and CONDITION in page
    assert StateLog.objects.for_(scheme).filter(transition="qag_approve").count() == 1


def test_an_old_link_to_a_decided_scheme_says_who_decided(client, people, awaiting_qag):
    scheme = awaiting_qag
    services.qag_approval_record(
        scheme_id=scheme.pk, by=people["elr-qag-member"], decision="reject", comment="Too risky."
    )
    log = StateLog.objects.for_(scheme).latest("id")
    client.force_login(people["wl-qag-member"])

    response = client.get(url(scheme), follow=True)

    assert response.redirect_chain[-1][0] == scheme.get_absolute_url()
    assert (
        f"{scheme.reference} is rejected: it is not waiting for QAG. Rejected by "
        f"{people['elr-qag-member']} at {at(log)}."
    ) in visible(response)


def test_the_same_decision_sent_twice_is_recorded_once_without_a_conflict(
    client, people, awaiting_qag
):
    scheme = awaiting_qag
    client.force_login(people["elr-qag-member"])
    sent = decision(scheme, people)
    assert client.post(url(scheme), sent).status_code == 302

    response = client.post(url(scheme), sent, follow=True)

    assert response.status_code == 200
    assert f"You recorded QAG's decision a moment ago: {scheme.reference} is approved." in visible(
        response
    )
    assert StateLog.objects.for_(scheme).filter(transition="qag_approve").count() == 1
    assert Condition.objects.count() == 1


def test_a_scheme_changed_meanwhile_but_still_waiting_takes_the_decision_sent_again(
    client, people, awaiting_qag
):
    scheme = awaiting_qag
    client.force_login(people["wl-qag-member"])
    sent = decision(scheme, people)
    Scheme.objects.filter(pk=scheme.pk).update(version=scheme.version + 1)  # changed meanwhile

    response = client.post(url(scheme), sent)

    assert response.status_code == 200
    page = visible(response)
    assert (
        f"{scheme.reference} changed while you were looking at it, so nothing was saved. What "
        "you typed is below: check it, then send it again."
    ) in page
    form = response.context["form"]
    assert form["comment"].value() == COMMENT
    assert str(form["version"].value()) == str(scheme.version + 1)
    assert CONDITION in page
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.AWAITING_QAG

    response = client.post(url(scheme), {**sent, "version": str(form["version"].value())})

    assert response.status_code == 302
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.APPROVED
    assert Condition.objects.get().text == CONDITION
