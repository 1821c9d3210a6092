"""A scheme's monthly return: what it delivered in a month, then assured by the PMO."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from governance.models.schemes import Scheme


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
    # Why the PMO assured a value other than the actual, and what backs the value assured
    assured_reason = models.TextField(
        "reason for the assured value",
        max_length=5000,
        blank=True,
        help_text="Required when the assured value differs from the actual.",
    )
    assured_link = models.URLField(
        "evidence link", max_length=500, blank=True, help_text="A link to the evidence."
    )
    assured_document = models.ForeignKey(
        "governance.SchemeDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="evidence document",
    )

    class Meta:
        # by the scheme's id, not its own ordering: that joined three tables to every query
        # of returns, for an order nothing needs
        ordering = ["scheme_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "month"], name="one_return_per_month")
        ]

    def __str__(self):
        return f"{self.scheme.reference} month {self.month}"
