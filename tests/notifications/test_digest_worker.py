"""The daily digest on the real stack: a Celery worker process on Redis and PostgreSQL (the
machinery of tests/notifications/test_integration.py, started and stopped by its id there),
sending to a local SMTP sink. Two runs at once (the worker and this process, as two beat
processes would) and a task run again still send one digest per user and day.

Like the other integration tests it runs in the PostgreSQL pass of `make test`; elsewhere it
skips, or fails under QIPP_REQUIRE_SERVICES=1.
"""

import threading
from datetime import time

import pytest
from django.db import connection

from notifications.digest import preferences_save, send_due_digests
from notifications.models import Digest, DigestEntry, DigestSettings, EmailStatus, OutboxEmail
from notifications.outbox import notify
from notifications.tasks import send_digests
from tests.notifications.test_integration import (  # noqa: F401 - the fixtures, shared
    _barrier,
    _wait_for,
    sink,
    stack,
)

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

PEOPLE = {
    "elr-sro": "elr-sro@example.nhs.uk",
    "elr-project-lead": "elr-project-lead@example.nhs.uk",
}


def _send_here() -> None:
    """A second beat process: this one, on its own connection."""
    try:
        send_due_digests()
    finally:
        connection.close()


def _digest_mails_sent() -> bool:
    rows = OutboxEmail.objects.filter(dedupe_key__startswith="digest:")
    return rows.count() == len(PEOPLE) and not rows.exclude(status=EmailStatus.SENT).exists()


def test_two_runs_at_once_and_a_retry_send_one_digest_per_user_and_day(
    sink,  # noqa: F811
    people,
    make_scheme,
):
    # due all day: the worker lives in real time
    DigestSettings.objects.create(send_at=time(0, 0))
    for username in PEOPLE:
        user = people[username]
        preferences_save(user=user, timings={"tasks": "daily"})
        notify(users=[user], kind="task", subject=f"Review, for {username}", message="m")
    assert DigestEntry.objects.count() == 2 and not OutboxEmail.objects.exists()  # held

    send_digests.delay()
    here = threading.Thread(target=_send_here)
    here.start()
    send_digests.delay()
    here.join()
    send_digests.delay()  # the task again, as after a worker lost mid-run

    scheme = make_scheme()
    _barrier(sink, people, scheme)  # the worker has run the three digest tasks
    _wait_for(_digest_mails_sent, what="the digest mails")
    _barrier(sink, people, scheme)  # and every mail they queued

    for username, address in PEOPLE.items():
        (message,) = sink.to(address)
        assert f"Review, for {username}".encode() in message.content
        assert Digest.objects.get(user=people[username]).entries_count == 1
    assert not DigestEntry.objects.filter(digest=None).exists()
