"""Periodic housekeeping of the governance app (scheduled in config/celery_app.py)."""

from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.models import Session

from governance.models import UserSession


@shared_task
def clear_expired_sessions() -> None:
    """`manage.py clearsessions`, nightly, and the sign-in records of the sessions it ended."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    UserSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
