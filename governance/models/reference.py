"""Reference data: financial years and their months, programme areas, areas of spend, and the
QIPP target of an organisation for a year."""

import re
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from governance.models.people import Organisation

MONTHS = range(1, 13)
PLAN_FIELDS = [f"plan_m{m:02d}" for m in MONTHS]
# Twelve months of plan for a single scheme above a billion pounds is a typing error.
MAX_MONTHLY_AMOUNT = Decimal("999999999.99")
MONTH_NAMES = ["Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar"]


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


class NamedIgnoringCase:
    """A row known by its name, which is unique ignoring capitals: the plans import finds
    programme areas and areas of spend that way (importers.cells.Lookups), so "chc" beside
    "CHC" would move schemes from one to the other."""

    def validate_constraints(self, exclude=None):
        # The name is the only field a constraint covers: show the refusal under it, not
        # above the form.
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            raise ValidationError({"name": error.messages}) from error


class ProgrammeArea(NamedIgnoringCase, models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="programme_area_name_ignoring_case",
                violation_error_message="A programme area with this name already exists "
                "(names are compared ignoring capitals).",
            )
        ]

    def __str__(self):
        return self.name


class AreaOfSpend(NamedIgnoringCase, models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "areas of spend"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="area_of_spend_name_ignoring_case",
                violation_error_message="An area of spend with this name already exists "
                "(names are compared ignoring capitals).",
            )
        ]

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
