"""The outbox: written with the change, delivered once, retried with backoff, swept."""

import smtplib
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from celery.exceptions import Retry
from django.core import mail
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from governance.models import SchemeState
from governance.services import scheme_withdraw
from notifications import outbox
from notifications.models import EmailStatus, Notification, OutboxEmail
from notifications.outbox import Mail, deliver, deliver_email, notify, queue_mails, retry_delay
from notifications.outbox import sweep_outbox_task as sweep_outbox
from tests.notifications.conftest import at

pytestmark = pytest.mark.django_db


def test_it_writes_the_mail_and_the_notice_with_the_change_and_sends_after_commit(
    people, make_scheme, commit
):
    scheme = make_scheme(SchemeState.DRAFT, finance_lead=None)
    lead = people["elr-project-lead"]

    def act():
        scheme_withdraw(
            scheme_id=scheme.pk, by=lead, reason="No longer needed", expected_version=None
        )
        # written in the transaction, not sent yet
        assert OutboxEmail.objects.filter(status=EmailStatus.PENDING).count() == 2
        assert mail.outbox == []

    commit(act)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "elr-project-lead@example.nhs.uk",
        "elr-sro@example.nhs.uk",
    ]
    sent = OutboxEmail.objects.get(recipient="elr-sro@example.nhs.uk")
    assert sent.status == EmailStatus.SENT and sent.attempts == 1 and sent.sent_at
    message = next(m for m in mail.outbox if m.to == ["elr-sro@example.nhs.uk"])
    assert message.subject == f"Withdrawn: {scheme.reference} {scheme.title}"
    assert "No longer needed" in message.body
    assert f"http://127.0.0.1:8000/schemes/{scheme.pk}/" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html" and f"/schemes/{scheme.pk}/" in html
    # the bell mirrors the mail
    notice = Notification.objects.get(user=people["elr-sro"])
    assert notice.subject == message.subject and notice.url == f"/schemes/{scheme.pk}/"


def test_a_rolled_back_change_leaves_no_mail_and_enqueues_nothing(people, make_scheme, commit):
    scheme = make_scheme(SchemeState.DRAFT)
    with mock.patch.object(outbox, "enqueue_delivery") as enqueue:

        def act():
            with pytest.raises(RuntimeError), transaction.atomic():
                notify(users=[people["elr-sro"]], scheme=scheme, kind="x", subject="s", message="m")
                raise RuntimeError("the change failed")

        commit(act)
    enqueue.assert_not_called()
    assert not OutboxEmail.objects.exists() and not Notification.objects.exists()


def test_a_second_copy_of_the_task_sends_nothing(people, make_scheme):
    notify(users=[people["elr-sro"]], scheme=make_scheme(), kind="x", subject="Hi", message="m")
    email = OutboxEmail.objects.get()
    assert deliver_email.apply(args=[email.pk]).get() == "sent"
    assert "no longer pending" in deliver_email.apply(args=[email.pk]).get()
    assert len(mail.outbox) == 1


def _queued(people, scheme) -> OutboxEmail:
    notify(users=[people["elr-sro"]], scheme=scheme, kind="x", subject="Hi", message="m")
    return OutboxEmail.objects.get()


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPResponseException(421, b"Service not available"),
        smtplib.SMTPRecipientsRefused({"a@example.nhs.uk": (450, b"Mailbox busy")}),
        TimeoutError("timed out"),
    ],
)
def test_a_temporary_failure_is_kept_pending_for_a_retry(people, make_scheme, error):
    email = _queued(people, make_scheme())
    with time_machine.travel(at(2019, 6, 3, 9), tick=False):
        with mock.patch.object(outbox, "send_now", side_effect=error):
            outcome = deliver(email.pk)
        email.refresh_from_db()
        assert outcome.status == "retry"
        assert email.status == EmailStatus.PENDING and email.attempts == 1
        assert type(error).__name__ in email.last_error
        assert email.next_attempt_at == timezone.now() + timedelta(seconds=outcome.retry_in)
    assert deliver(email.pk).status == "sent"
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 2 and email.last_error == ""
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPRecipientsRefused({"a@example.nhs.uk": (550, b"No such user")}),
        smtplib.SMTPSenderRefused(553, b"Sender refused", "qipp@localhost"),
        smtplib.SMTPDataError(554, b"Transaction failed"),
        ValueError("Header values can't contain newlines"),
    ],
)
def test_a_permanent_failure_is_marked_failed_with_the_error(people, make_scheme, error):
    email = _queued(people, make_scheme())
    with mock.patch.object(outbox, "send_now", side_effect=error):
        assert deliver(email.pk).status == "failed"
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and email.attempts == 1
    assert type(error).__name__ in email.last_error
    assert deliver(email.pk).status != "sent"  # failed stays failed


def test_it_gives_up_after_the_last_attempt(people, make_scheme, settings):
    settings.QIPP_OUTBOX_MAX_ATTEMPTS = 3
    email = _queued(people, make_scheme())
    with mock.patch.object(outbox, "send_now", side_effect=ConnectionRefusedError(111, "no")):
        assert [deliver(email.pk).status for _ in range(3)] == ["retry", "retry", "failed"]
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and email.attempts == 3


def test_the_task_asks_celery_to_retry_after_the_backoff(people, make_scheme):
    email = _queued(people, make_scheme())
    with (
        mock.patch.object(outbox, "send_now", side_effect=ConnectionRefusedError(111, "no")),
        mock.patch.object(deliver_email, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        deliver_email.run(email.pk)  # as a worker runs it (not eager)
    countdown = retry.call_args.kwargs["countdown"]
    assert 15 <= countdown <= 30  # the first retry: half fixed, half random, of 30 s


def test_in_process_a_failed_send_waits_for_the_sweeper_rather_than_retrying_at_once(
    people, make_scheme
):
    email = _queued(people, make_scheme())
    with mock.patch.object(outbox, "send_now", side_effect=ConnectionRefusedError(111, "no")):
        assert deliver_email.apply(args=[email.pk]).get() == "retry"
    email.refresh_from_db()
    assert email.status == EmailStatus.PENDING


def test_backoff_grows_exponentially_with_jitter_and_stays_below_the_visibility_timeout(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    delays = [[retry_delay(n) for n in range(1, 15)] for _ in range(20)]
    for series in delays:
        assert all(d <= 1800 for d in series)  # the cap, half the visibility timeout
        assert 15 <= series[0] <= 30 and 30 <= series[1] <= 60 and 60 <= series[2] <= 120
    assert len({series[3] for series in delays}) > 1  # jitter: not all the same
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
    assert max(retry_delay(n) for n in range(1, 30)) <= 300


def test_redis_down_the_action_succeeds_and_the_sweeper_sends_the_mail_later(
    people, make_scheme, commit
):
    scheme = make_scheme(SchemeState.DRAFT, finance_lead=None)
    lead = people["elr-project-lead"]
    with (
        time_machine.travel(at(2019, 6, 3, 9), tick=False),
        mock.patch.object(
            deliver_email, "apply_async", side_effect=OperationalError("Connection refused")
        ) as publish,
    ):
        commit(
            lambda: scheme_withdraw(scheme_id=scheme.pk, by=lead, reason="x", expected_version=None)
        )
    assert publish.call_count == 1  # gave up on the first, did not hammer the broker
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.WITHDRAWN
    assert OutboxEmail.objects.filter(status=EmailStatus.PENDING).count() == 2
    assert mail.outbox == []
    # a minute later the sweeper leaves them (their task may still be on its way)...
    with time_machine.travel(at(2019, 6, 3, 9, 1), tick=False):
        commit(lambda: sweep_outbox.apply().get())
    assert mail.outbox == []
    # ...once stale, it hands them to the worker again
    with time_machine.travel(at(2019, 6, 3, 9, 5), tick=False):
        result = commit(lambda: sweep_outbox.apply().get())
    assert result["requeued"] == 2 and len(mail.outbox) == 2
    assert not OutboxEmail.objects.exclude(status=EmailStatus.SENT).exists()


def test_the_sweeper_leaves_a_retry_to_its_own_task_until_it_is_overdue(people, make_scheme):
    email = _queued(people, make_scheme())
    OutboxEmail.objects.filter(pk=email.pk).update(
        attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=10)
    )
    with mock.patch.object(outbox, "enqueue_delivery") as enqueue:
        outbox.sweep_outbox()
        assert enqueue.call_args.args[0] == []
        with time_machine.travel(timezone.now() + timedelta(minutes=13)):
            outbox.sweep_outbox()
        assert enqueue.call_args.args[0] == [email.pk]


def test_the_sweeper_puts_back_a_mail_whose_worker_died_while_sending(people, make_scheme):
    email = _queued(people, make_scheme())
    OutboxEmail.objects.filter(pk=email.pk).update(
        status=EmailStatus.SENDING, claimed_at=timezone.now()
    )
    with mock.patch.object(outbox, "enqueue_delivery"):
        assert outbox.sweep_outbox()["unstuck"] == 0  # still within the send timeout
        with time_machine.travel(timezone.now() + timedelta(hours=1)):
            assert outbox.sweep_outbox() == {"requeued": 1, "unstuck": 1}
    email.refresh_from_db()
    assert email.status == EmailStatus.PENDING and "stopped while sending" in email.last_error


def test_a_dedupe_key_tells_each_recipient_once(people, make_scheme):
    scheme = make_scheme()
    sro = people["elr-sro"]

    def queue():
        return queue_mails(
            [
                Mail("notice", sro, {"subject": "S", "message": "M"}, "x", scheme, dedupe="k:1"),
                Mail("notice", "qag@example.nhs.uk", {"subject": "S"}, "x", scheme, dedupe="k:1"),
                Mail("notice", sro, {"subject": "S", "message": "M"}, "x", scheme, dedupe="k:1"),
            ]
        )

    assert len(queue()) == 2
    assert queue() == []
    assert OutboxEmail.objects.count() == 2
    assert Notification.objects.filter(user=sro).count() == 1


def test_a_user_without_an_address_still_gets_the_in_app_notice(people, make_scheme):
    sro = people["elr-sro"]
    sro.email = ""
    sro.save()
    notify(users=[sro], scheme=make_scheme(), kind="x", subject="Hello", message="m")
    assert not OutboxEmail.objects.exists()
    assert Notification.objects.get(user=sro).subject == "Hello"


def test_the_admin_can_send_failed_mails_again(admin_client, people, make_scheme, commit):
    email = _queued(people, make_scheme())
    OutboxEmail.objects.filter(pk=email.pk).update(status=EmailStatus.FAILED)
    commit(
        lambda: admin_client.post(
            "/admin/notifications/outboxemail/",
            {"action": "send_again", "_selected_action": [email.pk]},
        )
    )
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and len(mail.outbox) == 1
