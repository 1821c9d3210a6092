"""An import run on a worker, started from the upload page: its progress and its outcome."""

import csv
import io
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import timezone

from governance.importers import importing
from governance.importers.tables import ImportResult
from governance.models import ImportRun, ImportStatus
from governance.text import BYTE_ORDER_MARK, spreadsheet_text

logger = logging.getLogger("qipp.governance")


# The errors a page lists; all of them are in a CSV to download.
ERRORS_SHOWN = 200
PROGRESS_KEY = "import-run-{}"


def progress_of(run_id: int) -> dict | None:
    """How far a run's check has got, as its worker last said (None when nothing is known:
    not started, or the cache cannot be reached)."""
    try:
        return cache.get(PROGRESS_KEY.format(run_id))
    except Exception:  # noqa: BLE001 - a cache that cannot be reached knows nothing
        return None


def tell_progress(run_id: int) -> Callable[[dict], None]:
    """A function the import calls as its check goes on: it keeps the progress in the cache
    for the run's page (progress_of)."""

    def tell(progress: dict) -> None:
        try:
            cache.set(PROGRESS_KEY.format(run_id), progress, timeout=3600)
        except Exception:  # noqa: BLE001 - the page shows less, the import goes on
            logger.debug("could not note the progress of import run %s", run_id, exc_info=True)

    return tell


def run_import(run_id: int) -> str:
    """Check and import the file of an ImportRun, once: claim it, import it (all or nothing)
    and record what was committed, or every problem found."""
    now = timezone.now()
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=now
    )
    if not claimed:
        return "another worker got there first, or it has run"
    run = ImportRun.objects.select_related("by").get(pk=run_id)
    try:
        with run.file.open("rb") as handle:
            result = importing.import_file(
                run.kind,
                handle,
                name=run.name,
                by=run.by,
                create_missing=run.create_missing,
                organisation_ids=set(run.organisation_ids),
                progress=tell_progress(run.pk),
            )
    except Exception:
        # nothing was committed: the import's transaction rolled back with the error
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED, finished_at=timezone.now()
        )
        raise
    run.finished_at = timezone.now()
    run.error_count = len(result.errors)
    run.first_errors = [str(error) for error in result.errors[:ERRORS_SHOWN]]
    if result.ok:
        run.status, run.summary = ImportStatus.DONE, result.summary()
    else:
        run.status = ImportStatus.REFUSED
        if len(result.errors) > ERRORS_SHOWN:
            run.all_errors.save(f"{Path(run.name).stem}-errors.csv", _errors_csv(result), False)
    run.save()
    return run.get_status_display()


def _errors_csv(result: ImportResult) -> ContentFile:
    out = io.StringIO()
    out.write(BYTE_ORDER_MARK)
    writer = csv.writer(out)
    writer.writerow(["row", "problem"])
    for error in result.errors:
        writer.writerow([error.row or "", spreadsheet_text(error.message)])
    return ContentFile(out.getvalue().encode("utf-8"))


def waiting_imports(*, older_than_seconds: int) -> list[int]:
    """The runs still waiting for a worker after that long (the broker was down when they
    were uploaded): to hand to a worker again."""
    before = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        ImportRun.objects.filter(status=ImportStatus.QUEUED, created_at__lt=before).values_list(
            "pk", flat=True
        )
    )
