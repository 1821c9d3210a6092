"""The settings this app reads, with their defaults. Override any of them in config/settings."""

from django.conf import settings

DEFAULTS = {
    # Outbox delivery: retry a temporary SMTP failure after base * 2^(attempt - 1) seconds,
    # with jitter, never longer than the cap (itself kept below the broker's visibility
    # timeout, or Redis would hand the waiting task to a second worker).
    "QIPP_OUTBOX_RETRY_BASE_SECONDS": 30,
    "QIPP_OUTBOX_RETRY_MAX_SECONDS": 1800,
    "QIPP_OUTBOX_MAX_ATTEMPTS": 10,
    # A pending row this long past its due time has lost its task (Redis was down, a worker
    # died): the sweeper enqueues it again.
    "QIPP_OUTBOX_STALE_SECONDS": 120,
    # A row claimed ("sending") this long ago belongs to a worker that died mid-send.
    "QIPP_OUTBOX_SENDING_TIMEOUT_SECONDS": 1800,
    # Service levels of the workflow steps, in calendar days: the assignees are reminded at
    # the service level and the PMO is escalated to at twice it.
    "QIPP_SERVICE_LEVEL_DAYS": {
        "confirm_and_challenge": 10,
        "qia_panel": 15,
        "awaiting_sign_off": 10,
        "approved": 10,  # the PMO starts delivery: a reminder only, never an escalation
    },
    # The month's return is due by this day of the following month (used only when the
    # delivery app does not say).
    "QIPP_RETURN_DEADLINE_DAY": 10,
    # An escalation with no remedial action this many days after it was raised counts as
    # overdue and goes to QAG.
    "QIPP_REMEDIAL_ACTION_DAYS": 14,
    # Default QAG meetings, for a month with no dates in the admin: (n, weekday) pairs, the
    # n-th given weekday of the month (Monday is 0). Default: the 2nd and 4th Thursday.
    "QIPP_QAG_MEETINGS": [(2, 3), (4, 3)],
    # The pack goes out this many working days (Monday to Friday) before each meeting.
    "QIPP_QAG_PACK_WORKING_DAYS_BEFORE": 2,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
