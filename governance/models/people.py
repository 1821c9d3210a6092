"""People and where they work: systems, organisations, users and their memberships, their
signed-in sessions, and the log of refused access (ACCESS.md)."""

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property


class Profession(models.TextChoices):
    NURSING = "nursing", "Nursing"
    MEDICAL = "medical", "Medical / clinical"
    MEDICINES = "medicines", "Medicines management"
    FINANCE = "finance", "Finance"
    CONTRACTING = "contracting", "Contracting"
    QUALITY = "quality", "Quality and safety"
    PUBLIC_HEALTH = "public_health", "Public health"
    MANAGEMENT = "management", "Management / PMO"
    OTHER = "other", "Other"


class System(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Organisation(models.Model):
    code = models.CharField(max_length=20, unique=True, help_text="Short code, e.g. ELR.")
    name = models.CharField(max_length=200)
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="organisations")

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} - {self.name}"


class User(AbstractUser):
    profession = models.CharField(
        max_length=30,
        choices=Profession.choices,
        blank=True,
        help_text="Used to check that a QIA panel is multi-professional.",
    )
    job_title = models.CharField(max_length=200, blank=True)
    organisations = models.ManyToManyField(
        Organisation, through="Membership", related_name="members", blank=True
    )

    class Meta:
        ordering = ["username"]

    def __str__(self):
        return self.get_full_name() or self.username

    def has_role(self, role: str) -> bool:
        return role in self.role_names

    # Each cached on the instance: checked many times while one page renders.
    @cached_property
    def role_names(self) -> set[str]:
        return set(self.groups.values_list("name", flat=True))

    @cached_property
    def _memberships(self) -> list[tuple[int, int]]:
        # both sets in one query: nearly every page asks for both
        return list(self.memberships.values_list("organisation_id", "organisation__system_id"))

    @property
    def organisation_ids(self) -> set[int]:
        return {organisation for organisation, _system in self._memberships}

    @property
    def system_ids(self) -> set[int]:
        return {system for _organisation, system in self._memberships}

    @cached_property
    def on_a_team(self) -> bool:
        """Whether the user is project lead, SRO, clinical or finance lead of any scheme."""
        # the scheme model by name: schemes.py imports this module for the organisation
        schemes = apps.get_model("governance", "Scheme")
        return schemes.objects.filter(
            Q(project_lead=self) | Q(sro=self) | Q(clinical_lead=self) | Q(finance_lead=self)
        ).exists()

    def forget_access(self) -> None:
        """Read roles, organisations and teams again when next asked: they have changed."""
        for name in ("role_names", "_memberships", "on_a_team"):
            self.__dict__.pop(name, None)

    @property
    def role_labels(self) -> list[str]:
        return sorted(self.role_names)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="unique_membership")
        ]

    def __str__(self):
        return f"{self.user} in {self.organisation.code}"


class AccessRefusal(models.Model):
    """Every refused access or action: who, what, when (ACCESS.md)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=200, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.target}"


class UserSession(models.Model):
    """A signed-in session of a user, so that deactivating the user can end them all at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    signed_in_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.user} since {self.signed_in_at:%Y-%m-%d %H:%M}"
