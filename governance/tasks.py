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


@shared_task
def run_import(run_id: int) -> str:
    """Check and import an uploaded file (governance.importers.run_import)."""
    from governance import importers

    return importers.run_import(run_id)


@shared_task
def start_waiting_imports() -> int:
    """Hand to a worker again the imports left waiting (the broker was down when they were
    uploaded). How many."""
    from governance import importers

    waiting = importers.waiting_imports(older_than_seconds=120)
    for run_id in waiting:
        run_import.delay(run_id)
    return len(waiting)
