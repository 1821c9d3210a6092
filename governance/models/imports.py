"""An import run: a file uploaded to be checked and imported on a worker."""

from django.conf import settings
from django.db import models
from django.urls import reverse


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
