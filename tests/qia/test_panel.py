"""The QIA panel: blind scoring, composition, spread, the agreed score, return and dismiss."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance.models import AccessRefusal, Scheme, SchemeState
from governance.services import ActionRefused, Conflict
from notifications.models import Notification
from qia import selectors, services
from qia.models import Assessment, PanelScore, QiaVersion, VersionStatus
from qia.views import panel as panel_views
from tests.qia.conftest import (
    MODERATE,
    mitigation_post,
    mitigations,
    outline,
    scores,
    text,
    words,
)

pytestmark = pytest.mark.django_db


# --- blind scoring ---


def test_a_member_cannot_see_the_others_scores_until_they_have_recorded_their_own(qia, as_user):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member", scores(patient_safety=(4, 4)))
    member_2 = as_user(qia["elr-panel-member-2"])

    response = member_2.get(reverse("qia_panel", args=[scheme.pk]))
    assert response.status_code == 403
    assert "until you have recorded your own" in text(response)
    page = text(member_2.get(reverse("qia_detail", args=[scheme.pk])))
    assert "Their scores stay hidden" in page
    assert "ELR Panel Member (Nursing)" not in page and "16 · Extreme" not in page

    member_2.post(reverse("qia_score", args=[scheme.pk]), _sheet(MODERATE))
    page = text(member_2.get(reverse("qia_panel", args=[scheme.pk])))
    assert "ELR Panel Member (Nursing)" in page
    assert "16 · Extreme" in page


@pytest.mark.parametrize("username", ["elr-chief-nurse", "elr-clinical-chair"])
def test_the_signatories_always_see_the_scores(qia, as_user, username):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member")
    response = as_user(qia[username]).get(reverse("qia_panel", args=[scheme.pk]))
    assert response.status_code == 200
    assert "ELR Panel Member (Nursing)" in text(response)


def test_the_quality_lead_sees_the_scores_only_once_she_has_scored(qia, as_user):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member")
    chair = as_user(qia["elr-quality-lead"])
    response = chair.get(reverse("qia_panel", args=[scheme.pk]))
    assert response.status_code == 403
    assert "until you have recorded your own" in text(response)

    qia.score(scheme, "elr-quality-lead")
    response = chair.get(reverse("qia_panel", args=[scheme.pk]))
    assert response.status_code == 200
    assert "ELR Panel Member (Nursing)" in text(response)


def test_a_member_scores_once_per_version(qia):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member")
    with pytest.raises(ActionRefused, match="already recorded your scores"):
        qia.score(scheme, "elr-panel-member", scores(patient_safety=(5, 5)))
    assert PanelScore.objects.filter(member=qia["elr-panel-member"]).count() == 6
    assert AccessRefusal.objects.filter(action="qia_score").exists()


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("elr-project-lead", "Only QIA panel members"),
        ("elr-viewer", "Only QIA panel members"),
        ("wl-panel-member", "your own organisation only"),
    ],
)
def test_others_cannot_score(qia, username, reason):
    scheme = qia.at_panel()
    with pytest.raises(ActionRefused, match=reason):
        qia.score(scheme, username)
    assert not PanelScore.objects.exists()


@pytest.mark.parametrize(
    ("place", "words"),
    [
        ("sro", "SRO"),
        ("clinical_lead", "clinical lead"),
        ("finance_lead", "finance lead"),
    ],
)
def test_a_panel_member_on_the_scheme_team_neither_scores_nor_is_asked_to(
    qia, client, place, words
):
    member = qia["elr-panel-member"]
    scheme = qia.at_panel(qia.draft(**{place: member}))
    client.force_login(member)
    assert "Score the QIA" not in text(client.get(reverse("my_tasks")))
    with pytest.raises(ActionRefused, match=f"You are this scheme's {words}"):
        qia.score(scheme, "elr-panel-member")
    assert not PanelScore.objects.filter(member=member).exists()


def test_a_quality_lead_on_the_scheme_team_does_not_agree_it(qia):
    scheme = qia.at_panel(qia.draft(clinical_lead=qia["elr-quality-lead"]))
    for member in ("elr-panel-member", "elr-panel-member-2"):
        qia.score(scheme, member)
    with pytest.raises(ActionRefused, match="You are this scheme's clinical lead"):
        qia.agree(scheme)


def test_scores_need_every_heading_answered(qia):
    scheme = qia.at_panel()
    with pytest.raises(ActionRefused, match="Resources: give the rationale"):
        qia.score(
            scheme,
            "elr-panel-member",
            {**MODERATE, "resources": {"impact": "negative", "consequence": 2, "likelihood": 2}},
        )


def test_nobody_scores_before_the_panel(qia):
    scheme = qia.submitted()
    with pytest.raises(ActionRefused, match="not at the panel"):
        qia.score(scheme, "elr-panel-member")


# --- the panel's composition ---


def test_the_quality_lead_cannot_agree_without_scoring(qia):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member")
    qia.score(scheme, "elr-panel-member-2")
    with pytest.raises(ActionRefused, match="Record your own scores first"):
        qia.agree(scheme)


def test_the_panel_needs_two_other_members(qia):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-quality-lead")
    qia.score(scheme, "elr-panel-member")
    with pytest.raises(ActionRefused, match="at least 2 other members") as refused:
        qia.agree(scheme)
    assert "So far 1 other member (professions: nursing)" in str(refused.value)
    assert qia.fresh(scheme).state == SchemeState.QIA_PANEL


def test_the_other_members_must_be_of_two_professions(qia):
    scheme = qia.at_panel()
    member_2 = qia["elr-panel-member-2"]
    member_2.profession = qia["elr-panel-member"].profession
    member_2.save()
    for username in qia.PANEL:
        qia.score(scheme, username)
    with pytest.raises(ActionRefused, match="2 different professions"):
        qia.agree(scheme)


def test_the_minimums_are_settings(qia, settings):
    settings.QIA_PANEL_MIN_OTHER_MEMBERS = 1
    settings.QIA_PANEL_MIN_PROFESSIONS = 1
    scheme = qia.at_panel()
    qia.score(scheme, "elr-quality-lead")
    qia.score(scheme, "elr-panel-member")
    qia.agree(scheme)
    assert qia.fresh(scheme).state == SchemeState.AWAITING_SIGN_OFF


# --- spread ---


def test_members_two_bands_apart_are_highlighted(qia, as_user):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-quality-lead")  # patient safety 6, moderate
    qia.score(scheme, "elr-panel-member", scores(patient_safety=(5, 4)))  # 20, extreme
    qia.score(scheme, "elr-panel-member-2", scores(resources=(1, 2)))  # 2, low vs 6 moderate
    rows = {
        row.heading: row for row in selectors.heading_rows(qia.version(scheme), with_scores=True)
    }
    assert (rows["patient_safety"].spread, rows["patient_safety"].disagree) == (2, True)
    assert (rows["resources"].spread, rows["resources"].disagree) == (1, False)
    assert (rows["evidence_base"].spread, rows["evidence_base"].disagree) == (0, False)

    page = text(as_user(qia["elr-quality-lead"]).get(reverse("qia_panel", args=[scheme.pk])))
    assert page.count("Members disagree: 2 bands apart") == 1


def test_a_negative_against_no_impact_counts_as_a_spread(qia):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-quality-lead")
    qia.score(scheme, "elr-panel-member", scores(patient_safety="none"))
    rows = {
        row.heading: row for row in selectors.heading_rows(qia.version(scheme), with_scores=True)
    }
    assert rows["patient_safety"].spread == 2  # no impact (0) against moderate (2)


# --- the agreed score ---


def test_the_agreed_overall_score_defaults_to_the_highest_heading(qia):
    scheme = qia.scored()
    version = qia.agree(scheme, scores(patient_experience=(4, 3)))
    assert version.overall_score == 12
    assert (version.top_heading, version.top_consequence, version.top_likelihood) == (
        "patient_experience",
        4,
        3,
    )
    assert version.status == VersionStatus.AWAITING_SIGN_OFF
    assert version.agreed_by == qia["elr-quality-lead"]
    agreed = Assessment.objects.filter(version=version, kind="agreed")
    assert agreed.count() == 6
    scheme = qia.fresh(scheme)
    assert scheme.state == SchemeState.AWAITING_SIGN_OFF
    log = StateLog.objects.for_(scheme).latest("id")
    assert (log.transition, log.by) == ("panel_agree", qia["elr-quality-lead"])
    assert "overall risk 12 (high)" in log.description
    told = Notification.objects.filter(subject__startswith="Sign off the QIA")
    assert {n.user.username for n in told} == {"elr-chief-nurse", "elr-clinical-chair"}


def test_a_different_overall_score_needs_a_justification(qia):
    scheme = qia.scored()
    with pytest.raises(ActionRefused, match="write a justification"):
        qia.agree(scheme, overall_score=9)
    assert qia.fresh(scheme).state == SchemeState.QIA_PANEL
    version = qia.agree(scheme, overall_score=9, justification="Two risks compound each other.")
    assert (version.overall_score, version.top_score) == (9, 6)
    assert version.overall_justification == "Two risks compound each other."


def test_the_default_score_needs_no_justification_even_when_given_explicitly(qia):
    version = qia.agree(qia.scored(), overall_score=6)
    assert version.overall_score == 6 and version.overall_justification == ""


def test_the_agree_page_asks_for_the_justification(qia, as_user):
    scheme = qia.scored()
    lead = as_user(qia["elr-quality-lead"])
    data = {
        **_sheet(MODERATE),
        **mitigation_post(mitigations(MODERATE)),
        "overall_score": "12",
        "justification": "",
    }
    response = lead.post(reverse("qia_agree", args=[scheme.pk]), data)
    assert response.status_code == 200
    assert "differs from the highest agreed heading score (6)" in text(response)
    data["justification"] = "The provider's staffing is fragile."
    response = lead.post(reverse("qia_agree", args=[scheme.pk]), data)
    assert response.status_code == 302
    assert qia.version(scheme).overall_score == 12


def test_the_agree_page_asks_for_a_mitigating_action_for_each_negative_heading(qia, as_user):
    scheme = qia.scored()
    lead = as_user(qia["elr-quality-lead"])
    url = reverse("qia_agree", args=[scheme.pk])
    response = lead.post(url, {**_sheet(MODERATE), **_no_mitigations()})
    assert response.status_code == 200
    assert (
        "Mitigating action: Patient safety, Patient experience and Resources are agreed as "
        "negative impacts: record at least one mitigating action for each, with an owner and "
        "a due date." in words(response)
    )
    assert qia.fresh(scheme).state == SchemeState.QIA_PANEL

    response = lead.post(url, {**_sheet(MODERATE), **mitigation_post(mitigations(MODERATE))})
    assert response.status_code == 302
    assert qia.fresh(scheme).state == SchemeState.AWAITING_SIGN_OFF
    assert qia.version(scheme).mitigations.count() == 3


def test_an_agreed_mitigating_action_due_in_the_past_is_an_error(qia, as_user):
    with time_machine.travel(date(2019, 6, 3), tick=False):
        scheme = qia.scored()
        rows = mitigations(MODERATE)
        rows[0]["due_date"] = date(2019, 1, 1)
        response = as_user(qia["elr-quality-lead"]).post(
            reverse("qia_agree", args=[scheme.pk]), {**_sheet(MODERATE), **mitigation_post(rows)}
        )
    assert response.status_code == 200
    assert (
        "Mitigating action 1, due date: The due date, 1 January 2019, has passed: give today "
        "or a later date, or mark the action done." in words(response)
    )
    assert qia.fresh(scheme).state == SchemeState.QIA_PANEL


def test_the_panel_cannot_agree_a_negative_heading_without_a_dated_action(qia):
    scheme = qia.scored()
    with pytest.raises(ActionRefused, match="^Resources is agreed as a negative impact: record"):
        qia.agree(scheme, mitigations=mitigations(MODERATE)[:2])
    undated = [dict(row, due_date=None) for row in mitigations(MODERATE)]
    with pytest.raises(ActionRefused, match="Each mitigating action needs a due date."):
        qia.agree(scheme, mitigations=undated)
    assert qia.fresh(scheme).state == SchemeState.QIA_PANEL


def test_only_the_quality_lead_agrees(qia):
    scheme = qia.scored()
    with pytest.raises(ActionRefused, match="Only the quality lead"):
        services.panel_agree(
            version_id=qia.version(scheme).pk, by=qia["elr-panel-member"], headings=MODERATE
        )
    assert not StateLog.objects.filter(transition="panel_agree").exists()


# --- the pages' outline, as a screen reader lists it ---

LABELS = [
    "Patient safety",
    "Clinical effectiveness",
    "Patient experience",
    "Organisational reputation",
    "Evidence base",
    "Resources",
]


def assert_outline_reads_well(headings):
    """H1 first, no level skipped on the way down, and every heading read out with text."""
    levels = [level for level, _text, _hidden in headings]
    assert levels[0] == 1, headings
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, headings
    for _level, words_read, hidden in headings:
        assert words_read and not hidden, headings


def test_the_panel_page_goes_from_h1_to_h2_to_h3(qia, as_user):
    scheme = qia.scored()
    chair = as_user(qia["elr-quality-lead"])
    page = chair.get(reverse("qia_version_panel", args=[scheme.pk, 1]))
    assert outline(page) == [
        (1, "QIA panel scores side by side, version 1", False),
        (2, "Scores by heading", False),
        *[(3, f"{label} Spread 0 bands", False) for label in LABELS],
    ]
    assert_outline_reads_well(outline(page))


def test_the_agree_page_has_no_skipped_or_empty_heading(qia, as_user):
    scheme = qia.scored()
    chair = as_user(qia["elr-quality-lead"])
    url = reverse("qia_agree", args=[scheme.pk])
    page = chair.get(url)
    assert_outline_reads_well(outline(page))
    assert [text for _level, text, _hidden in outline(page)] == [
        "Agree the QIA, version 1",
        # the case beside the form: before it in the page, so first on a narrow screen
        "The case",
        "PID",
        "Savings plan",
        "Documents",
        "Confirm and challenge",
        "Quality impact assessment",
        "The panel's scores",
        "The agreed QIA",
        "The agreed scores",  # the summary at the end of the sheet
    ]
    # the scores by heading are still there, behind "Show each member's scores by heading"
    shown = words(page)
    assert "Show each member's scores by heading Patient safety Spread 0 bands" in shown
    with_errors = chair.post(url, {**_sheet(MODERATE), **_no_mitigations()})
    assert "There is a problem" in words(with_errors)
    assert_outline_reads_well(outline(with_errors))


# --- return and dismiss ---


def test_returning_takes_the_scheme_to_draft_with_a_new_editable_version(qia, as_user):
    scheme = qia.scored()
    services.panel_close(
        version_id=qia.version(scheme).pk,
        by=qia["elr-quality-lead"],
        decision="return",
        reason="Say how deterioration will be spotted.",
    )
    scheme = qia.fresh(scheme)
    assert scheme.state == SchemeState.DRAFT
    v1, v2 = qia.version(scheme, 1), qia.version(scheme, 2)
    assert v1.status == VersionStatus.RETURNED and v2.status == VersionStatus.SELF_ASSESSMENT
    assert v2.assessments.get(heading="patient_safety").consequence == 3  # pre-filled
    assert "Say how deterioration" in v2.opened_reason
    assert Notification.objects.filter(
        user=qia["elr-project-lead"], kind="returned", message__contains="deterioration"
    ).exists()

    lead = as_user(qia["elr-project-lead"])
    assert lead.get(reverse("qia_self_assessment", args=[scheme.pk])).status_code == 200
    qia.self_assess(scheme, scores(patient_safety=(3, 1)))
    assert qia.version(scheme, 2).assessments.get(heading="patient_safety").likelihood == 1
    assert v1.assessments.get(kind="self", heading="patient_safety").likelihood == 2
    page = text(lead.get(reverse("qia_version", args=[scheme.pk, 1])))
    assert "kept as it was: read-only" in page

    # resubmitted as revised, it goes round again and the members score the new version
    scheme = qia.at_panel(scheme, headings=scores(patient_safety=(3, 1)))
    qia.score(scheme, "elr-panel-member")
    assert PanelScore.objects.filter(member=qia["elr-panel-member"]).count() == 12


def test_a_scheme_the_panel_returns_is_resubmitted_without_answering_supportive_reviews(
    qia, as_user
):
    scheme = qia.scored()
    services.panel_close(
        version_id=qia.version(scheme).pk,
        by=qia["elr-quality-lead"],
        decision="return",
        reason="Add the mitigations for the ward.",
    )
    qia.self_assess(qia.fresh(scheme), scores(patient_safety=(3, 1)))
    lead = as_user(qia["elr-project-lead"])
    page = lead.get(reverse("scheme_submit", args=[scheme.pk]))
    assert "Your answer to" not in text(page)  # both reviewers supported it: nothing to answer

    response = lead.post(
        reverse("scheme_submit", args=[scheme.pk]), {"version": qia.fresh(scheme).version}
    )
    assert response.status_code == 302
    assert qia.fresh(scheme).state == SchemeState.CONFIRM_AND_CHALLENGE


def test_a_qia_the_panel_returned_is_not_resubmitted_unchanged(qia, as_user):
    scheme = qia.scored()
    services.panel_close(
        version_id=qia.version(scheme).pk,
        by=qia["elr-quality-lead"],
        decision="return",
        reason="Say how deterioration will be spotted.",
    )
    qia.self_assess(qia.fresh(scheme))  # saved again, as the panel saw it
    lead = as_user(qia["elr-project-lead"])
    said = (
        "Revise the QIA self-assessment before submitting: it is as it was when it came back "
        "to you. Returned by the panel: Say how deterioration will be spotted."
    )
    assert said in text(lead.get(reverse("scheme_submit", args=[scheme.pk])))

    response = lead.post(
        reverse("scheme_submit", args=[scheme.pk]), {"version": qia.fresh(scheme).version}
    )
    assert said in text(response)
    assert qia.fresh(scheme).state == SchemeState.DRAFT

    # a word more in one rationale is a revision
    revised = scores()
    revised["patient_safety"]["rationale"] += " Early warning scores are checked each shift."
    qia.self_assess(qia.fresh(scheme), revised)
    response = lead.post(
        reverse("scheme_submit", args=[scheme.pk]), {"version": qia.fresh(scheme).version}
    )
    assert response.status_code == 302
    assert qia.fresh(scheme).state == SchemeState.CONFIRM_AND_CHALLENGE


def test_dismissing_rejects_the_scheme_on_quality_grounds(qia):
    scheme = qia.at_panel()
    services.panel_close(
        version_id=qia.version(scheme).pk,
        by=qia["elr-quality-lead"],
        decision="dismiss",
        reason="Detrimental to patient safety.",
    )
    assert qia.fresh(scheme).state == SchemeState.REJECTED
    assert qia.version(scheme).status == VersionStatus.DISMISSED
    assert qia.version(scheme).closed_reason == "Detrimental to patient safety."
    log = StateLog.objects.for_(qia.fresh(scheme)).latest("id")
    assert log.transition == "panel_dismiss" and "Detrimental" in log.description


def test_return_and_dismiss_need_a_reason(qia):
    scheme = qia.at_panel()
    with pytest.raises(ActionRefused, match="Say why"):
        services.panel_close(
            version_id=qia.version(scheme).pk,
            by=qia["elr-quality-lead"],
            decision="return",
            reason=" ",
        )


# --- helpers ---


def _sheet(headings) -> dict:
    data = {}
    for heading, values in headings.items():
        for name in ("impact", "consequence", "likelihood", "rationale"):
            value = values.get(name)
            data[f"{heading}-{name}"] = "" if value is None else str(value)
    return data


def _no_mitigations() -> dict:
    return {
        "mitigation-TOTAL_FORMS": "0",
        "mitigation-INITIAL_FORMS": "0",
        "mitigation-MIN_NUM_FORMS": "0",
        "mitigation-MAX_NUM_FORMS": "60",
    }


def test_a_score_recorded_before_its_scorer_joined_the_team_stands_and_is_flagged(qia, client):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member")
    member = qia["elr-panel-member"]
    Scheme.objects.filter(pk=scheme.pk).update(clinical_lead=member)
    client.force_login(qia["elr-pmo"])
    page = text(client.get(scheme.get_absolute_url()))
    assert f"{member} scored QIA version 1 on" in page
    assert "and is now this scheme's clinical lead." in page
    assert PanelScore.objects.filter(member=member).exists()  # it stands


# --- a panel link followed after the QIA left the panel (an old notification) ---


@pytest.mark.parametrize("page", ["qia_score", "qia_agree", "qia_panel_close"])
def test_a_stale_panel_link_leads_to_the_qia_saying_where_it_is(qia, as_user, page):
    scheme = qia.awaiting_sign_off()
    response = as_user(qia["elr-quality-lead"]).get(reverse(page, args=[scheme.pk]), follow=True)

    assert response.redirect_chain == [(reverse("qia_detail", args=[scheme.pk]), 302)]
    assert (
        f"The QIA of {scheme.reference} is no longer at the panel: it is awaiting sign-off. "
        "Nothing is waiting for you there."
    ) in text(response)
    assert not AccessRefusal.objects.exists()


def test_a_member_who_scored_is_told_the_qia_left_the_panel(qia, as_user):
    scheme = qia.awaiting_sign_off()
    response = as_user(qia["elr-panel-member"]).get(
        reverse("qia_score", args=[scheme.pk]), follow=True
    )
    assert "is no longer at the panel: it is awaiting sign-off" in text(response)
    assert not AccessRefusal.objects.exists()


def test_a_score_link_before_the_panel_says_the_qia_is_not_at_it_yet(qia, as_user):
    scheme = qia.submitted()
    response = as_user(qia["elr-panel-member"]).get(
        reverse("qia_score", args=[scheme.pk]), follow=True
    )
    assert (
        f"The QIA of {scheme.reference} is not at the panel: {scheme.reference} is in "
    ) in text(response)
    assert not AccessRefusal.objects.exists()


@pytest.mark.parametrize(
    ("username", "page", "reason"),
    [
        ("elr-viewer", "qia_score", "Only QIA panel members"),
        ("wl-panel-member", "qia_score", "your own organisation only"),
        ("elr-panel-member", "qia_agree", "Only the quality lead"),
        ("wl-quality-lead", "qia_panel_close", "your own organisation only"),
    ],
)
def test_a_stale_panel_link_is_still_refused_to_who_never_takes_the_step(
    qia, as_user, username, page, reason
):
    scheme = qia.awaiting_sign_off()
    response = as_user(qia[username]).get(reverse(page, args=[scheme.pk]))

    assert response.status_code == 403
    assert reason in text(response)
    assert AccessRefusal.objects.filter(user=qia[username]).exists()


def test_a_stale_score_link_is_still_refused_to_the_scheme_team(qia, as_user):
    scheme = qia.awaiting_sign_off()
    Scheme.objects.filter(pk=scheme.pk).update(finance_lead=qia["elr-panel-member-2"])
    response = as_user(qia["elr-panel-member-2"]).get(reverse("qia_score", args=[scheme.pk]))

    assert response.status_code == 403
    assert "You are this scheme's finance lead" in text(response)
    assert AccessRefusal.objects.filter(action="qia_score").exists()


@pytest.mark.parametrize(
    ("page", "data"),
    [
        ("qia_score", {}),
        ("qia_panel_close", {"decision": "return", "reason": "More detail on the beds."}),
    ],
)
def test_a_panel_form_posted_after_the_qia_left_the_panel_is_still_refused(
    qia, as_user, page, data
):
    scheme = qia.awaiting_sign_off()
    response = as_user(qia["elr-quality-lead"]).post(reverse(page, args=[scheme.pk]), data)

    assert response.status_code == 403
    assert "This QIA is not at the panel now." in text(response)
    assert AccessRefusal.objects.filter(user=qia["elr-quality-lead"]).exists()
    assert qia.fresh(scheme).state == SchemeState.AWAITING_SIGN_OFF


# --- a score link followed after scoring, while the QIA is still at the panel ---


@pytest.mark.parametrize(
    ("username", "waits"),
    [
        ("elr-panel-member", "the quality lead to record what the panel agreed"),
        ("elr-quality-lead", "you, as quality lead, to record what the panel agreed"),
    ],
)
def test_a_scorer_who_has_scored_is_told_what_the_qia_waits_for(qia, as_user, username, waits):
    scheme = qia.scored()
    response = as_user(qia[username]).get(reverse("qia_score", args=[scheme.pk]), follow=True)

    assert response.redirect_chain == [(reverse("qia_detail", args=[scheme.pk]), 302)]
    assert (
        f"You have recorded your scores for QIA version 1 of {scheme.reference}: it waits for "
        f"{waits}."
    ) in text(response)
    assert not AccessRefusal.objects.exists()


def test_scores_posted_a_second_time_are_still_refused(qia, as_user):
    scheme = qia.scored()
    response = as_user(qia["elr-panel-member"]).post(
        reverse("qia_score", args=[scheme.pk]), _sheet(scores(patient_safety=(5, 5)))
    )

    assert response.status_code == 403
    assert "You have already recorded your scores for this QIA version" in text(response)
    assert AccessRefusal.objects.filter(user=qia["elr-panel-member"], action="qia_score").exists()
    kept = qia.version(scheme).panel_scores.get(
        member=qia["elr-panel-member"], heading="patient_safety"
    )
    assert (kept.consequence, kept.likelihood) == (3, 2)  # the first scores stand


def test_a_score_link_at_the_panel_is_still_refused_to_the_scheme_team(qia, as_user):
    scheme = qia.scored()
    Scheme.objects.filter(pk=scheme.pk).update(finance_lead=qia["elr-panel-member"])
    response = as_user(qia["elr-panel-member"]).get(reverse("qia_score", args=[scheme.pk]))

    assert response.status_code == 403
    assert "You are this scheme's finance lead" in text(response)
    assert AccessRefusal.objects.filter(action="qia_score").exists()


def test_the_quality_lead_who_returns_the_qia_sees_one_alert(qia, as_user):
    scheme = qia.scored()
    response = as_user(qia["elr-quality-lead"]).post(
        reverse("qia_panel_close", args=[scheme.pk]),
        {"decision": "return", "reason": "Say how red flags are screened out of hours."},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("my_tasks")
    page = text(response)
    assert page.count('role="alert"') == 1
    assert f"{scheme.reference} is back with its project team as a draft" in page
    assert qia.fresh(scheme).state == SchemeState.DRAFT


# --- the agreement sent after the QIA changed meanwhile: nothing typed is lost ---

AGREED = {
    **_sheet(scores(patient_safety=(4, 3))),
    **mitigation_post(mitigations(scores(patient_safety=(4, 3)))),
    "overall_score": "16",
    "justification": "Staffing at the provider is fragile this winter.",
}


def _drawn(response) -> dict:
    """The hidden fields of the agree page as drawn: what the browser sends back."""
    form = response.context["form"]
    return {name: str(form[name].value() or "") for name in ("revision", "scorers")}


def test_an_agreement_sent_after_a_member_scored_keeps_what_was_typed(qia, as_user):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-quality-lead")
    qia.score(scheme, "elr-panel-member")
    lead = as_user(qia["elr-quality-lead"])
    url = reverse("qia_agree", args=[scheme.pk])
    drawn = _drawn(lead.get(url))
    qia.score(scheme, "elr-panel-member-2", scores(resources=(3, 3)))  # meanwhile

    response = lead.post(url, {**AGREED, **drawn})

    assert response.status_code == 200
    page = words(response)
    assert (
        f"Nothing was saved. {qia['elr-panel-member-2']} recorded their scores meanwhile: the "
        "panel's scores below include theirs. Check your agreed scores, then save again."
    ) in page
    assert "Someone else changed this QIA" not in page
    assert "Staffing at the provider is fragile this winter." in page  # what was typed
    assert "Scored 4 x 3." in text(response)
    assert "The panel is complete" in page  # the panel as it now is
    assert qia.fresh(scheme).state == SchemeState.QIA_PANEL
    version = qia.version(scheme)
    assert version.panel_scores.filter(member=qia["elr-panel-member-2"]).count() == 6
    again = _drawn(response)
    assert again["revision"] == str(version.revision) != drawn["revision"]

    response = lead.post(url, {**AGREED, **again})

    assert response.status_code == 302
    version = qia.version(scheme)
    assert version.status == VersionStatus.AWAITING_SIGN_OFF
    assert version.overall_score == 16
    assert version.overall_justification == "Staffing at the provider is fragile this winter."
    assert version.panel_scores.filter(member=qia["elr-panel-member-2"]).count() == 6


def test_an_agreement_sent_twice_from_an_old_page_is_refused_each_time_saying_why(qia, as_user):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-quality-lead")
    qia.score(scheme, "elr-panel-member")
    lead = as_user(qia["elr-quality-lead"])
    url = reverse("qia_agree", args=[scheme.pk])
    drawn = _drawn(lead.get(url))
    qia.score(scheme, "elr-panel-member-2")

    # the old page's fields sent again, not those of the page shown after the conflict
    for _ in range(2):
        response = lead.post(url, {**AGREED, **drawn})
        assert response.status_code == 200
        said = f"{qia['elr-panel-member-2']} recorded their scores meanwhile"
        assert said in words(response)
    assert qia.fresh(scheme).state == SchemeState.QIA_PANEL


def test_another_change_meanwhile_is_said_plainly(qia, as_user):
    scheme = qia.scored()
    lead = as_user(qia["elr-quality-lead"])
    url = reverse("qia_agree", args=[scheme.pk])
    drawn = _drawn(lead.get(url))
    version = qia.version(scheme)
    QiaVersion.objects.filter(pk=version.pk).update(revision=version.revision + 1)

    response = lead.post(url, {**AGREED, **drawn})

    page = words(response)
    assert "Nothing was saved: this QIA changed while you were looking at it" in page
    assert "recorded their scores meanwhile" not in page
    assert "Staffing at the provider is fragile this winter." in page
    response = lead.post(url, {**AGREED, **_drawn(response)})
    assert response.status_code == 302
    assert qia.version(scheme).overall_score == 16


def test_an_agreement_sent_after_the_qia_left_the_panel_shows_what_was_typed(qia, as_user):
    scheme = qia.scored()
    lead = as_user(qia["elr-quality-lead"])
    url = reverse("qia_agree", args=[scheme.pk])
    drawn = _drawn(lead.get(url))
    services.panel_close(
        version_id=qia.version(scheme).pk,
        by=qia["elr-quality-lead"],
        decision="dismiss",
        reason="Unsafe.",
    )

    response = lead.post(url, {**AGREED, **drawn})

    assert response.status_code == 403
    page = words(response)
    assert "This QIA is not at the panel now." in page
    assert "What you typed" in page
    assert "Staffing at the provider is fragile this winter." in page
    assert "Scored 4 x 3." in page
    assert qia.version(scheme).status == VersionStatus.DISMISSED


def test_an_agreement_overtaken_while_it_was_being_saved_shows_what_was_typed(
    qia, as_user, monkeypatch
):
    scheme = qia.scored()
    lead = as_user(qia["elr-quality-lead"])
    url = reverse("qia_agree", args=[scheme.pk])
    drawn = _drawn(lead.get(url))

    def dismissed_first(*, version_id, **_arguments):
        # the quality lead's other tab dismissed the QIA a moment before this save
        services.panel_close(
            version_id=version_id, by=qia["elr-quality-lead"], decision="dismiss", reason="No."
        )
        raise Conflict("changed")

    monkeypatch.setattr(panel_views.services, "panel_agree", dismissed_first)
    response = lead.post(url, {**AGREED, **drawn})

    assert response.status_code == 409
    page = words(response)
    assert (
        f"The QIA of {scheme.reference} changed while you were looking at it, so nothing was "
        "saved: it was dismissed on quality grounds."
    ) in page
    assert "Staffing at the provider is fragile this winter." in page
