"""Making, finding and revoking API tokens: one service function per write (STYLE.md)."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from api.models import ApiToken
from governance.models import Organisation, User

# Every key starts with this, so that a key pasted in the wrong place (a chat, a URL) is
# recognised for what it is, and the call log can blank it out of a query string.
KEY_PREFIX = "qipp_"


class TokenRefused(Exception):
    """The token cannot be made or revoked, with the reason in words the user understands."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def hash_key(key: str) -> str:
    """The stored form of a key. A key is 256 random bits, so a plain SHA-256 is enough: there
    is no password to guess, and no salt is needed."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def set_key(token: ApiToken, key: str) -> None:
    """Keep the key's hash and its first characters on the token, never the key."""
    token.key_hash = hash_key(key)
    token.prefix = key[: len(KEY_PREFIX) + 6]


def outside_owner(owner: User, organisations) -> list[str]:
    """The codes of the organisations the owner is not a member of."""
    return sorted(o.code for o in organisations if o.pk not in owner.organisation_ids)


def token_create(
    *,
    owner: User,
    name: str,
    organisations: list[Organisation],
    by: User,
    service: bool = False,
) -> tuple[ApiToken, str]:
    """A new token and its key: the key is returned here once and never stored."""
    name = name.strip()
    if not name:
        raise TokenRefused("Give the token a name that says what it is for, e.g. Power BI.")
    if not owner.is_active:
        raise TokenRefused(f"{owner} is no longer active: an inactive user cannot own a token.")
    if not organisations:
        raise TokenRefused("Choose at least one organisation for the token to see.")
    outside = outside_owner(owner, organisations)
    if outside:
        raise TokenRefused(
            f"{owner} is not a member of {', '.join(outside)}: a token sees only organisations "
            "of its owner."
        )
    key = new_key()
    with transaction.atomic():
        token = ApiToken(name=name[:100], owner=owner, service=service, created_by=by)
        set_key(token, key)
        token.save()
        token.organisations.set(organisations)
    return token, key


def token_revoke(*, token: ApiToken, by: User) -> ApiToken:
    """Revoke the token: every later call with its key is refused. Revoking twice keeps the
    first time (a conditional update: another request got there first)."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=by
    )
    token.refresh_from_db()
    return token


def token_for_key(key: str) -> ApiToken | None:
    """The token the key belongs to, with its owner, or None for a key nobody holds."""
    return ApiToken.objects.select_related("owner").filter(key_hash=hash_key(key)).first()


def token_used(token: ApiToken) -> None:
    """Note when the token was last used; a plain update, so no save() races another call."""
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def scope_ids(token: ApiToken) -> set[int]:
    """The organisations the token sees now: those it names of which its owner is still a
    member (a membership ended after the token was made takes the organisation out)."""
    named = set(token.organisations.values_list("pk", flat=True))
    return named & token.owner.organisation_ids
