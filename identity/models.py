"""Who signs in through the identity provider, which of its groups give which role, and the
log of sign-ins and of the roles the groups gave or took away."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from governance.models import Organisation


class IdentityLink(models.Model):
    """A user of this site is this person at the identity provider. Once linked, the person
    is found by the provider's id for them, whatever their e-mail address becomes."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="identity"
    )
    issuer = models.CharField(max_length=200)
    subject = models.CharField(
        max_length=200,
        help_text="The person's id at the provider: Entra ID's object id (oid), else 'sub'.",
    )
    email = models.EmailField(help_text="The verified e-mail address of the last sign-in.")
    linked_at = models.DateTimeField(auto_now_add=True)
    created_by_sign_in = models.BooleanField(
        default=False, help_text="The account was created by the person's first sign-in."
    )
    awaiting_approval = models.BooleanField(
        default=False,
        help_text="Created inactive by a first sign-in: an administrator approves it by "
        "making the account active.",
    )
    roles_from_groups = models.ManyToManyField(
        Group,
        blank=True,
        related_name="+",
        help_text="Roles the provider's groups gave, taken away when the group goes.",
    )
    organisations_from_groups = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="+",
        help_text="Organisations the provider's groups gave, taken away when the group goes.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="unique_identity")
        ]

    def __str__(self):
        return f"{self.user} is {self.email}"


class GroupRole(models.Model):
    """Members of this provider group have this role in this organisation. With at least one
    row here, roles follow the groups at every sign-in; with none, administrators give roles
    by hand."""

    group_id = models.CharField(
        max_length=200,
        help_text="The group's object id in Entra ID (a GUID), exactly as in the 'groups' claim.",
    )
    group_name = models.CharField(
        max_length=200, blank=True, help_text="The group's name, to read this list by."
    )
    role = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["group_name", "group_id"]
        verbose_name = "provider group and its role"
        verbose_name_plural = "provider groups and their roles"
        constraints = [
            models.UniqueConstraint(
                fields=["group_id", "role", "organisation"], name="unique_group_role"
            )
        ]

    def __str__(self):
        return f"{self.group_name or self.group_id}: {self.role} in {self.organisation.code}"


class IdentityEvent(models.Model):
    """One thing that happened to someone's access through the provider. Append-only."""

    class Kind(models.TextChoices):
        SIGNED_IN = "signed_in", "Signed in with the provider"
        LINKED = "linked", "Account linked to the provider"
        CREATED = "created", "Account created by a first sign-in"
        APPROVED = "approved", "Account approved"
        ROLE_ADDED = "role_added", "Role given by a group"
        ROLE_REMOVED = "role_removed", "Role taken away with a group"
        ORGANISATION_ADDED = "organisation_added", "Organisation given by a group"
        ORGANISATION_REMOVED = "organisation_removed", "Organisation taken away with a group"
        GROUPS_MISSING = "groups_missing", "Groups not sent: roles left as they were"

    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="identity_events"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.get_kind_display()}"
