"""The monthly return due: one mail per person and month, listing what they owe."""

from datetime import date

import pytest
from django.core import mail

from governance.models import SchemeState
from notifications.reminders import remind_returns_due
from tests.world import add_return

pytestmark = pytest.mark.django_db


def test_each_lead_is_told_once_of_the_returns_they_owe_for_last_month(make_scheme, commit, people):
    owing = [make_scheme(), make_scheme()]
    done = make_scheme()
    add_return(done, 2, 1000)
    make_scheme(SchemeState.APPROVED)  # not in delivery: owes nothing
    make_scheme(start_date=date(2019, 6, 1))  # starts in June: owes nothing for May
    assert commit(lambda: remind_returns_due(date(2019, 6, 1))) == 2
    assert sorted(m.to[0] for m in mail.outbox) == [
        "elr-finance-reviewer@example.nhs.uk",
        "elr-project-lead@example.nhs.uk",
    ]
    message = mail.outbox[0]
    assert message.subject == "2 monthly returns due by 10 June"
    for scheme in owing:
        assert f"/schemes/{scheme.pk}/returns/2/" in message.body
    assert done.reference not in message.body
    assert "due by Monday 10 June 2019" in message.body
    commit(lambda: remind_returns_due(date(2019, 6, 5)))
    assert len(mail.outbox) == 2  # once a month


def test_after_the_deadline_it_is_an_escalation_not_a_reminder(make_scheme, commit):
    make_scheme()
    assert commit(lambda: remind_returns_due(date(2019, 6, 11))) == 0
    assert mail.outbox == []


def test_one_scheme_is_named_in_the_subject(make_scheme, commit):
    scheme = make_scheme(finance_lead=None)
    commit(lambda: remind_returns_due(date(2019, 6, 10)))
    (message,) = mail.outbox
    assert message.subject == f"Monthly return due by 10 June: {scheme.reference}"
