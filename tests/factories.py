"""factory_boy factories for the governance models.

`SchemeFactory` writes the row directly, so a test can start from any state; a test about
creating a PID goes through `governance.services.scheme_create` instead. Users take their
roles and organisations after creation:

    UserFactory(roles=[roles.FINANCE_REVIEWER], organisations=[elr])
"""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db.models import Max

from governance import roles as role_names
from governance.models import (
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    Organisation,
    ProgrammeArea,
    Review,
    ReviewDecision,
    ReviewKind,
    Scheme,
    SchemeDocument,
    SchemeState,
    SchemeType,
    System,
    User,
)

# A typical profile: nothing while the new pathway beds in, then a steady saving that grows
# as referrals move across. £180,000 over the year, in pence-exact amounts.
REALISTIC_PLAN = [
    Decimal(amount)
    for amount in (
        "0.00",
        "0.00",
        "7500.00",
        "12500.00",
        "15000.00",
        "17500.00",
        "18750.50",
        "20000.00",
        "21249.50",
        "22500.00",
        "22500.00",
        "22500.00",
    )
]


def plan(amounts) -> dict[str, Decimal]:
    """The twelve plan fields from twelve amounts: `SchemeFactory(**plan([...]))`."""
    amounts = [Decimal(str(amount)) for amount in amounts]
    if len(amounts) != len(PLAN_FIELDS):
        raise ValueError("a plan has twelve months")
    return dict(zip(PLAN_FIELDS, amounts, strict=True))


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = System
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SYS{n}")
    name = factory.LazyAttribute(lambda o: f"{o.code} integrated care system")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ORG{n}")
    name = factory.LazyAttribute(lambda o: f"{o.code} CCG")
    system = factory.SubFactory(SystemFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.nhs.uk")
    first_name = factory.LazyAttribute(lambda o: o.username.split("-")[0].upper())
    last_name = factory.LazyAttribute(lambda o: " ".join(o.username.split("-")[1:]).title())
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        """Group names, e.g. [roles.PROJECT_LEAD]."""
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))
            missing = set(extracted) - set(role_names.ALL)
            if missing:
                raise ValueError(f"not a role: {', '.join(sorted(missing))}")

    @factory.post_generation
    def organisations(self, create, extracted, **kwargs):
        if create and extracted:
            self.organisations.add(*extracted)


class FinancialYearFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FinancialYear
        django_get_or_create = ("start_year",)

    start_year = 2019


class ProgrammeAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgrammeArea
        django_get_or_create = ("name",)

    name = "Planned Care"


class AreaOfSpendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AreaOfSpend
        django_get_or_create = ("name",)

    name = "Elective Care"


def _member(role: str, organisation: str):
    """A new user holding `role` in the organisation found at `organisation` (an attribute
    path from the object being built), when the test names nobody."""

    def make(o):
        target = o
        for part in organisation.split("."):
            target = getattr(target, part)
        return UserFactory(roles=[role], organisations=[target])

    return factory.LazyAttribute(make)


class SchemeFactory(factory.django.DjangoModelFactory):
    """A scheme written straight into the database, in `state` (draft unless told)."""

    class Meta:
        model = Scheme
        exclude = ("monthly_plan",)

    organisation = factory.SubFactory(OrganisationFactory)
    financial_year = factory.SubFactory(FinancialYearFactory)
    programme_area = factory.SubFactory(ProgrammeAreaFactory)
    area_of_spend = factory.SubFactory(AreaOfSpendFactory)
    sequence = factory.LazyAttribute(
        lambda o: (
            1
            + (
                Scheme.objects.filter(
                    organisation=o.organisation, financial_year=o.financial_year
                ).aggregate(top=Max("sequence"))["top"]
                or 0
            )
        )
    )
    reference = factory.LazyAttribute(
        lambda o: f"{o.organisation.code}-{o.financial_year.code}-{o.sequence:03d}"
    )
    title = factory.Sequence(lambda n: f"Outpatient follow-up reduction {n}")
    description = "Replace routine outpatient follow-ups with patient-initiated follow-up."
    scheme_type = SchemeType.TRANSFORMATIONAL
    project_lead = _member(role_names.PROJECT_LEAD, "organisation")
    sro = _member(role_names.SRO, "organisation")
    created_by = factory.SelfAttribute("project_lead")
    start_date = factory.LazyAttribute(lambda o: date(o.financial_year.start_year, 4, 1))
    state = SchemeState.DRAFT  # set on creation only: the field is protected afterwards
    submission_round = factory.LazyAttribute(lambda o: 0 if o.state == SchemeState.DRAFT else 1)

    monthly_plan = REALISTIC_PLAN
    plan_m01 = factory.LazyAttribute(lambda o: o.monthly_plan[0])
    plan_m02 = factory.LazyAttribute(lambda o: o.monthly_plan[1])
    plan_m03 = factory.LazyAttribute(lambda o: o.monthly_plan[2])
    plan_m04 = factory.LazyAttribute(lambda o: o.monthly_plan[3])
    plan_m05 = factory.LazyAttribute(lambda o: o.monthly_plan[4])
    plan_m06 = factory.LazyAttribute(lambda o: o.monthly_plan[5])
    plan_m07 = factory.LazyAttribute(lambda o: o.monthly_plan[6])
    plan_m08 = factory.LazyAttribute(lambda o: o.monthly_plan[7])
    plan_m09 = factory.LazyAttribute(lambda o: o.monthly_plan[8])
    plan_m10 = factory.LazyAttribute(lambda o: o.monthly_plan[9])
    plan_m11 = factory.LazyAttribute(lambda o: o.monthly_plan[10])
    plan_m12 = factory.LazyAttribute(lambda o: o.monthly_plan[11])


class ReviewFactory(factory.django.DjangoModelFactory):
    """A confirm-and-challenge review of the scheme's current submission."""

    class Meta:
        model = Review

    scheme = factory.SubFactory(SchemeFactory, state=SchemeState.CONFIRM_AND_CHALLENGE)
    kind = ReviewKind.FINANCE
    round = factory.SelfAttribute("scheme.submission_round")
    reviewer = factory.Maybe(
        factory.LazyAttribute(lambda o: o.kind == ReviewKind.FINANCE),
        yes_declaration=_member(role_names.FINANCE_REVIEWER, "scheme.organisation"),
        no_declaration=_member(role_names.CLINICAL_REVIEWER, "scheme.organisation"),
    )
    decision = ReviewDecision.SUPPORTED
    comment = "The baseline and the activity assumptions are evidenced."


def complete_self_assessment(scheme: Scheme):
    """The project lead's QIA self-assessment, complete, as submitting the PID needs it.

    Through the qia service: no change to the scheme itself, its version or its history.
    """
    from qia.models import HEADINGS, Impact, Screening
    from qia.services import self_assessment_save

    impacts = {heading: {"impact": Impact.NONE} for heading in HEADINGS}
    impacts["patient_experience"] = {
        "impact": Impact.POSITIVE,
        "rationale": "Patients book a follow-up when they need one, not by the calendar.",
    }
    return self_assessment_save(
        scheme_id=scheme.pk,
        by=scheme.project_lead,
        headings=impacts,
        equality_impact=Screening.NO,
        equality_rationale="Open to every patient of the clinics; telephone booking kept.",
    )


def add_document(scheme, by, name: str = "baseline.pdf") -> SchemeDocument:
    """A PDF attached to the scheme, as an upload on the scheme page stores it."""
    content = b"%PDF-1.4 demo\n"
    document = SchemeDocument(
        scheme=scheme,
        kind="supporting",
        original_name=name,
        content_type="application/pdf",
        size=len(content),
        uploaded_by=by,
    )
    document.file.save(name, ContentFile(content), save=False)
    document.save()
    return document
