from django.db import connection


def unread_notifications(request):
    """The unread count in the menu, on every page. A signed-in request's user comes with it,
    counted in the query that reads the session (governance.backends): nothing a page shows
    changes it before the page is drawn (reading notifications is a POST that redirects).
    Otherwise plain SQL, as the ORM takes several times longer to build this query than the
    database takes to count."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    count = getattr(user, "unread_read_with_session", None)
    if count is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM notifications_notification"
                " WHERE user_id = %s AND read_at IS NULL",
                [user.pk],
            )
            (count,) = cursor.fetchone()
    return {"unread_count": count}
