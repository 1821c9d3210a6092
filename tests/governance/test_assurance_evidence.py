"""Savings that stand up to audit: a PMO assured value other than the actual needs a reason, a
link or a document may back any assured value, all of it is in the return's history, a
correction clears it, an import follows the same rule, and the PMO lists and downloads the
assured values with their reasons."""

import csv
import io
import logging
from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance.delivery import monthly_returns
from governance.importers import import_file
from governance.models import (
    AccessRefusal,
    DocumentKind,
    MonthlyReturn,
    SchemeChange,
    SchemeDocument,
)
from governance.reports.parts import XLSX_MONEY_FORMAT
from tests.factories import add_document
from tests.governance import delivery_fixtures
from tests.pages import table, text, visible
from tests.world import add_return

people = delivery_fixtures.people  # the world with a second PMO officer of ELR

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mid_august")]

REASON_MISSING = "Say why the assured value differs from the actual (a saving of £900)."
BAD_LINK = "Enter a web address starting http:// or https://."
LEDGER = "https://ledger.example.nhs.uk/reports/june"


@pytest.fixture
def mid_august():
    with time_machine.travel(date(2019, 8, 15), tick=False):
        yield


@pytest.fixture
def june(make_scheme, people):
    """An ELR scheme with its June 2019 return in: £900 saved, entered by its finance lead."""
    scheme = make_scheme()
    add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])
    return scheme


def assure_url(scheme, month=3):
    return reverse("return_assure", args=[scheme.pk, month])


def pdf(name="ledger.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 ledger extract\n", content_type="application/pdf")


def assure_on_the_page(client, user, scheme, **fields):
    """The PMO's post of the one-return page, the form as drawn with `fields` changed."""
    client.force_login(user)
    page = client.get(assure_url(scheme))
    data = {"token": page.context["form"].initial["token"], "pmo_assured": "900", **fields}
    return client.post(assure_url(scheme), data)


def history(scheme) -> set[tuple[str, str, str]]:
    return {(c.field, c.old_value, c.new_value) for c in SchemeChange.objects.filter(scheme=scheme)}


def nothing_assured() -> bool:
    return not MonthlyReturn.objects.filter(assured_at__isnull=False).exists()


# --- the one-return page ---


def test_a_value_other_than_the_actual_without_a_reason_is_refused_naming_the_field(
    client, people, june
):
    response = assure_on_the_page(client, people["elr-pmo"], june, pmo_assured="850")

    assert response.status_code == 200
    assert f"Reason for the assured value: {REASON_MISSING}" in visible(response)
    assert nothing_assured()
    assert not SchemeChange.objects.exists()


def test_the_service_refuses_it_too(people, june):
    with pytest.raises(ValidationError) as caught:
        monthly_returns.return_assure(
            scheme_id=june.pk, month=3, by=people["elr-pmo"], value=Decimal("850"), reason="  "
        )

    assert caught.value.message_dict == {"assured_reason": [REASON_MISSING]}
    assert nothing_assured()


def test_with_a_reason_it_is_saved_and_shown_in_the_history(client, people, june):
    reason = "£50 of the June saving was invoiced in July."

    response = assure_on_the_page(
        client, people["elr-pmo"], june, pmo_assured="850", assured_reason=reason
    )

    assert response.status_code == 302
    ret = MonthlyReturn.objects.get()
    assert (ret.pmo_assured, ret.assured_reason) == (Decimal("850"), reason)
    assert ("Month 3 assurance reason", "", reason) in history(june)
    scheme_page = visible(client.get(june.get_absolute_url()))
    assert f"Month 3 assurance reason: (empty) → {reason}" in scheme_page
    assert reason in visible(client.get(assure_url(june)))


def test_at_the_actual_no_reason_is_needed(client, people, june):
    assert assure_on_the_page(client, people["elr-pmo"], june).status_code == 302
    ret = MonthlyReturn.objects.get()
    assert (ret.pmo_assured, ret.assured_reason) == (Decimal("900"), "")
    assert [c.field for c in SchemeChange.objects.all()] == ["Month 3 PMO assured value"]


def test_a_link_and_an_uploaded_evidence_document_back_the_value(client, people, june):
    response = assure_on_the_page(
        client, people["elr-pmo"], june, assured_link=LEDGER, evidence_file=pdf()
    )

    assert response.status_code == 302
    ret = MonthlyReturn.objects.select_related("assured_document").get()
    document = ret.assured_document
    assert (ret.assured_link, document.original_name) == (LEDGER, "ledger.pdf")
    assert (document.scheme, document.kind) == (june, DocumentKind.EVIDENCE)
    assert document.uploaded_by == people["elr-pmo"]
    assert document.description == "Evidence for the Jun 2019 return"
    assert ("Month 3 evidence", "", f"{LEDGER}; ledger.pdf") in history(june)
    assert ("documents", "", "added Evidence of savings delivered: ledger.pdf") in history(june)
    page = client.get(assure_url(june))
    assert 'enctype="multipart/form-data"' in text(page)  # or a browser sends no file
    assert f'<a href="{LEDGER}" rel="noopener noreferrer">' in text(page)
    assert f'href="{reverse("document_download", args=[document.pk])}"' in text(page)
    assert "ledger.pdf" in visible(client.get(june.get_absolute_url()))  # among its documents


def test_one_of_the_schemes_documents_backs_the_value(client, people, june):
    business_case = add_document(june, people["elr-project-lead"], name="business_case.pdf")

    response = assure_on_the_page(
        client, people["elr-pmo"], june, assured_document=str(business_case.pk)
    )

    assert response.status_code == 302
    assert MonthlyReturn.objects.get().assured_document == business_case
    assert SchemeDocument.objects.count() == 1  # no copy of it


def test_a_document_of_another_scheme_is_refused(people, june, make_scheme):
    elsewhere = add_document(make_scheme(), people["elr-project-lead"])

    with pytest.raises(ValidationError, match="That document is not one of this scheme's."):
        monthly_returns.return_assure(
            scheme_id=june.pk,
            month=3,
            by=people["elr-pmo"],
            value=Decimal("900"),
            document_id=elsewhere.pk,
        )
    assert nothing_assured()


@pytest.mark.parametrize("link", ["javascript:alert(1)", "not a url", "ftp://files.example/x"])
def test_a_link_that_is_not_a_web_address_is_refused(client, people, june, link):
    response = assure_on_the_page(client, people["elr-pmo"], june, assured_link=link)

    assert response.status_code == 200
    assert f"Evidence link: {BAD_LINK}" in visible(response)
    assert nothing_assured()
    with pytest.raises(ValidationError) as caught:
        monthly_returns.return_assure(
            scheme_id=june.pk, month=3, by=people["elr-pmo"], value=Decimal("900"), link=link
        )
    assert caught.value.message_dict == {"assured_link": [BAD_LINK]}


def test_an_upload_is_checked_as_every_scheme_document_is(client, people, june):
    fake = SimpleUploadedFile("ledger.pdf", b"MZ not a pdf", content_type="application/pdf")

    response = assure_on_the_page(client, people["elr-pmo"], june, evidence_file=fake)

    assert response.status_code == 200
    assert "This file is named .pdf but is not a PDF document." in visible(response)
    assert nothing_assured()
    assert not SchemeDocument.objects.exists()


def test_an_upload_takes_the_place_of_the_document_chosen(client, people, june):
    chosen = add_document(june, people["elr-project-lead"])

    response = assure_on_the_page(
        client, people["elr-pmo"], june, assured_document=str(chosen.pk), evidence_file=pdf()
    )

    assert response.status_code == 302
    assert MonthlyReturn.objects.get().assured_document.original_name == "ledger.pdf"
    with pytest.raises(ValidationError, match="or upload one, not both"):
        monthly_returns.return_assure(
            scheme_id=june.pk,
            month=3,
            by=people["elr-pmo-2"],
            value=Decimal("900"),
            document_id=chosen.pk,
            upload=pdf("second.pdf"),
            content_type="application/pdf",
        )
    assert SchemeDocument.objects.count() == 2


# --- the page of many returns ---


@pytest.fixture
def two_in_june(make_scheme, people, june):
    other = make_scheme()
    add_return(other, 3, "700", by=people["elr-finance-reviewer"])
    return [june, other]


def bulk_rows(page, **changes) -> dict:
    formset = page.context["formset"]
    data = {
        "form-TOTAL_FORMS": str(formset.total_form_count()),
        "form-INITIAL_FORMS": str(formset.initial_form_count()),
    }
    for form in formset.forms:
        for name in ("ret", "token", "pmo_assured", "assured_reason", "assured_link"):
            value = form[name].value()
            data[form[name].html_name] = "" if value is None else str(value)
        data[form["assure"].html_name] = "on"
    data.update(changes)
    return data


def test_on_the_bulk_page_a_row_without_its_reason_keeps_what_was_typed_and_assures_nothing(
    client, people, two_in_june
):
    client.force_login(people["elr-pmo"])
    page = client.get(reverse("returns_assure_all"))
    assert 'id="id_form-0-assured_reason"' in text(page)
    assert "Reason for the assured value for " + two_in_june[0].reference in visible(page)

    response = client.post(
        reverse("returns_assure_all"),
        bulk_rows(page, **{"form-0-pmo_assured": "850", "form-0-assured_link": LEDGER}),
    )

    assert response.status_code == 200
    shown = visible(response)
    assert "There is a problem: nothing was assured." in shown
    assert REASON_MISSING in shown
    assert 'value="850"' in text(response) and LEDGER in text(response)  # as typed
    assert nothing_assured()


def test_on_the_bulk_page_a_reason_and_a_link_are_recorded(client, people, two_in_june):
    client.force_login(people["elr-pmo"])
    page = client.get(reverse("returns_assure_all"))
    reason = "£50 was invoiced in July."

    response = client.post(
        reverse("returns_assure_all"),
        bulk_rows(
            page,
            **{
                "form-0-pmo_assured": "850",
                "form-0-assured_reason": reason,
                "form-0-assured_link": LEDGER,
            },
        ),
        follow=True,
    )

    assert "2 returns assured." in visible(response)
    ret = MonthlyReturn.objects.get(scheme=two_in_june[0])
    assert (ret.pmo_assured, ret.assured_reason, ret.assured_link) == (
        Decimal("850"),
        reason,
        LEDGER,
    )
    assert {("Month 3 assurance reason", "", reason), ("Month 3 evidence", "", LEDGER)} <= (
        history(two_in_june[0])
    )


def test_on_the_bulk_page_a_bad_link_is_refused(client, people, two_in_june):
    client.force_login(people["elr-pmo"])
    page = client.get(reverse("returns_assure_all"))

    response = client.post(
        reverse("returns_assure_all"),
        bulk_rows(page, **{"form-1-assured_link": "javascript:alert(1)"}),
    )

    assert BAD_LINK in visible(response)
    assert nothing_assured()


# --- a correction clears it ---


def test_correcting_the_return_clears_its_reason_and_evidence_on_record(client, people, june):
    pmo = people["elr-pmo"]
    assure_on_the_page(
        client,
        pmo,
        june,
        pmo_assured="850",
        assured_reason="£50 is July's.",
        assured_link=LEDGER,
        evidence_file=pdf(),
    )
    ret = MonthlyReturn.objects.get()

    monthly_returns.return_save(
        scheme_id=june.pk, month=3, by=people["elr-finance-reviewer"], actual=Decimal("950")
    )

    ret.refresh_from_db()
    assert (ret.pmo_assured, ret.assured_reason, ret.assured_link, ret.assured_document) == (
        None,
        "",
        "",
        None,
    )
    cleared = "cleared: the figures were corrected"
    assert {
        ("Month 3 PMO assured value", "(£850)", cleared),
        ("Month 3 assurance reason", "£50 is July's.", cleared),
        ("Month 3 evidence", f"{LEDGER}; ledger.pdf", cleared),
    } <= history(june)
    assert SchemeDocument.objects.filter(kind=DocumentKind.EVIDENCE).count() == 1  # kept


# --- the returns import ---


def import_returns(user, rows: list[dict]):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    handle = io.BytesIO(out.getvalue().encode())
    return import_file("returns", handle, name="returns.csv", by=user)


def row(scheme, assured: str) -> dict:
    return {"reference": scheme.reference, "month": "3", "actual": "900", "pmo_assured": assured}


def test_an_imported_value_other_than_the_actual_needs_a_reason(people, june):
    without_column = import_returns(people["elr-pmo"], [row(june, "850")])
    blank = import_returns(people["elr-pmo"], [{**row(june, "850"), "assured_reason": ""}])

    message = (
        f"row 2: pmo_assured £850 for {june.reference} month 3 differs from its actual £900: "
        "say why in the assured_reason column"
    )
    assert [str(e) for e in without_column.errors] == [message]
    assert [str(e) for e in blank.errors] == [message]
    assert nothing_assured()


def test_an_imported_value_with_its_reason_and_link_is_assured_and_recorded(people, june):
    reason = "£50 was invoiced in July."
    result = import_returns(
        people["elr-pmo"],
        [{**row(june, "850"), "assured_reason": reason, "evidence_link": LEDGER}],
    )

    assert result.ok, result.errors
    assert (result.updated, result.unchanged) == (1, 0)
    ret = MonthlyReturn.objects.get()
    assert (ret.pmo_assured, ret.assured_reason, ret.assured_link) == (
        Decimal("850"),
        reason,
        LEDGER,
    )
    assert ("Month 3 assurance reason", "", reason) in history(june)

    # the same file again, or one without the new columns: already assured so
    again = import_returns(people["elr-pmo"], [row(june, "850")])
    assert again.ok and (again.updated, again.unchanged) == (0, 1)


def test_todays_files_at_the_actual_still_import(people, june):
    result = import_returns(people["elr-pmo"], [row(june, "900")])

    assert result.ok, result.errors
    assert MonthlyReturn.objects.get().pmo_assured == Decimal("900")


@pytest.mark.parametrize(
    "cells, error",
    [
        (
            {"pmo_assured": "900", "evidence_link": "javascript:alert(1)"},
            "evidence_link 'javascript:alert(1)' is not a web address starting http:// or https://",
        ),
        (
            {"pmo_assured": "", "assured_reason": "Late invoice."},
            "assured_reason and evidence_link go with a pmo_assured value: give it too",
        ),
    ],
)
def test_a_bad_link_or_a_reason_without_a_value_refuses_the_row(people, june, cells, error):
    result = import_returns(people["elr-pmo"], [{**row(june, ""), **cells}])

    assert [str(e) for e in result.errors] == [f"row 2: {error}"]
    assert nothing_assured()


def test_an_imported_correction_clears_the_reason_and_evidence_too(people, june):
    monthly_returns.return_assure(
        scheme_id=june.pk,
        month=3,
        by=people["elr-pmo"],
        value=Decimal("850"),
        reason="£50 is July's.",
        link=LEDGER,
    )

    result = import_returns(people["elr-pmo-2"], [{**row(june, ""), "actual": "950"}])

    assert result.ok, result.errors
    ret = MonthlyReturn.objects.get()
    assert (ret.assured_at, ret.assured_reason, ret.assured_link) == (None, "", "")
    cleared = "cleared: the figures were corrected"
    assert {
        ("Month 3 assurance reason", "£50 is July's.", cleared),
        ("Month 3 evidence", LEDGER, cleared),
    } <= history(june)


# --- the list of assured values, for audit ---

URL = reverse("assured_values")
HEADINGS = [
    "Scheme reference",
    "Title",
    "Organisation",
    "Year",
    "Month",
    "Actual (£)",
    "PMO assured value (£)",
    "Difference (£)",
    "Reason",
    "Evidence",
    "Assured by",
    "Assured at",
]


@pytest.fixture
def assured(make_scheme, people, june):
    """June's return assured at £850 on 5 August with a reason starting "=" and a link; a
    second ELR scheme's May return at its actual on 12 August; a WL one, by WL's PMO."""
    with time_machine.travel(timezone.make_aware(datetime(2019, 8, 5, 10, 30)), tick=False):
        monthly_returns.return_assure(
            scheme_id=june.pk,
            month=3,
            by=people["elr-pmo"],
            value=Decimal("850"),
            reason="=£50 invoiced in July",
            link=LEDGER,
        )
    second = make_scheme()
    add_return(second, 2, "1000", by=people["elr-finance-reviewer"])
    with time_machine.travel(timezone.make_aware(datetime(2019, 8, 12, 9, 0)), tick=False):
        monthly_returns.return_assure(
            scheme_id=second.pk, month=2, by=people["elr-pmo-2"], value=Decimal("1000")
        )
    wl = make_scheme(org="WL")
    add_return(wl, 3, "500", by=people["wl-finance-reviewer"])
    monthly_returns.return_assure(
        scheme_id=wl.pk, month=3, by=people["wl-pmo"], value=Decimal("500")
    )
    return {"june": june, "second": second, "wl": wl}


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="assured_values_')
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_pmo_lists_the_assured_values_of_their_organisation(client, people, assured):
    client.force_login(people["elr-pmo"])
    assert URL in text(client.get(reverse("my_tasks")))  # found from the task list

    page = client.get(URL)

    rows = table(page, "assured-values")
    assert rows[0] == [h.removesuffix(" (£)") for h in HEADINGS]
    june, second = assured["june"].reference, assured["second"].reference
    assert [r[0] for r in rows[1:]] == [june, second]  # by scheme, never WL's
    assert rows[1][4:10] == [
        "Jun 2019",
        "(£900)",
        "(£850)",
        "£50",
        "=£50 invoiced in July",
        LEDGER,
    ]
    assert rows[1][10:] == ["ELR Pmo", "5 Aug 2019 10:30"]


def test_the_list_is_filtered_by_organisation_year_and_the_days_assured(client, people, assured):
    client.force_login(people["elr-pmo"])

    def references(**filters) -> list[str]:
        return [r[0] for r in table(client.get(URL, filters), "assured-values")[1:]]

    elr = assured["june"].organisation
    year = assured["june"].financial_year
    assert references(organisation=elr.pk, financial_year=year.pk) == [
        assured["june"].reference,
        assured["second"].reference,
    ]
    assert references(assured_from="2019-08-06") == [assured["second"].reference]
    assert references(assured_to="2019-08-05") == [assured["june"].reference]
    assert references(assured_from="2019-08-13") == []
    bad = client.get(URL, {"assured_from": "2019-08-10", "assured_to": "2019-08-01"})
    assert "This date is before the date assured from." in visible(bad)


def test_the_list_downloads_as_csv_and_xlsx_a_reason_staying_text(client, people, assured, caplog):
    client.force_login(people["elr-pmo"])
    caplog.set_level(logging.INFO, logger="qipp.audit")

    lines = csv_rows(client.get(URL, {"assured_to": "2019-08-05", "format": "csv"}))
    sheet = load_workbook(io.BytesIO(client.get(URL, {"format": "xlsx"}).content)).active

    assert lines[0] == HEADINGS
    assert lines[1] == [
        assured["june"].reference,
        "Scheme 1",
        "ELR",
        "2019/20",
        "Jun 2019",
        "-900",
        "-850",
        "50",
        "'=£50 invoiced in July",  # never a formula
        LEDGER,
        "ELR Pmo",
        "2019-08-05 10:30",
    ]
    assert len(lines) == 2  # the filter holds
    values = [[cell.value for cell in r] for r in sheet.iter_rows()]
    assert values[0] == HEADINGS and len(values) == 3
    reason = sheet.cell(row=2, column=9)
    assert (reason.value, reason.data_type) == ("=£50 invoiced in July", "s")
    assert values[1][5:8] == [-900, -850, 50]
    assert sheet.cell(row=2, column=7).number_format == XLSX_MONEY_FORMAT  # in brackets
    logged = [r.getMessage() for r in caplog.records if r.name == "qipp.audit"]
    assert logged == [
        "assured values downloaded: user=elr-pmo format=csv rows=1 filters=assured_to=2019-08-05",
        "assured values downloaded: user=elr-pmo format=xlsx rows=2 filters=none",
    ]


@pytest.mark.parametrize("who", ["elr-viewer", "elr-finance-reviewer", "elr-sro"])
def test_anyone_but_the_pmo_is_refused_the_list(client, people, assured, who):
    client.force_login(people[who])

    for asked in ({}, {"format": "csv"}):
        response = client.get(URL, asked)
        assert response.status_code == 403
        assert "for the PMO of an organisation" in visible(response)
    assert AccessRefusal.objects.filter(user=people[who], action="assured_values").count() == 2
    assert URL not in text(client.get(reverse("my_tasks")))


def test_a_pmo_of_another_organisation_is_refused_its_values(client, people, assured):
    client.force_login(people["wl-pmo"])
    elr = assured["june"].organisation

    response = client.get(URL, {"organisation": elr.pk, "format": "csv"})

    assert response.status_code == 403
    assert "your own organisations only" in visible(response)
    assert AccessRefusal.objects.filter(user=people["wl-pmo"]).exists()
    own = table(client.get(URL), "assured-values")
    assert [r[0] for r in own[1:]] == [assured["wl"].reference]


@pytest.mark.parametrize("asked", ["abc", "999999", " "])
def test_an_organisation_that_does_not_exist_is_told_and_their_own_listed(
    client, people, assured, asked
):
    client.force_login(people["elr-pmo"])

    response = client.get(URL, {"organisation": asked, "assured_to": "2019-08-05"}, follow=True)

    assert response.status_code == 200
    said = (
        "No organisation was chosen: showing ELR."
        if asked == " "
        else f"There is no organisation '{asked}': showing ELR."
    )
    assert said in visible(response)
    # ELR's values, the other filters kept
    assert [r[0] for r in table(response, "assured-values")[1:]] == [assured["june"].reference]
    assert not AccessRefusal.objects.exists()


def test_an_organisation_by_code_is_a_filter_and_another_ones_code_refused(client, people, assured):
    client.force_login(people["elr-pmo"])
    own = client.get(URL, {"organisation": "elr"}, follow=True)
    assert [r[0] for r in table(own, "assured-values")[1:]] == [
        assured["june"].reference,
        assured["second"].reference,
    ]

    response = client.get(URL, {"organisation": "WL"})

    assert response.status_code == 403
    assert "your own organisations only" in visible(response)
    assert AccessRefusal.objects.filter(user=people["elr-pmo"], target="organisation WL").exists()
