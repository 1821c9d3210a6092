"""The PID pages as users drive them: every page GET and form POST, allowed and refused."""

import html
import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance import roles
from governance.models import (
    PLAN_FIELDS,
    AccessRefusal,
    AreaOfSpend,
    FinancialYear,
    Organisation,
    ProgrammeArea,
    Review,
    Scheme,
    SchemeChange,
    SchemeDocument,
    SchemeState,
)
from governance.services import scheme_create
from tests.factories import complete_self_assessment

pytestmark = pytest.mark.django_db


def pid_post(people, **overrides):
    data = {
        "title": "MSK pathway redesign",
        "description": "Move musculoskeletal referrals to a community triage service.",
        "organisation": Organisation.objects.get(code="ELR").pk,
        "financial_year": FinancialYear.objects.get().pk,
        "programme_area": ProgrammeArea.objects.get().pk,
        "area_of_spend": AreaOfSpend.objects.get().pk,
        "scheme_type": "transformational",
        "sro": people["elr-sro"].pk,
        "clinical_lead": "",
        "finance_lead": "",
        "start_date": "2019-04-01",
        "recurrence": "recurrent",
        "cash_releasing": "True",
    }
    data.update({name: "10000.50" for name in PLAN_FIELDS})
    data.update(overrides)
    return data


@pytest.fixture
def draft(people):
    elr = Organisation.objects.get(code="ELR")
    data = {
        "title": "Outpatient follow-up reduction",
        "description": "Fewer unnecessary follow-ups.",
        "organisation": elr,
        "financial_year": FinancialYear.objects.get(),
        "programme_area": ProgrammeArea.objects.get(),
        "area_of_spend": AreaOfSpend.objects.get(),
        "scheme_type": "transactional",
        "sro": people["elr-sro"],
        "project_lead": people["elr-project-lead"],
        "start_date": date(2019, 4, 1),
        **{name: Decimal("5000") for name in PLAN_FIELDS},
    }
    scheme = scheme_create(by=people["elr-project-lead"], data=data)
    complete_self_assessment(scheme)  # submitting needs it
    return scheme


def text(response) -> str:
    """The page as a user reads it: HTML entities turned back into characters."""
    return html.unescape(response.content.decode())


def as_user(client, user):
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client, draft):
    for url in [
        reverse("home"),
        reverse("my_tasks"),
        reverse("scheme_list"),
        reverse("scheme_create"),
        draft.get_absolute_url(),
        reverse("scheme_edit", args=[draft.pk]),
        reverse("scheme_submit", args=[draft.pk]),
        reverse("scheme_review", args=[draft.pk, "finance"]),
        reverse("scheme_withdraw", args=[draft.pk]),
        reverse("notification_list"),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_sign_in_page_signs_a_user_in_and_out(client, people):
    response = client.post(reverse("login"), {"username": "elr-viewer", "password": "pw"})
    assert response.status_code == 302
    assert "Welcome" in text(client.get(reverse("home")))
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, people):
    response = client.post(reverse("login"), {"username": "elr-viewer", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in text(response)


def test_the_whole_pid_journey_reaches_the_qia_panel_with_its_history(client, people):
    lead = as_user(client, people["elr-project-lead"])
    response = lead.post(reverse("scheme_create"), pid_post(people))
    scheme = Scheme.objects.get()
    assert response["Location"] == scheme.get_absolute_url()
    assert scheme.reference == "ELR-1920-001"
    assert scheme.annual_plan == Decimal("120006.00")

    page = text(lead.get(scheme.get_absolute_url()))
    assert "£120,006" in page
    complete_self_assessment(scheme)
    page = text(lead.get(scheme.get_absolute_url()))
    assert "Submit for confirm and challenge" in page
    assert "£120,006" in page

    response = lead.post(
        reverse("scheme_submit", args=[scheme.pk]), {"version": scheme.version, "comment": ""}
    )
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.CONFIRM_AND_CHALLENGE

    finance = as_user(client, people["elr-finance-reviewer"])
    assert "Record the financial review" in text(finance.get(reverse("my_tasks")))
    finance.post(
        reverse("scheme_review", args=[scheme.pk, "finance"]),
        {"version": scheme.version, "decision": "supported", "comment": "Savings are credible."},
    )
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.CONFIRM_AND_CHALLENGE

    clinical = as_user(client, people["elr-clinical-reviewer"])
    clinical.post(
        reverse("scheme_review", args=[scheme.pk, "clinical"]),
        {"version": scheme.version, "decision": "supported", "comment": "Clinically sound."},
    )
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.QIA_PANEL

    page = text(clinical.get(scheme.get_absolute_url()))
    assert "QIA panel" in page
    assert "Savings are credible." in page
    assert "Clinically sound." in page
    assert "Draft → Confirm and challenge" in page
    assert "Confirm and challenge → QIA panel" in page
    assert StateLog.objects.count() == 3


def test_a_returned_pid_is_resubmitted_with_an_answer_to_each_reviewer(client, people, draft):
    lead = as_user(client, people["elr-project-lead"])
    lead.post(reverse("scheme_submit", args=[draft.pk]), {"version": draft.version})
    draft.refresh_from_db()
    finance = as_user(client, people["elr-finance-reviewer"])
    finance.post(
        reverse("scheme_review", args=[draft.pk, "finance"]),
        {"version": draft.version, "decision": "revise", "comment": "Show the baseline."},
    )
    draft.refresh_from_db()
    assert draft.state == SchemeState.DRAFT

    lead = as_user(client, people["elr-project-lead"])
    page = text(lead.get(reverse("scheme_submit", args=[draft.pk])))
    assert "Show the baseline." in page
    review = Review.objects.get()
    response = lead.post(reverse("scheme_submit", args=[draft.pk]), {"version": draft.version})
    assert response.status_code == 200
    assert "This field is required" in text(response)
    draft.refresh_from_db()
    assert draft.state == SchemeState.DRAFT

    lead.post(
        reverse("scheme_submit", args=[draft.pk]),
        {"version": draft.version, f"response_{review.pk}": "Baseline added in section 3."},
    )
    draft.refresh_from_db()
    assert draft.state == SchemeState.CONFIRM_AND_CHALLENGE
    assert "Baseline added in section 3." in text(lead.get(draft.get_absolute_url()))


def test_the_project_lead_edits_a_draft_and_the_change_is_in_its_history(client, people, draft):
    lead = as_user(client, people["elr-project-lead"])
    data = pid_post(people, title="Outpatient follow-up reduction (phase 2)", version=draft.version)
    response = lead.post(reverse("scheme_edit", args=[draft.pk]), data)
    assert response.status_code == 302
    page = text(lead.get(draft.get_absolute_url()))
    assert (
        "title: Outpatient follow-up reduction → Outpatient follow-up reduction (phase 2)" in page
    )
    assert "Outpatient follow-up reduction (phase 2)" in page
    change = SchemeChange.objects.get(field="title")
    assert change.old_value == "Outpatient follow-up reduction"
    assert change.changed_by == people["elr-project-lead"]


def test_an_edit_from_a_stale_page_is_refused_and_loses_nothing(client, people, draft):
    lead = as_user(client, people["elr-project-lead"])
    url = reverse("scheme_edit", args=[draft.pk])
    drawn = lead.get(url).context["form"]["drawn"].value()  # both pages drawn from one version
    as_drawn = pid_post(
        people,
        title=draft.title,
        description=draft.description,
        scheme_type=draft.scheme_type,
        version=draft.version,
        drawn=drawn,
        **{name: "5000" for name in PLAN_FIELDS},
    )
    first = {**as_drawn, "title": "First edit", PLAN_FIELDS[2]: "6000"}
    second = {**as_drawn, "title": "Second edit from an old page", "description": "Reworded."}
    lead.post(url, first)

    response = lead.post(url, second)

    # nothing overwritten, nothing typed lost, and the fields the other save changed named:
    # not the description, which only this page changed
    assert response.status_code == 200
    page = text(response)
    assert "Someone else saved this PID while you were editing it" in page
    assert "You (in another tab) changed: Title, Jun." in page
    assert 'value="Second edit from an old page"' in page
    # Jun, left as drawn on this page, takes the other save's value; the title, changed on
    # both, keeps this page's with the other one noted under it
    assert response.context["form"]["plan_m03"].value() == "£6,000"
    assert "Also changed meanwhile by you (in another tab): First edit." in page
    draft.refresh_from_db()
    assert draft.title == "First edit"

    # saving again, knowingly, keeps the second version
    again = lead.post(url, {**second, "version": response.context["form"].data["version"]})
    assert again.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "Second edit from an old page"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "This field is required"),
        ("plan_m01", "-5", "Enter the saving as a positive amount"),
        ("plan_m02", "lots", "May: Enter an amount in pounds, like 83,000 or 83k."),
        ("plan_m03", "99999999999", "That is more than £1bn in a month: check it."),
        ("plan_m04", "1e400", "Enter an amount in pounds"),
        ("plan_m05", "NaN", "Enter an amount in pounds"),
        ("plan_m06", "83,00", "Enter an amount in pounds"),
        ("plan_m07", "(1,000)", "Enter the saving as a positive amount"),
        ("title", "x" * 201, "Ensure this value has at most 200 characters"),
        ("start_date", "31/02/2019", "Enter a valid date"),
        ("sro", "999999", "Select a valid choice"),
    ],
)
def test_bad_pid_input_shows_a_form_error_and_saves_nothing(client, people, field, value, message):
    lead = as_user(client, people["elr-project-lead"])
    response = lead.post(reverse("scheme_create"), pid_post(people, **{field: value}))
    assert response.status_code == 200
    assert message in text(response)
    assert "There is a problem" in text(response)
    assert not Scheme.objects.exists()


def test_a_field_error_is_announced_with_its_field(client, people):
    """A screen reader reads a field's error when the field gets focus: the input names the
    error's element in aria-describedby and says it is invalid."""
    lead = as_user(client, people["elr-project-lead"])
    page = lead.post(
        reverse("scheme_create"), pid_post(people, title="", plan_m02="lots")
    ).content.decode()

    for field, message in (
        ("title", "This field is required."),
        ("plan_m02", "Enter an amount in pounds, like 83,000 or 83k."),
    ):
        tag = re.search(rf'<input[^>]*id="id_{field}"[^>]*>', page).group(0)
        assert 'aria-invalid="true"' in tag
        described_by = re.search(r'aria-describedby="([^"]+)"', tag).group(1).split()
        error = f"id_{field}_error"
        assert error in described_by
        assert re.search(rf'<div id="{error}"[^>]*>.*?{re.escape(message)}', page, re.S)
    untouched = re.search(r'<input[^>]*id="id_plan_m01"[^>]*>', page).group(0)
    assert "aria-invalid" not in untouched


def test_a_plan_of_nothing_is_refused(client, people):
    lead = as_user(client, people["elr-project-lead"])
    response = lead.post(
        reverse("scheme_create"), pid_post(people, **{name: "0" for name in PLAN_FIELDS})
    )
    assert "must add up to more than £0" in text(response)
    # the error summary links it to the plan, and the plan's first month carries it
    assert '<a href="#id_plan_m01">' in response.content.decode()
    assert "must add up to more than £0" in " ".join(response.context["form"].errors["plan_m01"])
    assert not Scheme.objects.exists()


def test_a_pid_for_another_organisation_is_refused(client, people):
    lead = as_user(client, people["elr-project-lead"])
    wl = Organisation.objects.get(code="WL")
    response = lead.post(reverse("scheme_create"), pid_post(people, organisation=wl.pk))
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert not Scheme.objects.exists()


@pytest.mark.parametrize(
    "username", ["elr-viewer", "elr-finance-reviewer", "elr-pmo", "elr-sro", "elr-qag-member"]
)
def test_only_a_project_lead_may_write_a_pid(client, people, username):
    response = as_user(client, people[username]).get(reverse("scheme_create"))
    assert response.status_code == 403
    assert "Only a project lead can write a new PID" in text(response)
    assert AccessRefusal.objects.filter(user=people[username], action="create").exists()


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("elr-project-lead", 200),
        ("elr-sro", 200),
        ("elr-pmo", 200),
        ("elr-finance-reviewer", 403),
        ("elr-viewer", 403),
        ("wl-pmo", 403),
        ("wl-project-lead", 403),
        ("nn-pmo", 403),
    ],
)
def test_a_draft_is_seen_only_by_its_team_and_its_pmo(client, people, draft, username, status):
    response = as_user(client, people[username]).get(draft.get_absolute_url())
    assert response.status_code == status
    if status == 403:
        assert "You do not have access to this scheme" in text(response)
        listing = text(as_user(client, people[username]).get(reverse("scheme_list")))
        assert draft.reference not in listing


@pytest.mark.parametrize(
    ("username", "status"),
    [("elr-viewer", 200), ("wl-viewer", 200), ("wl-qag-member", 200), ("nn-viewer", 403)],
)
def test_a_submitted_scheme_is_seen_across_its_system(client, people, draft, username, status):
    as_user(client, people["elr-project-lead"]).post(
        reverse("scheme_submit", args=[draft.pk]), {"version": draft.version}
    )
    response = as_user(client, people[username]).get(draft.get_absolute_url())
    assert response.status_code == status


@pytest.mark.parametrize(
    ("url_name", "args", "username", "reason"),
    [
        ("scheme_edit", [], "elr-sro", "Only the scheme's project lead can change the PID"),
        ("scheme_submit", [], "elr-sro", "Only the scheme's project lead can submit it"),
        ("scheme_withdraw", [], "elr-pmo", "Only the scheme's project lead or SRO"),
    ],
)
def test_refused_draft_actions_say_why(client, people, draft, url_name, args, username, reason):
    url = reverse(url_name, args=[draft.pk, *args])
    user_client = as_user(client, people[username])
    for response in (user_client.get(url), user_client.post(url, {"version": draft.version})):
        assert response.status_code == 403
        assert reason in text(response)
    draft.refresh_from_db()
    assert draft.state == SchemeState.DRAFT
    assert draft.version == 1


@pytest.mark.parametrize(
    ("username", "kind", "reason"),
    [
        ("elr-clinical-reviewer", "finance", "Only a finance reviewer"),
        ("elr-finance-reviewer", "clinical", "Only a clinical reviewer"),
        ("wl-finance-reviewer", "finance", "your own organisation only"),
        ("elr-viewer", "finance", "Only a finance reviewer"),
    ],
)
def test_refused_reviews_say_why_and_change_nothing(client, people, draft, username, kind, reason):
    as_user(client, people["elr-project-lead"]).post(
        reverse("scheme_submit", args=[draft.pk]), {"version": draft.version}
    )
    draft.refresh_from_db()
    url = reverse("scheme_review", args=[draft.pk, kind])
    reviewer = as_user(client, people[username])
    response = reviewer.post(
        url, {"version": draft.version, "decision": "not_supported", "comment": "No."}
    )
    assert response.status_code == 403
    assert reason in text(response)
    draft.refresh_from_db()
    assert draft.state == SchemeState.CONFIRM_AND_CHALLENGE
    assert not Review.objects.exists()


def test_a_reviewer_who_leads_the_scheme_may_not_review_it(client, people, draft):
    reviewer = people["elr-finance-reviewer"]
    reviewer.groups.add(Group.objects.get(name=roles.PROJECT_LEAD))
    draft.sro = reviewer
    Scheme.objects.filter(pk=draft.pk).update(sro=reviewer)
    as_user(client, people["elr-project-lead"]).post(
        reverse("scheme_submit", args=[draft.pk]), {"version": draft.version}
    )
    draft.refresh_from_db()
    response = as_user(client, reviewer).post(
        reverse("scheme_review", args=[draft.pk, "finance"]),
        {"version": draft.version, "decision": "supported", "comment": "Fine by me."},
    )
    assert response.status_code == 403
    assert "segregation of duties" in text(response)


def test_a_review_of_a_draft_is_refused_as_not_available_now(client, people, draft):
    response = as_user(client, people["elr-finance-reviewer"]).post(
        reverse("scheme_review", args=[draft.pk, "finance"]),
        {"version": draft.version, "decision": "supported", "comment": "Early."},
        follow=True,
    )
    # a draft is not visible to reviewers at all
    assert response.status_code == 403
    assert not Review.objects.exists()


def test_a_second_review_of_the_same_kind_is_refused_with_a_message(client, people, draft):
    as_user(client, people["elr-project-lead"]).post(
        reverse("scheme_submit", args=[draft.pk]), {"version": draft.version}
    )
    draft.refresh_from_db()
    url = reverse("scheme_review", args=[draft.pk, "finance"])
    reviewer = as_user(client, people["elr-finance-reviewer"])
    reviewer.post(url, {"version": draft.version, "decision": "supported", "comment": "Good."})
    draft.refresh_from_db()
    response = reviewer.post(
        url,
        {"version": draft.version, "decision": "not_supported", "comment": "Changed mind."},
        follow=True,
    )
    assert "already recorded" in text(response)
    assert Review.objects.count() == 1


def test_a_forged_decision_or_state_in_a_post_is_a_form_error(client, people, draft):
    as_user(client, people["elr-project-lead"]).post(
        reverse("scheme_submit", args=[draft.pk]), {"version": draft.version}
    )
    draft.refresh_from_db()
    response = as_user(client, people["elr-finance-reviewer"]).post(
        reverse("scheme_review", args=[draft.pk, "finance"]),
        {"version": draft.version, "decision": "approved", "comment": "x", "state": "approved"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    draft.refresh_from_db()
    assert draft.state == SchemeState.CONFIRM_AND_CHALLENGE


def test_an_unknown_scheme_or_review_kind_is_not_found(client, people, draft):
    user_client = as_user(client, people["elr-finance-reviewer"])
    assert user_client.get(reverse("scheme_detail", args=[999999])).status_code == 404
    assert user_client.get(reverse("scheme_review", args=[draft.pk, "legal"])).status_code == 404
    assert user_client.post(reverse("scheme_withdraw", args=[999999])).status_code == 404


def test_the_sro_withdraws_a_submitted_scheme_with_a_reason(client, people, draft):
    as_user(client, people["elr-project-lead"]).post(
        reverse("scheme_submit", args=[draft.pk]), {"version": draft.version}
    )
    draft.refresh_from_db()
    sro = as_user(client, people["elr-sro"])
    response = sro.post(reverse("scheme_withdraw", args=[draft.pk]), {"version": draft.version})
    assert response.status_code == 200
    assert "This field is required" in text(response)
    sro.post(
        reverse("scheme_withdraw", args=[draft.pk]),
        {"version": draft.version, "reason": "Superseded by the system-wide MSK scheme."},
    )
    draft.refresh_from_db()
    assert draft.state == SchemeState.WITHDRAWN
    assert "Superseded" in text(sro.get(draft.get_absolute_url()))


def test_the_scheme_list_filters_and_searches(client, people, draft):
    viewer = as_user(client, people["elr-pmo"])
    assert draft.reference in text(viewer.get(reverse("scheme_list")))
    assert draft.reference in text(viewer.get(reverse("scheme_list"), {"q": "follow-up"}))
    empty = text(viewer.get(reverse("scheme_list"), {"q": "no such thing"}))
    assert draft.reference not in empty
    assert "No schemes match" in empty
    by_state = text(viewer.get(reverse("scheme_list"), {"state": "approved"}))
    assert draft.reference not in by_state
    bad = viewer.get(
        reverse("scheme_list"), {"state": "nonsense", "organisation": "x", "page": "z"}
    )
    assert bad.status_code == 200


def test_the_scheme_list_filter_form_keeps_the_filters_and_marks_a_refused_one(
    client, people, draft
):
    viewer = as_user(client, people["elr-pmo"])
    page = viewer.get(
        reverse("scheme_list"),
        {"q": "follow <up>", "organisation": draft.organisation_id, "state": "nonsense"},
    ).content.decode()

    assert 'value="follow &lt;up&gt;"' in page
    assert f'<option value="{draft.organisation_id}" selected>' in page
    assert '<option value="" selected>All years</option>' in page
    assert 'aria-invalid="true" aria-describedby="id_state_error" id="id_state"' in page
    assert "nonsense is not one of the available choices" in page
    assert 'id="id_organisation"' in page and 'aria-describedby="id_organisation_error"' not in page


def test_the_scheme_list_paginates(client, people, draft):
    for _ in range(30):
        scheme_create(
            by=people["elr-project-lead"],
            data={
                field: getattr(draft, field)
                for field in [
                    "title",
                    "description",
                    "organisation",
                    "financial_year",
                    "programme_area",
                    "area_of_spend",
                    "scheme_type",
                    "sro",
                    "project_lead",
                    "start_date",
                    *PLAN_FIELDS,
                ]
            },
        )
    lead = as_user(client, people["elr-project-lead"])
    first = text(lead.get(reverse("scheme_list")))
    assert "Page 1 of 2" in first and "31 schemes" in first
    second = text(lead.get(reverse("scheme_list"), {"page": 2}))
    assert "Page 2 of 2" in second and "ELR-1920-031" in second and "ELR-1920-001" not in second
    # a page outside the list shows the last (Django's Paginator.get_page); nonsense the first
    for number in (99, 10**6, 10**21, 0, -3):
        past = text(lead.get(reverse("scheme_list"), {"page": number}))
        assert "Page 2 of 2" in past and "ELR-1920-031" in past and "ELR-1920-001" not in past
    for number in ("two", ""):
        assert "Page 1 of 2" in text(lead.get(reverse("scheme_list"), {"page": number}))
    empty = text(lead.get(reverse("scheme_list"), {"q": "nothing like it", "page": 3}))
    assert "No schemes match" in empty


def test_the_scheme_list_shows_the_newest_year_first_then_organisation_then_number(client, db):
    from tests.governance.report_fixtures import add_scheme, report_world

    world = report_world()
    later = FinancialYear.objects.create(start_year=2020)
    for org, year in [("WL", world.year), ("ELR", later), ("NN", world.year), ("ELR", world.year)]:
        add_scheme(world, org, year=year)
        add_scheme(world, org, year=year)

    page = text(as_user(client, world.users["elr-viewer"]).get(reverse("scheme_list")))

    shown = re.findall(r">((?:ELR|NN|WL)-\d{4}-\d{3})<", page)
    # NN is another system's: not shown
    assert shown == [
        "ELR-2021-001",
        "ELR-2021-002",
        "ELR-1920-001",
        "ELR-1920-002",
        "WL-1920-001",
        "WL-1920-002",
    ]


def _docx_bytes() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def test_the_project_lead_attaches_and_downloads_documents(
    client, people, draft, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    lead = as_user(client, people["elr-project-lead"])
    url = reverse("document_upload", args=[draft.pk])
    lead.post(
        url,
        {
            "kind": "pid",
            "file": SimpleUploadedFile("pid.pdf", b"%PDF-1.4 minimal", "application/pdf"),
        },
    )
    lead.post(
        url, {"kind": "business_case", "file": SimpleUploadedFile("case.docx", _docx_bytes())}
    )
    assert SchemeDocument.objects.count() == 2
    page = text(lead.get(draft.get_absolute_url()))
    assert "pid.pdf" in page and "case.docx" in page
    document = SchemeDocument.objects.get(original_name="pid.pdf")
    response = lead.get(reverse("document_download", args=[document.pk]))
    assert b"".join(response.streaming_content) == b"%PDF-1.4 minimal"
    # another organisation's user cannot fetch a draft's document by guessing its id
    assert (
        as_user(client, people["wl-pmo"])
        .get(reverse("document_download", args=[document.pk]))
        .status_code
        == 403
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("fake.pdf", b"MZ\x90\x00 not a pdf", "is not a PDF document"),
        ("fake.docx", b"%PDF-1.4 pretending", "its content is not"),
        ("script.exe", b"MZ\x90\x00", "Only these types of document are accepted"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_a_document_of_the_wrong_type_is_refused(
    client, people, draft, settings, tmp_path, name, content, message
):
    settings.MEDIA_ROOT = tmp_path
    lead = as_user(client, people["elr-project-lead"])
    response = lead.post(
        reverse("document_upload", args=[draft.pk]),
        {"kind": "supporting", "file": SimpleUploadedFile(name, content)},
        follow=True,
    )
    assert message in text(response)
    assert not SchemeDocument.objects.exists()


def test_a_document_over_20_mb_is_refused(client, people, draft, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.QIPP_DOCUMENT_MAX_BYTES = 1024
    lead = as_user(client, people["elr-project-lead"])
    response = lead.post(
        reverse("document_upload", args=[draft.pk]),
        {"kind": "supporting", "file": SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * 2048)},
        follow=True,
    )
    assert "larger than 20 MB" in text(response)
    assert not SchemeDocument.objects.exists()


def test_only_the_project_lead_may_upload_to_a_draft(client, people, draft, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = as_user(client, people["elr-sro"]).post(
        reverse("document_upload", args=[draft.pk]),
        {"kind": "pid", "file": SimpleUploadedFile("pid.pdf", b"%PDF-1.4")},
    )
    assert response.status_code == 403
    assert not SchemeDocument.objects.exists()


def test_notifications_reach_the_reviewers_and_can_be_marked_read(client, people, draft):
    as_user(client, people["elr-project-lead"]).post(
        reverse("scheme_submit", args=[draft.pk]), {"version": draft.version}
    )
    reviewer = as_user(client, people["elr-finance-reviewer"])
    page = text(reviewer.get(reverse("notification_list")))
    assert f"Review requested: {draft.reference}" in page
    assert "Mark all as read" in page
    reviewer.post(reverse("notification_mark_all_read"))
    assert people["elr-finance-reviewer"].notifications.filter(read_at__isnull=True).count() == 0
    # the other organisation's reviewers are not told
    assert not people["wl-finance-reviewer"].notifications.exists()


def test_a_long_task_list_comes_in_pages_and_home_says_how_many_more(client, people, monkeypatch):
    from governance import views

    monkeypatch.setattr(views, "TASKS_PER_PAGE", 2)
    monkeypatch.setattr(views, "HOME_TASKS", 1)
    lead = as_user(client, people["elr-project-lead"])
    for title in ("First", "Second", "Third"):
        assert lead.post(reverse("scheme_create"), pid_post(people, title=title)).status_code == 302

    def rows(page: str) -> int:
        return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr>")

    first = text(lead.get(reverse("my_tasks")))
    assert rows(first) == 2
    assert "3 tasks, 1 to 2 shown." in first
    assert "Page 1 of 2" in first
    second = text(lead.get(reverse("my_tasks"), {"page": 2}))
    assert rows(second) == 1
    assert "3 tasks, 3 to 3 shown." in second
    # a page that is not there shows the nearest one rather than an error
    assert rows(text(lead.get(reverse("my_tasks"), {"page": "last-but-one"}))) == 2
    assert rows(text(lead.get(reverse("my_tasks"), {"page": 99}))) == 1

    home = text(lead.get(reverse("home")))
    assert rows(home) == 1
    assert "All my tasks (2 more)" in home


def test_an_empty_task_list_says_so(client, people):
    page = text(as_user(client, people["elr-viewer"]).get(reverse("my_tasks")))
    assert "Nothing is waiting for you." in page
    assert "Page 1" not in page


def _submitted(client, people, draft) -> Scheme:
    as_user(client, people["elr-project-lead"]).post(
        reverse("scheme_submit", args=[draft.pk]), {"version": draft.version}
    )
    draft.refresh_from_db()
    return draft


def _review_form(client, user, scheme, kind) -> dict:
    """The hidden fields of the review form as the reviewer's page drew them."""
    page = as_user(client, user).get(reverse("scheme_review", args=[scheme.pk, kind]))
    form = page.context["form"]
    return {"version": form.initial["version"], "round": form.initial["round"]}


def test_the_two_reviews_opened_together_both_go_through(client, people, draft):
    scheme = _submitted(client, people, draft)
    finance_seen = _review_form(client, people["elr-finance-reviewer"], scheme, "finance")
    clinical_seen = _review_form(client, people["elr-clinical-reviewer"], scheme, "clinical")

    finance = as_user(client, people["elr-finance-reviewer"])
    response = finance.post(
        reverse("scheme_review", args=[scheme.pk, "finance"]),
        {**finance_seen, "decision": "supported", "comment": "Savings are credible."},
        follow=True,
    )
    assert (
        f"Your financial review of {scheme.reference} is recorded. It stays in confirm and "
        "challenge until the clinical review is in." in text(response)
    )

    # the clinical reviewer's page was drawn before the financial review: still accepted
    clinical = as_user(client, people["elr-clinical-reviewer"])
    response = clinical.post(
        reverse("scheme_review", args=[scheme.pk, "clinical"]),
        {**clinical_seen, "decision": "supported", "comment": "Clinically sound."},
        follow=True,
    )
    assert f"{scheme.reference} is now at the QIA panel." in text(response)
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.QIA_PANEL
    assert Review.objects.filter(scheme=scheme).count() == 2


def test_a_review_of_an_earlier_submission_is_a_conflict(client, people, draft):
    scheme = _submitted(client, people, draft)
    clinical_seen = _review_form(client, people["elr-clinical-reviewer"], scheme, "clinical")
    as_user(client, people["elr-finance-reviewer"]).post(
        reverse("scheme_review", args=[scheme.pk, "finance"]),
        {"version": scheme.version, "decision": "revise", "comment": "Show the baseline."},
    )
    scheme.refresh_from_db()
    review = Review.objects.get()
    as_user(client, people["elr-project-lead"]).post(
        reverse("scheme_submit", args=[scheme.pk]),
        {"version": scheme.version, f"response_{review.pk}": "Baseline added."},
    )
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.CONFIRM_AND_CHALLENGE

    response = as_user(client, people["elr-clinical-reviewer"]).post(
        reverse("scheme_review", args=[scheme.pk, "clinical"]),
        {**clinical_seen, "decision": "supported", "comment": "Read the first version."},
    )
    # the form comes back with the comment, drawn from the new submission
    page = text(response)
    assert "changed while you were looking at it" in page
    assert "It has been resubmitted since: this is submission 2." in page
    assert "Read the first version." in page
    assert response.context["form"]["round"].value() == 2
    assert not Review.objects.filter(kind="clinical").exists()


def test_the_review_form_is_not_offered_once_that_review_is_in(client, llr, people, draft):
    scheme = _submitted(client, people, draft)
    reviewer = as_user(client, people["elr-finance-reviewer"])
    url = reverse("scheme_review", args=[scheme.pk, "finance"])
    reviewer.post(url, {"version": scheme.version, "decision": "supported", "comment": "Good."})

    response = reviewer.get(url, follow=True)
    assert response.redirect_chain[-1][0] == scheme.get_absolute_url()
    assert "Your financial review is already recorded." in text(response)
    # another finance reviewer is told whose it is, and what it said
    colleague = llr.add_user("elr-finance-reviewer-2", "elr", roles.FINANCE_REVIEWER)
    response = as_user(client, colleague).get(url, follow=True)
    assert response.redirect_chain[-1][0] == scheme.get_absolute_url()
    assert (
        "The financial review of this submission is already recorded, by ELR Finance Reviewer: "
        "supported." in text(response)
    )
    # the clinical review is still offered
    clinical = as_user(client, people["elr-clinical-reviewer"])
    assert clinical.get(reverse("scheme_review", args=[scheme.pk, "clinical"])).status_code == 200


def test_a_reviewer_who_sends_a_pid_back_lands_on_their_tasks_not_a_refusal(client, people, draft):
    scheme = _submitted(client, people, draft)
    response = as_user(client, people["elr-finance-reviewer"]).post(
        reverse("scheme_review", args=[scheme.pk, "finance"]),
        {"version": scheme.version, "decision": "revise", "comment": "Show the baseline."},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("my_tasks")
    page = text(response)
    # one alert, saying where the PID went: it is out of the reviewer's sight now
    assert f"{scheme.reference} is now a draft." not in page
    assert f"{scheme.reference} is back with its project team as a draft" in page
    assert not AccessRefusal.objects.exists()


def test_signed_in_pages_are_not_kept_by_the_browser(client, people, draft):
    response = as_user(client, people["elr-project-lead"]).get(draft.get_absolute_url())
    cache = response["Cache-Control"]
    assert "no-store" in cache and "private" in cache


def test_a_review_link_followed_after_confirm_and_challenge_leads_to_the_scheme(
    client, people, draft
):
    # an old "Record the financial review" notice, opened once the scheme has moved on
    lead = as_user(client, people["elr-project-lead"])
    lead.post(reverse("scheme_submit", args=[draft.pk]), {"version": draft.version})
    for kind in ("finance", "clinical"):
        draft.refresh_from_db()
        reviewer = as_user(client, people[f"elr-{kind}-reviewer"])
        reviewer.post(
            reverse("scheme_review", args=[draft.pk, kind]),
            {"version": draft.version, "decision": "supported", "comment": "Sound."},
        )
    draft.refresh_from_db()
    assert draft.state == SchemeState.QIA_PANEL

    finance = as_user(client, people["elr-finance-reviewer"])
    response = finance.get(reverse("scheme_review", args=[draft.pk, "finance"]), follow=True)

    assert response.redirect_chain == [(draft.get_absolute_url(), 302)]
    assert f"{draft.reference} is at the QIA panel: that step does not apply now." in text(response)
    assert not AccessRefusal.objects.exists()
    # someone who never reviews is refused, and that is on record
    viewer = as_user(client, people["elr-viewer"])
    response = viewer.get(reverse("scheme_review", args=[draft.pk, "finance"]))
    assert response.status_code == 403
    assert AccessRefusal.objects.filter(user=people["elr-viewer"]).exists()


def test_a_review_link_after_the_other_reviewer_sent_the_pid_back_leads_to_the_tasks(
    client, people, draft
):
    # the clinical reviewer opens their "Record the clinical review" notice after the finance
    # reviewer chose "Revise": the scheme is a draft again, out of their sight
    scheme = _submitted(client, people, draft)
    as_user(client, people["elr-finance-reviewer"]).post(
        reverse("scheme_review", args=[scheme.pk, "finance"]),
        {"version": scheme.version, "decision": "revise", "comment": "Show the baseline."},
    )
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.DRAFT
    url = reverse("scheme_review", args=[scheme.pk, "clinical"])

    response = as_user(client, people["elr-clinical-reviewer"]).get(url, follow=True)
    assert response.redirect_chain == [(reverse("my_tasks"), 302)]
    assert (
        f"{scheme.reference} is back with its project team for revision: you will see it again "
        "when it is resubmitted."
    ) in text(response)
    assert not AccessRefusal.objects.exists()

    # a review posted now is still refused, and so is the page to who never reviews it
    response = as_user(client, people["elr-clinical-reviewer"]).post(
        url, {"version": scheme.version, "decision": "supported", "comment": "Fine."}
    )
    assert response.status_code == 403
    for username in ("elr-viewer", "wl-clinical-reviewer"):
        response = as_user(client, people[username]).get(url)
        assert response.status_code == 403
        assert AccessRefusal.objects.filter(user=people[username]).exists()
    assert not Review.objects.filter(kind="clinical").exists()
