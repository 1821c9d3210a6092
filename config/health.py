"""GET /healthz: is the database reachable, is the broker reachable. Nothing else is revealed."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "down"
        return False


def _broker_status() -> str:
    """ok, down, or eager. One try: a broker that accepts the connection and never answers
    is down after the socket timeout (a second, CELERY_BROKER_TRANSPORT_OPTIONS)."""
    if not settings.CELERY_BROKER_URL:
        return "eager"  # the embedded default: tasks run in-process, nothing to reach
    from config.celery_app import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
            conn.default_channel  # noqa: B018 - opening a channel asks the broker something
        return "ok"
    except Exception:  # noqa: BLE001 - any failure means "down"
        return "down"


@never_cache
@require_GET
def healthz(request):
    database = "ok" if _database_ok() else "down"
    broker = _broker_status()
    healthy = database == "ok" and broker != "down"
    return JsonResponse({"database": database, "broker": broker}, status=200 if healthy else 503)
