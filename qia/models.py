"""Quality Impact Assessment (DESIGN.md "Quality Impact Assessment").

One QIA per scheme, in numbered versions. Each version holds the project lead's
self-assessment, each panel member's own scores, the panel's agreed scores and overall risk,
the mitigating actions, the equality screening and the two sign-offs. Only the newest version
changes; older ones are kept as they were, read-only.

A version's status is a state machine of its own (logged like the scheme's): a first
assessment (`drives_scheme`) moves its scheme through qia_panel / awaiting_sign_off /
approved, a re-assessment goes through panel and sign-off while the scheme stays in delivery.
Call the transitions only through qia.services.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from governance.models import Profession, Scheme


class Heading(models.TextChoices):
    PATIENT_SAFETY = "patient_safety", "Patient safety"
    CLINICAL_EFFECTIVENESS = "clinical_effectiveness", "Clinical effectiveness"
    PATIENT_EXPERIENCE = "patient_experience", "Patient experience"
    ORGANISATIONAL_REPUTATION = "organisational_reputation", "Organisational reputation"
    EVIDENCE_BASE = "evidence_base", "Evidence base"
    RESOURCES = "resources", "Resources"


# The three quality (Darzi) domains, then the three contributory factors.
DOMAINS = [Heading.PATIENT_SAFETY, Heading.CLINICAL_EFFECTIVENESS, Heading.PATIENT_EXPERIENCE]
FACTORS = [Heading.ORGANISATIONAL_REPUTATION, Heading.EVIDENCE_BASE, Heading.RESOURCES]
HEADINGS = [*DOMAINS, *FACTORS]


class Impact(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NONE = "none", "None"
    NEGATIVE = "negative", "Negative"


CONSEQUENCES = [
    (1, "1 Negligible"),
    (2, "2 Minor"),
    (3, "3 Moderate"),
    (4, "4 Major"),
    (5, "5 Catastrophic"),
]
LIKELIHOODS = [
    (1, "1 Rare"),
    (2, "2 Unlikely"),
    (3, "3 Possible"),
    (4, "4 Likely"),
    (5, "5 Almost certain"),
]


class Band(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    EXTREME = "extreme", "Extreme"


# Every score the 5 x 5 matrix can give: 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 20, 25.
SCORES = sorted({c * lk for c in range(1, 6) for lk in range(1, 6)})


def risk_score(consequence: int, likelihood: int) -> int:
    return consequence * likelihood


def band_of(score: int | None) -> str | None:
    """The 5 x 5 NHS risk matrix: 1-3 low, 4-6 moderate, 8-12 high, 15-25 extreme."""
    if not score:
        return None
    if score <= 3:
        return Band.LOW
    if score <= 6:
        return Band.MODERATE
    if score <= 12:
        return Band.HIGH
    return Band.EXTREME


BAND_ORDER = [None, Band.LOW, Band.MODERATE, Band.HIGH, Band.EXTREME]


class Screening(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    NOT_KNOWN = "not_known", "Not known"


class VersionStatus(models.TextChoices):
    SELF_ASSESSMENT = "self_assessment", "Self-assessment"
    PANEL = "panel", "At panel"
    AWAITING_SIGN_OFF = "awaiting_sign_off", "Awaiting sign-off"
    SIGNED_OFF = "signed_off", "Signed off"
    RETURNED = "returned", "Returned for more detail"
    DISMISSED = "dismissed", "Dismissed on quality grounds"
    DECLINED = "declined", "Declined at sign-off"


IN_PROGRESS = [
    VersionStatus.SELF_ASSESSMENT,
    VersionStatus.PANEL,
    VersionStatus.AWAITING_SIGN_OFF,
]
# A version whose agreed risk stands: the heatmap and register show the newest of these.
AGREED = [VersionStatus.AWAITING_SIGN_OFF, VersionStatus.SIGNED_OFF]


class Capacity(models.TextChoices):
    CHIEF_NURSE = "chief_nurse", "Chief Nurse and Quality Officer"
    CLINICAL_CHAIR = "clinical_chair", "Clinical Chair"


class Route(models.TextChoices):
    """Who signs a first QIA off, as the organisation's route rules choose at submission."""

    TWO_SIGN_OFFS = "two_sign_offs", "Chief Nurse and Clinical Chair sign off"
    CHIEF_NURSE_ONLY = "chief_nurse_only", "The Chief Nurse alone signs off; QAG is told"
    QAG_APPROVAL = "qag_approval", "Chief Nurse and Clinical Chair sign off, then QAG approves"


def _pounds(amount) -> str:
    """£50,000, or £49.50 when there are pence."""
    return f"£{amount:,.2f}".removesuffix(".00")


class RouteRule(models.Model):
    """One of an organisation's rules for the sign-off route, set by an administrator. At
    submission the first active rule (lowest `order`) whose conditions all hold chooses the
    route; none holding, the scheme takes the usual route (two sign-offs)."""

    organisation = models.ForeignKey(
        "governance.Organisation", on_delete=models.CASCADE, related_name="route_rules"
    )
    name = models.CharField(
        max_length=200, help_text='How the scheme page names it: "Small schemes".'
    )
    order = models.PositiveIntegerField(
        default=1, help_text="Rules are tried lowest first; the first that holds chooses."
    )
    below = models.DecimalField(
        "net annual saving below (£)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Holds when the scheme's net saving in the year is below this. Empty: no limit.",
    )
    at_least = models.DecimalField(
        "net annual saving at least (£)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Holds when the net saving in the year is this or more. Empty: no limit.",
    )
    worst_risk = models.CharField(
        "QIA risk no worse than",
        max_length=10,
        choices=Band.choices,
        blank=True,
        help_text="Holds when the QIA's highest score is in this band or a lower one (the "
        "self-assessment at submission, the panel's agreed score once agreed). Empty: any.",
    )
    route = models.CharField(max_length=20, choices=Route.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organisation", "order", "id"]

    def __str__(self):
        return f"{self.organisation.code}: {self.name}"

    def clean(self):
        # A rule whose bounds no saving meets would sit in the list looking active, never
        # choosing a route. A negative bound is allowed: a scheme that invests more in the
        # year than it saves has a negative net saving.
        if self.below is not None and self.at_least is not None and self.below <= self.at_least:
            raise ValidationError(
                {
                    "below": f"No net saving is both at least {_pounds(self.at_least)} and "
                    f"below {_pounds(self.below)}, so this rule could never apply: make this "
                    f"more than {_pounds(self.at_least)}, or leave one of the two empty."
                }
            )


class Qia(models.Model):
    scheme = models.OneToOneField(Scheme, on_delete=models.CASCADE, related_name="qia")
    created_at = models.DateTimeField(auto_now_add=True)
    # The sign-off route of its first assessment, chosen at submission (qia.routes)
    route = models.CharField(max_length=20, choices=Route.choices, default=Route.TWO_SIGN_OFFS)
    route_rule = models.ForeignKey(
        RouteRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    route_reason = models.TextField(blank=True, help_text="Why this route, in words.")
    route_decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "QIA"
        verbose_name_plural = "QIAs"

    def __str__(self):
        return f"QIA of {self.scheme.reference}"

    def get_absolute_url(self):
        return reverse("qia_detail", args=[self.scheme_id])


def _permission(action: str):
    """The fsm `permission=` callable: the policy rule, asked for this version's scheme."""

    def check(instance, user) -> bool:
        from governance import policy

        return policy.refusal(action, user, instance.qia.scheme, version=instance) is None

    check.__name__ = f"may_{action}"
    return check


def eqia_path(instance, filename):
    return f"qia/{instance.qia.scheme_id}/v{instance.number}/{filename}"


class QiaVersion(ConcurrentTransitionMixin, models.Model):
    qia = models.ForeignKey(Qia, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = FSMField(
        max_length=30,
        choices=VersionStatus.choices,
        default=VersionStatus.SELF_ASSESSMENT,
        protected=True,
    )
    drives_scheme = models.BooleanField(
        default=True,
        help_text="A first assessment: its panel and sign-off move the scheme's own state. "
        "A re-assessment leaves the scheme in delivery.",
    )
    opened_reason = models.CharField(max_length=500, blank=True)
    # Bumped by every service write: a form carries the revision it was drawn from.
    revision = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # equality impact screening
    equality_impact = models.CharField(
        "affects a protected group or widens health inequalities",
        max_length=10,
        choices=Screening.choices,
        blank=True,
    )
    equality_rationale = models.TextField(max_length=5000, blank=True)
    eqia_document = models.FileField(
        "equality impact assessment", upload_to=eqia_path, max_length=300, blank=True
    )
    eqia_document_name = models.CharField(max_length=255, blank=True)
    eqia_content_type = models.CharField(max_length=100, blank=True)
    eqia_link = models.URLField("link to the equality impact assessment", blank=True)

    # the panel's outcome
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Set when the quality lead's deputy recorded the agreement for them (governance.deputies)
    agreed_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    agreed_at = models.DateTimeField(null=True, blank=True)
    overall_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(25)]
    )
    overall_justification = models.TextField(max_length=5000, blank=True)
    # The highest-scoring agreed heading, kept for the heatmap and the register.
    top_heading = models.CharField(max_length=30, choices=Heading.choices, blank=True)
    top_consequence = models.PositiveSmallIntegerField(null=True, blank=True)
    top_likelihood = models.PositiveSmallIntegerField(null=True, blank=True)
    top_score = models.PositiveSmallIntegerField(null=True, blank=True)
    closed_reason = models.TextField(
        max_length=5000, blank=True, help_text="Why the panel or a signatory returned it."
    )

    # sign-off
    signed_off_at = models.DateTimeField(null=True, blank=True)
    review_date = models.DateField(null=True, blank=True)
    plan_at_sign_off = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The scheme's annual plan when signed off, to spot a material change.",
    )

    class Meta:
        ordering = ["qia", "number"]
        verbose_name = "QIA version"
        constraints = [
            models.UniqueConstraint(fields=["qia", "number"], name="unique_qia_version_number")
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self):
        return f"{self.qia.scheme.reference} QIA v{self.number}"

    def get_absolute_url(self):
        return reverse("qia_version", args=[self.qia.scheme_id, self.number])

    @property
    def scheme(self) -> Scheme:
        return self.qia.scheme

    @property
    def overall_band(self) -> str | None:
        return band_of(self.overall_score)

    @property
    def highest_agreed_score(self) -> int | None:
        """The higher of the overall score and the top heading: what sign-off weighs."""
        return max(self.overall_score or 0, self.top_score or 0) or None

    @property
    def is_extreme(self) -> bool:
        return band_of(self.highest_agreed_score) == Band.EXTREME

    @property
    def needs_eqia(self) -> bool:
        return self.equality_impact in (Screening.YES, Screening.NOT_KNOWN)

    @property
    def has_eqia(self) -> bool:
        return bool(self.eqia_document or self.eqia_link)

    # --- the version's own workflow ---
    @fsm_log_by
    @fsm_log_description
    @transition(
        field=status,
        source=VersionStatus.SELF_ASSESSMENT,
        target=VersionStatus.PANEL,
        permission=_permission("qia_send_to_panel"),
    )
    def send_to_panel(self, by=None, description=None):
        pass

    # A first assessment is "at panel" while its scheme is: it may still say self-assessment.
    @fsm_log_by
    @fsm_log_description
    @transition(
        field=status,
        source=[VersionStatus.SELF_ASSESSMENT, VersionStatus.PANEL],
        target=VersionStatus.AWAITING_SIGN_OFF,
        permission=_permission("panel_decide"),
    )
    def agree(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=status,
        source=[VersionStatus.SELF_ASSESSMENT, VersionStatus.PANEL],
        target=VersionStatus.RETURNED,
        permission=_permission("panel_decide"),
    )
    def panel_return(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=status,
        source=[VersionStatus.SELF_ASSESSMENT, VersionStatus.PANEL],
        target=VersionStatus.DISMISSED,
        permission=_permission("panel_decide"),
    )
    def dismiss(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=status,
        source=VersionStatus.AWAITING_SIGN_OFF,
        target=RETURN_VALUE(VersionStatus.AWAITING_SIGN_OFF, VersionStatus.SIGNED_OFF),
        permission=_permission("sign_off"),
    )
    def sign_off(self, outcome, by=None, description=None):
        return outcome

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=status,
        source=VersionStatus.AWAITING_SIGN_OFF,
        target=RETURN_VALUE(VersionStatus.RETURNED, VersionStatus.DECLINED),
        permission=_permission("sign_off"),
    )
    def decline(self, outcome, by=None, description=None):
        return outcome


class ScoredHeading(models.Model):
    """Impact on one heading; consequence and likelihood only when the impact is negative."""

    heading = models.CharField(max_length=30, choices=Heading.choices)
    impact = models.CharField(max_length=10, choices=Impact.choices, blank=True)
    consequence = models.PositiveSmallIntegerField(
        choices=CONSEQUENCES,
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    likelihood = models.PositiveSmallIntegerField(
        choices=LIKELIHOODS,
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    rationale = models.TextField(max_length=5000, blank=True)

    class Meta:
        abstract = True

    @property
    def score(self) -> int | None:
        if self.impact == Impact.NEGATIVE and self.consequence and self.likelihood:
            return risk_score(self.consequence, self.likelihood)
        return None

    @property
    def band(self) -> str | None:
        return band_of(self.score)

    @property
    def problems(self) -> list[str]:
        """What is missing for this heading to count as answered."""
        label = Heading(self.heading).label
        if not self.impact:
            return [f"{label}: choose the impact."]
        found = []
        if self.impact == Impact.NEGATIVE:
            if not (self.consequence and self.likelihood):
                found.append(f"{label}: score the consequence and likelihood.")
            if not self.rationale.strip():
                found.append(f"{label}: give the rationale for the negative impact.")
        return found


class AssessmentKind(models.TextChoices):
    SELF = "self", "Self-assessment"
    AGREED = "agreed", "Agreed by the panel"


class Assessment(ScoredHeading):
    """The project lead's self-assessment or the panel's agreed score for one heading."""

    version = models.ForeignKey(QiaVersion, on_delete=models.CASCADE, related_name="assessments")
    kind = models.CharField(max_length=10, choices=AssessmentKind.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["version", "kind", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "kind", "heading"], name="one_assessment_per_heading"
            ),
            models.CheckConstraint(
                condition=Q(impact="negative")
                | (Q(consequence__isnull=True) & Q(likelihood__isnull=True)),
                name="assessment_scored_only_when_negative",
            ),
        ]

    def __str__(self):
        return f"{self.version} {self.get_kind_display()}: {self.get_heading_display()}"


class PanelScore(ScoredHeading):
    """One panel member's own score for one heading of one version: once each."""

    version = models.ForeignKey(QiaVersion, on_delete=models.CASCADE, related_name="panel_scores")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="qia_scores"
    )
    profession = models.CharField(
        max_length=30,
        choices=Profession.choices,
        blank=True,
        help_text="The member's profession when they scored.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "member", "heading"], name="one_panel_score_per_member_heading"
            ),
            models.CheckConstraint(
                condition=Q(impact="negative")
                | (Q(consequence__isnull=True) & Q(likelihood__isnull=True)),
                name="panel_score_scored_only_when_negative",
            ),
        ]

    def __str__(self):
        return f"{self.version} {self.member}: {self.get_heading_display()}"


class MitigationStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class Mitigation(models.Model):
    version = models.ForeignKey(QiaVersion, on_delete=models.CASCADE, related_name="mitigations")
    heading = models.CharField(max_length=30, choices=Heading.choices)
    description = models.TextField(max_length=2000)
    owner = models.CharField(max_length=200, help_text="Who will do it: a name or a role.")
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=MitigationStatus.choices, default=MitigationStatus.PLANNED
    )

    class Meta:
        ordering = ["version", "id"]

    def __str__(self):
        return f"{self.get_heading_display()}: {self.description[:50]}"


class SignOffDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class SignOff(models.Model):
    version = models.ForeignKey(QiaVersion, on_delete=models.CASCADE, related_name="sign_offs")
    capacity = models.CharField(max_length=20, choices=Capacity.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Set when `by` signed as the deputy of someone away: both count as having signed.
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(auto_now_add=True)
    decision = models.CharField(max_length=10, choices=SignOffDecision.choices)
    comment = models.TextField(max_length=5000)
    justification = models.TextField(
        max_length=5000, blank=True, help_text="Why an extreme risk is accepted."
    )

    class Meta:
        ordering = ["version", "at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "capacity"], name="one_sign_off_per_capacity"
            ),
            models.UniqueConstraint(fields=["version", "by"], name="one_sign_off_per_person"),
        ]

    def __str__(self):
        return f"{self.version}: {self.get_capacity_display()} {self.get_decision_display()}"


class FlagKind(models.TextChoices):
    EXTREME = "extreme", "Extreme risk signed off"
    DISMISSED = "dismissed", "Re-assessment dismissed on quality grounds"
    DECLINED = "declined", "Re-assessment declined at sign-off"


class QagFlag(models.Model):
    """A QIA matter for the QIPP Assurance Group: listed on the QIA page and for QAG."""

    version = models.ForeignKey(QiaVersion, on_delete=models.CASCADE, related_name="flags")
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="qia_flags")
    kind = models.CharField(max_length=20, choices=FlagKind.choices)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.TextField(max_length=10000, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "kind"], name="one_flag_per_version_kind")
        ]

    def __str__(self):
        return f"{self.version}: {self.get_kind_display()}"


class ConditionSource(models.TextChoices):
    SIGN_OFF = "sign_off", "QIA sign-off"
    QAG_APPROVAL = "qag_approval", "QAG approval"


class Condition(models.Model):
    """A condition an approval was given on: its owner meets it by its due date, with
    evidence; one overdue is escalated like a late return."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="conditions")
    source = models.CharField(max_length=20, choices=ConditionSource.choices)
    text = models.TextField("condition", max_length=2000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conditions_owned"
    )
    due_on = models.DateField("due by")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)
    met_at = models.DateTimeField(null=True, blank=True)
    met_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    evidence = models.TextField(max_length=5000, blank=True)
    evidence_link = models.URLField(max_length=500, blank=True)
    # bumped by every write, so that two people marking it met at once cannot both succeed
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["owner", "met_at"])]

    def __str__(self):
        return f"{self.scheme.reference}: {self.text[:60]}"

    @property
    def is_met(self) -> bool:
        return self.met_at is not None
