"""What an import says when the file is not what it seems: a workbook named .csv, a file with
headers and no rows; and what a committed targets import says it did."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse
from openpyxl import Workbook

from governance.models import QippTarget
from tests.pages import visible

pytestmark = pytest.mark.django_db


def failed_import(kind: str, path) -> tuple[list[str], str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("qipp_import", kind, str(path), stdout=io.StringIO(), stderr=err)
    return err.getvalue().splitlines(), str(refused.value)


def workbook_bytes() -> bytes:
    book = Workbook()
    book.active.append(["reference", "month", "actual"])
    book.active.append(["ELR-1920-001", 5, 1000])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_workbook_renamed_csv_is_named_for_what_it_is(llr, tmp_path):
    path = tmp_path / "returns.csv"
    path.write_bytes(workbook_bytes())

    errors, message = failed_import("returns", path)

    assert errors == [
        "This looks like an Excel workbook: save it as .xlsx (or export it as CSV) and "
        "upload again."
    ]
    assert message == "1 error in returns.csv: nothing was imported."


@pytest.mark.parametrize("kind", ["targets", "plans", "returns"])
def test_a_file_of_headers_only_says_it_has_no_rows_and_imports_nothing(llr, tmp_path, kind):
    header = {
        "targets": "organisation,financial_year,requirement",
        "plans": "reference,title,organisation,financial_year,programme_area,area_of_spend,"
        "scheme_type,recovery," + ",".join(f"plan_m{m:02d}" for m in range(1, 13)),
        "returns": "reference,month,actual",
    }[kind]
    path = tmp_path / f"{kind}.csv"
    path.write_text(header + "\n,,\n")

    errors, message = failed_import(kind, path)

    assert errors == ["The file has its headers but no rows under them: nothing was imported."]
    assert "nothing was imported" in message


def upload(client, user, kind: str, content: str):
    client.force_login(user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        posted = client.post(
            reverse("import_upload"),
            {"kind": kind, "file": SimpleUploadedFile(f"{kind}.csv", content.encode())},
        )
    return visible(client.get(posted["Location"]))


def test_a_targets_import_does_not_speak_of_schemes_history(client, people):
    page = upload(
        client,
        people["elr-pmo"],
        "targets",
        "organisation,financial_year,requirement\nELR,2019/20,1000000\n",
    )

    assert "targets.csv: Imported targets: 1 created, 0 updated, 0 unchanged." in page
    assert (
        "The whole file is imported and committed: the targets are as the file gives them." in page
    )
    assert "scheme's history" not in page
    assert QippTarget.objects.get().requirement == 1000000


def test_a_headers_only_upload_says_nothing_was_imported(client, people):
    page = upload(client, people["elr-pmo"], "returns", "reference,month,actual\n")

    assert "Nothing was imported: 1 problem to fix in the file" in page
    assert "The file has its headers but no rows under them" in page
    assert "0 created" not in page
