"""The audit export (issue 21): who may take it, what its CSV and XLSX hold, what a mistaken
choice is told, and that each export is itself on record."""

import codecs
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance import audit, services
from governance.models import (
    AccessRefusal,
    AuditExport,
    FinancialYear,
    QippTarget,
    Review,
    SchemeState,
)
from notifications.models import Escalation, EscalationEvent, Rule
from qia.models import Assessment, AssessmentKind, PanelScore
from tests.pages import text
from tests.world import add_return

URL = reverse("audit_export")
REASON = "The March invoice is disputed: assured at the agreed figure."


@pytest.fixture
def trail(llr, people, journey, make_scheme):
    """An ELR scheme taken through reviews, the panel and both sign-offs; a return assured
    below its actual with a reason; a QAG decision on an escalation; a refusal about the
    scheme; and an NN scheme with a review of its own, which ELR's PMO must not get."""
    scheme = journey.approved()
    now = timezone.now()
    add_return(
        scheme,
        1,
        5000,
        assured=4000,
        by=people["elr-finance-reviewer"],
        assured_by=people["elr-pmo"],
        assured_at=now,
        assured_reason=REASON,
    )
    escalation = Escalation.objects.create(
        scheme=scheme,
        rule=Rule.OFF_TRACK,
        owner=people["elr-sro"],
        reason="Delivery off track.",
        raised_at=now,
        last_fired_at=now,
    )
    EscalationEvent.objects.create(
        escalation=escalation,
        at=now,
        by=people["elr-qag-member"],
        what="QAG decision: continue with the remedial plan",
        detail="Continue until June, with monthly checks.",
    )
    services.record_refusal(
        user=people["wl-viewer"],
        action="submit",
        target=scheme.reference,
        reason='=HYPERLINK("http://evil.example")',
    )
    other = make_scheme(SchemeState.CONFIRM_AND_CHALLENGE, org="NN")
    Review.objects.create(
        scheme=other,
        kind="finance",
        round=1,
        reviewer=people["nn-finance-reviewer"],
        decision="supported",
        comment="Nottingham figures checked.",
    )
    return {"scheme": scheme, "other": other}


def choose(llr, *orgs, **overrides):
    today = timezone.localdate()
    data = {
        "organisations": [llr.org(key).pk for key in orgs],
        "date_from": (today - timedelta(days=1)).isoformat(),
        "date_to": today.isoformat(),
        "kinds": [kind for kind in audit.KINDS if kind not in audit.STAFF_KINDS],
        "format": "csv",
    }
    data.update(overrides)
    return data


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(codecs.BOM_UTF8)  # Excel reads names and £ as typed
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def of_kind(rows, kind: str) -> list[dict]:
    return [row for row in rows if row["Kind"] == audit.KINDS[kind]]


def test_the_page_offers_the_pmo_their_own_organisations(client, llr, people):
    client.force_login(people["elr-pmo"])
    response = client.get(URL)
    assert response.status_code == 200
    page = text(response)
    assert "East Leics and Rutland" in page
    assert "Nottingham North" not in page
    assert "Agreed QIA scores" in page


def test_the_pmo_downloads_their_organisations_trail_as_csv(client, llr, people, trail):
    scheme = trail["scheme"]
    client.force_login(people["elr-pmo"])
    response = client.post(URL, choose(llr, "elr"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)

    submitted = [row for row in of_kind(rows, "transitions") if row["What"].startswith("submit")]
    assert submitted and submitted[0]["Scheme"] == scheme.reference
    assert submitted[0]["Who"] == people["elr-project-lead"].get_full_name()
    assert submitted[0]["Organisation"] == "ELR"

    reviews = of_kind(rows, "reviews")
    assert {row["Who"] for row in reviews} == {
        people["elr-finance-reviewer"].get_full_name(),
        people["elr-clinical-reviewer"].get_full_name(),
    }
    assert all(row["Detail"].startswith("Supported.") for row in reviews)

    sign_offs = of_kind(rows, "sign_offs")
    assert {row["Who"] for row in sign_offs} == {
        people["elr-chief-nurse"].get_full_name(),
        people["elr-clinical-chair"].get_full_name(),
    }

    assured = of_kind(rows, "assured")
    assert len(assured) == 1
    assert assured[0]["Who"] == people["elr-pmo"].get_full_name()
    assert assured[0]["What"] == "Month 1 (Apr) return assured"
    assert assured[0]["Detail"] == REASON
    # money as every download writes it: pounds in the papers' sign, a saving negative
    assert assured[0]["PMO assured (£, a saving negative)"] == "-4000"
    assert assured[0]["Actual (£, a saving negative)"] == "-5000"
    assert all(
        row["PMO assured (£, a saving negative)"] == row["Actual (£, a saving negative)"] == ""
        for row in rows
        if row["Kind"] != audit.KINDS["assured"]
    )

    decisions = of_kind(rows, "qag")
    assert [row["What"] for row in decisions] == ["QAG decision: continue with the remedial plan"]
    assert decisions[0]["Detail"] == (
        "Escalated for off-track delivery (RAG red). Continue until June, with monthly checks."
    )
    assert decisions[0]["Who"] == people["elr-qag-member"].get_full_name()

    refused = of_kind(rows, "refusals")
    assert len(refused) == 1
    assert refused[0]["Who"] == people["wl-viewer"].get_full_name()
    assert refused[0]["Scheme"] == scheme.reference
    # a reason that would run as a formula in a spreadsheet stays text
    assert refused[0]["Detail"].startswith("'=HYPERLINK")

    # nothing of Nottingham North's
    assert trail["other"].reference not in {row["Scheme"] for row in rows}
    assert "Nottingham figures checked." not in response.content.decode()


def test_it_exports_the_agreed_scores_and_never_a_members_own(client, llr, people, trail):
    scheme = trail["scheme"]
    client.force_login(people["elr-pmo"])
    rows = of_kind(csv_rows(client.post(URL, choose(llr, "elr"))), "scores")
    agreed = Assessment.objects.filter(version__qia__scheme=scheme, kind=AssessmentKind.AGREED)
    assert len(rows) == agreed.count() > 0
    assert {row["Who"] for row in rows} == {people["elr-quality-lead"].get_full_name()}
    assert PanelScore.objects.filter(version__qia__scheme=scheme).exists()
    scorers = {score.member.get_full_name() for score in PanelScore.objects.all()}
    scorers.discard(people["elr-quality-lead"].get_full_name())
    assert not scorers & {row["Who"] for row in rows}


def test_it_leaves_out_scores_the_panel_has_not_yet_agreed(client, llr, people, journey):
    scheme = journey.scored()
    assert PanelScore.objects.filter(version__qia__scheme=scheme).exists()
    client.force_login(people["elr-pmo"])
    response = client.post(URL, choose(llr, "elr", kinds=["scores"]))
    assert csv_rows(response) == []


def test_staff_download_any_organisation_as_xlsx_one_sheet_per_kind(client, llr, trail):
    staff = llr.add_user("audit-staff", [], is_staff=True)
    client.force_login(staff)
    response = client.post(URL, choose(llr, "elr", "nn", format="xlsx", kinds=list(audit.KINDS)))
    assert response.status_code == 200
    assert response["Content-Type"] == audit.XLSX_TYPE
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == list(audit.KINDS.values())

    def sheet_rows(kind):
        sheet = workbook[audit.KINDS[kind]]
        heading, *rows = sheet.iter_rows(values_only=True)
        assert list(heading) == audit.headings(kind)
        return [dict(zip(heading, row, strict=True)) for row in rows]

    reviews = sheet_rows("reviews")
    assert {row["Scheme"] for row in reviews} == {
        trail["scheme"].reference,
        trail["other"].reference,
    }
    assured = sheet_rows("assured")
    assert [row["Detail"] for row in assured] == [REASON]
    assert assured[0]["When"].date() == timezone.localdate()
    # numbers in the papers' sign, shown in brackets as the committee tables show a saving
    assert assured[0]["PMO assured (£, a saving negative)"] == -4000
    assert assured[0]["Actual (£, a saving negative)"] == -5000
    money = workbook[audit.KINDS["assured"]]["G2"]
    assert money.number_format == "#,##0;(#,##0)"
    assert audit.headings("reviews") == audit.HEADINGS  # no amounts where there are none
    refused = sheet_rows("refusals")
    # stored as text, not as a formula that a spreadsheet would run
    assert refused[0]["Detail"] == '=HYPERLINK("http://evil.example")'
    assert any(row["What"].startswith("submit") for row in sheet_rows("transitions"))


def test_staff_export_the_admin_sites_changes_with_old_and_new_values(client, llr, people):
    staff = llr.add_user("audit-admin", [], is_staff=True, is_superuser=True)
    client.force_login(staff)
    target = QippTarget.objects.create(
        organisation=llr.org("elr"),
        financial_year=FinancialYear.objects.first(),
        requirement=Decimal("19647000"),
    )
    target_url = reverse("admin:governance_qipptarget_change", args=[target.pk])
    form = {
        "organisation": target.organisation_id,
        "financial_year": target.financial_year_id,
        "requirement": "19647500",
        "allocation": "",
    }
    assert client.post(target_url, form).status_code == 302

    response = client.post(URL, choose(llr, "elr", kinds=["admin"]))

    [row] = of_kind(csv_rows(response), "admin")
    assert row["Who"] == str(staff)
    assert row["What"] == "Changed qipp target"
    assert "Changed requirement from " in row["Detail"] and "to 19647500.00." in row["Detail"]
    # the PMO is not offered them, and asking is refused by the form
    client.force_login(people["elr-pmo"])
    assert "Admin site changes" not in text(client.get(URL))
    refused = client.post(URL, choose(llr, "elr", kinds=["admin"]))
    assert "admin is not a kind of record this export knows." in text(refused)


def test_each_export_is_logged(client, llr, people, trail):
    client.force_login(people["elr-pmo"])
    response = client.post(URL, choose(llr, "elr", kinds=["reviews", "assured"]))
    exported = AuditExport.objects.get()
    assert exported.by == people["elr-pmo"]
    assert exported.organisations == ["ELR"]
    assert exported.kinds == ["reviews", "assured"]
    assert exported.format == "csv"
    assert exported.date_to == timezone.localdate()
    assert exported.rows == len(csv_rows(response)) == 3


def test_the_dates_bound_the_rows(client, llr, people, trail):
    client.force_login(people["elr-pmo"])
    tomorrow = timezone.localdate() + timedelta(days=1)
    data = choose(llr, "elr", date_from=tomorrow.isoformat(), date_to=tomorrow.isoformat())
    assert csv_rows(client.post(URL, data)) == []


@pytest.mark.parametrize("username", ["elr-viewer", "elr-project-lead", "elr-quality-lead"])
def test_it_refuses_anyone_but_staff_and_the_pmo(client, llr, people, username):
    client.force_login(people[username])
    for response in (client.get(URL), client.post(URL, choose(llr, "elr"))):
        assert response.status_code == 403
        assert audit.REFUSED in text(response)
    refusals = AccessRefusal.objects.filter(user=people[username], action="audit_export")
    assert refusals.count() == 2
    assert not AuditExport.objects.exists()


def test_it_sends_an_anonymous_visitor_to_sign_in(client, llr):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(settings.LOGIN_URL))
    # a form posted signed out is answered with the way to sign in, and exports nothing
    response = client.post(URL, choose(llr, "elr"))
    assert response.status_code == 401
    assert reverse(settings.LOGIN_URL) in text(response) and "Sign in again" in text(response)
    assert not AuditExport.objects.exists()


def test_it_refuses_the_pmo_another_organisations_trail(client, llr, people, trail):
    client.force_login(people["elr-pmo"])
    response = client.post(URL, choose(llr, "elr", "nn"))
    assert response.status_code == 403
    assert "NN is not one of them" in text(response)
    refused = AccessRefusal.objects.get(user=people["elr-pmo"], action="audit_export")
    assert "NN" in refused.target
    assert not AuditExport.objects.exists()


def test_another_organisation_is_refused_even_beside_a_mistake(client, llr, people):
    client.force_login(people["elr-pmo"])
    response = client.post(URL, choose(llr, "nn", date_from="not a date"))
    assert response.status_code == 403
    assert AccessRefusal.objects.filter(user=people["elr-pmo"]).exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"date_from": "2024-05-02", "date_to": "2024-05-01"}, "is before the start date"),
        # far outside the trail: told, never a 500 (the day after 9999-12-31 does not exist)
        ({"date_from": "0001-01-01"}, "Choose a date from 1 January 2000 to"),
        ({"date_to": "9999-12-31"}, "31 December 9999 is outside the audit trail"),
        ({"date_from": "1999-12-31"}, "31 December 1999 is outside the audit trail"),
        ({"date_from": "yesterday"}, "Enter a date as year-month-day"),
        ({"date_to": "2024-13-45"}, "Enter a date as year-month-day"),
        ({"organisations": ["999999"]}, "There is no organisation 999999"),
        ({"organisations": ["ELR"]}, "is not an organisation"),
        ({"organisations": []}, "Tick at least one organisation."),
        ({"format": "pdf"}, "Choose CSV or XLSX."),
        ({"kinds": ["everything"]}, "is not a kind of record this export knows"),
        ({"kinds": []}, "Tick at least one kind of record"),
    ],
)
def test_a_mistaken_choice_is_explained_and_gives_no_file(client, llr, people, change, message):
    client.force_login(people["elr-pmo"])
    response = client.post(URL, choose(llr, "elr", **change))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert message in text(response)
    assert not AuditExport.objects.exists()


def test_a_choice_too_large_for_one_file_is_refused_with_its_count(
    client, llr, people, trail, monkeypatch
):
    monkeypatch.setattr(audit, "MAX_ROWS", 2)
    client.force_login(people["elr-pmo"])
    response = client.post(URL, choose(llr, "elr"))
    assert response.status_code == 200
    assert "more than the 2 one file can hold" in text(response)
    assert not AuditExport.objects.exists()


def test_the_service_refuses_another_organisation_whoever_calls_it(llr, people):
    choice = audit.Choice(
        organisations=[llr.org("nn")],
        date_from=timezone.localdate(),
        date_to=timezone.localdate(),
        kinds=list(audit.KINDS),
        format="csv",
    )
    with pytest.raises(services.ActionRefused):
        audit.audit_export(by=people["elr-pmo"], choice=choice)
    assert not AuditExport.objects.exists()
