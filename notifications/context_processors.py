def unread_notifications(request):
    """The unread count in the menu, on every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_count": user.notifications.filter(read_at__isnull=True).count()}
