"""Celery tasks. Each takes ids (or nothing), calls one service and says what it did.

The beat schedule that runs the periodic ones is in config/celery_app.py.
"""

import logging

from celery import shared_task

from notifications import services

logger = logging.getLogger("qipp.notifications")


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_email(self, email_id: int) -> str:
    """Send one outbox row. Claiming it first means a second copy of this task does nothing."""
    outcome = services.deliver(email_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        # In-process (no broker) there is nobody to wait: the sweeper retries it later.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task
def sweep_outbox() -> dict:
    """Re-enqueue mails left pending, and run the rules left due (Redis was down when their
    change committed, or a worker died)."""
    from notifications import conf
    from notifications.rules import run_rules_due

    swept = services.sweep_outbox()
    swept["rules_run"] = run_rules_due(older_than_seconds=conf.get("QIPP_OUTBOX_STALE_SECONDS"))
    return swept


@shared_task
def run_escalations() -> dict:
    """The daily sweep of the escalation rules over every scheme."""
    from notifications.rules import sweep

    return sweep().counts()


@shared_task
def evaluate_schemes(scheme_ids: list[int]) -> dict:
    """The rules for the schemes whose returns were saved or imported."""
    from notifications.rules import evaluate_due

    return evaluate_due(list(scheme_ids)).counts()


@shared_task
def evaluate_scheme(scheme_id: int) -> dict:
    """The same for one scheme (tasks queued by an earlier release)."""
    return evaluate_schemes([scheme_id])


@shared_task
def remind_returns_due() -> int:
    """Mail the finance and project leads whose returns for last month are not in yet."""
    from notifications.reminders import remind_returns_due as remind

    return remind()


@shared_task
def send_qag_packs() -> list[str]:
    """Mail the QAG pack of every system whose next meeting is close enough."""
    from notifications.qag import send_due_packs

    return [str(pack) for pack in send_due_packs()]
