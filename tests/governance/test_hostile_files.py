"""Files made to exhaust the server's memory (tests/data/hostile/, made by make.py there) are
refused with a reason, quickly and in little memory, on the document upload and the import."""

import csv
import html
import io
import time
import tracemalloc
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from governance import importers
from governance.models import SchemeDocument, SchemeState

pytestmark = pytest.mark.django_db

HOSTILE = Path(__file__).resolve().parent.parent / "data" / "hostile"
# far below what the originals took (2 GB and more): what reading a small file may cost
MOST_MEMORY = 64 * 1024 * 1024


def text(response) -> str:
    return html.unescape(response.content.decode())


def costs(work):
    """work()'s answer, the most memory Python held meanwhile, and the seconds it took."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = work()
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak, time.monotonic() - started


def test_an_odt_whose_mimetype_inflates_to_64_mb_is_refused_in_little_memory(
    client, people, make_scheme
):
    scheme = make_scheme(SchemeState.DRAFT)
    client.force_login(people["elr-project-lead"])
    bomb = (HOSTILE / "mimetype-bomb.odt").read_bytes()
    upload = SimpleUploadedFile("notes.odt", bomb, content_type="application/octet-stream")
    url = reverse("document_upload", args=[scheme.pk])

    response, peak, _seconds = costs(
        lambda: client.post(url, {"kind": "supporting", "file": upload}, follow=True)
    )

    assert "is longer than any real one: it cannot be read" in text(response)
    assert peak < MOST_MEMORY, f"{peak / 2**20:.0f} MB"
    assert not SchemeDocument.objects.exists()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("far-cell.xlsx", "The file has more than 200,000 rows: split it into smaller files"),
        # 300,000 empty rows pack so well that the archive's check refuses them first
        ("empty-rows.xlsx", "The file is packed in a way no spreadsheet or document is"),
        ("packed-sheet.xlsx", "The file is packed in a way no spreadsheet or document is"),
    ],
)
def test_a_workbook_made_to_exhaust_memory_is_refused_on_the_import_page(
    client, people, name, reason
):
    client.force_login(people["elr-pmo"])
    upload = SimpleUploadedFile(name, (HOSTILE / name).read_bytes())

    def import_it():
        with TestCase.captureOnCommitCallbacks(execute=True):  # the worker, in-process
            posted = client.post(reverse("import_upload"), {"kind": "returns", "file": upload})
        return client.get(posted["Location"])

    response, peak, seconds = costs(import_it)

    assert response.status_code == 200
    assert reason in text(response) and "Nothing was imported" in text(response)
    assert peak < MOST_MEMORY, f"{peak / 2**20:.0f} MB"
    assert seconds < 20


def test_a_csv_of_too_many_rows_is_refused_with_the_reason(people):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "month", "actual"])
    writer.writerows([["ELR-1920-001", "1", "1"]] * 200_001)

    result = importers.import_file(
        "returns", io.BytesIO(out.getvalue().encode()), name="returns.csv", by=people["elr-pmo"]
    )

    assert [str(e) for e in result.errors] == [
        "The file has more than 200,000 rows: split it into smaller files and import each."
    ]


def test_a_row_reaching_beyond_a_hundred_columns_is_refused(people):
    data = "reference,month,actual\n" + "ELR-1920-001,1,1" + "," * 150 + "x\n"

    result = importers.import_file(
        "returns", io.BytesIO(data.encode()), name="returns.csv", by=people["elr-pmo"]
    )

    assert [str(e) for e in result.errors] == [
        "Row 2 has a value in column 153: the file may have at most 100 columns. Remove what "
        "lies beyond the table."
    ]


def test_a_request_larger_than_the_limit_is_refused_before_it_is_read(client, people):
    client.force_login(people["elr-pmo"])

    response = client.post(
        reverse("import_upload"), {"kind": "returns"}, CONTENT_LENGTH=str(30 * 1024 * 1024)
    )

    assert response.status_code == 413
    assert "larger than 25 MB" in text(response) and "Nothing was saved" in text(response)
