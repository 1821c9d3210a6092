"""Sign-off by the Chief Nurse and Quality Officer and the Clinical Chair (DESIGN.md)."""

from datetime import date

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance import deputies, roles
from governance.models import AccessRefusal, Scheme, SchemeState
from governance.services import ActionRefused
from notifications.models import Notification, OutboxEmail
from qia import escalation_feed
from qia.models import FlagKind, QagFlag, SignOff, VersionStatus
from tests.qia.conftest import scores, text

pytestmark = pytest.mark.django_db

EXTREME = scores(patient_safety=(5, 4))  # 20
HIGH = scores(patient_safety=(4, 3))  # 12


@pytest.mark.parametrize(
    "order", [("elr-chief-nurse", "elr-clinical-chair"), ("elr-clinical-chair", "elr-chief-nurse")]
)
@time_machine.travel(date(2019, 6, 1), tick=False)
def test_both_signatures_in_either_order_approve_the_scheme(qia, order):
    scheme = qia.awaiting_sign_off()
    first, second = order
    version = qia.sign(scheme, first, comment="Assured by the quality committee.")
    assert version.status == VersionStatus.AWAITING_SIGN_OFF
    assert qia.fresh(scheme).state == SchemeState.AWAITING_SIGN_OFF
    told = Notification.objects.filter(subject__startswith="Sign off the QIA").latest("id")
    assert told.user.username == second  # the other signatory is asked

    version = qia.sign(scheme, second)
    scheme = qia.fresh(scheme)
    assert scheme.state == SchemeState.APPROVED
    assert version.status == VersionStatus.SIGNED_OFF
    assert version.review_date == date(2019, 12, 1)  # moderate: six months
    assert version.plan_at_sign_off == scheme.annual_plan
    logs = list(StateLog.objects.for_(scheme).filter(transition="sign_off").order_by("id"))
    assert [(log.state, log.by.username) for log in logs] == [
        (SchemeState.AWAITING_SIGN_OFF, first),
        (SchemeState.APPROVED, second),
    ]
    assert "Assured by the quality committee." in logs[0].description
    assert Notification.objects.filter(user=scheme.project_lead, kind="approved").exists()


@time_machine.travel(date(2019, 6, 1), tick=False)
def test_a_high_risk_is_reviewed_after_three_months(qia):
    scheme = qia.approved(headings=HIGH)
    assert qia.version(scheme).review_date == date(2019, 9, 1)


def test_the_review_periods_are_settings(qia, settings):
    settings.QIA_REVIEW_MONTHS = 12
    with time_machine.travel(date(2019, 6, 1), tick=False):
        scheme = qia.approved()
    assert qia.version(scheme).review_date == date(2020, 6, 1)


def test_a_decline_for_revision_returns_the_scheme_to_draft_with_a_new_version(qia):
    scheme = qia.awaiting_sign_off()
    qia.sign(scheme, "elr-chief-nurse")
    qia.sign(scheme, "elr-clinical-chair", decision="declined", comment="Add the audit plan.")
    scheme = qia.fresh(scheme)
    assert scheme.state == SchemeState.DRAFT
    v1, v2 = qia.version(scheme, 1), qia.version(scheme, 2)
    assert (v1.status, v2.status) == (VersionStatus.RETURNED, VersionStatus.SELF_ASSESSMENT)
    assert v2.drives_scheme and "Add the audit plan." in v2.opened_reason
    log = StateLog.objects.for_(scheme).latest("id")
    assert (log.transition, log.state) == ("decline_sign_off", SchemeState.DRAFT)
    assert Notification.objects.filter(user=scheme.project_lead, kind="returned").exists()


def test_a_decline_can_reject_the_scheme(qia):
    scheme = qia.awaiting_sign_off()
    qia.sign(
        scheme, "elr-clinical-chair", decision="declined", decline_outcome="reject", comment="No."
    )
    assert qia.fresh(scheme).state == SchemeState.REJECTED
    assert qia.version(scheme).status == VersionStatus.DECLINED
    assert qia.version(scheme).number == 1


# --- segregation of duties ---


def _also(user, *group_names):
    user.groups.add(*Group.objects.filter(name__in=group_names))
    return type(user).objects.get(pk=user.pk)  # roles are cached on the instance


def test_the_project_lead_cannot_sign_off(qia):
    chair = _also(qia["elr-clinical-chair"], roles.PROJECT_LEAD)
    scheme = qia.awaiting_sign_off(qia.draft(project_lead=chair))
    with pytest.raises(ActionRefused, match="You are this scheme's project lead"):
        qia.sign(scheme, "elr-clinical-chair")


@pytest.mark.parametrize(
    ("place", "words"), [("clinical_lead", "clinical lead"), ("finance_lead", "finance lead")]
)
def test_the_clinical_or_finance_lead_does_not_sign_off_nor_is_asked_to(qia, client, place, words):
    nurse = qia["elr-chief-nurse"]
    scheme = qia.awaiting_sign_off(qia.draft(**{place: nurse}))
    client.force_login(nurse)
    assert "Sign off the QIA" not in text(client.get(reverse("my_tasks")))
    with pytest.raises(ActionRefused, match=f"You are this scheme's {words}"):
        qia.sign(scheme, "elr-chief-nurse")
    assert not SignOff.objects.exists()


def test_the_sro_cannot_sign_off(qia):
    scheme = qia.awaiting_sign_off(qia.draft(sro=qia["elr-chief-nurse"]))
    logs, mails = StateLog.objects.count(), OutboxEmail.objects.count()
    with pytest.raises(ActionRefused, match="You are this scheme's SRO"):
        qia.sign(scheme, "elr-chief-nurse")
    assert not SignOff.objects.exists()
    assert (StateLog.objects.count(), OutboxEmail.objects.count()) == (logs, mails)
    assert AccessRefusal.objects.filter(user=qia["elr-chief-nurse"], action="sign_off").exists()


def test_a_panel_member_of_that_version_cannot_sign_it_off(qia, settings):
    _also(qia["elr-chief-nurse"], roles.PANEL_MEMBER)
    scheme = qia.at_panel()
    for username in [*qia.PANEL, "elr-chief-nurse"]:
        qia.score(scheme, username)
    qia.agree(scheme)
    before = StateLog.objects.count()
    with pytest.raises(ActionRefused, match="on the panel for this QIA version"):
        qia.sign(scheme, "elr-chief-nurse")
    assert StateLog.objects.count() == before
    assert qia.fresh(scheme).state == SchemeState.AWAITING_SIGN_OFF


def test_the_same_person_cannot_sign_in_both_capacities(qia, as_user):
    _also(qia["elr-chief-nurse"], roles.CLINICAL_CHAIR)
    scheme = qia.awaiting_sign_off()
    qia.sign(scheme, "elr-chief-nurse", capacity="chief_nurse")
    with pytest.raises(ActionRefused, match="already signed this QIA version as Chief Nurse"):
        qia.sign(scheme, "elr-chief-nurse", capacity="clinical_chair")
    nurse = as_user(qia["elr-chief-nurse"])
    response = nurse.get(reverse("qia_sign_off", args=[scheme.pk]), follow=True)
    assert response.redirect_chain == [(reverse("qia_detail", args=[scheme.pk]), 302)]
    assert (
        f"You have signed QIA version 1 of {scheme.reference} as Chief Nurse and Quality "
        "Officer: it waits for the Clinical Chair. The other signature must be by someone else."
    ) in text(response)
    response = nurse.post(
        reverse("qia_sign_off", args=[scheme.pk]),
        {"decision": "approve", "comment": "Again.", "capacity": "clinical_chair"},
    )
    assert response.status_code == 403
    assert "the other signature must be by someone else" in text(response)
    assert qia.fresh(scheme).state == SchemeState.AWAITING_SIGN_OFF


def test_a_capacity_signs_once_per_version(qia):
    scheme = qia.awaiting_sign_off()
    qia["wl-chief-nurse"].organisations.add(scheme.organisation)  # a second ELR chief nurse
    qia.sign(scheme, "elr-chief-nurse")
    with pytest.raises(ActionRefused, match="has already signed this version"):
        qia.sign(scheme, "wl-chief-nurse")


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("elr-quality-lead", "Only the Chief Nurse and Quality Officer or the Clinical Chair"),
        ("wl-chief-nurse", "your own organisation only"),
    ],
)
def test_others_cannot_sign_off(qia, username, reason):
    scheme = qia.awaiting_sign_off()
    with pytest.raises(ActionRefused, match=reason):
        qia.sign(scheme, username)


def test_nothing_is_signed_before_the_panel_agrees(qia):
    scheme = qia.scored()
    with pytest.raises(
        ActionRefused, match="This scheme is at the QIA panel: you cannot approve it now"
    ):
        qia.sign(scheme, "elr-chief-nurse")


# --- an extreme agreed score ---


def test_an_extreme_score_needs_each_signatorys_justification_and_is_flagged_to_qag(qia, as_user):
    scheme = qia.awaiting_sign_off(headings=EXTREME)
    with pytest.raises(ActionRefused, match="extreme \\(20\\): write your justification"):
        qia.sign(scheme, "elr-chief-nurse")
    qia.sign(scheme, "elr-chief-nurse", justification="Daily safety huddle in place.")
    assert not QagFlag.objects.exists()
    with pytest.raises(ActionRefused, match="justification"):
        qia.sign(scheme, "elr-clinical-chair", justification="  ")
    qia.sign(scheme, "elr-clinical-chair", justification="Audited monthly by the chair.")

    flag = QagFlag.objects.get()
    assert (flag.kind, flag.score) == (FlagKind.EXTREME, 20)
    assert "Daily safety huddle" in flag.detail and "Audited monthly" in flag.detail
    mail = OutboxEmail.objects.get(recipient="elr-qag-member@example.nhs.uk")
    assert mail.subject.startswith("Extreme QIA risk signed off")
    assert "Audited monthly" in mail.text_body
    page = text(as_user(qia["elr-viewer"]).get(reverse("qia_detail", args=[scheme.pk])))
    assert "Flagged to QAG" in page and "Extreme risk signed off" in page
    listed = text(as_user(qia["elr-qag-member"]).get(reverse("qia_flags")))
    assert scheme.reference in listed
    [extreme] = escalation_feed.flagged_to_qag(scheme.organisation.system_id, None)
    assert (extreme.scheme, extreme.what, extreme.score) == (
        scheme,
        "Extreme risk signed off",
        20,
    )


def test_the_sign_off_page_asks_for_the_justification_of_an_extreme_score(qia, as_user):
    scheme = qia.awaiting_sign_off(headings=EXTREME)
    nurse = as_user(qia["elr-chief-nurse"])
    page = text(nurse.get(reverse("qia_sign_off", args=[scheme.pk])))
    assert "The agreed risk is extreme (20)" in page
    response = nurse.post(
        reverse("qia_sign_off", args=[scheme.pk]),
        {"decision": "approve", "comment": "Fine.", "capacity": "chief_nurse"},
    )
    assert response.status_code == 200
    assert "write your justification" in text(response)
    assert not SignOff.objects.exists()


def test_the_extreme_flag_mail_goes_once_to_each_of_the_qag_list(qia):
    scheme = qia.approved(headings=EXTREME)
    mails = OutboxEmail.objects.filter(subject__startswith="Extreme QIA risk")
    assert sorted(mails.values_list("recipient", flat=True)) == [
        "elr-qag-member@example.nhs.uk",
        "wl-qag-member@example.nhs.uk",
    ]
    assert qia.fresh(scheme).state == SchemeState.APPROVED


def test_both_signatories_with_the_page_open_together_both_sign(qia, as_user):
    scheme = qia.awaiting_sign_off()
    url = reverse("qia_sign_off", args=[scheme.pk])
    revision = {}
    for who in ("elr-chief-nurse", "elr-clinical-chair"):
        page = as_user(qia[who]).get(url)
        revision[who] = page.context["form"].initial["revision"]
    assert revision["elr-chief-nurse"] == revision["elr-clinical-chair"]

    for who, capacity in (
        ("elr-chief-nurse", "chief_nurse"),
        ("elr-clinical-chair", "clinical_chair"),
    ):
        response = as_user(qia[who]).post(
            url,
            {
                "decision": "approve",
                "comment": f"Approved by {who}.",
                "capacity": capacity,
                "revision": revision[who],  # as drawn before the other signed
            },
            follow=True,
        )
        assert "Your decision is recorded." in text(response)

    assert qia.fresh(scheme).state == SchemeState.APPROVED
    assert SignOff.objects.count() == 2


def test_a_signature_after_the_other_signatory_declined_is_refused(qia, as_user):
    scheme = qia.awaiting_sign_off()
    url = reverse("qia_sign_off", args=[scheme.pk])
    chair = as_user(qia["elr-clinical-chair"])
    revision = chair.get(url).context["form"].initial["revision"]
    qia.sign(scheme, "elr-chief-nurse", decision="declined", comment="Add the audit plan.")

    response = as_user(qia["elr-clinical-chair"]).post(
        url,
        {
            "decision": "approve",
            "comment": "Fine.",
            "capacity": "clinical_chair",
            "revision": revision,
        },
        follow=True,
    )

    assert "Your decision is recorded." not in text(response)
    assert qia.fresh(scheme).state == SchemeState.DRAFT
    assert not SignOff.objects.filter(by=qia["elr-clinical-chair"]).exists()


def test_a_signatory_who_sends_the_qia_back_lands_on_their_tasks(qia, as_user):
    scheme = qia.awaiting_sign_off()
    nurse = as_user(qia["elr-chief-nurse"])
    response = nurse.post(
        reverse("qia_sign_off", args=[scheme.pk]),
        {"decision": "revise", "comment": "Add the audit plan.", "capacity": "chief_nurse"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("my_tasks")
    page = text(response)
    # one alert, saying where the QIA went: it is out of the signatory's sight now
    assert page.count('role="alert"') == 1
    assert "Your decision is recorded." not in page
    assert "back with its project team as a draft" in page
    assert qia.fresh(scheme).state == SchemeState.DRAFT
    assert not AccessRefusal.objects.exists()


def test_a_qia_sent_back_at_sign_off_is_not_resubmitted_unchanged(qia, as_user):
    scheme = qia.awaiting_sign_off()
    as_user(qia["elr-chief-nurse"]).post(
        reverse("qia_sign_off", args=[scheme.pk]),
        {"decision": "revise", "comment": "Add the audit plan.", "capacity": "chief_nurse"},
    )
    qia.self_assess(qia.fresh(scheme))  # as it was

    with pytest.raises(ActionRefused) as refused:
        qia.submitted(qia.fresh(scheme))
    assert "it is as it was when it came back to you" in refused.value.message
    assert "Add the audit plan." in refused.value.message
    assert qia.fresh(scheme).state == SchemeState.DRAFT

    revised = qia.submitted(qia.fresh(scheme), headings=scores(patient_experience="none"))
    assert revised.state == SchemeState.CONFIRM_AND_CHALLENGE


# --- a sign-off link followed after the QIA moved on (an old notification) ---


def test_a_stale_sign_off_link_leads_to_the_qia_saying_it_is_signed_off(qia, as_user):
    scheme = qia.approved()
    response = as_user(qia["elr-chief-nurse"]).get(
        reverse("qia_sign_off", args=[scheme.pk]), follow=True
    )

    assert response.redirect_chain == [(reverse("qia_detail", args=[scheme.pk]), 302)]
    assert (
        f"The QIA of {scheme.reference} is no longer awaiting sign-off: it is signed off. "
        "Nothing is waiting for you there."
    ) in text(response)
    assert not AccessRefusal.objects.exists()


def test_a_sign_off_link_before_the_panel_agrees_says_the_qia_is_not_awaiting_it(qia, as_user):
    scheme = qia.scored()
    response = as_user(qia["elr-clinical-chair"]).get(
        reverse("qia_sign_off", args=[scheme.pk]), follow=True
    )

    assert f"The QIA of {scheme.reference} is not awaiting sign-off: it is at the panel." in text(
        response
    )
    assert not AccessRefusal.objects.exists()


@time_machine.travel(date(2019, 6, 3), tick=False)
def test_a_stale_sign_off_link_of_a_deputy_leads_to_the_qia_too(qia, as_user):
    scheme = qia.approved()
    # an administrator names a deputy who does not hold the role
    admin, chair, stand_in = qia["elr-pmo"], qia["elr-clinical-chair"], qia["elr-viewer"]
    admin.is_staff = True
    admin.save()
    delegation = deputies.name_deputy(
        by=admin,
        principal=chair,
        deputy=stand_in,
        role=roles.CLINICAL_CHAIR,
        organisation=scheme.organisation,
        starts_on=date(2019, 6, 3),
        ends_on=date(2019, 6, 14),
        admin=True,
    )
    url = reverse("qia_sign_off", args=[scheme.pk]) + f"?for={delegation.pk}"
    response = as_user(stand_in).get(url, follow=True)

    assert "is no longer awaiting sign-off: it is signed off" in text(response)
    assert not AccessRefusal.objects.exists()


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("elr-quality-lead", "Only the Chief Nurse and Quality Officer or the Clinical Chair"),
        ("wl-chief-nurse", "your own organisation only"),
    ],
)
def test_a_stale_sign_off_link_is_still_refused_to_who_never_signs(qia, as_user, username, reason):
    scheme = qia.approved()
    response = as_user(qia[username]).get(reverse("qia_sign_off", args=[scheme.pk]))

    assert response.status_code == 403
    assert reason in text(response)
    assert AccessRefusal.objects.filter(user=qia[username], action="sign_off").exists()


def test_a_stale_sign_off_link_is_still_refused_to_the_scheme_team(qia, as_user):
    scheme = qia.approved()
    Scheme.objects.filter(pk=scheme.pk).update(sro=qia["elr-chief-nurse"])
    response = as_user(qia["elr-chief-nurse"]).get(reverse("qia_sign_off", args=[scheme.pk]))

    assert response.status_code == 403
    assert "You are this scheme's SRO" in text(response)
    assert AccessRefusal.objects.filter(user=qia["elr-chief-nurse"], action="sign_off").exists()


def test_a_sign_off_posted_after_the_qia_was_signed_off_is_still_refused(qia, as_user):
    scheme = qia.approved()
    response = as_user(qia["elr-chief-nurse"]).post(
        reverse("qia_sign_off", args=[scheme.pk]),
        {"decision": "approve", "comment": "Safe to proceed.", "capacity": "chief_nurse"},
    )

    assert response.status_code == 403
    page = text(response)
    assert "This QIA is not awaiting sign-off." in page
    assert "Safe to proceed." in page  # what was typed, to copy
    assert AccessRefusal.objects.filter(user=qia["elr-chief-nurse"], action="sign_off").exists()


# --- a sign-off link followed after signing, while the QIA waits for the other signature ---


def test_a_signatory_who_has_signed_is_told_what_the_qia_waits_for(qia, as_user):
    scheme = qia.awaiting_sign_off()
    qia.sign(scheme, "elr-chief-nurse")
    response = as_user(qia["elr-chief-nurse"]).get(
        reverse("qia_sign_off", args=[scheme.pk]), follow=True
    )

    assert response.redirect_chain == [(reverse("qia_detail", args=[scheme.pk]), 302)]
    page = text(response)
    assert (
        f"You have signed QIA version 1 of {scheme.reference} as Chief Nurse and Quality "
        "Officer: it waits for the Clinical Chair."
    ) in page
    assert "someone else" not in page  # she does not hold the other role
    assert not AccessRefusal.objects.exists()


@time_machine.travel(date(2019, 6, 3), tick=False)
def test_a_signatory_whose_deputy_signed_for_them_is_told_so(qia, as_user):
    scheme = qia.awaiting_sign_off()
    chair, stand_in = qia["elr-clinical-chair"], qia["elr-viewer"]
    admin = qia["elr-pmo"]
    admin.is_staff = True
    admin.save()
    delegation = deputies.name_deputy(
        by=admin,
        principal=chair,
        deputy=stand_in,
        role=roles.CLINICAL_CHAIR,
        organisation=scheme.organisation,
        starts_on=date(2019, 6, 3),
        ends_on=date(2019, 6, 14),
        admin=True,
    )
    stand_in.deputising = deputies.deputising_through(stand_in, delegation.pk)
    qia.sign(scheme, "elr-viewer", comment="For the Chair.")
    assert SignOff.objects.get().on_behalf_of == chair

    url = reverse("qia_sign_off", args=[scheme.pk])
    response = as_user(chair).get(url, follow=True)
    assert (
        f"{stand_in} has signed QIA version 1 of {scheme.reference} for you, as Clinical Chair: "
        "it waits for the Chief Nurse and Quality Officer."
    ) in text(response)
    assert not AccessRefusal.objects.exists()


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("elr-quality-lead", "Only the Chief Nurse and Quality Officer or the Clinical Chair"),
        ("wl-chief-nurse", "your own organisation only"),
    ],
)
def test_a_sign_off_link_half_signed_is_still_refused_to_who_never_signs(
    qia, as_user, username, reason
):
    scheme = qia.awaiting_sign_off()
    qia.sign(scheme, "elr-chief-nurse")
    response = as_user(qia[username]).get(reverse("qia_sign_off", args=[scheme.pk]))

    assert response.status_code == 403
    assert reason in text(response)
    assert AccessRefusal.objects.filter(user=qia[username], action="sign_off").exists()


# --- who is told after the first signature ---


def test_after_the_first_signature_only_who_may_still_sign_is_told_whose_is_awaited(qia):
    # the Chief Nurse also holds the Clinical Chair's role: having signed, she cannot sign again
    nurse = _also(qia["elr-chief-nurse"], roles.CLINICAL_CHAIR)
    scheme = qia.awaiting_sign_off()
    asked = Notification.objects.filter(subject__startswith="Sign off the QIA")
    before = set(asked.values_list("pk", flat=True))

    qia.sign(scheme, "elr-chief-nurse", capacity="chief_nurse")

    told = asked.exclude(pk__in=before)
    assert [(n.user.username, n.message) for n in told] == [
        (
            "elr-clinical-chair",
            f"The Chief Nurse and Quality Officer signed off QIA version 1 of "
            f"{scheme.reference}: your signature is awaited.",
        )
    ]
    assert not told.filter(user=nurse).exists()
    # the panel's notice reached the Clinical Chair once, not again word for word
    assert asked.filter(user__username="elr-clinical-chair", message__contains="panel").count() == 1
