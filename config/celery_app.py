import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("qipp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# the mail outbox's tasks live beside it, in notifications.outbox
app.autodiscover_tasks(["notifications"], related_name="outbox")

# The periodic work, all of it, here. Run exactly one `celery -A config beat` for the site.
# Times are in CELERY_TIMEZONE (Europe/London).
app.conf.beat_schedule = {
    # Mails whose task was lost (Redis down when their change committed): every 5 minutes.
    "sweep-outbox": {
        "task": "notifications.tasks.sweep_outbox",
        "schedule": 300.0,
    },
    # The escalation rules of schemes whose returns changed while Redis was down: likewise.
    "run-rules-due": {
        "task": "notifications.tasks.run_rules_due",
        "schedule": 300.0,
    },
    # The escalation rules over every scheme: daily, early, before anyone opens the pack.
    "run-escalations": {
        "task": "notifications.tasks.run_escalations",
        "schedule": crontab(hour=6, minute=0),
    },
    # Last month's returns due: each person owing some is told once a month, from the 1st.
    "remind-returns-due": {
        "task": "notifications.tasks.remind_returns_due",
        "schedule": crontab(hour=8, minute=0),
    },
    # The QAG pack, when a meeting is 2 working days away: daily, after the rules have run.
    "send-qag-packs": {
        "task": "notifications.tasks.send_qag_packs",
        "schedule": crontab(hour=7, minute=0),
    },
    # The daily digests, from the time set in the admin (DigestSettings, 07:30 by default):
    # every 10 minutes, so each leaves within 10 minutes of it; once per user and day.
    "send-digests": {
        "task": "notifications.tasks.send_digests",
        "schedule": 600.0,
    },
    # Imports uploaded while the broker was down: every 5 minutes.
    "start-waiting-imports": {
        "task": "governance.tasks.start_waiting_imports",
        "schedule": 300.0,
    },
    # Expired sessions and their sign-in records: nightly.
    "clear-expired-sessions": {
        "task": "governance.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=30),
    },
}
