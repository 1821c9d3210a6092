"""Two tabs on one self-assessment: the second save never overwrites the first, and what it
typed is never lost (shown again to save knowingly, or read-only when it can no longer be)."""

import pytest
from django.urls import reverse

from governance import services as governance
from governance.models import AccessRefusal
from qia.models import Assessment
from tests.qia.conftest import MODERATE, text, words
from tests.qia.test_self_assessment import sheet

pytestmark = pytest.mark.django_db

# A second tab's answers: a rationale of its own under every heading.
SECOND_TAB = {
    heading: {**values, "rationale": f"Second tab on {heading.replace('_', ' ')}."}
    for heading, values in MODERATE.items()
}


def drawn_revision(client, scheme) -> str:
    """The revision the self-assessment page carries when drawn now."""
    page = client.get(reverse("qia_self_assessment", args=[scheme.pk]))
    return str(page.context["equality"]["revision"].value())


def saved_rationale(scheme, heading="patient_safety") -> str:
    return Assessment.objects.get(
        version__qia__scheme=scheme, kind="self", heading=heading
    ).rationale


def test_of_two_first_saves_the_second_is_refused_and_keeps_its_text(qia, as_user):
    scheme = qia.draft()
    lead = as_user(qia["elr-project-lead"])
    url = reverse("qia_self_assessment", args=[scheme.pk])
    first_tab = drawn_revision(lead, scheme)
    second_tab = drawn_revision(lead, scheme)

    assert lead.post(url, sheet(revision=first_tab)).status_code == 302
    response = lead.post(url, sheet(SECOND_TAB, revision=second_tab))

    assert response.status_code == 200
    page = words(response)
    assert "Someone else saved this QIA self-assessment while you were editing it" in page
    for values in SECOND_TAB.values():
        assert values["rationale"] in page
    assert saved_rationale(scheme) == MODERATE["patient_safety"]["rationale"]
    assert qia.version(scheme).number == 1


def test_a_save_over_a_newer_one_says_where_they_differ_and_can_be_sent_again(qia, as_user):
    scheme = qia.draft()
    qia.self_assess(scheme)
    lead = as_user(qia["elr-project-lead"])
    url = reverse("qia_self_assessment", args=[scheme.pk])
    first_tab = drawn_revision(lead, scheme)
    second_tab = drawn_revision(lead, scheme)
    assert lead.post(url, sheet(revision=first_tab)).status_code == 302

    response = lead.post(url, sheet(SECOND_TAB, revision=second_tab))

    page = words(response)
    assert (
        "The saved self-assessment now differs from it in: Patient safety, Clinical "
        "effectiveness, Patient experience, Organisational reputation, Evidence base, "
        "Resources." in page
    )
    for values in SECOND_TAB.values():
        assert values["rationale"] in page
    assert saved_rationale(scheme) == MODERATE["patient_safety"]["rationale"]
    # the form now carries the saved version's revision: sending it again is knowing
    again = {**sheet(SECOND_TAB), "revision": response.context["equality"]["revision"].value()}
    assert lead.post(url, again).status_code == 302
    assert saved_rationale(scheme) == "Second tab on patient safety."


def test_a_save_after_the_scheme_was_submitted_shows_what_was_typed_to_copy(qia, as_user):
    scheme = qia.draft()
    qia.self_assess(scheme)
    lead = as_user(qia["elr-project-lead"])
    revision = drawn_revision(lead, scheme)
    governance.scheme_submit(scheme_id=scheme.pk, by=qia["elr-project-lead"], expected_version=None)

    response = lead.post(
        reverse("qia_self_assessment", args=[scheme.pk]), sheet(SECOND_TAB, revision=revision)
    )

    assert response.status_code == 403
    page = text(response)
    assert (
        "The self-assessment can only be changed while the scheme is a draft; it is now in "
        "confirm and challenge." in page
    )
    assert "What you typed" in page
    assert "Patient safety: Rationale" in page
    for values in SECOND_TAB.values():
        assert values["rationale"] in page
    assert "readonly" in page
    assert saved_rationale(scheme) == MODERATE["patient_safety"]["rationale"]
    assert AccessRefusal.objects.filter(action="qia_edit").count() == 1
