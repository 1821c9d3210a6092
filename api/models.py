"""API tokens and the log of every call made with them (ACCESS.md: API tokens see exactly what
their owner's pages show, within the organisations the token names)."""

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A key for the read-only API. Only a hash of the key is kept: the key itself is shown
    once, when the token is made, and cannot be read back (a stolen database gives no key)."""

    name = models.CharField(max_length=100, help_text="What the token is for, e.g. Power BI.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    # A service token (a report server's, made in the admin) still sees only what its owner's
    # pages show: its owner is the person answerable for it.
    service = models.BooleanField(
        default=False, help_text="Used by a system (a report server), not by a person."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # the first characters of the key, so that its owner can tell their tokens apart
    prefix = models.CharField(max_length=16, editable=False)
    organisations = models.ManyToManyField(
        "governance.Organisation",
        related_name="+",
        help_text="The token sees these organisations only (each one of its owner's).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…) of {self.owner}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ApiCall(models.Model):
    """One request to the API: which token (none when the key was missing or unknown), when,
    what was asked and how it was answered. Never the key."""

    token = models.ForeignKey(
        ApiToken, on_delete=models.PROTECT, null=True, blank=True, related_name="calls"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.TextField(max_length=2000, blank=True)
    status = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "API call"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.method} {self.path} {self.status}"
