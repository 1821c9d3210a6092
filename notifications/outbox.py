"""The outbox: mails and in-app notifications written in the caller's transaction, delivered
by a Celery task once it commits.

`queue_mails` is the one way in: other apps call `notify` (a free-text notice) or one of the
small functions in notifications.emails. The outbox knows mails, recipients and templates,
nothing of schemes or QIAs: it imports nothing from governance or qia (the import contract
in pyproject.toml holds it to that).

A user who chose the daily digest for a kind of notice gets its in-app notice at once, and
its mail is held (a DigestEntry) until notifications.digest sends the day's digest.
"""

import logging
import random
import smtplib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from notifications import conf
from notifications.models import (
    NOTICE_KINDS,
    DigestEntry,
    EmailStatus,
    NoticePreference,
    Notification,
    OutboxEmail,
    Timing,
)

logger = logging.getLogger("qipp.notifications")


# --- writing ---


@dataclass
class Mail:
    """One message to one recipient: a user (mail and in-app notice) or a bare address."""

    template: str
    to: object  # a User, or an e-mail address as str
    context: dict
    kind: str
    scheme: object = None
    url: str = ""
    dedupe: str | None = None  # the same dedupe + recipient is never queued twice
    in_app: bool = True
    topic: str = ""  # what it is about, e.g. "escalation:42"
    # Goes at once even to a user who chose the daily digest for its kind: an escalation put
    # before QAG, whose members decide on it at their next meeting, must not wait a day.
    urgent: bool = False

    @property
    def may_wait(self) -> bool:
        """May this mail wait for its recipient's digest, if they chose one for its kind?"""
        return not self.urgent and self.kind in NOTICE_KINDS


# The kinds other apps pass to `notify`, and the mail each becomes; any other is a notice.
KIND_TEMPLATES = {
    "task": "task-assigned",
    "returned": "scheme-returned",
    "rejected": "scheme-rejected",
    "approved": "scheme-approved",
}

# Stands in for the recipient's name while a mail shared by many recipients is rendered.
RECIPIENT = "__qipp_recipient_name__"


def render_mail(template: str, context: dict) -> tuple[str, str, str]:
    """Subject, text body and HTML body of templates/emails/<template>-*."""
    subject = render_to_string(f"emails/{template}-subject.txt", context)
    subject = " ".join(subject.split())[:255]  # a header is one line
    text = render_to_string(f"emails/{template}-body.txt", context)
    html = render_to_string(f"emails/{template}-body.html", context)
    return subject, text, html


def _absolute(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return f"{settings.SITE_URL}{url}"


def _keys(mail: Mail, user, address: str) -> tuple[str | None, str | None]:
    """The outbox dedupe key of the mail and that of its in-app notice (None: not wanted)."""
    notice = user is not None and mail.in_app
    if mail.dedupe is None:
        unique = uuid.uuid4().hex
        return (f"{mail.template}:{unique}:{address}" if address else None), (
            None if not notice else ""
        )
    return (f"{mail.dedupe}:{address}" if address else None), (
        f"{mail.dedupe}:u{user.pk}" if notice else None
    )


def _chunks(values: list) -> Iterable[list]:
    """The values in as few lists as SQLite's limit of parameters a statement allows."""
    size = connection.features.max_query_params or len(values) or 1
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _taken(model, keys: list) -> set[str]:
    """Which of these dedupe keys are already written: one query (or one per chunk)."""
    found = set()
    for chunk in _chunks([key for key in keys if key]):
        found |= set(
            model.objects.filter(dedupe_key__in=chunk).values_list("dedupe_key", flat=True)
        )
    return found


def _digest_choices(planned: list) -> set[tuple[int, str]]:
    """(user id, kind of notice) of the recipients here who chose the daily digest for it."""
    user_ids = sorted({user.pk for mail, user, *_rest in planned if user and mail.may_wait})
    found = set()
    for chunk in _chunks(user_ids):
        daily = NoticePreference.objects.filter(user_id__in=chunk, timing=Timing.DAILY)
        found |= set(daily.values_list("user_id", "kind"))
    return found


def queue_mails(mails: Iterable[Mail]) -> list[OutboxEmail]:
    """Write the mails (and the users' in-app notices) now; hand them to the worker on commit.

    With a dedupe key, a mail or notice already written is skipped: an event seen twice is
    told once. A whole batch costs a handful of queries.
    """
    planned = []
    for mail in mails:
        user = None if isinstance(mail.to, str) else mail.to
        address = mail.to if user is None else user.email
        planned.append((mail, user, address, *_keys(mail, user, address)))
    deduped = [mail.dedupe is not None for mail, *_rest in planned]
    mail_keys = [p[3] for p, d in zip(planned, deduped, strict=True) if d]
    # a mail held for a digest counts as written: whenever the user changes their choice, an
    # event seen twice is still told once
    seen = _taken(OutboxEmail, mail_keys) | _taken(DigestEntry, mail_keys)
    seen |= _taken(Notification, [p[4] for p, d in zip(planned, deduped, strict=True) if d])
    daily = _digest_choices(planned)
    rows, notices, held, rendered = [], [], [], {}
    for mail, user, address, key, notice_key in planned:
        send_mail = key is not None and key not in seen
        send_notice = notice_key is not None and notice_key not in seen
        if not (send_mail or send_notice):
            continue
        seen.update(k for k in (key, notice_key) if k)
        url = mail.url or (mail.scheme.get_absolute_url() if mail.scheme is not None else "")
        # The same mail to many people differs only in the greeting: render it once, then
        # put each recipient's name in.
        shared = (mail.template, id(mail.context), id(mail.scheme), url)
        if shared not in rendered:
            context = {
                **mail.context,
                "recipient_name": RECIPIENT,
                "scheme": mail.scheme,
                "link": _absolute(url) if url else settings.SITE_URL,
                "site_url": settings.SITE_URL,
            }
            rendered[shared] = render_mail(mail.template, context)
        name = (user.get_full_name() or user.username) if user else "colleague"
        subject, text, html = rendered[shared]
        text, html = text.replace(RECIPIENT, name), html.replace(RECIPIENT, escape(name))
        if send_notice:
            notices.append(
                Notification(
                    user=user,
                    scheme=mail.scheme,
                    kind=mail.kind[:30],
                    subject=subject,
                    message=mail.context.get("message") or mail.context.get("summary") or "",
                    url=url,
                    dedupe_key=notice_key or None,
                    topic=mail.topic,
                )
            )
        choice = (user.pk, NOTICE_KINDS.get(mail.kind)) if user is not None else None
        if send_mail and mail.may_wait and choice in daily:
            held.append(
                DigestEntry(
                    user=user,
                    kind=mail.kind[:30],
                    subject=subject,
                    link=(_absolute(url) if url else settings.SITE_URL)[:500],
                    dedupe_key=key,
                )
            )
        elif send_mail:
            rows.append(
                OutboxEmail(
                    recipient=address,
                    subject=subject,
                    text_body=text,
                    html_body=html,
                    dedupe_key=key,
                    topic=mail.topic,
                )
            )
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(notices)
            DigestEntry.objects.bulk_create(held)
            created = OutboxEmail.objects.bulk_create(rows)
    except IntegrityError:
        # another transaction queued one of these at the same moment: go one by one
        created = _queue_one_by_one([*notices, *held], rows)
    ids = [row.pk for row in created if row.pk is not None]
    if ids:
        transaction.on_commit(lambda: enqueue_delivery(ids))
    return created


def _queue_one_by_one(notices, rows) -> list[OutboxEmail]:
    """`notices`: in-app notices and mails held for a digest."""
    created = []
    for notice in notices:
        try:
            with transaction.atomic():
                notice.save()
        except IntegrityError:
            pass  # told already
    for row in rows:
        try:
            with transaction.atomic():
                row.save()
            created.append(row)
        except IntegrityError:
            pass  # queued already
    return created


def notify(
    *, users: Iterable, scheme=None, kind: str, subject: str, message: str, url: str = ""
) -> None:
    """An in-app notification and an e-mail for each user, sent once the change commits.

    The mail's wording follows its kind (a task, a returned or rejected scheme, an approval;
    anything else is a plain notice); the subject and message are the caller's.
    """
    template = KIND_TEMPLATES.get(kind, "notice")
    queue_mails(
        Mail(
            template=template,
            to=user,
            context={"subject": subject, "message": message},
            kind=kind,
            scheme=scheme,
            url=url,
        )
        for user in users
    )


def enqueue_delivery(email_ids: int | Iterable[int]) -> None:
    """Hand mails to the worker. If the broker is down they stay pending for the sweeper:
    the user's action has committed and must not fail now (one try, CELERY_TASK_PUBLISH_RETRY
    and the broker's timeouts: about a second at most)."""
    ids = [email_ids] if isinstance(email_ids, int) else list(email_ids)
    for n, pk in enumerate(ids):
        try:
            deliver_email.delay(pk)
        except Exception:  # noqa: BLE001 - whatever the broker says, the sweeper catches up
            logger.warning(
                "could not enqueue %d mail(s) from %s; they stay pending for the sweeper",
                len(ids) - n,
                pk,
                exc_info=True,
            )
            return


# --- delivering ---


@dataclass
class Outcome:
    status: str  # "sent", "failed", "retry", or why nothing was done
    retry_in: float | None = None


def is_permanent(exc: Exception) -> bool:
    """A 5xx answer will be the same next time; a 4xx, a dropped or refused connection or a
    timeout may not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    if isinstance(exc, smtplib.SMTPException | OSError):
        return False
    # Anything else is a fault in the message itself (a bad header, say): waiting won't mend it.
    return True


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter, capped below the broker's visibility timeout."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    cap = min(conf.get("QIPP_OUTBOX_RETRY_MAX_SECONDS"), visibility / 2)
    delay = min(cap, conf.get("QIPP_OUTBOX_RETRY_BASE_SECONDS") * 2 ** max(attempts - 1, 0))
    # "equal jitter": half fixed, half random, so retries of many mails spread out
    return delay / 2 + random.uniform(0, delay / 2)  # nosec B311  # timing, not a secret


def send_now(email: OutboxEmail) -> None:
    message = EmailMultiAlternatives(email.subject, email.text_body, to=[email.recipient])
    message.extra_headers["Auto-Submitted"] = "auto-generated"
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    message.send()


def deliver(email_id: int) -> Outcome:
    """Send one outbox row: claim it, send it, mark it sent (or schedule its retry)."""
    now = timezone.now()
    claimed = OutboxEmail.objects.filter(pk=email_id, status=EmailStatus.PENDING).update(
        status=EmailStatus.SENDING, claimed_at=now
    )
    if not claimed:
        return Outcome("another worker got there first, or it is no longer pending")
    email = OutboxEmail.objects.get(pk=email_id)
    try:
        send_now(email)
    except Exception as exc:  # noqa: BLE001 - recorded on the row
        return _failed(email, exc)
    OutboxEmail.objects.filter(pk=email_id, status=EmailStatus.SENDING).update(
        status=EmailStatus.SENT,
        attempts=F("attempts") + 1,
        sent_at=timezone.now(),
        last_error="",
        next_attempt_at=None,
    )
    return Outcome("sent")


def _failed(email: OutboxEmail, exc: Exception) -> Outcome:
    attempts = email.attempts + 1
    error = f"attempt {attempts}: {type(exc).__name__}: {exc}"[:2000]
    rows = OutboxEmail.objects.filter(pk=email.pk, status=EmailStatus.SENDING)
    if is_permanent(exc) or attempts >= conf.get("QIPP_OUTBOX_MAX_ATTEMPTS"):
        rows.update(status=EmailStatus.FAILED, attempts=attempts, last_error=error)
        logger.error("mail %s to %s failed for good: %s", email.pk, email.recipient, error)
        return Outcome("failed")
    delay = retry_delay(attempts)
    rows.update(
        status=EmailStatus.PENDING,
        attempts=attempts,
        last_error=error,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    logger.warning("mail %s not sent, retrying in %.1f s: %s", email.pk, delay, error)
    return Outcome("retry", retry_in=delay)


def sweep_outbox(*, limit: int = 1000) -> dict[str, int]:
    """Put back rows whose worker died mid-send, and re-enqueue rows whose task was lost."""
    now = timezone.now()
    stuck = OutboxEmail.objects.filter(
        status=EmailStatus.SENDING,
        claimed_at__lt=now - timedelta(seconds=conf.get("QIPP_OUTBOX_SENDING_TIMEOUT_SECONDS")),
    ).update(
        status=EmailStatus.PENDING,
        last_error="The worker stopped while sending; sent again (it may arrive twice).",
    )
    stale_before = now - timedelta(seconds=conf.get("QIPP_OUTBOX_STALE_SECONDS"))
    ids = list(
        OutboxEmail.objects.annotate(due=Coalesce("next_attempt_at", "created_at"))
        .filter(status=EmailStatus.PENDING, due__lt=stale_before)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    # Mark them as just enqueued, so the next sweep leaves them to this one's tasks.
    OutboxEmail.objects.filter(pk__in=ids, status=EmailStatus.PENDING).update(next_attempt_at=now)
    enqueue_delivery(ids)
    return {"requeued": len(ids), "unstuck": stuck}


# --- the tasks (their names are those of an earlier release: tasks already queued find them) ---


@shared_task(name="notifications.tasks.deliver_email", bind=True, max_retries=None, acks_late=True)
def deliver_email(self, email_id: int) -> str:
    """Send one outbox row. Claiming it first means a second copy of this task does nothing."""
    outcome = deliver(email_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        # In-process (no broker) there is nobody to wait: the sweeper retries it later.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="notifications.tasks.sweep_outbox")
def sweep_outbox_task() -> dict:
    """Re-enqueue mails left pending (Redis was down when their change committed, or a
    worker died)."""
    return sweep_outbox()
