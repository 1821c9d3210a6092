"""The project lead's self-assessment, the submit gate and the equality screening gate."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from governance import services as governance
from governance.models import SchemeState
from governance.services import ActionRefused
from qia import services
from qia.models import Assessment, VersionStatus
from tests.qia.conftest import MODERATE, mitigation_post, mitigations, scores, text, words

pytestmark = pytest.mark.django_db


# --- the submit gate ---


def submit(qia, scheme):
    return governance.scheme_submit(
        scheme_id=scheme.pk, by=qia["elr-project-lead"], expected_version=None
    )


def test_a_scheme_cannot_be_submitted_without_a_self_assessment(qia):
    scheme = qia.draft()
    with pytest.raises(ActionRefused, match="Complete the QIA self-assessment before submitting"):
        submit(qia, scheme)
    assert qia.fresh(scheme).state == SchemeState.DRAFT


def test_nor_with_an_incomplete_one(qia):
    scheme = qia.draft()
    qia.self_assess(
        scheme,
        {**MODERATE, "resources": {"impact": "negative"}, "evidence_base": {}},
        equality="",
    )
    with pytest.raises(ActionRefused) as refused:
        submit(qia, scheme)
    assert str(refused.value) == (
        "Complete the QIA self-assessment first. Evidence base: choose the impact. "
        "Resources: score the consequence and likelihood. "
        "Resources: give the rationale for the negative impact. (and 1 more)"
    )
    assert qia.fresh(scheme).state == SchemeState.DRAFT


def test_a_complete_self_assessment_lets_the_scheme_go(qia):
    scheme = qia.submitted()
    assert scheme.state == SchemeState.CONFIRM_AND_CHALLENGE
    version = qia.version(scheme)
    assert version.status == VersionStatus.SELF_ASSESSMENT
    with pytest.raises(ActionRefused, match="only be changed while the scheme is a draft"):
        qia.self_assess(scheme)


def test_returned_by_a_reviewer_the_self_assessment_is_editable_again(qia):
    scheme = qia.submitted()
    governance.scheme_review(
        scheme_id=scheme.pk,
        by=qia["elr-clinical-reviewer"],
        kind="clinical",
        decision="revise",
        comment="Say more about safety.",
        expected_version=None,
    )
    version = qia.self_assess(
        scheme,
        {
            **MODERATE,
            "patient_safety": dict(MODERATE["patient_safety"], rationale="Safety net: GP recall."),
        },
    )
    assert version.number == 1
    assert version.assessments.get(heading="patient_safety").rationale == "Safety net: GP recall."


@pytest.mark.parametrize("username", ["elr-sro", "elr-quality-lead", "wl-project-lead"])
def test_only_the_project_lead_edits_it(qia, username):
    scheme = qia.draft()
    with pytest.raises(ActionRefused):
        services.self_assessment_save(scheme_id=scheme.pk, by=qia[username], headings=MODERATE)
    assert not Assessment.objects.exists()


def test_scores_are_kept_only_for_a_negative_impact(qia):
    scheme = qia.draft()
    version = qia.self_assess(
        scheme, {**MODERATE, "resources": {"impact": "positive", "consequence": 4, "likelihood": 4}}
    )
    row = version.assessments.get(heading="resources")
    assert (row.consequence, row.likelihood, row.score) == (None, None, None)


# --- the page ---


def actions(headings=MODERATE) -> list[dict]:
    """A mitigating action for each negative heading; patient safety's is GP recall."""
    recall = {
        "heading": "patient_safety",
        "description": "GP recall at six weeks.",
        "owner": "Practice nurse lead",
        "due_date": timezone.localdate() + timedelta(days=90),
        "status": "planned",
    }
    return [recall, *(row for row in mitigations(headings) if row["heading"] != "patient_safety")]


def sheet(headings=MODERATE, rows=None, **extra) -> dict:
    """The page's post: the headings, their mitigating actions (`rows`, else `actions`) and
    the equality screening; `extra` overrides any field."""
    data = {
        **mitigation_post(actions(headings) if rows is None else rows),
        "equality_impact": "no",
        "equality_rationale": "No group is affected differently.",
    }
    for heading, values in headings.items():
        for name in ("impact", "consequence", "likelihood", "rationale"):
            value = values.get(name)
            data[f"{heading}-{name}"] = "" if value is None else str(value)
    data.update(extra)
    return data


def test_the_page_saves_the_self_assessment_and_shows_its_scores(qia, as_user):
    scheme = qia.draft()
    lead = as_user(qia["elr-project-lead"])
    page = text(lead.get(reverse("qia_self_assessment", args=[scheme.pk])))
    assert "Patient safety" in page and "Contributory factor" in page
    assert 'src="/static/qia/sheet.js"' in page

    response = lead.post(reverse("qia_self_assessment", args=[scheme.pk]), sheet())
    assert response.status_code == 302
    version = qia.version(scheme)
    assert version.mitigations.get(heading="patient_safety").owner == "Practice nurse lead"
    page = words(lead.get(reverse("qia_detail", args=[scheme.pk])))
    assert "Negative · C3 × L2 = 6 · Moderate" in page
    assert "GP recall at six weeks." in page
    # without JavaScript the form shows the saved score beside the fields
    page = text(lead.get(reverse("qia_self_assessment", args=[scheme.pk])))
    assert "Score 6 · Moderate" in page


def test_the_page_shows_field_errors_for_a_negative_impact_left_unscored(qia, as_user):
    scheme = qia.draft()
    lead = as_user(qia["elr-project-lead"])
    data = sheet(**{"resources-consequence": "", "resources-likelihood": "9"})
    response = lead.post(reverse("qia_self_assessment", args=[scheme.pk]), data)
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page
    assert "Resources, consequence: Score the consequence of a negative impact." in page
    assert "Resources, likelihood: Select a valid choice." in page
    assert qia.version(scheme) is None


def test_an_unfinished_self_assessment_is_saved_with_a_list_of_what_is_missing(qia, as_user):
    scheme = qia.draft()
    lead = as_user(qia["elr-project-lead"])
    data = sheet(**{"evidence_base-impact": "", "equality_impact": ""})
    lead.post(reverse("qia_self_assessment", args=[scheme.pk]), data)
    page = text(lead.get(reverse("qia_detail", args=[scheme.pk])))
    assert "The self-assessment is not complete yet." in page
    assert "Evidence base: choose the impact." in page


# --- mitigating actions: DESIGN.md gives a negative impact actions with owner and due date ---


def submit_page(client, scheme):
    url = reverse("scheme_submit", args=[scheme.pk])
    return client.post(url, {"version": scheme.version}, follow=True)


def test_a_negative_heading_without_a_mitigating_action_is_saved_but_blocks_submission(
    qia, as_user
):
    scheme = qia.draft()
    lead = as_user(qia["elr-project-lead"])
    headings = scores(clinical_effectiveness=(3, 3))
    # every other negative heading has its action; clinical effectiveness has none
    rows = [row for row in actions(headings) if row["heading"] != "clinical_effectiveness"]
    url = reverse("qia_self_assessment", args=[scheme.pk])
    response = lead.post(url, sheet(headings, rows), follow=True)
    page = words(response)
    assert "Self-assessment saved. Still to complete before it can go to the panel: 1 item." in page
    missing = (
        "Clinical effectiveness: add a mitigating action for the negative impact, "
        "with an owner and a due date."
    )
    assert "The self-assessment is not complete yet." in page and missing in page

    refused = words(submit_page(lead, qia.fresh(scheme)))
    assert f"Complete the QIA self-assessment first. {missing}" in refused
    assert qia.fresh(scheme).state == SchemeState.DRAFT

    response = lead.post(url, sheet(headings), follow=True)
    assert "Self-assessment saved: it is complete." in words(response)
    submit_page(lead, qia.fresh(scheme))
    assert qia.fresh(scheme).state == SchemeState.CONFIRM_AND_CHALLENGE


def test_an_action_with_no_owner_or_due_date_does_not_count_for_its_heading(qia):
    scheme = qia.draft()
    undated = [dict(row, due_date=None) for row in mitigations(MODERATE)]
    version = qia.self_assess(scheme, mitigations=undated)
    assert services.self_assessment_problems(version) == [
        f"{label}: add a mitigating action for the negative impact, with an owner and a due date."
        for label in ("Patient safety", "Patient experience", "Resources")
    ]
    with pytest.raises(ActionRefused, match="Patient safety: add a mitigating action"):
        submit(qia, scheme)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("owner", "", "Mitigating action 1, owner: Say who owns this action: a name or a role."),
        ("due_date", "", "Mitigating action 1, due date: Give the date this action is due by."),
        (
            "due_date",
            "2019-01-01",
            "Mitigating action 1, due date: The due date, 1 January 2019, has passed: give "
            "today or a later date, or mark the action done.",
        ),
    ],
)
def test_a_mitigating_action_needs_an_owner_and_a_due_date_from_today_on(
    qia, as_user, field, value, error
):
    scheme = qia.draft()
    lead = as_user(qia["elr-project-lead"])
    with time_machine.travel(date(2019, 6, 3), tick=False):
        data = sheet(**{f"mitigation-0-{field}": value})
        response = lead.post(reverse("qia_self_assessment", args=[scheme.pk]), data)
    assert response.status_code == 200
    assert "There is a problem" in words(response)
    assert error in words(response)
    assert qia.version(scheme) is None  # nothing saved


def test_a_due_date_before_today_is_refused_unless_the_action_is_done(qia, as_user):
    scheme = qia.draft()
    lead = as_user(qia["elr-project-lead"])
    url = reverse("qia_self_assessment", args=[scheme.pk])
    with time_machine.travel(date(2019, 6, 3), tick=False):
        yesterday = lead.post(url, sheet(**{"mitigation-0-due_date": "2019-06-02"}))
        assert "The due date, 2 June 2019, has passed" in words(yesterday)
        assert qia.version(scheme) is None
        # due today is still to do; an action already done keeps the date it was due
        assert lead.post(url, sheet(**{"mitigation-0-due_date": "2019-06-03"})).status_code == 302
        done = sheet(**{"mitigation-0-due_date": "2019-01-01", "mitigation-0-status": "done"})
        assert lead.post(url, done).status_code == 302
    saved = qia.version(scheme).mitigations.get(heading="patient_safety")
    assert (saved.due_date, saved.status) == (date(2019, 1, 1), "done")


def test_someone_elses_change_is_not_overwritten(qia, as_user):
    scheme = qia.draft()
    version = qia.self_assess(scheme)
    lead = as_user(qia["elr-project-lead"])
    stale = sheet(revision=str(version.revision - 1))
    response = lead.post(reverse("qia_self_assessment", args=[scheme.pk]), stale)
    assert "Someone else saved this QIA self-assessment while you were editing it" in text(response)
    assert qia.version(scheme).revision == version.revision  # nothing saved


# --- the equality screening gate ---


@pytest.mark.parametrize("answer", ["yes", "not_known"])
def test_yes_or_not_known_needs_a_full_eqia_before_sign_off(qia, answer):
    scheme = qia.awaiting_sign_off(equality=answer)
    with pytest.raises(ActionRefused, match="equality impact assessment must be attached"):
        qia.sign(scheme, "elr-chief-nurse")
    services.eqia_attach(
        version_id=qia.version(scheme).pk,
        by=qia["elr-project-lead"],
        link="https://intranet.example.nhs.uk/eqia/42",
    )
    qia.sign(scheme, "elr-chief-nurse")
    qia.sign(scheme, "elr-clinical-chair")
    assert qia.fresh(scheme).state == SchemeState.APPROVED


def test_no_needs_no_eqia(qia):
    scheme = qia.approved()
    assert scheme.state == SchemeState.APPROVED


def test_the_eqia_can_be_uploaded_and_downloaded(qia, as_user):
    scheme = qia.awaiting_sign_off(equality="yes")
    lead = as_user(qia["elr-project-lead"])
    upload = SimpleUploadedFile("eqia.pdf", b"%PDF-1.4 equality", content_type="application/pdf")
    response = lead.post(reverse("qia_eqia", args=[scheme.pk]), {"eqia_file": upload})
    assert response.status_code == 302
    version = qia.version(scheme)
    assert version.eqia_document_name == "eqia.pdf"
    viewer = as_user(qia["elr-viewer"])
    download = viewer.get(reverse("qia_eqia_download", args=[version.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 equality"


def test_a_file_that_is_not_a_document_is_refused(qia, as_user):
    scheme = qia.awaiting_sign_off(equality="yes")
    lead = as_user(qia["elr-project-lead"])
    upload = SimpleUploadedFile("eqia.pdf", b"MZ not a pdf")
    response = lead.post(reverse("qia_eqia", args=[scheme.pk]), {"eqia_file": upload})
    assert response.status_code == 200
    assert "is not a PDF document" in text(response)
    assert not qia.version(scheme).has_eqia


# --- what the panel or a signatory asked for, while the QIA is revised ---


def test_the_page_shows_what_the_panel_asked_for_and_whether_anything_changed(qia, as_user):
    scheme = qia.scored()
    services.panel_close(
        version_id=qia.version(scheme).pk,
        by=qia["elr-quality-lead"],
        decision="return",
        reason="Say how red flags are screened out of hours.",
    )
    lead = as_user(qia["elr-project-lead"])
    url = reverse("qia_self_assessment", args=[scheme.pk])
    unchanged = (
        "Nothing has changed since it came back: the PID cannot be resubmitted until it does."
    )

    page = text(lead.get(url))
    assert "The panel returned QIA version 1: Say how red flags are screened out of hours." in page
    assert unchanged in page  # version 2 opens as version 1 was

    qia.self_assess(qia.fresh(scheme), scores(patient_experience="none"))
    page = text(lead.get(url))
    assert "The panel returned QIA version 1" in page
    assert unchanged not in page


def test_the_page_shows_what_a_signatory_asked_for(qia, as_user):
    scheme = qia.awaiting_sign_off()
    qia.sign(scheme, "elr-clinical-chair", decision="declined", comment="Add the audit plan.")
    page = text(
        as_user(qia["elr-project-lead"]).get(reverse("qia_self_assessment", args=[scheme.pk]))
    )
    assert "The Clinical Chair declined QIA version 1 for revision: Add the audit plan." in page


def test_a_first_self_assessment_has_nothing_sent_back_to_show(qia, as_user):
    scheme = qia.draft()
    qia.self_assess(scheme)
    page = text(
        as_user(qia["elr-project-lead"]).get(reverse("qia_self_assessment", args=[scheme.pk]))
    )
    assert "returned QIA version" not in page
    assert "Nothing has changed since it came back" not in page
