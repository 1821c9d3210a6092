"""Two tabs on one self-assessment: the second save never overwrites the first, and what it
typed is never lost (shown again to save knowingly, or read-only when it can no longer be)."""

import pytest
from django.urls import reverse

from governance import services as governance
from governance.models import AccessRefusal
from qia.models import Assessment, Mitigation
from tests.governance.test_edit_conflicts import page_form
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


# --- merged with the save made meanwhile, as a shared document ---

SAFETY_NET = "Fewer follow-ups could miss a deterioration: GP recall at six weeks."


def sheet_form(response, heading: str):
    return next(form for form in response.context["sheet"] if form.heading == heading)


def test_two_tabs_each_keep_their_change_when_the_second_saves_again(qia, as_user):
    scheme = qia.draft()
    qia.self_assess(scheme)
    lead = as_user(qia["elr-project-lead"])
    url = reverse("qia_self_assessment", args=[scheme.pk])
    tab_a, tab_b = page_form(lead.get(url)), page_form(lead.get(url))
    safety_owner = next(
        name.replace("description", "owner")
        for name, value in tab_a.items()
        if name.endswith("-description") and value == ["Weekly audit of patient safety."]
    )
    first = {**tab_a, "patient_safety-rationale": SAFETY_NET, safety_owner: "Ward sister"}
    assert lead.post(url, first).status_code == 302

    response = lead.post(url, {**tab_b, "resources-rationale": "Two community nurses short."})

    assert response.status_code == 200
    page = words(response)
    assert (
        "Changed meanwhile: Patient safety (rationale), Mitigating actions. The form below "
        "holds those changes and yours. Check it, then save again to keep it." in page
    )
    assert "Also changed meanwhile" not in page
    # theirs where this tab left the field, this tab's own where it changed it
    assert sheet_form(response, "patient_safety")["rationale"].value() == SAFETY_NET
    assert sheet_form(response, "resources")["rationale"].value() == "Two community nurses short."
    assert "Ward sister" in [form["owner"].value() for form in response.context["mitigations"]]
    assert saved_rationale(scheme, "resources") == MODERATE["resources"]["rationale"]

    assert lead.post(url, page_form(response)).status_code == 302

    assert saved_rationale(scheme) == SAFETY_NET
    assert saved_rationale(scheme, "resources") == "Two community nurses short."
    owners = Mitigation.objects.filter(version__qia__scheme=scheme, heading="patient_safety")
    assert list(owners.values_list("owner", flat=True)) == ["Ward sister"]


def test_a_heading_both_tabs_changed_keeps_yours_with_theirs_noted_under_it(qia, as_user):
    scheme = qia.draft()
    qia.self_assess(scheme)
    lead = as_user(qia["elr-project-lead"])
    url = reverse("qia_self_assessment", args=[scheme.pk])
    tab_a, tab_b = page_form(lead.get(url)), page_form(lead.get(url))
    lead.post(url, {**tab_a, "patient_safety-rationale": SAFETY_NET})

    response = lead.post(url, {**tab_b, "patient_safety-rationale": "Safety net: a phone line."})

    page = words(response)
    assert "Changed meanwhile: Patient safety (rationale)." in page
    assert "where you both changed something, yours is kept and the saved one is shown" in page
    assert (
        f"Rationale Safety net: a phone line. Also changed meanwhile: {SAFETY_NET} Yours is kept "
        "here." in page
    )
    form = sheet_form(response, "patient_safety")
    assert form["rationale"].value() == "Safety net: a phone line."
    assert saved_rationale(scheme) == SAFETY_NET  # nothing saved until saved again


def test_of_two_first_saves_the_second_comes_back_with_the_first_where_it_typed_nothing(
    qia, as_user
):
    scheme = qia.draft()
    lead = as_user(qia["elr-project-lead"])
    url = reverse("qia_self_assessment", args=[scheme.pk])
    tab_a, tab_b = page_form(lead.get(url)), page_form(lead.get(url))
    assert lead.post(url, {**tab_a, **sheet()}).status_code == 302
    # the second tab answered one heading only, as the first did but for its rationale
    resources = {
        "resources-impact": "negative",
        "resources-consequence": "2",
        "resources-likelihood": "3",
        "resources-rationale": "Two community nurses short.",
    }

    response = lead.post(url, {**tab_b, **resources})

    page = words(response)
    assert "Changed meanwhile: Patient safety (impact, consequence, likelihood, rationale)" in page
    assert f"Also changed meanwhile: {MODERATE['resources']['rationale']}" in page
    assert (
        sheet_form(response, "patient_safety")["rationale"].value()
        == (MODERATE["patient_safety"]["rationale"])
    )
    assert len(response.context["mitigations"].rows()) == 3  # the first tab's actions

    assert lead.post(url, page_form(response)).status_code == 302
    assert saved_rationale(scheme) == MODERATE["patient_safety"]["rationale"]
    assert saved_rationale(scheme, "resources") == "Two community nurses short."
    assert Mitigation.objects.filter(version__qia__scheme=scheme).count() == 3


def test_a_page_whose_drawn_values_were_altered_keeps_all_it_typed(qia, as_user):
    scheme = qia.draft()
    qia.self_assess(scheme)
    lead = as_user(qia["elr-project-lead"])
    url = reverse("qia_self_assessment", args=[scheme.pk])
    tab_a, tab_b = page_form(lead.get(url)), page_form(lead.get(url))
    lead.post(url, {**tab_a, "patient_safety-rationale": SAFETY_NET})

    response = lead.post(url, {**tab_b, "drawn": "forged", "resources-rationale": "Short."})

    assert response.status_code == 200
    assert "The saved self-assessment now differs from it in: Patient safety" in words(response)
    form = sheet_form(response, "patient_safety")
    assert form["rationale"].value() == MODERATE["patient_safety"]["rationale"]
    assert saved_rationale(scheme) == SAFETY_NET
