"""The scheme (PID / business case) with its workflow (DESIGN.md), its reviews, documents and
the history of its changes."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from governance import policy
from governance.models.people import Organisation
from governance.models.reference import (
    MAX_MONTHLY_AMOUNT,
    MONTH_NAMES,
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    ProgrammeArea,
)
from governance.states import WITHDRAWABLE, SchemeState, state_words


class SchemeType(models.TextChoices):
    TRANSFORMATIONAL = "transformational", "Transformational"
    TRANSACTIONAL = "transactional", "Transactional"


class Recurrence(models.TextChoices):
    """Whether a saving goes on in later years (NAO: about £1 in £4 saved was one-off)."""

    RECURRENT = "recurrent", "Recurrent"
    NON_RECURRENT = "non_recurrent", "Non-recurrent (one-off)"
    MIXED = "mixed", "Mixed (the recurrent part given month by month)"


# The recurrent part of each month's plan, used when a scheme's saving is mixed.
RECURRENT_FIELDS = [f"recurrent_m{month:02d}" for month in range(1, 13)]


def _plan_field(month: int):
    return models.DecimalField(
        f"{MONTH_NAMES[month - 1]} (month {month})",
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_MONTHLY_AMOUNT)],
    )


def _recurrent_field(month: int):
    return models.DecimalField(
        f"recurrent part of {MONTH_NAMES[month - 1]} (month {month})",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_MONTHLY_AMOUNT)],
    )


def _investment_field(label: str, help_text: str):
    return models.DecimalField(
        label,
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_MONTHLY_AMOUNT)],
        help_text=help_text,
    )


def _policy(action: str):
    """The fsm `permission=` callable for an action: the policy in governance.policy."""

    def check(instance, user) -> bool:
        return policy.refusal(action, user, instance) is None

    check.__name__ = f"may_{action}"
    return check


def _step(source, target, action: str):
    """A step of the scheme's workflow: django-fsm's transition of `state` from `source` to
    `target`, allowed when governance.policy allows `action`, and logged by django-fsm-log with
    who took it (`by=`) and why (`description=`)."""

    def decorate(method):
        method = transition("state", source=source, target=target, permission=_policy(action))(
            method
        )
        return fsm_log_by(fsm_log_description(method))

    return decorate


# Where a review leaves the scheme: still in confirm and challenge (the other review is still
# to come), on to the QIA panel, back to draft, or rejected (governance.services.workflow).
REVIEW_OUTCOMES = RETURN_VALUE(
    SchemeState.CONFIRM_AND_CHALLENGE,
    SchemeState.QIA_PANEL,
    SchemeState.DRAFT,
    SchemeState.REJECTED,
)


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

    # What kind of saving it is: recurrent or one-off, cash-releasing or not, and what it costs
    recurrence = models.CharField(
        max_length=20,
        choices=Recurrence.choices,
        default=Recurrence.RECURRENT,
        help_text="Recurrent: the saving goes on in later years. Non-recurrent: this year only.",
    )
    recurrent_m01 = _recurrent_field(1)
    recurrent_m02 = _recurrent_field(2)
    recurrent_m03 = _recurrent_field(3)
    recurrent_m04 = _recurrent_field(4)
    recurrent_m05 = _recurrent_field(5)
    recurrent_m06 = _recurrent_field(6)
    recurrent_m07 = _recurrent_field(7)
    recurrent_m08 = _recurrent_field(8)
    recurrent_m09 = _recurrent_field(9)
    recurrent_m10 = _recurrent_field(10)
    recurrent_m11 = _recurrent_field(11)
    recurrent_m12 = _recurrent_field(12)
    cash_releasing = models.BooleanField(
        "cash-releasing",
        default=True,
        help_text=(
            "Cash-releasing: the money leaves the budget. Not cash-releasing: time or capacity "
            "freed for other work (HM Treasury's efficiency framework)."
        ),
    )
    investment_one_off = _investment_field(
        "one-off investment", "What the scheme costs once to set up, in pounds."
    )
    investment_recurring = _investment_field(
        "recurring investment a year", "What the scheme costs to run each year, in pounds."
    )
    # A recurrent saving carried into the next financial year: that year's plan line of it (its
    # own reference), linked to the scheme it carries on, until its project lead confirms the
    # carried plan or edits it
    carried_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carried_into",
        editable=False,
    )
    carry_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    carry_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

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
        """The state as it reads after "is" in a sentence: "a draft", "at the QIA panel"."""
        return state_words(self.state)

    # --- money ---
    @property
    def plan(self) -> list[Decimal]:
        return [getattr(self, name) for name in PLAN_FIELDS]

    @property
    def annual_plan(self) -> Decimal:
        """The gross saving planned in the year."""
        return sum(self.plan, Decimal("0"))

    @property
    def recurrent_plan(self) -> list[Decimal]:
        """The recurrent part of each month's plan: all of it, none of it, or as given."""
        if self.recurrence == Recurrence.RECURRENT:
            return self.plan
        if self.recurrence == Recurrence.NON_RECURRENT:
            return [Decimal("0")] * 12
        return [getattr(self, name) or Decimal("0") for name in RECURRENT_FIELDS]

    @property
    def recurrent_annual(self) -> Decimal:
        return sum(self.recurrent_plan, Decimal("0"))

    @property
    def non_recurrent_annual(self) -> Decimal:
        return self.annual_plan - self.recurrent_annual

    @property
    def full_year_effect(self) -> Decimal:
        """What the recurrent saving is worth over a whole year: the last month's recurrent
        saving twelve times (a scheme saving £10,000 a month from October saves £60,000
        this year and £120,000 next)."""
        return self.recurrent_plan[-1] * 12

    @property
    def net_saving(self) -> Decimal:
        """The gross saving of the year less this year's investment, one-off and recurring."""
        return self.annual_plan - self.investment_one_off - self.investment_recurring

    @property
    def net_full_year_effect(self) -> Decimal:
        """The full-year effect less the recurring investment: what recurs, net."""
        return self.full_year_effect - self.investment_recurring

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
    @_step(SchemeState.DRAFT, SchemeState.CONFIRM_AND_CHALLENGE, "submit")
    def submit(self, by=None, description=None):
        self.submission_round += 1

    @_step(SchemeState.CONFIRM_AND_CHALLENGE, REVIEW_OUTCOMES, "finance_review")
    def finance_review(self, outcome, by=None, description=None):
        return outcome

    @_step(SchemeState.CONFIRM_AND_CHALLENGE, REVIEW_OUTCOMES, "clinical_review")
    def clinical_review(self, outcome, by=None, description=None):
        return outcome

    @_step(WITHDRAWABLE, SchemeState.WITHDRAWN, "withdraw")
    def withdraw(self, by=None, description=None):
        pass

    # QIA panel and sign-off: the qia app's services call these.
    @_step(SchemeState.QIA_PANEL, SchemeState.AWAITING_SIGN_OFF, "panel_decide")
    def panel_agree(self, by=None, description=None):
        pass

    @_step(SchemeState.QIA_PANEL, SchemeState.DRAFT, "panel_decide")
    def panel_return(self, by=None, description=None):
        pass

    @_step(SchemeState.QIA_PANEL, SchemeState.REJECTED, "panel_decide")
    def panel_dismiss(self, by=None, description=None):
        pass

    @_step(
        SchemeState.AWAITING_SIGN_OFF,
        RETURN_VALUE(SchemeState.AWAITING_SIGN_OFF, SchemeState.AWAITING_QAG, SchemeState.APPROVED),
        "sign_off",
    )
    def sign_off(self, outcome, by=None, description=None):
        return outcome

    # QAG's approval, on the route that asks for it after the two sign-offs (qia.routes)
    @_step(
        SchemeState.AWAITING_QAG,
        RETURN_VALUE(SchemeState.APPROVED, SchemeState.DRAFT, SchemeState.REJECTED),
        "qag_approve",
    )
    def qag_approve(self, outcome, by=None, description=None):
        return outcome

    @_step(
        SchemeState.AWAITING_SIGN_OFF,
        RETURN_VALUE(SchemeState.DRAFT, SchemeState.REJECTED),
        "sign_off",
    )
    def decline_sign_off(self, outcome, by=None, description=None):
        return outcome

    # Delivery: the delivery services call these.
    @_step(SchemeState.APPROVED, SchemeState.IN_DELIVERY, "start_delivery")
    def start_delivery(self, by=None, description=None):
        pass

    @_step(SchemeState.IN_DELIVERY, SchemeState.COMPLETED, "complete")
    def complete(self, by=None, description=None):
        pass

    @_step(SchemeState.IN_DELIVERY, SchemeState.STOPPED, "stop")
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
    # Set when the reviewer recorded it as the deputy of someone away: "reviewer for on_behalf_of".
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
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
    EVIDENCE = "evidence", "Evidence of savings delivered"


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
