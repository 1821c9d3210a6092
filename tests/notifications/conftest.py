"""What the notification and escalation tests share, beside the test world (tests/world.py):
`at(...)`, a moment in UTC; `commit`, which runs what a committed transaction runs next; an
off-track scheme's `escalation`, raised on 11 June 2019, and what the escalation pages' tests
do with it; `escalated`, the two escalations the QAG pack's tests put in the pack.
"""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail

from governance.models import AccessRefusal
from notifications.models import Escalation, Level
from notifications.sweep import sweep
from tests.pages import text
from tests.world import add_return

# the escalation pages' "now": a Wednesday, after the escalation was raised on 11 June
NOW = datetime(2019, 6, 26, 9, tzinfo=UTC)


def at(*args) -> datetime:
    """A moment in UTC (London is on GMT in winter, BST in summer: tests say which)."""
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what a committed transaction would run next (enqueue -> the eager task)."""

    def run(work=None):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            result = work() if work else None
        return result if work else callbacks

    return run


@pytest.fixture
def escalation(make_scheme, commit) -> Escalation:
    """An off-track ELR scheme, escalated to the PMO on 11 June 2019."""
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 0)
    with time_machine.travel(at(2019, 6, 11, 9), tick=False):
        commit(sweep)
    mail.outbox.clear()
    return Escalation.objects.get()


@pytest.fixture
def escalated(make_scheme, commit, people):
    """Two off-track ELR schemes escalated on 11 June; the first since raised to QAG, with a
    remedial action agreed."""
    schemes = []
    for actual in (0, 500):
        scheme = make_scheme()
        add_return(scheme, 1, 1000)
        add_return(scheme, 2, actual)
        schemes.append(scheme)
    with time_machine.travel(at(2019, 6, 11, 9), tick=False):
        commit(sweep)
    Escalation.objects.filter(scheme=schemes[0]).update(
        level=Level.QAG,
        raised_to_qag_at=at(2019, 6, 20, 9),
        remedial_action="Reopen the clinic.",
        remedial_due=date(2019, 6, 30),
        status="remedial_agreed",
    )
    mail.outbox.clear()
    return schemes


def at_qag(escalation: Escalation) -> Escalation:
    Escalation.objects.filter(pk=escalation.pk).update(level=Level.QAG, raised_to_qag_at=NOW)
    escalation.refresh_from_db()
    return escalation


def as_user(client, people, name):
    client.force_login(people[name])
    return client


def refused(response, reason: str, user) -> bool:
    return (
        response.status_code == 403
        and reason in text(response)
        and AccessRefusal.objects.filter(user=user).exists()
    )
