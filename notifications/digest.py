"""The daily digest: each user chooses, per kind of notice, a mail at once or one mail a day
listing everything held for them (the outbox holds those mails: notifications.outbox).

Beat runs `send_due_digests` every 10 minutes. Once the day's time (DigestSettings) has passed,
each user with mail held gets one digest for the day. The claim is a row per user and day
that the database keeps unique, written in the same transaction as the digest's mail and the
marking of what it lists: two beat processes, or a task run again after a crash, never send
a second digest for the same user and day. With nothing held there is no row and no mail.
"""

import logging
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from notifications.models import (
    Digest,
    DigestEntry,
    DigestSettings,
    NoticeKind,
    NoticePreference,
    Timing,
)
from notifications.outbox import Mail, queue_mails

logger = logging.getLogger("qipp.notifications")


# --- what each user chose ---


def preferences_of(user) -> dict[str, str]:
    """{kind of notice: timing} for every kind: at once where the user chose nothing."""
    chosen = dict(NoticePreference.objects.filter(user=user).values_list("kind", "timing"))
    return {kind: chosen.get(kind, Timing.AT_ONCE) for kind in NoticeKind.values}


def preferences_save(*, user, timings: dict[str, str]) -> None:
    """Record the user's choice for each kind of notice given. Mail already held stays held:
    it goes in the next digest."""
    with transaction.atomic():
        for kind, timing in timings.items():
            NoticePreference.objects.update_or_create(
                user=user, kind=NoticeKind(kind), defaults={"timing": Timing(timing)}
            )


# --- sending the digests ---


def due_day(now: datetime) -> date | None:
    """The day whose digests are due at `now`: today, once today's time has passed."""
    local = timezone.localtime(now)
    return local.date() if local.time() >= DigestSettings.load().send_at else None


def send_due_digests(now: datetime | None = None) -> int:
    """Send each user with mail held their digest of today, if today's time has passed and
    they have none yet. Returns how many digests were written (a deactivated user's is
    recorded, not mailed)."""
    now = now or timezone.now()
    day = due_day(now)
    if day is None:
        return 0
    waiting = DigestEntry.objects.filter(digest=None, created_at__lte=now).values("user_id")
    sent = 0
    for user in get_user_model().objects.filter(pk__in=waiting).order_by("pk"):
        try:
            if send_digest(user=user, day=day, now=now) is not None:
                sent += 1
        except Exception:  # noqa: BLE001 - logged; the others' digests still go
            # nothing of this user's digest was written (one transaction): the next run tries
            # again, and the others' digests go now
            logger.exception("the digest of %s for %s failed", user.pk, day)
    return sent


def send_digest(*, user, day: date, now: datetime) -> Digest | None:
    """Write the user's digest of `day` to the outbox, listing their mail held until `now`;
    None when they had one for the day already, or nothing waits."""
    try:
        with transaction.atomic():
            # the claim: a second run for this user and day stops here (on PostgreSQL it waits
            # for the first to commit, then stops)
            digest = Digest.objects.create(user=user, day=day, sent_at=now)
            # Only entries still unclaimed. An update that re-checks `digest IS NULL` row by
            # row, so no entry is ever in two digests, without a lock taken beforehand.
            listed = DigestEntry.objects.filter(user=user, digest=None, created_at__lte=now)
            count = listed.update(digest=digest)
            if not count:
                transaction.set_rollback(True)  # nothing waits after all: no row, no mail
                return None
            digest.entries_count = count
            digest.save(update_fields=["entries_count"])
            if user.is_active:
                # a deactivated user is not mailed; what was held for them is dealt with
                queue_mails([digest_mail(user=user, day=day, entries=list(digest.entries.all()))])
    except IntegrityError:
        return None  # another process got there first: the day's digest is written
    return digest


def digest_mail(*, user, day: date, entries: list[DigestEntry]) -> Mail:
    """One mail listing what was held (subject, link, when), oldest first. The outbox's
    dedupe key backs the claim up: it would never queue a second digest for the day."""
    n = len(entries)
    return Mail(
        template="digest",
        to=user,
        context={
            "subject": f"Your daily digest, {day:%-d %B %Y}: {n} notice{'s' if n != 1 else ''}",
            "day": day,
            "entries": entries,
        },
        kind="digest",
        url=reverse("notification_list"),
        dedupe=f"digest:{user.pk}:{day.isoformat()}",
        in_app=False,  # each notice is in the bell already
    )
