"""Blind scoring holds for every scorer, the quality lead included: whoever scores a QIA
version sees no other member's score, on any page, until they have recorded their own for it.
The signatories, who do not score, see them all."""

import pytest
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance import roles
from governance.models import AccessRefusal, SchemeState
from qia.models import Assessment, VersionStatus
from tests.qia.conftest import MODERATE, mitigation_post, mitigations, scores, text

pytestmark = pytest.mark.django_db

# What elr-panel-member scored, and nobody else: patient safety C4 x L4, and its rationale.
THEIR_SCORE = "16 · Extreme"
THEIR_RATIONALE = "Scored 4 x 4."
THEIR_NAME = "ELR Panel Member (Nursing)"
SCORERS = ["elr-panel-member-2", "elr-quality-lead"]


@pytest.fixture
def scheme(qia):
    """At the panel, scored by elr-panel-member only."""
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member", scores(patient_safety=(4, 4)))
    return scheme


def shows_their_score(response) -> bool:
    page = text(response)
    return THEIR_SCORE in page or THEIR_RATIONALE in page or THEIR_NAME in page


def get(as_user, qia, username, name, scheme, *args):
    return as_user(qia[username]).get(reverse(name, args=[scheme.pk, *args]))


# --- each scorer, before and after they score ---


@pytest.mark.parametrize("username", SCORERS)
def test_a_scorer_sees_no_score_on_the_panel_page_until_they_have_scored(
    qia, as_user, scheme, username
):
    before = get(as_user, qia, username, "qia_panel", scheme)
    assert before.status_code == 403
    assert "Panel scores stay hidden until you have recorded your own" in text(before)
    assert not shows_their_score(before)

    qia.score(scheme, username)
    after = get(as_user, qia, username, "qia_panel", scheme)
    assert after.status_code == 200
    assert THEIR_NAME in text(after) and THEIR_SCORE in text(after)
    assert THEIR_RATIONALE in text(after)


@pytest.mark.parametrize("username", SCORERS)
def test_a_scorer_sees_no_score_on_the_qia_page_until_they_have_scored(
    qia, as_user, scheme, username
):
    side_by_side = reverse("qia_version_panel", args=[scheme.pk, 1])
    before = get(as_user, qia, username, "qia_detail", scheme)
    assert before.status_code == 200
    assert "Their scores stay hidden until you have recorded your own" in text(before)
    assert side_by_side not in text(before)
    assert not shows_their_score(before)
    assert not any(row.scores for row in before.context["rows"])

    qia.score(scheme, username)
    after = get(as_user, qia, username, "qia_detail", scheme)
    assert after.status_code == 200
    assert "See the panel's scores side by side" in text(after)
    assert side_by_side in text(after)


@pytest.mark.parametrize("username", SCORERS)
def test_a_scorer_sees_no_score_in_the_print_view_until_they_have_scored(
    qia, as_user, scheme, username
):
    before = get(as_user, qia, username, "qia_print", scheme, 1)
    assert before.status_code == 200
    assert "Quality Impact Assessment:" in text(before)
    assert not shows_their_score(before)
    assert not any(row.scores for row in before.context["rows"])

    qia.score(scheme, username)
    after = get(as_user, qia, username, "qia_print", scheme, 1)
    assert after.status_code == 200
    assert "Quality Impact Assessment:" in text(after)
    # hers to see now (the print view itself prints the agreed risk, not each member's)
    assert any(row.scores for row in after.context["rows"])


# --- the agree page, for the quality lead ---


def test_the_agree_page_shows_the_quality_lead_no_score_until_she_has_scored(qia, as_user, scheme):
    qia.score(scheme, "elr-panel-member-2")
    chair = as_user(qia["elr-quality-lead"])
    url = reverse("qia_agree", args=[scheme.pk])

    before = chair.get(url)
    assert before.status_code == 200
    page = text(before)
    assert "Record your own scores first: blind scoring" in page
    assert reverse("qia_score", args=[scheme.pk]) in page
    assert not shows_their_score(before)
    assert "The panel is complete" not in page
    assert "Record the agreed QIA" not in page

    qia.score(scheme, "elr-quality-lead")
    after = chair.get(url)
    assert after.status_code == 200
    page = text(after)
    assert "Record your own scores first" not in page
    assert "The panel is complete" in page and THEIR_NAME in page
    assert THEIR_SCORE in page and THEIR_RATIONALE in page


def test_agreeing_before_the_quality_lead_has_scored_is_refused_and_changes_nothing(
    qia, as_user, scheme
):
    qia.score(scheme, "elr-panel-member-2")
    version = qia.version(scheme)
    logs = StateLog.objects.count()
    agreement = {
        "revision": version.revision,
        "overall_score": "",
        "justification": "",
        **mitigation_post(mitigations(MODERATE)),
    }
    for heading, values in MODERATE.items():
        for name in ("impact", "consequence", "likelihood", "rationale"):
            value = values.get(name)
            agreement[f"{heading}-{name}"] = "" if value is None else str(value)

    response = as_user(qia["elr-quality-lead"]).post(
        reverse("qia_agree", args=[scheme.pk]), agreement, follow=True
    )

    assert response.redirect_chain == [(reverse("qia_score", args=[scheme.pk]), 302)]
    assert "Record your own scores first: blind scoring" in text(response)
    assert not shows_their_score(response)
    version.refresh_from_db()
    assert version.agreed_at is None and version.agreed_by is None
    assert version.status == VersionStatus.SELF_ASSESSMENT
    assert qia.fresh(scheme).state == SchemeState.QIA_PANEL
    assert not Assessment.objects.filter(version=version, kind="agreed").exists()
    assert StateLog.objects.count() == logs
    assert AccessRefusal.objects.filter(user=qia["elr-quality-lead"], action="panel_agree").exists()


# --- the signatories, who do not score ---


@pytest.mark.parametrize("username", ["elr-chief-nurse", "elr-clinical-chair"])
def test_a_signatory_sees_every_score(qia, as_user, scheme, username):
    panel = get(as_user, qia, username, "qia_panel", scheme)
    assert panel.status_code == 200
    assert THEIR_NAME in text(panel) and THEIR_SCORE in text(panel)

    detail = get(as_user, qia, username, "qia_detail", scheme)
    assert "See the panel's scores side by side" in text(detail)
    assert get(as_user, qia, username, "qia_print", scheme, 1).status_code == 200


def test_a_signatory_who_also_scores_is_blind_while_the_version_is_at_the_panel(qia, as_user, llr):
    llr.add_user("elr-nurse-on-panel", "elr", roles.CHIEF_NURSE, roles.PANEL_MEMBER)
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member", scores(patient_safety=(4, 4)))
    nurse = as_user(llr.users["elr-nurse-on-panel"])
    url = reverse("qia_version_panel", args=[scheme.pk, 1])
    assert nurse.get(url).status_code == 403

    # once the panel has agreed, nobody scores this version any more: she signs, and sees all
    for username in ["elr-quality-lead", "elr-panel-member-2"]:
        qia.score(scheme, username)
    qia.agree(scheme)
    response = nurse.get(url)
    assert response.status_code == 200
    assert THEIR_SCORE in text(response)


def test_a_panel_member_who_never_scored_stays_blind_after_the_panel(qia, as_user, llr):
    llr.add_user("elr-panel-member-3", "elr", roles.PANEL_MEMBER)
    scheme = qia.awaiting_sign_off()
    member = as_user(llr.users["elr-panel-member-3"])
    assert member.get(reverse("qia_version_panel", args=[scheme.pk, 1])).status_code == 403
    detail = member.get(reverse("qia_detail", args=[scheme.pk]))
    assert "Their scores stay hidden" in text(detail)
    assert not any(row.scores for row in detail.context["rows"])
