"""The pipeline before and around the PIDs: opportunities (ideas not yet written up as a PID)
and the weight each stage of the pipeline carries in the risk-weighted identified QIPP."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from governance.models.people import Organisation, System
from governance.models.reference import (
    MAX_MONTHLY_AMOUNT,
    AreaOfSpend,
    FinancialYear,
    ProgrammeArea,
)
from governance.models.schemes import Scheme
from governance.states import SchemeState


class PipelineStage(models.TextChoices):
    OPPORTUNITY = "opportunity", "Opportunity"
    DEVELOPMENT = "development", "PID in development"
    ASSURANCE = "assurance", "In confirm and challenge, QIA or sign-off"
    APPROVED = "approved", "Approved"
    DELIVERY = "delivery", "In delivery"


# Where a scheme's state puts it in the pipeline. Rejected and withdrawn schemes are out of it.
STAGE_OF_STATE = {
    SchemeState.DRAFT: PipelineStage.DEVELOPMENT,
    SchemeState.CONFIRM_AND_CHALLENGE: PipelineStage.ASSURANCE,
    SchemeState.QIA_PANEL: PipelineStage.ASSURANCE,
    SchemeState.AWAITING_SIGN_OFF: PipelineStage.ASSURANCE,
    SchemeState.AWAITING_QAG: PipelineStage.ASSURANCE,
    SchemeState.APPROVED: PipelineStage.APPROVED,
    SchemeState.IN_DELIVERY: PipelineStage.DELIVERY,
    SchemeState.COMPLETED: PipelineStage.DELIVERY,
    SchemeState.STOPPED: PipelineStage.DELIVERY,
}

# The weights a system starts with until its admin sets its own (StageWeight): a place to
# start, in percent of the stage's value counted as likely to be saved.
DEFAULT_WEIGHTS = {
    PipelineStage.OPPORTUNITY: Decimal("10"),
    PipelineStage.DEVELOPMENT: Decimal("25"),
    PipelineStage.ASSURANCE: Decimal("50"),
    PipelineStage.APPROVED: Decimal("75"),
    PipelineStage.DELIVERY: Decimal("100"),
}


class StageWeight(models.Model):
    """A system's weight for one stage of the pipeline, set by its admin."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="stage_weights")
    stage = models.CharField(max_length=20, choices=PipelineStage.choices)
    weight_percent = models.DecimalField(
        "weight (%)",
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="The share of the stage's value counted in the risk-weighted pipeline.",
    )

    class Meta:
        ordering = ["system", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["system", "stage"], name="one_weight_per_stage")
        ]

    def __str__(self):
        return f"{self.system.code} {self.get_stage_display()}: {self.weight_percent}%"


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    CONVERTED = "converted", "Written up as a PID"
    CLOSED = "closed", "Closed"


class Opportunity(models.Model):
    """An idea for a saving before anyone writes its PID: what, where, roughly how much, whose."""

    reference = models.CharField(max_length=30, unique=True, editable=False)
    sequence = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=10000, blank=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="opportunities"
    )
    financial_year = models.ForeignKey(
        FinancialYear, on_delete=models.PROTECT, related_name="opportunities"
    )
    programme_area = models.ForeignKey(ProgrammeArea, on_delete=models.PROTECT)
    area_of_spend = models.ForeignKey(AreaOfSpend, on_delete=models.PROTECT, null=True, blank=True)
    estimated_saving = models.DecimalField(
        "estimated saving in the year",
        max_digits=13,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_MONTHLY_AMOUNT)],
        help_text="A first estimate, in pounds: the PID gives the plan month by month.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities"
    )
    status = models.CharField(
        max_length=20, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    closed_reason = models.TextField(max_length=5000, blank=True)
    # the PID it became, once written up
    scheme = models.OneToOneField(
        Scheme,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opportunity",
        editable=False,
    )
    # bumped by every write: a form carries the version it was drawn from (no lost update)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organisation__code", "sequence"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "financial_year", "sequence"],
                name="one_opportunity_number_per_organisation_year",
            )
        ]

    def __str__(self):
        return f"{self.reference} {self.title}"


class OpportunityEvent(models.Model):
    """One entry of an opportunity's history: created, changed, closed, written up as a PID.
    The scheme it becomes shows these as the start of its own history."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    what = models.CharField(max_length=200)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.opportunity.reference}: {self.what}"
