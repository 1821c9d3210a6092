"""The governance rules hold for imports as they hold on the pages: a new scheme is a draft with
the team the file names, only staff load a past year as it stood, and a PMO assured value
follows the rules of the assurance page, each tested on both paths."""

import csv
import html
import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse

from governance import roles
from governance.models import PLAN_FIELDS, AccessRefusal, MonthlyReturn, Scheme, SchemeState, User
from tests.governance import delivery_fixtures
from tests.world import add_return

people = delivery_fixtures.people  # the world with the delivery tests' extra people

pytestmark = pytest.mark.django_db

AUGUST = date(2019, 8, 15)


def text(response) -> str:
    return html.unescape(response.content.decode())


def as_file(rows: list[dict], name: str) -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode(), content_type="text/csv")


def upload(client, user, kind: str, rows: list[dict]):
    """The import page, as the PMO uses it: the page after the post."""
    client.force_login(user)
    name = f"{kind}.csv"
    # the upload commits, then a worker (here, in-process) imports the file
    with TestCase.captureOnCommitCallbacks(execute=True):
        posted = client.post(reverse("import_upload"), {"kind": kind, "file": as_file(rows, name)})
    return client.get(posted["Location"])


def plan(reference: str, **overrides) -> dict:
    return {
        "reference": reference,
        "title": "Virtual wards",
        "organisation": "ELR",
        "financial_year": "2019/20",
        "programme_area": "Planned Care",
        "area_of_spend": "Elective Care",
        "scheme_type": "transactional",
        "recovery": "no",
        **{name: "1000" for name in PLAN_FIELDS},
        "project_lead": "elr-project-lead",
        "sro": "elr-sro@example.nhs.uk",
        "finance_lead": "elr-finance-reviewer",
        **overrides,
    }


# --- plans: drafts with the team the file names ---


def test_an_imported_scheme_is_a_draft_with_the_team_the_file_names(client, people):
    page = text(upload(client, people["elr-pmo"], "plans", [plan("ELR-1920-001")]))

    assert "plans.csv: Imported plans: 1 created" in page
    scheme = Scheme.objects.get()
    assert scheme.state == SchemeState.DRAFT
    assert (scheme.project_lead, scheme.sro, scheme.finance_lead) == (
        people["elr-project-lead"],
        people["elr-sro"],
        people["elr-finance-reviewer"],
    )
    assert scheme.created_by == people["elr-pmo"]  # who imported it, on record
    assert (scheme.imported_from, scheme.imported_historical) == ("plans.csv", False)
    client.force_login(people["elr-project-lead"])
    shown = text(client.get(scheme.get_absolute_url()))
    assert "Imported from plans.csv by" in shown and "Created as a draft from plans.csv." in shown
    # the project lead now completes and submits it, as any PID
    assert "Complete and submit the PID" in text(client.get(reverse("my_tasks")))


@pytest.mark.parametrize("state", ["approved", "In delivery", "qia_panel"])
def test_a_pmo_cannot_import_a_scheme_past_draft(client, people, state):
    page = text(upload(client, people["elr-pmo"], "plans", [plan("ELR-1920-001", state=state)]))

    assert "Nothing was imported" in page
    assert "ELR-1920-001 would start" in page and "an import creates schemes as drafts" in page
    assert not Scheme.objects.exists()


def test_a_new_scheme_needs_a_project_lead_and_an_sro_of_its_organisation(client, people):
    rows = [
        plan("ELR-1920-001", project_lead="", sro=""),
        plan("ELR-1920-002", project_lead="nobody-here"),
        plan("ELR-1920-003", sro="wl-sro"),  # of another organisation
        plan("ELR-1920-004", project_lead="elr-viewer"),  # not a project lead
        plan("ELR-1920-005", project_lead="elr-pmo", sro="elr-pmo"),  # the importer
    ]

    page = text(upload(client, people["elr-pmo"], "plans", rows))

    assert "row 2: ELR-1920-001 is new: name its project_lead and sro" in page
    assert "row 3: project_lead 'nobody-here' is not an active user's username or e-mail" in page
    assert "row 4: sro wl-sro is not a member of ELR" in page
    assert "row 5: project_lead elr-viewer does not hold the role Project lead" in page
    assert "row 6: project_lead elr-pmo does not hold the role Project lead" in page
    assert not Scheme.objects.exists()


def test_an_existing_schemes_team_changes_through_its_pid_not_a_file(
    client, llr, people, make_scheme
):
    scheme = make_scheme(SchemeState.DRAFT)
    llr.add_user("elr-sro-2", "elr", roles.SRO)
    row = plan(scheme.reference, sro="elr-sro-2")

    page = text(upload(client, people["elr-pmo"], "plans", [row]))

    assert "sro of" in page and "changes through its PID, not an import" in page
    scheme.refresh_from_db()
    assert scheme.sro == people["elr-sro"]


# --- plans: a past year, loaded as it stood, only by staff with --historical ---


def historical_import(tmp_path, rows, *args) -> str:
    path = tmp_path / "plans.csv"
    path.write_bytes(as_file(rows, "plans.csv").read())
    out = io.StringIO()
    call_command("qipp_import", "plans", str(path), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_staff_load_a_past_year_in_delivery_with_historical_marked_as_imported(
    client, people, tmp_path
):
    admin = User.objects.create_superuser("admin", password="pw")

    out = historical_import(
        tmp_path, [plan("ELR-1920-001", project_lead="", sro="")], "--historical"
    )

    assert "1 created" in out
    scheme = Scheme.objects.get()
    assert scheme.state == SchemeState.IN_DELIVERY and scheme.imported_historical
    assert scheme.project_lead == scheme.sro == admin  # standing in for a team not named
    client.force_login(people["elr-viewer"])
    shown = text(client.get(scheme.get_absolute_url()))
    assert "as a past year's scheme, as it stood: it did not go through review" in shown
    assert "Loaded from plans.csv as a past year's scheme, as it stood" in shown  # history


def test_historical_is_refused_to_anyone_but_staff_and_logged(people, tmp_path):
    with pytest.raises(CommandError):
        historical_import(tmp_path, [plan("ELR-1920-001")], "--historical", "--as", "elr-pmo")

    assert not Scheme.objects.exists()
    refusal = AccessRefusal.objects.get()
    assert refusal.user == people["elr-pmo"] and refusal.action == "import plans"
    assert "Only a staff user loads a past year as it stood" in refusal.reason


@time_machine.travel(AUGUST, tick=False)
def test_historical_is_refused_for_a_year_not_yet_ended(people, tmp_path):
    User.objects.create_superuser("admin", password="pw")
    with pytest.raises(CommandError):
        historical_import(tmp_path, [plan("ELR-1920-001")], "--historical")

    assert not Scheme.objects.exists()


def test_without_historical_the_command_line_imports_drafts_too(people, tmp_path):
    User.objects.create_superuser("admin", password="pw")
    with pytest.raises(CommandError):
        historical_import(tmp_path, [plan("ELR-1920-001", state="in_delivery")])
    historical_import(tmp_path, [plan("ELR-1920-001")])

    assert Scheme.objects.get().state == SchemeState.DRAFT


# --- returns: a PMO assured value, by the rules of the assurance page, on both paths ---


def assure_in_browser(client, user, scheme, month: int, value: str, reason: str = "") -> str:
    """What the PMO sees after assuring on the page (the page again when refused)."""
    client.force_login(user)
    url = reverse("return_assure", args=[scheme.pk, month])
    form = client.get(url)
    token = form.context["form"].initial["token"] if form.status_code == 200 else ""
    data = {"token": token, "pmo_assured": value, "assured_reason": reason}
    return text(client.post(url, data, follow=True))


def enter_in_browser(client, user, scheme, month: int, actual: str, *, correct=False) -> None:
    client.force_login(user)
    url = reverse(
        "return_edit" if correct else "return_new", args=[scheme.pk, month][: 2 if correct else 1]
    )
    token = client.get(url).context["form"].initial["token"]
    data = {"token": token, "actual": actual, "forecast_outturn": ""}
    if not correct:
        data["month"] = str(month)
    assert client.post(url, data).status_code == 302


def returns_row(scheme, month: int, actual: str, assured: str = "", **evidence) -> dict:
    """A row of a returns file; `evidence`: its assured_reason, evidence_link."""
    return {
        "reference": scheme.reference,
        "month": str(month),
        "actual": actual,
        "pmo_assured": assured,
        **evidence,
    }


# The PMO officer here is also the scheme's finance lead: refused as on the scheme's team
# (the rule on whoever entered a return is tested where the team has changed since).
REFUSED = "You are this scheme's finance lead: nobody reviews, scores, signs off, assures"


@time_machine.travel(AUGUST, tick=False)
def test_whoever_entered_a_return_cannot_assure_it_on_either_path(client, people, make_scheme):
    pmo = people["elr-pmo"]  # who is also this scheme's finance lead
    scheme = make_scheme(finance_lead=pmo)

    enter_in_browser(client, pmo, scheme, 1, "900")
    assert REFUSED in assure_in_browser(client, pmo, scheme, 1, "900")

    entered_and_assured = text(
        upload(client, pmo, "returns", [returns_row(scheme, 2, "900", "900")])
    )
    upload(client, pmo, "returns", [returns_row(scheme, 3, "900")])
    assured_later = text(upload(client, pmo, "returns", [returns_row(scheme, 3, "900", "900")]))

    assert "this file enters that return, and whoever enters a return cannot assure it" in (
        entered_and_assured
    )
    assert "pmo_assured for" in assured_later and REFUSED in assured_later
    assert not MonthlyReturn.objects.filter(assured_at__isnull=False).exists()


@time_machine.travel(AUGUST, tick=False)
def test_whoever_corrected_a_return_cannot_assure_it_on_either_path(client, people, make_scheme):
    pmo = people["elr-pmo"]  # who is also this scheme's finance lead
    scheme = make_scheme(finance_lead=pmo)
    for month in (1, 2, 3):
        add_return(scheme, month, "1000", by=people["elr-project-lead"])

    enter_in_browser(client, pmo, scheme, 1, "1100", correct=True)
    assert REFUSED in assure_in_browser(client, pmo, scheme, 1, "1100")

    upload(client, pmo, "returns", [returns_row(scheme, 2, "1200")])  # corrected by the file
    assured_later = text(upload(client, pmo, "returns", [returns_row(scheme, 2, "1200", "1200")]))
    at_once = text(upload(client, pmo, "returns", [returns_row(scheme, 3, "1300", "1300")]))

    assert REFUSED in assured_later
    assert (
        "this row corrects its figures, and whoever corrects a return cannot assure it" in at_once
    )
    assert MonthlyReturn.objects.get(scheme=scheme, month=3).actual == 1000  # nothing imported
    assert not MonthlyReturn.objects.filter(assured_at__isnull=False).exists()
    # each refused file is on the refusal log
    assert AccessRefusal.objects.filter(user=pmo, action="import returns").count() == 2


@time_machine.travel(AUGUST, tick=False)
def test_only_a_pmo_of_the_schemes_organisation_assures_on_either_path(
    client, people, make_scheme, tmp_path
):
    scheme = make_scheme()
    add_return(scheme, 1, "1000", by=people["elr-finance-reviewer"])

    assert "Only the PMO of the scheme's organisation" in assure_in_browser(
        client, people["wl-pmo"], scheme, 1, "1000"
    )
    from_wl = text(
        upload(client, people["wl-pmo"], "returns", [returns_row(scheme, 1, "1000", "1000")])
    )
    path = tmp_path / "returns.csv"
    path.write_bytes(as_file([returns_row(scheme, 1, "1000", "1000")], "returns.csv").read())
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "qipp_import", "returns", str(path), "--as", "elr-finance-reviewer-2", stderr=err
        )

    assert "you can import for your own organisations only, not ELR" in from_wl
    assert "Only the PMO of the scheme's organisation can assure its returns." in err.getvalue()
    assert not MonthlyReturn.objects.filter(assured_at__isnull=False).exists()


@time_machine.travel(AUGUST, tick=False)
def test_another_pmo_of_the_organisation_assures_what_someone_else_entered_on_either_path(
    client, people, make_scheme
):
    scheme = make_scheme()
    for month in (1, 2):
        add_return(scheme, month, "1000", by=people["elr-finance-reviewer"])

    shown = assure_in_browser(client, people["elr-pmo"], scheme, 1, "950", "£50 is July's.")
    row = returns_row(scheme, 2, "1000", "900", assured_reason="£100 is July's.")
    imported = text(upload(client, people["elr-pmo-2"], "returns", [row]))

    assert "Imported returns: 0 created, 1 updated" in imported
    first, second = MonthlyReturn.objects.filter(scheme=scheme).order_by("month")
    assert (first.pmo_assured, first.assured_by) == (Decimal("950"), people["elr-pmo"])
    assert (second.pmo_assured, second.assured_by) == (Decimal("900"), people["elr-pmo-2"])
    history = {(c.field, c.new_value, c.changed_by) for c in scheme.changes.all()}
    assert ("Month 2 PMO assured value", "(£900)", people["elr-pmo-2"]) in history
    assert "950" in shown
