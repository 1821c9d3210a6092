"""The score sheet reads as the panel scores it: what each level of consequence and likelihood
means (the NPSA's descriptors) beside the choices, no score badge before an impact is chosen,
the six headings each a section of its own, and a summary of the scores before the button."""

import re

import pytest
from django.urls import reverse

from qia.forms import CONSEQUENCE_DESCRIPTORS, LIKELIHOOD_DESCRIPTORS
from qia.models import HEADINGS, PanelScore
from tests.qia.conftest import MODERATE, text, words

pytestmark = pytest.mark.django_db

LABELS = [
    "Patient safety",
    "Clinical effectiveness",
    "Patient experience",
    "Organisational reputation",
    "Evidence base",
    "Resources",
]
LEVELS = [
    "1 Negligible: Minimal injury requiring no/minimal intervention or treatment; no impact "
    "on services",
    "3 Moderate: Moderate injury requiring professional intervention; sustained reduction in "
    "service quality",
    "5 Catastrophic: Incident leading to death; totally unacceptable level or quality of "
    "treatment/service",
    "1 Rare: This will probably never happen/recur",
    "2 Unlikely: Do not expect it to happen/recur but it is possible it may do so",
    "5 Almost certain: Will undoubtedly happen/recur, possibly frequently",
]


def score_page(qia, as_user, data=None):
    scheme = qia.at_panel()
    member = as_user(qia["elr-panel-member"])
    url = reverse("qia_score", args=[scheme.pk])
    return member.get(url) if data is None else member.post(url, data)


def badge(page, heading: str) -> str:
    """The score badge of a heading: the words of its <output>."""
    found = re.search(rf'<output id="score-{heading}"[^>]*>(.*?)</output>', text(page), re.S)
    assert found, heading
    return found.group(1).strip()


def summary(page) -> str:
    """The words of the summary at the end of the sheet."""
    found = re.search(
        r'<section class="card mb-3" id="sheet-summary".*?</section>', text(page), re.S
    )
    assert found
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def test_every_level_is_explained_beside_the_choices_of_every_heading(qia, as_user):
    page = score_page(qia, as_user)

    shown = words(page)
    for level in LEVELS:
        assert shown.count(level) == len(LABELS), level
    # each list of choices is described by its levels, for a screen reader too
    for heading in MODERATE:
        for name in ("consequence", "likelihood"):
            assert f'aria-describedby="{heading}-{name}-levels"' in text(page)
            assert f'id="{heading}-{name}-levels"' in text(page)


def test_the_descriptors_are_the_npsa_wording_for_all_five_levels():
    assert len(CONSEQUENCE_DESCRIPTORS) == len(LIKELIHOOD_DESCRIPTORS) == 5
    assert CONSEQUENCE_DESCRIPTORS[4].startswith("Major injury leading to long-term incapacity")
    assert LIKELIHOOD_DESCRIPTORS[3] == "Might happen or recur occasionally"


def test_no_badge_shows_before_an_impact_is_chosen(qia, as_user):
    page = score_page(qia, as_user)

    assert "Not scored" not in words(page)
    for heading in MODERATE:
        assert badge(page, heading) == ""
    assert '<output id="score-patient_safety" data-qia-score aria-live="polite">' in text(page)


def test_a_badge_shows_what_was_chosen_once_it_is(qia, as_user):
    sent = {
        "patient_safety-impact": "negative",
        "patient_safety-consequence": "4",
        "patient_safety-likelihood": "3",
        "clinical_effectiveness-impact": "negative",
        "patient_experience-impact": "positive",
        "organisational_reputation-impact": "none",
    }

    page = score_page(qia, as_user, sent)  # the other headings unanswered: shown again

    assert badge(page, "patient_safety") == "Score 12 · High"
    assert badge(page, "clinical_effectiveness") == "Negative: pick the consequence and likelihood"
    assert badge(page, "patient_experience") == "Positive impact: not scored"
    assert badge(page, "organisational_reputation") == "No impact: not scored"
    assert badge(page, "evidence_base") == ""
    # the level chosen is marked among the descriptors
    assert '<li data-level="4" class="qia-level-chosen">' in text(page)


def test_the_sheet_is_six_sections_then_a_summary_before_the_button(qia, as_user):
    page = score_page(qia, as_user)

    shown = words(page)
    contents = " ".join(f"{n}. {label}" for n, label in enumerate(LABELS, 1))
    assert f"{contents} Summary" in shown  # the links to each section, at the top
    for number, (heading, label) in enumerate(zip(HEADINGS, LABELS, strict=True), 1):
        part = "Quality domain" if number <= 3 else "Contributory factor"
        assert f"{part} · {number} of 6 {label}" in shown  # each section's legend
        assert f'href="#heading-{heading}"' in text(page)
        assert f'<fieldset class="card mb-3" id="heading-{heading}"' in text(page)
    assert summary(page) == "Your scores " + " ".join(
        f"{label} Not answered yet" for label in LABELS
    )
    assert shown.index("Your scores Patient safety") < shown.index("Record my scores")
    assert shown.index("Resources Not answered yet") < shown.index("Record my scores")


def test_the_summary_lists_each_headings_score_as_chosen(qia, as_user):
    sent = {
        "patient_safety-impact": "negative",
        "patient_safety-consequence": "3",
        "patient_safety-likelihood": "2",
        "evidence_base-impact": "positive",
    }

    page = score_page(qia, as_user, sent)

    listed = summary(page)
    assert "Patient safety Score 6 · Moderate" in listed
    assert "Evidence base Positive impact: not scored" in listed
    assert "Resources Not answered yet" in listed


def test_the_agreement_starts_from_the_chairs_own_scores_and_sums_them_up(qia, as_user):
    scheme = qia.scored()
    page = as_user(qia["elr-quality-lead"]).get(reverse("qia_agree", args=[scheme.pk]))

    assert badge(page, "patient_safety") == "Score 6 · Moderate"
    listed = summary(page)
    assert listed.startswith("The agreed scores Patient safety Score 6 · Moderate")
    assert "Evidence base Positive impact: not scored" in listed


def test_the_errors_are_still_summed_up_and_nothing_is_recorded(qia, as_user):
    page = score_page(qia, as_user, {"patient_safety-impact": "negative"})

    shown = words(page)
    assert "There is a problem" in shown
    assert "Patient safety, consequence: Score the consequence of a negative impact." in shown
    assert 'href="#id_patient_safety-consequence"' in text(page)
    assert "Clinical effectiveness, impact: Choose the impact on this heading." in shown
    assert not PanelScore.objects.exists()


def test_the_self_assessment_explains_the_levels_too(qia, as_user):
    scheme = qia.draft()
    page = as_user(qia["elr-project-lead"]).get(reverse("qia_self_assessment", args=[scheme.pk]))

    assert words(page).count(LEVELS[0]) == len(LABELS)
    assert "Quality domain · 1 of 6 Patient safety" in words(page)
