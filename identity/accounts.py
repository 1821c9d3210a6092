"""Who a verified sign-in is here: the linked account, the account with that e-mail address
(linked now), or a new one; and the roles and organisations the provider's groups give them.

Nothing here checks the ID token: identity.backends has verified it (signature, issuer,
audience, expiry, nonce) and the person (tenant, verified e-mail) before calling in.
"""

import logging
import re

from django.db import IntegrityError, transaction
from django.urls import reverse

from governance.models import Membership, User
from identity.models import GroupRole, IdentityEvent, IdentityLink
from notifications import outbox

logger = logging.getLogger("qipp.security")


class SignInRefused(Exception):
    """The provider signed the person in, but this site will not: the reason, in plain words,
    and who the provider said they were (for the refusal log)."""

    def __init__(self, reason: str, *, who: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.who = who


def subject_of(claims: dict) -> str:
    """Entra ID's object id for the person (the same in every application of the tenant),
    else the token's subject."""
    return str(claims.get("oid") or claims["sub"])


def user_signing_in(claims: dict, *, issuer: str) -> User:
    """The account these verified claims sign in to, found, linked or created, with its roles
    following the provider's groups. Inactive when new and waiting for an administrator, or
    when deactivated: the caller signs nobody inactive in."""
    with transaction.atomic():
        link = (
            IdentityLink.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject_of(claims))
            .first()
        )
        new = link is None
        if new:
            link = _link_or_create(claims, issuer=issuer)
        elif link.email != claims["email"]:
            link.email = claims["email"]
            link.save(update_fields=["email"])
        follow_groups(link, claims)
        if new and link.awaiting_approval and not link.user.is_active:
            _tell_administrators(link)
        return link.user


def _tell_administrators(link: IdentityLink) -> None:
    """A notice and a mail to every active administrator: someone waits for their approval
    (the person's page tells them to ask, but should not have to)."""
    person = link.user
    outbox.notify(
        users=User.objects.filter(is_staff=True, is_active=True),
        kind="account_waiting",
        subject=f"{person.get_full_name() or link.email} is waiting for approval",
        message=(
            f"{link.email} signed in with NHSmail for the first time, and none of their "
            "groups gives them a role here. Approve their account and give them their roles "
            "and organisations, or leave it inactive."
        ),
        url=reverse("admin:identity_identitylink_changelist") + "?awaiting_approval__exact=1",
    )


def _link_or_create(claims: dict, *, issuer: str) -> IdentityLink:
    email = claims["email"]
    same_address = list(User.objects.filter(email__iexact=email)[:2])
    if len(same_address) > 1:
        raise SignInRefused(
            f"More than one account here has the e-mail address {email}, so this site cannot "
            "tell which is yours. Ask an administrator to correct the accounts.",
            who=email,
        )
    if same_address and IdentityLink.objects.filter(user=same_address[0]).exists():
        raise SignInRefused(
            f"The account here with the e-mail address {email} is already linked to another "
            "person at the identity provider. Ask an administrator.",
            who=email,
        )
    try:
        with transaction.atomic():
            if same_address:
                user = same_address[0]
                link = _new_link(user, claims, issuer=issuer)
                IdentityEvent.objects.create(
                    user=user, kind=IdentityEvent.Kind.LINKED, detail=email
                )
                return link
            user = _new_user(claims)
            link = _new_link(user, claims, issuer=issuer, created=True)
    except IntegrityError:
        # the same person's sign-in in another tab linked them a moment ago
        return IdentityLink.objects.select_related("user").get(
            issuer=issuer, subject=subject_of(claims)
        )
    IdentityEvent.objects.create(user=user, kind=IdentityEvent.Kind.CREATED, detail=email)
    logger.info("account %s created by the first sign-in of %s", user.username, email)
    return link


def _new_link(user: User, claims: dict, *, issuer: str, created: bool = False) -> IdentityLink:
    return IdentityLink.objects.create(
        user=user,
        issuer=issuer,
        subject=subject_of(claims),
        email=claims["email"],
        created_by_sign_in=created,
        awaiting_approval=created,
    )


def _new_user(claims: dict) -> User:
    """An inactive account with no roles: an administrator approves it, or the person's
    groups give it roles (follow_groups), which makes it active."""
    email = claims["email"]
    first, last = claims.get("given_name", ""), claims.get("family_name", "")
    if not (first or last) and claims.get("name"):
        first, _, last = str(claims["name"]).partition(" ")
    user = User(
        username=_free_username(email),
        email=email,
        first_name=str(first)[:150],
        last_name=str(last)[:150],
        is_active=False,
    )
    user.set_unusable_password()
    user.save()
    return user


def _free_username(email: str) -> str:
    base = re.sub(r"[^\w.@+-]", "", email.split("@")[0].lower())[:140] or "user"
    taken = set(User.objects.filter(username__startswith=base).values_list("username", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def follow_groups(link: IdentityLink, claims: dict) -> None:
    """Give the roles and organisations the person's groups are mapped to (GroupRole), and
    take away those an earlier sign-in's groups gave that they no longer give. A role or
    organisation an administrator gave by hand is left alone. No mappings: nothing changes."""
    mappings = list(GroupRole.objects.select_related("role", "organisation"))
    if not mappings:
        return
    user = link.user
    groups = claims.get("groups")
    if not isinstance(groups, list):
        # Entra ID sends no list when the person is in too many groups (it sends a link to
        # Microsoft Graph instead): taking every role away would be wrong
        IdentityEvent.objects.create(
            user=user, kind=IdentityEvent.Kind.GROUPS_MISSING, detail="no 'groups' claim"
        )
        logger.warning("sign-in of %s carried no groups: roles left as they were", user)
        return
    mapped = [m for m in mappings if m.group_id in {str(g) for g in groups}]
    roles = _follow(
        link.roles_from_groups,
        wanted={m.role for m in mapped},
        held=set(user.groups.all()),
        give=user.groups.add,
        take=user.groups.remove,
        events=(IdentityEvent.Kind.ROLE_ADDED, IdentityEvent.Kind.ROLE_REMOVED),
        user=user,
    )
    organisations = _follow(
        link.organisations_from_groups,
        wanted={m.organisation for m in mapped},
        held={m.organisation for m in user.memberships.select_related("organisation")},
        give=lambda o: Membership.objects.create(user=user, organisation=o),
        take=lambda o: Membership.objects.filter(user=user, organisation=o).delete(),
        events=(IdentityEvent.Kind.ORGANISATION_ADDED, IdentityEvent.Kind.ORGANISATION_REMOVED),
        user=user,
    )
    user.forget_access()
    if mapped and link.awaiting_approval and not user.is_active:
        # the groups say who they are: no administrator needs to approve them
        user.is_active = True
        user.save(update_fields=["is_active"])
        IdentityEvent.objects.create(
            user=user, kind=IdentityEvent.Kind.APPROVED, detail="by the provider's groups"
        )
    if roles or organisations:
        logger.info("groups changed the access of %s: %s", user, "; ".join(roles + organisations))


def _follow(given, *, wanted, held, give, take, events, user) -> list[str]:
    """One kind of access (roles, organisations) made to follow the groups: what changed."""
    added_kind, removed_kind = events
    before = set(given.all())
    changes = []
    for thing in sorted(wanted - held, key=str):
        give(thing)
        changes.append(f"+{thing}")
        IdentityEvent.objects.create(user=user, kind=added_kind, detail=str(thing)[:300])
    for thing in sorted((before - wanted) & held, key=str):
        take(thing)
        changes.append(f"-{thing}")
        IdentityEvent.objects.create(user=user, kind=removed_kind, detail=str(thing)[:300])
    # what the groups hold now: what they gave before and still give, and what they just gave
    given.set((before & wanted) | (wanted - held))
    return changes


def approve(link: IdentityLink, *, by: User) -> None:
    """An administrator lets a person who signed in for the first time use the site."""
    user = link.user
    user.is_active = True
    user.save(update_fields=["is_active"])
    IdentityEvent.objects.create(user=user, kind=IdentityEvent.Kind.APPROVED, detail=f"by {by}")


def on_user_saved(sender, instance: User, created: bool, **kwargs):
    # an active account is no longer waiting: deactivating it later must not let a group
    # make it active again
    if instance.is_active and not created:
        IdentityLink.objects.filter(user=instance, awaiting_approval=True).update(
            awaiting_approval=False
        )
