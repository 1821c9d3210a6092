"""Score = consequence x likelihood, banded by the 5 x 5 NHS risk matrix."""

import pytest

from qia.forms import HeadingForm
from qia.models import SCORES, Assessment, Band, band_of, risk_score

# consequence x likelihood -> band, written out as the matrix is printed
MATRIX = {
    5: ["moderate", "high", "extreme", "extreme", "extreme"],
    4: ["moderate", "high", "high", "extreme", "extreme"],
    3: ["low", "moderate", "high", "high", "extreme"],
    2: ["low", "moderate", "moderate", "high", "high"],
    1: ["low", "low", "low", "moderate", "moderate"],
}
PAIRS = [(c, lk) for c in range(1, 6) for lk in range(1, 6)]


@pytest.mark.parametrize(("consequence", "likelihood"), PAIRS)
def test_each_of_the_25_pairs_scores_and_bands_as_the_matrix(consequence, likelihood):
    score = risk_score(consequence, likelihood)
    assert score == consequence * likelihood
    assert band_of(score) == MATRIX[consequence][likelihood - 1]
    row = Assessment(
        heading="patient_safety", impact="negative", consequence=consequence, likelihood=likelihood
    )
    assert (row.score, row.band) == (score, MATRIX[consequence][likelihood - 1])


@pytest.mark.parametrize(("consequence", "likelihood"), PAIRS)
def test_the_form_shows_the_score_of_each_pair(consequence, likelihood):
    form = HeadingForm(
        {
            "patient_safety-impact": "negative",
            "patient_safety-consequence": str(consequence),
            "patient_safety-likelihood": str(likelihood),
            "patient_safety-rationale": "Why.",
        },
        heading="patient_safety",
        strict=True,
    )
    assert form.is_valid(), form.errors
    assert form.shown_score == consequence * likelihood
    assert form.shown_band == MATRIX[consequence][likelihood - 1]


def test_the_band_edges_are_those_of_the_design():
    assert [band_of(s) for s in (1, 3, 4, 6, 8, 12, 15, 25)] == [
        Band.LOW,
        Band.LOW,
        Band.MODERATE,
        Band.MODERATE,
        Band.HIGH,
        Band.HIGH,
        Band.EXTREME,
        Band.EXTREME,
    ]
    assert band_of(None) is None
    assert SCORES == [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 20, 25]


def test_only_a_negative_impact_has_a_score():
    for impact in ("positive", "none", ""):
        row = Assessment(heading="resources", impact=impact, consequence=5, likelihood=5)
        assert row.score is None and row.band is None


def test_a_negative_impact_without_scores_or_reasons_is_not_answered():
    row = Assessment(heading="resources", impact="negative", consequence=3)
    assert row.problems == [
        "Resources: score the consequence and likelihood.",
        "Resources: give the rationale for the negative impact.",
    ]
    assert Assessment(heading="resources").problems == ["Resources: choose the impact."]
    assert Assessment(heading="resources", impact="none").problems == []
