"""Two QAG members record opposite decisions on the same escalation at the same moment, in
real threads on PostgreSQL: exactly one is recorded, the other is told and nothing of it
stays (no second decision, no stopped scheme, no second mail)."""

from datetime import date

import pytest
import time_machine

from governance.models import SchemeState
from governance.services import Conflict
from notifications import escalations
from notifications.models import Decision, Escalation, EscalationEvent, Level, OutboxEmail
from notifications.sweep import sweep
from tests.governance.test_concurrency import at_once
from tests.notifications.conftest import at
from tests.world import add_return

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def at_qag(make_scheme):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 0)
    with time_machine.travel(at(2019, 6, 11, 9), tick=False):
        sweep()
    Escalation.objects.update(level=Level.QAG)
    return Escalation.objects.get()


def deciding(escalation, user, decision: str):
    return lambda: escalations.escalation_decide(
        escalation_id=escalation.pk,
        by=user,
        decision=decision,
        note=f"Minuted: {decision}.",
        meeting=date(2019, 6, 26),
        expected_version=escalation.version,
    )


@pytest.mark.parametrize("attempt", range(3))
def test_two_opposite_decisions_at_once_record_exactly_one(at_qag, people, attempt):
    mails_before = OutboxEmail.objects.count()
    with time_machine.travel(at(2019, 6, 26, 9), tick=False):
        results = at_once(
            deciding(at_qag, people["elr-qag-member"], Decision.CONTINUE),
            deciding(at_qag, people["wl-qag-member"], Decision.STOP),
        )

    won = [r for r in results if isinstance(r, Escalation)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], Conflict), results
    final = Escalation.objects.select_related("scheme").get(pk=at_qag.pk)
    assert final.decision == won[0].decision and final.version == at_qag.version + 1
    decisions = EscalationEvent.objects.filter(escalation=at_qag, what__startswith="QAG decision")
    assert decisions.count() == 1
    stopped = final.decision == Decision.STOP
    assert (final.scheme.state == SchemeState.STOPPED) == stopped
    decision_mails = OutboxEmail.objects.filter(subject__startswith="QAG decision")
    assert decision_mails.count() > 0 and OutboxEmail.objects.count() > mails_before
    assert len({m.subject for m in decision_mails}) == 1  # the mails of one decision only
