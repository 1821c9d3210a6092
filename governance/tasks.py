"""Periodic housekeeping of the governance app (scheduled in config/celery_app.py)."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from governance.models import UserSession


@shared_task
def clear_expired_sessions() -> int:
    """Delete expired sessions (as `manage.py clearsessions` does) and their sign-in records."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    UserSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
    return deleted
