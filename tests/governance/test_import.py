"""qipp_import: targets, plans and returns from CSV or XLSX, all or nothing, idempotent."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from governance import importers, roles
from governance.delivery import monthly_returns
from governance.models import (
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    ProgrammeArea,
    QippTarget,
    Scheme,
    SchemeChange,
    SchemeState,
    User,
)
from governance.selectors import history
from tests.governance.report_fixtures import EXAMPLES, add_scheme, report_world

pytestmark = pytest.mark.django_db

PLAN_HEADER = [
    "reference",
    "title",
    "organisation",
    "financial_year",
    "programme_area",
    "area_of_spend",
    "scheme_type",
    "recovery",
    *PLAN_FIELDS,
]


@pytest.fixture
def world(db):
    world = report_world()
    # the team the plans name: a project lead and an SRO of every organisation
    everywhere = list(world.orgs)
    world.add_user("team-lead", everywhere, roles.PROJECT_LEAD)
    world.add_user("team-sro", everywhere, roles.SRO)
    return world


def plan(reference, organisation="ELR", **overrides) -> dict:
    row = {
        "reference": reference,
        "title": f"Scheme {reference}",
        "organisation": organisation,
        "financial_year": "2019/20",
        "programme_area": "Planned Care",
        "area_of_spend": "Elective Care",
        "scheme_type": "transactional",
        "recovery": "no",
        **{name: "1000" for name in PLAN_FIELDS},
        "project_lead": "team-lead",
        "sro": "team-sro@example.nhs.uk",  # an e-mail does as well as a username
    }
    row.update(overrides)
    return row


def write_csv(path, rows: list[dict], header: list[str] | None = None):
    header = header or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_import(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("qipp_import", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failed_import(*args) -> tuple[list[str], str]:
    """Every error line printed, and the command's closing message."""
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("qipp_import", *[str(a) for a in args], stdout=io.StringIO(), stderr=err)
    return err.getvalue().splitlines(), str(refused.value)


# --- every error, with its row number ---


def test_every_bad_plan_row_is_reported_with_its_row_number(world, tmp_path):
    rows = [
        plan("ELR-1920-001"),
        plan("ELR-1920-002", organisation="XYZ"),
        plan("ELR-1920-003", programme_area="Nonsense"),
        plan("ELR-1920-004", area_of_spend="Nowhere"),
        plan("ELR-1920-005", plan_m03="ten"),
        plan("ELR-1920-006", financial_year="2019-20"),
        plan("ELR-1920-007", recovery="maybe"),
        plan("ELR-1920-008", scheme_type="radical"),
        plan("ELR-1920-001", title="Same reference again"),
    ]
    path = write_csv(tmp_path / "plans.csv", rows)

    errors, message = failed_import("plans", path)

    assert errors == [
        "row 3: unknown organisation 'XYZ'",
        "row 4: unknown programme area 'Nonsense'",
        "row 5: unknown area of spend 'Nowhere'",
        "row 6: plan_m03 'ten' is not an amount in pounds",
        "row 7: financial year '2019-20' should look like 2019/20",
        "row 8: recovery 'maybe' should be yes, no, true, false, 1 or 0",
        "row 9: scheme_type 'radical' should be transformational or transactional",
        "row 10: ELR-1920-001 appears twice in the file (first on row 2)",
    ]
    assert message == (
        "8 errors in plans.csv: nothing was imported. Add --create-missing to create the "
        "organisations, financial years, programme areas and areas of spend the file names that "
        "are not yet known."
    )
    assert not Scheme.objects.exists()


def test_every_bad_return_row_is_reported_with_its_row_number(world, tmp_path):
    scheme = add_scheme(world, "ELR")
    rows = [
        {"reference": scheme.reference, "month": "1", "actual": "900"},
        {"reference": "ELR-1920-999", "month": "1", "actual": "900"},
        {"reference": scheme.reference, "month": "13", "actual": "900"},
        {"reference": scheme.reference, "month": "May", "actual": "900"},
        {"reference": scheme.reference, "month": "2", "actual": "12k"},
        {"reference": scheme.reference, "month": "1", "actual": "950"},
    ]
    path = write_csv(tmp_path / "returns.csv", rows)

    errors, _message = failed_import("returns", path)

    assert errors == [
        "row 3: no scheme has the reference 'ELR-1920-999'",
        "row 4: month 13 is outside 1 to 12 (1 is April, 12 is March)",
        "row 5: month 'May' is not a number from 1 to 12",
        "row 6: actual '12k' is not an amount in pounds",
        f"row 7: a second return for {scheme.reference} month 1 (first on row 2)",
    ]
    assert not MonthlyReturn.objects.exists()


def test_every_bad_target_row_is_reported_with_its_row_number(world, tmp_path):
    rows = [
        {"organisation": "ELR", "financial_year": "2019/20", "requirement": "100000"},
        {"organisation": "XYZ", "financial_year": "2019/20", "requirement": "100000"},
        {"organisation": "WL", "financial_year": "2019", "requirement": "100000"},
        {"organisation": "WL", "financial_year": "2019/20", "requirement": "lots"},
        {"organisation": "elr", "financial_year": "2019/20", "requirement": "5"},
    ]
    path = write_csv(tmp_path / "targets.csv", rows)

    errors, _message = failed_import("targets", path)

    assert errors == [
        "row 3: unknown organisation 'XYZ'",
        "row 4: financial year '2019' should look like 2019/20",
        "row 5: requirement 'lots' is not an amount in pounds",
        "row 6: a second target for ELR 2019/20 (first on row 2)",
    ]
    assert not QippTarget.objects.exists()


def test_a_missing_column_is_reported_on_the_header_row(world, tmp_path):
    path = write_csv(tmp_path / "returns.csv", [{"reference": "ELR-1920-001", "actual": "9"}])

    errors, _message = failed_import("returns", path)

    assert errors == ["row 1: missing column(s): month"]


def test_a_file_that_is_neither_csv_nor_xlsx_is_refused(world, tmp_path):
    path = tmp_path / "plans.txt"
    path.write_text("reference\n")

    errors, _message = failed_import("plans", path)

    assert errors == ["plans.txt is neither a .csv nor an .xlsx file."]


@pytest.mark.parametrize(
    "content",
    [
        b"reference,month,actual\rELR-1920-001,5,1000\r",  # old Mac line endings
    ],
)
def test_a_file_named_csv_that_is_not_csv_is_refused_with_a_reason(world, tmp_path, content):
    path = tmp_path / "returns.csv"
    path.write_bytes(content)

    errors, _message = failed_import("returns", path)

    assert len(errors) == 1
    assert errors[0].startswith("The file could not be read as CSV")
    assert "upload the .xlsx file itself" in errors[0]


@pytest.mark.parametrize("year", ["\u00b2018/19", "2019/\u00b20", "\uff12\uff10\uff11\uff19/20"])
def test_a_year_in_other_digits_is_a_row_error(world, tmp_path, year):
    path = write_csv(
        tmp_path / "targets.csv",
        [{"organisation": "ELR", "financial_year": year, "requirement": "1000"}],
    )

    errors, _message = failed_import("targets", path)

    assert len(errors) == 1 and errors[0].startswith("row 2:")


def test_a_reference_keeps_its_organisation_and_its_number(world, tmp_path):
    existing = add_scheme(world, "ELR")  # ELR-1920-001
    rows = [
        plan(existing.reference, organisation="WL"),
        plan("ELR-1819-002"),
        plan("X-001"),  # not the usual form, but its number 1 is ELR-1920-001's
        plan("ELR-1920-007"),
        plan("ELR-1920-0007"),
    ]
    path = write_csv(tmp_path / "plans.csv", rows)

    errors, _message = failed_import("plans", path)

    # every problem at once, those of the values and those against the schemes there
    assert errors == [
        "row 2: reference ELR-1920-001 does not belong to organisation WL",
        "row 3: reference ELR-1819-002 does not belong to financial year 2019/20",
        "row 4: X-001 has number 1 of ELR 2019/20, which ELR-1920-001 already has",
        "row 6: ELR-1920-0007 has the same number as ELR-1920-007 (row 5)",
    ]


# --- all or nothing ---


def test_a_bad_last_row_leaves_nothing_imported(world, tmp_path):
    User.objects.create_superuser("admin", password="pw")  # who the command line imports as
    past = {"organisation": "LC", "project_lead": "", "sro": ""}  # an organisation made here
    rows = [plan(f"LC-1920-00{n}", **past) for n in (1, 2)]
    rows.append(plan("LC-1920-003", **past, plan_m12="-5"))
    path = write_csv(tmp_path / "plans.csv", rows)
    organisations = Organisation.objects.count()

    errors, _message = failed_import("plans", path, "--create-missing", "--historical")

    assert errors == ["row 4: plan_m12 -5 must not be negative"]
    assert not Scheme.objects.exists()
    # the organisation made for the file went with it
    assert Organisation.objects.count() == organisations


# --- a good import, and the same again ---


def test_the_examples_import_and_a_second_import_changes_nothing(db):
    User.objects.create_superuser("admin", password="pw")  # who the command line imports as
    summaries, history_rows = [], []
    for _round in (1, 2):
        for kind in ("targets", "plans", "returns"):
            # a published year's schemes, loaded as they stood: in delivery
            args = ["--create-missing", "--historical"] if kind == "plans" else ["--create-missing"]
            out, _err = run_import(kind, EXAMPLES / f"{kind}.csv", *args)
            summaries.append(out.strip())
        history_rows.append(SchemeChange.objects.count())

    assert summaries == [
        "Imported targets: 2 created, 0 updated, 0 unchanged.",
        "Imported plans: 40 created, 0 updated, 0 unchanged.",
        "Imported returns: 96 created, 0 updated, 0 unchanged.",
        "Imported targets: 0 created, 0 updated, 2 unchanged.",
        "Imported plans: 0 created, 0 updated, 40 unchanged.",
        "Imported returns: 0 created, 0 updated, 96 unchanged.",
    ]
    assert Scheme.objects.count() == 40
    assert MonthlyReturn.objects.count() == 96
    # each return entered is on record (its actual and its forecast), once: the second
    # import adds nothing
    assert history_rows == [192, 192]
    scheme = Scheme.objects.get(reference="ELR-1819-012")
    assert scheme.sequence == 12
    assert scheme.state == SchemeState.IN_DELIVERY
    assert (scheme.imported_from, scheme.imported_historical) == ("plans.csv", True)
    assert scheme.project_lead.username == scheme.sro.username == "admin"
    assert scheme.annual_plan == Decimal("890826")
    assert scheme.returns.get(month=2).actual == Decimal("-12205")
    # no organisation existed, so the new ones share a system named Imported
    assert set(Organisation.objects.values_list("system__name", flat=True)) == {"Imported"}
    assert FinancialYear.objects.get().label == "2018/19"
    assert ProgrammeArea.objects.count() == 12
    assert AreaOfSpend.objects.count() == 8


def test_a_changed_plan_is_updated_and_kept_in_the_scheme_history(world, tmp_path):
    path = write_csv(tmp_path / "plans.csv", [plan("ELR-1920-001")])
    run_import("plans", path)
    scheme = Scheme.objects.get()
    write_csv(path, [plan("ELR-1920-001", title="MSK triage", plan_m01="2000.50", recovery="yes")])

    out, _err = run_import("plans", path)
    run_import("plans", path)

    assert out.strip() == "Imported plans: 0 created, 1 updated, 0 unchanged."
    scheme.refresh_from_db()
    assert scheme.title == "MSK triage"
    assert scheme.plan_m01 == Decimal("2000.50")
    assert scheme.is_recovery
    changes = {c.field: (c.old_value, c.new_value) for c in scheme.changes.all()}
    assert changes == {
        "title": ("Scheme ELR-1920-001", "MSK triage"),
        "Apr (month 1)": ("(£1,000)", "(£2,000.50)"),
        "recovery action": ("No", "Yes"),
    }
    assert {c.changed_by.username for c in scheme.changes.all()} == {"import"}
    assert "Changed 3 fields" in [event.what for event in history(scheme)]


def test_a_corrected_return_is_updated_and_kept_in_the_scheme_history(world, tmp_path):
    scheme = add_scheme(world, "ELR")
    path = tmp_path / "returns.csv"
    write_csv(path, [{"reference": scheme.reference, "month": "1", "actual": "900"}])
    run_import("returns", path)
    write_csv(
        path,
        [{"reference": scheme.reference, "month": "1", "actual": "-950", "forecast_outturn": ""}],
    )

    out, _err = run_import("returns", path)
    again, _err = run_import("returns", path)

    assert out.strip() == "Imported returns: 0 created, 1 updated, 0 unchanged."
    assert again.strip() == "Imported returns: 0 created, 0 updated, 1 unchanged."
    assert scheme.returns.get().actual == Decimal("-950")
    # the entry, then one correction on record (not two), with the labels the return history
    # on the scheme page shows
    entered, corrected = scheme.changes.order_by("pk")
    assert (entered.field, entered.old_value, entered.new_value) == (
        "Month 1 actual",
        "",
        "(£900)",
    )
    assert (corrected.field, corrected.old_value, corrected.new_value) == (
        "Month 1 actual",
        "(£900)",
        "£950",
    )
    assert corrected.changed_by.username == "import"
    assert "Changed Month 1 actual" in [event.what for event in history(scheme)]


def test_imported_returns_are_in_the_return_history_as_if_entered_in_the_browser(world, tmp_path):
    scheme = add_scheme(world, "ELR")
    path = write_csv(
        tmp_path / "returns.csv",
        [
            {
                "reference": scheme.reference,
                "month": "2",
                "actual": "1500.25",
                "forecast_outturn": "60000",
                "commentary": "Clinic income",
            },
            {"reference": scheme.reference, "month": "3", "actual": "0", "forecast_outturn": ""},
        ],
    )

    run_import("returns", path)

    recorded = {(c.field, c.old_value, c.new_value) for c in monthly_returns.return_history(scheme)}
    assert recorded == {
        ("Month 2 actual", "", "(£1,500.25)"),
        ("Month 2 forecast outturn", "", "(£60,000)"),
        ("Month 2 commentary", "", "Clinic income"),
        ("Month 3 actual", "", "£0"),
    }


def test_returns_are_refused_for_a_scheme_not_yet_in_delivery(world, tmp_path):
    draft = add_scheme(world, "ELR", state=SchemeState.DRAFT)
    path = write_csv(
        tmp_path / "returns.csv", [{"reference": draft.reference, "month": "1", "actual": "9"}]
    )

    errors, _message = failed_import("returns", path)

    assert errors == [
        f"row 2: {draft.reference} is a draft: returns start once a scheme is in delivery"
    ]


def test_create_missing_makes_organisations_years_and_areas(world, tmp_path):
    row = plan(
        "LC-2021-001",
        organisation="LC",
        financial_year="2020/21",
        programme_area="Medicines Management",
        area_of_spend="Optimising the Use of Medicines",
    )
    row.update(project_lead="", sro="")  # LC is made by this file: nobody is a member yet
    path = write_csv(tmp_path / "plans.csv", [row])
    User.objects.create_superuser("admin", password="pw")  # who the command line imports as

    errors, _message = failed_import("plans", path, "--historical")
    run_import("plans", path, "--create-missing", "--historical")

    assert len(errors) == 4
    scheme = Scheme.objects.get()
    assert scheme.organisation.code == "LC"
    # the existing organisations are in two systems, so the new one goes in Imported
    assert scheme.organisation.system.name == "Imported"
    assert scheme.financial_year.label == "2020/21"
    assert scheme.programme_area.name == "Medicines Management"
    assert scheme.area_of_spend.name == "Optimising the Use of Medicines"


def test_an_xlsx_with_headers_in_any_case_and_order_imports(world, tmp_path):
    """The row corrects a return the scheme's lead entered."""
    scheme = add_scheme(world, "ELR")
    MonthlyReturn.objects.create(
        scheme=scheme, month=4, actual=Decimal("1000"), entered_by=world.users["elr-project-lead"]
    )
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Actual", "Month", "REFERENCE", "Forecast_Outturn", "PMO Assured", "Notes"])
    sheet.append([1234.56, 4.0, scheme.reference, 15000, None, "a note"])
    sheet.append([None, None, None, None, None, None])  # blank rows are skipped
    path = tmp_path / "returns.xlsx"
    workbook.save(path)

    out, _err = run_import("returns", path)

    assert out.strip() == (
        "Imported returns: 0 created, 1 updated, 0 unchanged. Columns not used: notes."
    )
    monthly = scheme.returns.get()
    assert (monthly.month, monthly.actual, monthly.forecast_outturn, monthly.pmo_assured) == (
        4,
        Decimal("1234.56"),
        Decimal("15000"),
        None,
    )


def test_targets_are_upserted_by_organisation_and_year(world, tmp_path):
    path = tmp_path / "targets.csv"
    rows = [{"organisation": "elr", "financial_year": "2019/20", "requirement": "1,000,000"}]
    write_csv(path, rows)
    run_import("targets", path)
    rows[0]["requirement"] = "1200000"

    write_csv(path, rows)
    out, _err = run_import("targets", path)

    assert out.strip() == "Imported targets: 0 created, 1 updated, 0 unchanged."
    assert QippTarget.objects.get().requirement == Decimal("1200000")


def test_the_command_line_imports_as_the_first_superuser_or_an_inactive_import_user(world):
    import_user = importers.import_user()
    admin = User.objects.create_superuser("admin", password="pw")

    assert (import_user.username, import_user.is_active) == ("import", False)
    assert not import_user.has_usable_password()
    assert importers.import_user() == admin


def test_a_restricted_import_refuses_other_organisations(world):
    handle = io.BytesIO(
        b"organisation,financial_year,requirement\nELR,2019/20,100\nWL,2019/20,100\n"
    )

    result = importers.import_file(
        "targets",
        handle,
        name="targets.csv",
        by=world.users["elr-pmo"],
        organisation_ids=world.users["elr-pmo"].organisation_ids,
    )

    assert [str(e) for e in result.errors] == [
        "row 3: you can import for your own organisations only, not WL"
    ]
    assert not QippTarget.objects.exists()


# --- the workflow and the assurance rules hold for imports too ---


def test_a_plans_import_never_changes_an_existing_schemes_state(world, tmp_path):
    draft = add_scheme(world, "ELR", state=SchemeState.DRAFT)
    delivering = add_scheme(world, "ELR")
    approved = add_scheme(world, "ELR", state=SchemeState.APPROVED)
    same_team = {"project_lead": "", "sro": ""}  # blank: the team is left as it is
    rows = [
        plan(draft.reference, state="approved", **same_team),
        plan(delivering.reference, state="In delivery", **same_team),  # its state: fine
        plan(approved.reference, state="", **same_team),  # blank: the state is left as it is
    ]
    path = write_csv(tmp_path / "plans.csv", rows)

    errors, _message = failed_import("plans", path)
    rows[0]["state"] = "draft"
    write_csv(path, rows)
    out, _err = run_import("plans", path)

    assert errors == [
        f"row 2: {draft.reference} is a draft and its state changes only through its workflow "
        "(the file says approved)"
    ]
    assert out.strip() == "Imported plans: 0 created, 3 updated, 0 unchanged."
    states = dict(Scheme.objects.values_list("reference", "state"))
    assert states == {
        draft.reference: SchemeState.DRAFT,
        delivering.reference: SchemeState.IN_DELIVERY,
        approved.reference: SchemeState.APPROVED,
    }
    assert not SchemeChange.objects.filter(field="state").exists()


# --- rows that do not line up with the header ---


def test_a_row_with_more_values_than_the_header_is_a_row_error(world, tmp_path):
    scheme = add_scheme(world, "ELR")
    path = tmp_path / "returns.csv"
    path.write_text(
        "reference,month,actual,forecast_outturn\n"
        f"{scheme.reference},13,900,1000\n"
        f"{scheme.reference},5,34,319,1403023\n"  # "34,319" not in quotes
        f'{scheme.reference},6,"34,319",1403023\n'
    )

    errors, message = failed_import("returns", path)

    # every bad row is listed, in the file's order
    assert errors == [
        "row 2: month 13 is outside 1 to 12 (1 is April, 12 is March)",
        "row 3: row has 5 values but the header has 4 columns: "
        "a value containing a comma must be in quotes",
    ]
    assert message == "2 errors in returns.csv: nothing was imported."
    assert not MonthlyReturn.objects.exists()


def test_a_row_cut_short_is_a_row_error_naming_the_missing_columns(world, tmp_path):
    scheme = add_scheme(world, "ELR")
    path = tmp_path / "returns.csv"
    path.write_text(
        "reference,month,actual,forecast_outturn,commentary\n"
        f"{scheme.reference},5,900,,\n"
        f"{scheme.reference},6,900\n"
    )

    errors, _message = failed_import("returns", path)

    assert errors == [
        "row 3: row has 3 values but the header has 5 columns: "
        "the line is cut short before forecast_outturn, commentary"
    ]
    assert not MonthlyReturn.objects.exists()


def test_trailing_empty_cells_and_blank_rows_are_fine(world, tmp_path):
    scheme = add_scheme(world, "ELR")
    path = tmp_path / "returns.csv"
    path.write_text(
        f"reference,month,actual,\n{scheme.reference},1,900,,\n\n,,,,,\n{scheme.reference},2,950\n"
    )

    out, _err = run_import("returns", path)

    assert out.strip() == "Imported returns: 2 created, 0 updated, 0 unchanged."


def test_an_xlsx_whose_rows_are_wider_than_its_header_imports(world, tmp_path):
    scheme = add_scheme(world, "ELR")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["reference", "month", "actual"])
    sheet.append([scheme.reference, 1, 900])
    sheet.cell(row=4, column=8, value=" ")  # a stray space: openpyxl pads every row to H
    path = tmp_path / "returns.xlsx"
    workbook.save(path)

    out, _err = run_import("returns", path)

    assert out.strip() == "Imported returns: 1 created, 0 updated, 0 unchanged."


@pytest.mark.parametrize("separator, name", [(";", "semicolons"), ("\t", "tabs")])
def test_a_csv_separated_by_semicolons_or_tabs_is_refused_with_the_reason(
    world, tmp_path, separator, name
):
    path = tmp_path / "returns.csv"
    path.write_text(
        separator.join(["reference", "month", "actual"])
        + "\n"
        + separator.join(["ELR-1920-001", "1", "900"])
        + "\n"
    )

    errors, _message = failed_import("returns", path)

    assert errors == [
        f"The file looks separated by {name}, but it must be comma-separated. "
        "Save it from your spreadsheet as 'CSV UTF-8 (comma delimited)'."
    ]
