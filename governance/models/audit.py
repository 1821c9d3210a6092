"""The log of audit exports: who took which part of the audit trail away, and when."""

from django.conf import settings
from django.db import models


class AuditExport(models.Model):
    """One download of the audit export (issue 21), written as the file is made: the export
    holds other people's decisions and refusals, so taking it is itself on record."""

    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    # the codes as they were when exported: an organisation renamed later must not change
    # what this record says was taken
    organisations = models.JSONField(default=list, help_text="The organisations' codes.")
    date_from = models.DateField()
    date_to = models.DateField()
    kinds = models.JSONField(default=list, help_text="What the file includes.")
    format = models.CharField(max_length=10)
    rows = models.PositiveIntegerField(help_text="How many rows the file holds.")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.by} {self.format} ({self.rows} rows)"
