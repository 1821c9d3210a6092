"""The project lead's self-assessment, the submit gate and the equality screening gate."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from governance import services as governance
from governance.models import SchemeState
from governance.services import ActionRefused
from qia import services
from qia.models import Assessment, VersionStatus
from tests.qia.conftest import MODERATE, text, words

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


def sheet(headings=MODERATE, **extra) -> dict:
    data = {
        "mitigation-TOTAL_FORMS": "1",
        "mitigation-INITIAL_FORMS": "0",
        "mitigation-MIN_NUM_FORMS": "0",
        "mitigation-MAX_NUM_FORMS": "60",
        "mitigation-0-heading": "patient_safety",
        "mitigation-0-description": "GP recall at six weeks.",
        "mitigation-0-owner": "Practice nurse lead",
        "mitigation-0-due_date": "2019-09-30",
        "mitigation-0-status": "planned",
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
    assert 'src="/static/js/qia.js"' in page

    response = lead.post(reverse("qia_self_assessment", args=[scheme.pk]), sheet())
    assert response.status_code == 302
    version = qia.version(scheme)
    assert version.mitigations.get().owner == "Practice nurse lead"
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


def test_someone_elses_change_is_not_overwritten(qia, as_user):
    scheme = qia.draft()
    version = qia.self_assess(scheme)
    lead = as_user(qia["elr-project-lead"])
    stale = sheet(revision=str(version.revision - 1))
    response = lead.post(reverse("qia_self_assessment", args=[scheme.pk]), stale, follow=True)
    assert "Someone else changed this QIA" in text(response)


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
