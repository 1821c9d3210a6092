"""Which sessions each user has signed in, so that deactivating a user ends them all at once.

The sessions live in the database; a UserSession row names the session a sign-in created. The
receivers are connected in GovernanceConfig.ready().
"""

from django.contrib.sessions.models import Session
from django.utils import timezone

from governance.models import User, UserSession

SIGNED_IN_AT = "qipp_signed_in_at"
LAST_SEEN = "qipp_last_seen"


def end_sessions(*, user: User) -> int:
    """Sign the user out everywhere: delete their sessions. The number ended."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    if not keys:
        return 0
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


def on_sign_in(sender, request, user, **kwargs):
    now = int(timezone.now().timestamp())
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN] = now
    if request.session.session_key is None:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key, defaults={"user": user}
    )
    # sessions that expired or were cleared since: forget them
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    UserSession.objects.filter(user=user).exclude(session_key__in=live).delete()


def on_sign_out(sender, request, user, **kwargs):
    if request is not None and request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()


def on_user_saved(sender, instance: User, created: bool, **kwargs):
    # a security rule, not business logic: however a user is deactivated (admin, shell,
    # service), their open sessions end with it
    if not created and not instance.is_active:
        end_sessions(user=instance)
