"""Celery tasks. Each takes ids (or nothing), calls one service and says what it did.

The beat schedule that runs the periodic ones is in config/celery_app.py.
"""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from notifications import conf, digest, qag, reminders, sweep
from notifications.models import RulesDue

logger = logging.getLogger("qipp.notifications")


@shared_task
def run_rules_due() -> int:
    """The rules of schemes whose returns changed while the broker was down (their task was
    lost): how many ran."""
    return sweep.run_rules_due(older_than_seconds=conf.get("QIPP_OUTBOX_STALE_SECONDS"))


@shared_task
def run_escalations() -> dict:
    """The daily sweep of the escalation rules over every scheme."""
    return sweep.sweep().counts()


@shared_task
def evaluate_schemes(scheme_ids: list[int]) -> dict:
    """The rules for the schemes whose returns were saved or imported."""
    return sweep.evaluate_due(list(scheme_ids)).counts()


@shared_task
def evaluate_scheme(scheme_id: int) -> dict:
    """The same for one scheme (tasks queued by an earlier release)."""
    return evaluate_schemes([scheme_id])


@shared_task
def remind_returns_due() -> int:
    """Mail the finance and project leads whose returns for last month are not in yet."""
    return reminders.remind_returns_due()


@shared_task
def send_qag_packs() -> list[str]:
    """Mail the QAG pack of every system whose next meeting is close enough."""
    return [str(pack) for pack in qag.send_due_packs()]


@shared_task
def send_digests() -> int:
    """The daily digests due now: how many were sent (once per user and day, however often
    it runs)."""
    return digest.send_due_digests()


# --- returns were saved or imported: the rules of their schemes run after the commit ---


def on_return_saved(*, monthly_return, **_kwargs) -> None:
    """A hook of governance.delivery.monthly_returns.RETURN_SAVED_HOOKS: the scheme's rules are
    due (RulesDue, written with the return) and run once the return has committed, on a worker
    (in-process without a broker).

    Never inside the return's transaction: an error there, even one caught, can make the
    database drop the whole transaction while the page still says the return is saved. A
    fault in the rules never touches the return."""
    rules_due([monthly_return.scheme_id])


def on_returns_imported(*, scheme_ids: list[int], **_kwargs) -> None:
    """governance.importers.RETURNS_IMPORTED_HOOKS: the same for the schemes whose returns an
    import created or corrected, in one sweep."""
    rules_due(scheme_ids)


def rules_due(scheme_ids) -> None:
    """Record that the schemes' rules are due, in the current transaction, and hand them to
    a worker once it commits. A broker that cannot be reached leaves the record for the
    beat (notifications.tasks.run_rules_due)."""
    ids = sorted(set(scheme_ids))
    now = timezone.now()
    RulesDue.objects.bulk_create(
        [RulesDue(scheme_id=pk, queued_at=now) for pk in ids], ignore_conflicts=True
    )
    transaction.on_commit(lambda: _evaluate_later(ids), robust=True)


def _evaluate_later(scheme_ids: list[int]) -> None:
    try:
        evaluate_schemes.delay(scheme_ids)
    except Exception:  # noqa: BLE001 - beat runs them once the broker is back
        logger.warning(
            "could not enqueue the rules for %s scheme(s); beat will run them",
            len(scheme_ids),
            exc_info=True,
        )
