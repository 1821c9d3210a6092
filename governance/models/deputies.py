"""Deputies: a person who acts for someone on leave, in one of their roles, for a date range,
and what they did for them (ACCESS.md "Deputies")."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance import roles
from governance.policy import DELEGABLE_ACTIONS

DELEGABLE_ROLES = [(role, role) for role in DELEGABLE_ACTIONS]


class Delegation(models.Model):
    """`deputy` acts for `principal` in `role`, from `starts_on` to `ends_on` (both included),
    on the schemes of `organisation`. Ending it early sets `ended_at`; the row stays, and every
    change to it is a DelegationEvent."""

    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_given"
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_held"
    )
    role = models.CharField(max_length=50, choices=DELEGABLE_ROLES)
    organisation = models.ForeignKey(
        "governance.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="The last day the deputy acts (included).")
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-starts_on", "-id"]

    def __str__(self):
        return f"{self.deputy} for {self.principal} as {self.role}"

    def runs_on(self, day) -> bool:
        return self.ended_at is None and self.starts_on <= day <= self.ends_on

    @property
    def is_running(self) -> bool:
        return self.runs_on(timezone.localdate())

    def covers(self, scheme) -> bool:
        """Whether the deputy acts on this scheme: QAG decides for its whole system, every
        other role for its own organisation."""
        if self.role == roles.QAG_MEMBER:
            return scheme.organisation.system_id == self.organisation.system_id
        return scheme.organisation_id == self.organisation_id

    @property
    def where(self) -> str:
        """Where the deputy acts, in words: "ELR", or "the LLR system"."""
        if self.role == roles.QAG_MEMBER:
            return f"the {self.organisation.system.code} system"
        return self.organisation.code

    @property
    def actions(self) -> tuple[str, ...]:
        return DELEGABLE_ACTIONS[self.role]


class DelegationEvent(models.Model):
    """A delegation named, changed or ended: who, when, what."""

    delegation = models.ForeignKey(Delegation, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    what = models.CharField(max_length=300)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return self.what


class DeputyAct(models.Model):
    """Something a deputy did for the person they deputise for: what the principal reads when
    back."""

    delegation = models.ForeignKey(Delegation, on_delete=models.PROTECT, related_name="acts")
    scheme = models.ForeignKey("governance.Scheme", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    what = models.CharField(max_length=300)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return self.what
