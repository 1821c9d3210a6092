def unread_notifications(request):
    """The unread count in the menu, on every page. A signed-in request's user comes with it,
    counted in the query that reads the session (governance.backends): nothing a page shows
    changes it before the page is drawn (reading notifications is a POST that redirects).
    A user read apart from their session is counted here."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    count = getattr(user, "unread_read_with_session", None)
    if count is None:
        count = user.notifications.filter(read_at__isnull=True).count()
    return {"unread_count": count}
