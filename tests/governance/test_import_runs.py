"""An upload is imported on a worker: the page answers at once and follows the import, lists
the first problems and offers all of them as a CSV, and says what was committed."""

import csv
import io
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from governance import importers, tasks
from governance.importers import runs
from governance.models import AccessRefusal, ImportRun, ImportStatus, QippTarget
from tests.governance import delivery_fixtures

people = delivery_fixtures.people  # the world with the delivery tests' extra people

pytestmark = pytest.mark.django_db

TARGETS = b"organisation,financial_year,requirement\nELR,2019/20,20000000\n"


def returns_with_bad_references(rows: int) -> bytes:
    lines = ["reference,month,actual"] + [f"ELR-1920-{n:06d},1,10" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def queued(people):
    """A worker that has not started yet: what the upload hands it is noted, not run."""
    with mock.patch.object(tasks.run_import, "delay") as delay:
        yield delay


def upload(client, user, kind: str, content: bytes, name: str = "file.csv"):
    client.force_login(user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("import_upload"), {"kind": kind, "file": SimpleUploadedFile(name, content)}
        )


def test_the_upload_answers_at_once_and_the_page_follows_the_import(client, people, queued):
    posted = upload(client, people["elr-pmo"], "targets", TARGETS)

    run = ImportRun.objects.get()
    assert posted.status_code == 302 and posted["Location"] == run.get_absolute_url()
    queued.assert_called_once_with(run.pk)  # handed to a worker, after the commit
    waiting = client.get(run.get_absolute_url()).content.decode()
    assert "Waiting for a worker to start on it." in waiting
    assert '<meta http-equiv="refresh" content="3">' in waiting
    assert not QippTarget.objects.exists()

    runs.tell_progress(run.pk)({"rows": 1000, "checked": 500, "errors": 3})
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.RUNNING)
    checking = client.get(run.get_absolute_url()).content.decode()
    assert "500 of 1000 rows checked; 3 problems found so far." in checking

    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.QUEUED)
    tasks.run_import(run.pk)  # the worker
    done = client.get(run.get_absolute_url()).content.decode()
    assert "file.csv: Imported targets: 1 created, 0 updated, 0 unchanged." in done
    assert "refresh" not in done
    assert QippTarget.objects.count() == 1
    assert tasks.run_import(run.pk) == "another worker got there first, or it has run"


def test_a_file_of_many_errors_lists_the_first_200_and_offers_all_as_a_csv(client, people):
    page = client.get(
        upload(client, people["elr-pmo"], "returns", returns_with_bad_references(5000))["Location"]
    )

    body = page.content.decode()
    assert "Nothing was imported: 5000 problems to fix in the file" in body
    assert body.count("<li>row ") == 200 and "And 4800 more" in body
    assert len(page.content) < 100_000  # not one line per problem
    run = ImportRun.objects.get()
    download = client.get(reverse("import_run_errors", args=[run.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert rows[0] == ["row", "problem"] and len(rows) == 5001
    assert rows[-1] == ["5001", "no scheme has the reference 'ELR-1920-004999'"]


def test_only_who_uploaded_an_import_and_staff_follow_it(client, people):
    upload(client, people["elr-pmo"], "targets", TARGETS)
    run = ImportRun.objects.get()

    for who in ("elr-pmo-2", "wl-pmo", "elr-viewer"):
        other = Client()
        other.force_login(people[who])
        assert other.get(run.get_absolute_url()).status_code == 403
    staff = people["elr-viewer"]
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    assert client.get(run.get_absolute_url()).status_code == 200
    assert AccessRefusal.objects.filter(action="import_run").count() == 3


def test_an_upload_while_the_broker_is_down_is_imported_by_the_next_beat(client, people):
    with mock.patch.object(tasks.run_import, "delay", side_effect=OSError("broker down")):
        posted = upload(client, people["elr-pmo"], "targets", TARGETS)
    run = ImportRun.objects.get()
    assert posted.status_code == 302 and run.status == ImportStatus.QUEUED

    ImportRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert tasks.start_waiting_imports() == 1  # in-process here: the import runs

    run.refresh_from_db()
    assert run.status == ImportStatus.DONE and QippTarget.objects.count() == 1


def test_an_import_stopped_by_a_fault_says_nothing_was_imported(client, people):
    broken = mock.Mock(side_effect=RuntimeError("a bug"))
    with mock.patch.dict(importers.IMPORTERS, {"targets": broken}):
        posted = upload(client, people["elr-pmo"], "targets", TARGETS)

    run = ImportRun.objects.get()
    assert posted.status_code == 302  # to the run's page, not an error page
    assert run.status == ImportStatus.FAILED and not QippTarget.objects.exists()
    page = client.get(run.get_absolute_url()).content.decode()
    assert "stopped on an error of the server, so nothing was imported" in page
