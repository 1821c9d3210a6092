"""People, reference data and the scheme (PID / business case) with its workflow."""

import re
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.functional import cached_property
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from governance import policy
from governance.states import WITHDRAWABLE, SchemeState, state_words

MONTHS = range(1, 13)
PLAN_FIELDS = [f"plan_m{m:02d}" for m in MONTHS]
# Twelve months of plan for a single scheme above a billion pounds is a typing error.
MAX_MONTHLY_AMOUNT = Decimal("999999999.99")
MONTH_NAMES = ["Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar"]


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
        return Scheme.objects.filter(
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


class FinancialYear(models.Model):
    """An NHS financial year: 1 April to 31 March. Month 1 is April, month 12 is March."""

    start_year = models.PositiveIntegerField(
        unique=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )

    class Meta:
        ordering = ["start_year"]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    @property
    def code(self) -> str:
        """Four digits used in scheme references: 2019/20 -> 1920."""
        return f"{self.start_year % 100:02d}{(self.start_year + 1) % 100:02d}"

    @property
    def start_date(self) -> date:
        return date(self.start_year, 4, 1)

    @property
    def end_date(self) -> date:
        return date(self.start_year + 1, 3, 31)

    def month_start(self, month: int) -> date:
        """The first day of financial month 1..12."""
        calendar_month = (month + 2) % 12 + 1
        year = self.start_year if month <= 9 else self.start_year + 1
        return date(year, calendar_month, 1)

    @classmethod
    def parse_label(cls, label: str) -> int | None:
        """'2019/20' -> 2019; anything else -> None."""
        # ASCII digits only: str.isdigit() also passes "²", which int() refuses
        found = re.fullmatch(r"([0-9]{4})/([0-9]{2})", label.strip())
        if not found:
            return None
        start = int(found[1])
        if int(found[2]) != (start + 1) % 100:
            return None
        return start


class ProgrammeArea(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class AreaOfSpend(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "areas of spend"

    def __str__(self):
        return self.name


class QippTarget(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="targets")
    financial_year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT)
    requirement = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text="Total QIPP requirement for the year, in pounds.",
    )
    allocation = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Optional: the organisation's allocation, so the target % can be shown.",
    )

    class Meta:
        ordering = ["financial_year__start_year", "organisation__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "financial_year"], name="unique_target_per_org_year"
            )
        ]

    def __str__(self):
        return f"{self.organisation.code} {self.financial_year}: £{self.requirement:,.0f}"

    @property
    def target_percent(self) -> Decimal | None:
        if not self.allocation:
            return None
        return (self.requirement / self.allocation * 100).quantize(Decimal("0.1"))


class SchemeType(models.TextChoices):
    TRANSFORMATIONAL = "transformational", "Transformational"
    TRANSACTIONAL = "transactional", "Transactional"


def _plan_field(month: int):
    return models.DecimalField(
        f"{MONTH_NAMES[month - 1]} (month {month})",
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_MONTHLY_AMOUNT)],
    )


def _policy(action: str):
    """The fsm `permission=` callable for an action: the policy in governance.policy."""

    def check(instance, user) -> bool:
        return policy.refusal(action, user, instance) is None

    check.__name__ = f"may_{action}"
    return check


class Scheme(ConcurrentTransitionMixin, models.Model):
    reference = models.CharField(max_length=30, unique=True, editable=False)
    sequence = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(
        max_length=20000, help_text="What the scheme changes, for whom, and how it saves money."
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="schemes")
    financial_year = models.ForeignKey(
        FinancialYear, on_delete=models.PROTECT, related_name="schemes"
    )
    programme_area = models.ForeignKey(ProgrammeArea, on_delete=models.PROTECT)
    area_of_spend = models.ForeignKey(AreaOfSpend, on_delete=models.PROTECT)
    scheme_type = models.CharField("type", max_length=20, choices=SchemeType.choices)
    is_recovery = models.BooleanField(
        "recovery action",
        default=False,
        help_text="Added in-year to close a gap: reported apart from the original plan.",
    )
    project_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_schemes"
    )
    sro = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="sro_schemes",
        verbose_name="SRO",
        help_text="Senior responsible officer: the executive who owns the scheme.",
    )
    clinical_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="clinical_lead_schemes",
        null=True,
        blank=True,
    )
    finance_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="finance_lead_schemes",
        null=True,
        blank=True,
    )
    start_date = models.DateField()
    plan_m01 = _plan_field(1)
    plan_m02 = _plan_field(2)
    plan_m03 = _plan_field(3)
    plan_m04 = _plan_field(4)
    plan_m05 = _plan_field(5)
    plan_m06 = _plan_field(6)
    plan_m07 = _plan_field(7)
    plan_m08 = _plan_field(8)
    plan_m09 = _plan_field(9)
    plan_m10 = _plan_field(10)
    plan_m11 = _plan_field(11)
    plan_m12 = _plan_field(12)

    state = FSMField(
        max_length=30, choices=SchemeState.choices, default=SchemeState.DRAFT, protected=True
    )
    # Bumped by every service write: a form carries the version it was drawn from, so a user
    # acting on a page someone else has since changed is told so rather than overwriting.
    version = models.PositiveIntegerField(default=1, editable=False)
    submission_round = models.PositiveIntegerField(default=0, editable=False)
    state_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    closure_delivered = models.TextField(
        "what was delivered", max_length=10000, blank=True, editable=False
    )
    closure_lessons = models.TextField(
        "lessons learned", max_length=10000, blank=True, editable=False
    )
    stop_decision = models.TextField(
        "QAG decision to stop", max_length=10000, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A scheme made by an import rather than written as a PID: the file it came from, and
    # whether it was a past year loaded straight into its state (qipp_import --historical),
    # which skipped the workflow.
    imported_from = models.CharField(max_length=255, blank=True, editable=False)
    imported_historical = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-financial_year__start_year", "organisation__code", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "financial_year", "sequence"],
                name="unique_scheme_sequence",
            )
        ]
        indexes = [
            models.Index(fields=["financial_year", "state"]),
            # the home page counts a user's schemes by state, and the scheme list sorts and
            # pages them, from this index alone on PostgreSQL (SQLite ignores `include`)
            models.Index(
                fields=["organisation", "state"],
                include=["financial_year", "sequence", "id"],
                name="scheme_org_state",
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.title}"

    def get_absolute_url(self):
        return reverse("scheme_detail", args=[self.pk])

    @property
    def state_words(self) -> str:
        """The state as it reads inside a sentence: "in delivery", but "QIA panel"."""
        return state_words(self.state)

    # --- money ---
    @property
    def plan(self) -> list[Decimal]:
        return [getattr(self, name) for name in PLAN_FIELDS]

    @property
    def annual_plan(self) -> Decimal:
        return sum(self.plan, Decimal("0"))

    @property
    def team_ids(self) -> set[int]:
        return {
            pk
            for pk in (
                self.project_lead_id,
                self.sro_id,
                self.clinical_lead_id,
                self.finance_lead_id,
            )
            if pk
        }

    # --- workflow (DESIGN.md). Call these only through governance.services. ---
    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.DRAFT,
        target=SchemeState.CONFIRM_AND_CHALLENGE,
        permission=_policy("submit"),
    )
    def submit(self, by=None, description=None):
        self.submission_round += 1

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.CONFIRM_AND_CHALLENGE,
        target=RETURN_VALUE(
            SchemeState.CONFIRM_AND_CHALLENGE,
            SchemeState.QIA_PANEL,
            SchemeState.DRAFT,
            SchemeState.REJECTED,
        ),
        permission=_policy("finance_review"),
    )
    def finance_review(self, outcome, by=None, description=None):
        return outcome

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.CONFIRM_AND_CHALLENGE,
        target=RETURN_VALUE(
            SchemeState.CONFIRM_AND_CHALLENGE,
            SchemeState.QIA_PANEL,
            SchemeState.DRAFT,
            SchemeState.REJECTED,
        ),
        permission=_policy("clinical_review"),
    )
    def clinical_review(self, outcome, by=None, description=None):
        return outcome

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=WITHDRAWABLE,
        target=SchemeState.WITHDRAWN,
        permission=_policy("withdraw"),
    )
    def withdraw(self, by=None, description=None):
        pass

    # QIA panel and sign-off: the qia app's services call these.
    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.QIA_PANEL,
        target=SchemeState.AWAITING_SIGN_OFF,
        permission=_policy("panel_decide"),
    )
    def panel_agree(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.QIA_PANEL,
        target=SchemeState.DRAFT,
        permission=_policy("panel_decide"),
    )
    def panel_return(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.QIA_PANEL,
        target=SchemeState.REJECTED,
        permission=_policy("panel_decide"),
    )
    def panel_dismiss(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.AWAITING_SIGN_OFF,
        target=RETURN_VALUE(SchemeState.AWAITING_SIGN_OFF, SchemeState.APPROVED),
        permission=_policy("sign_off"),
    )
    def sign_off(self, outcome, by=None, description=None):
        return outcome

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.AWAITING_SIGN_OFF,
        target=RETURN_VALUE(SchemeState.DRAFT, SchemeState.REJECTED),
        permission=_policy("sign_off"),
    )
    def decline_sign_off(self, outcome, by=None, description=None):
        return outcome

    # Delivery: the delivery services call these.
    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.APPROVED,
        target=SchemeState.IN_DELIVERY,
        permission=_policy("start_delivery"),
    )
    def start_delivery(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.IN_DELIVERY,
        target=SchemeState.COMPLETED,
        permission=_policy("complete"),
    )
    def complete(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=SchemeState.IN_DELIVERY,
        target=SchemeState.STOPPED,
        permission=_policy("stop"),
    )
    def stop(self, by=None, description=None):
        pass


class ReviewKind(models.TextChoices):
    FINANCE = "finance", "Financial"
    CLINICAL = "clinical", "Clinical"


class ReviewDecision(models.TextChoices):
    SUPPORTED = "supported", "Supported"
    REVISE = "revise", "Revise and resubmit"
    NOT_SUPPORTED = "not_supported", "Not supported"


class Review(models.Model):
    """One reviewer's confirm-and-challenge of one submission of a scheme."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="reviews")
    kind = models.CharField(max_length=10, choices=ReviewKind.choices)
    round = models.PositiveIntegerField(help_text="Which submission of the scheme this reviews.")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decision = models.CharField(max_length=20, choices=ReviewDecision.choices)
    comment = models.TextField(max_length=10000)
    created_at = models.DateTimeField(auto_now_add=True)
    response = models.TextField(
        max_length=10000, blank=True, help_text="The project lead's answer on resubmission."
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "round", "kind"], name="one_review_per_kind_per_round"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} review of {self.scheme.reference} ({self.round})"


class SchemeChange(models.Model):
    """Field-level history: who changed what, when, from what to what."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    changed_at = models.DateTimeField(auto_now_add=True)
    field = models.CharField(max_length=100)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"{self.scheme.reference}: {self.field}"


class DocumentKind(models.TextChoices):
    PID = "pid", "PID"
    BUSINESS_CASE = "business_case", "Business case"
    SUPPORTING = "supporting", "Supporting paper"


def document_path(instance, filename):
    return f"schemes/{instance.scheme_id}/{filename}"


class SchemeDocument(models.Model):
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    file = models.FileField(upload_to=document_path, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    description = models.CharField(max_length=255, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self):
        return self.original_name


class MonthlyReturn(models.Model):
    """A scheme's delivery in one month of its financial year, then assured by the PMO.

    Amounts are savings in pounds, positive when money was saved (negative when costs rose).
    """

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="returns")
    month = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="Financial month: 1 is April, 12 is March.",
    )
    actual = models.DecimalField(max_digits=12, decimal_places=2)
    forecast_outturn = models.DecimalField(
        max_digits=13,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The full-year saving now expected.",
    )
    pmo_assured = models.DecimalField(
        "PMO assured value", max_digits=12, decimal_places=2, null=True, blank=True
    )
    commentary = models.TextField(max_length=10000, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    assured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # by the scheme's id, not its own ordering: that joined three tables to every query
        # of returns, for an order nothing needs
        ordering = ["scheme_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "month"], name="one_return_per_month")
        ]

    def __str__(self):
        return f"{self.scheme.reference} month {self.month}"


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


def import_path(instance, filename):
    return f"imports/{instance.created_at:%Y/%m}/{filename}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Being checked and imported"
    DONE = "done", "Imported"
    REFUSED = "refused", "Nothing imported"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """A file uploaded to import, checked and imported on a worker (governance.tasks), so no
    page waits for it: its progress page follows it, and then says what was committed."""

    kind = models.CharField(max_length=10)
    name = models.CharField("file", max_length=255)
    file = models.FileField(upload_to=import_path, max_length=300)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # the organisations the importer may import for, as they were when they uploaded
    organisation_ids = models.JSONField(default=list)
    create_missing = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True)  # "Imported plans: 3 created, ..." when done
    error_count = models.PositiveIntegerField(default=0)
    first_errors = models.JSONField(default=list)  # the first of them, as shown on the page
    all_errors = models.FileField(upload_to=import_path, max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} import of {self.name} by {self.by}"

    def get_absolute_url(self):
        return reverse("import_run", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED)
