"""Routes by value (qia.routes): an organisation's rules choose at submission who signs a
first QIA off: the Chief Nurse alone (QAG told), the usual two, or the two and then QAG's
approval; decided again on resubmission and at the panel's agreement, shown on the scheme
page with the rule that chose it."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance import services as governance
from governance.models import PLAN_FIELDS, AccessRefusal, Organisation, SchemeState
from governance.services import ActionRefused
from notifications.models import Notification
from qia import services
from qia.models import Route, RouteRule, VersionStatus
from tests.pages import visible
from tests.qia.conftest import scores

pytestmark = pytest.mark.django_db

HIGH = scores(patient_safety=(4, 3))  # 12


def rule(route, *, name="Small schemes", order=1, **conditions):
    return RouteRule.objects.create(
        organisation=Organisation.objects.get(code="ELR"),
        name=name,
        order=order,
        route=route,
        **conditions,
    )


def small_schemes():
    """Below £100,000 and no worse than moderate: the Chief Nurse alone (the test plan is
    12 x £5,000 = £60,000, and its self-assessment moderate)."""
    return rule(Route.CHIEF_NURSE_ONLY, below=Decimal("100000"), worst_risk="moderate")


def submit_log(scheme):
    return StateLog.objects.for_(scheme).filter(transition="submit").latest("id")


def test_without_rules_the_route_is_the_usual_two_sign_offs(qia):
    scheme = qia.approved()
    assert qia.version(scheme).qia.route == Route.TWO_SIGN_OFFS
    assert submit_log(scheme).description == "Submitted for confirm and challenge"
    assert scheme.state == SchemeState.APPROVED


def test_a_small_moderate_scheme_is_approved_on_the_chief_nurses_signature_alone(
    client, qia, people
):
    small_schemes()
    scheme = qia.submitted()
    said = submit_log(scheme).description
    assert "Sign-off route: The Chief Nurse alone signs off; QAG is told." in said
    assert (
        'Rule "Small schemes" of ELR: net saving in the year £60,000, below £100,000; '
        "self-assessed QIA risk moderate (6), no worse than moderate." in said
    )
    client.force_login(people["elr-sro"])
    page = visible(client.get(scheme.get_absolute_url()))
    assert "Sign-off route The Chief Nurse alone signs off; QAG is told." in page


def test_the_single_sign_off_route_end_to_end(client, qia, people):
    small_schemes()
    scheme = qia.awaiting_sign_off()
    # the Clinical Chair has nothing to sign, and is told why if they try
    client.force_login(people["elr-clinical-chair"])
    assert "Sign off the QIA" not in visible(client.get(reverse("my_tasks")))
    with pytest.raises(ActionRefused, match="The Clinical Chair does not sign it"):
        qia.sign(scheme, "elr-clinical-chair")
    assert AccessRefusal.objects.filter(user=people["elr-clinical-chair"]).exists()
    version = qia.sign(scheme, "elr-chief-nurse")
    assert version.status == VersionStatus.SIGNED_OFF
    assert qia.fresh(scheme).state == SchemeState.APPROVED
    told = Notification.objects.filter(subject__startswith="For QAG's information")
    assert {n.user.username for n in told} >= {"elr-qag-member"}


def test_an_agreed_risk_worse_than_the_rule_allows_takes_the_scheme_off_its_route(qia):
    small_schemes()
    scheme = qia.scored()
    version = qia.agree(scheme, headings=HIGH)
    assert version.qia.route == Route.TWO_SIGN_OFFS
    log = StateLog.objects.for_(scheme).filter(transition="panel_agree").latest("id")
    assert "Sign-off route: Chief Nurse and Clinical Chair sign off." in log.description
    assert "No route rule of ELR holds" in log.description
    qia.sign(scheme, "elr-chief-nurse", justification="x")
    assert qia.fresh(scheme).state == SchemeState.AWAITING_SIGN_OFF


def test_a_resubmission_across_a_threshold_decides_the_route_again(qia, people):
    small_schemes()
    scheme = qia.submitted()
    assert qia.version(scheme).qia.route == Route.CHIEF_NURSE_ONLY
    governance.scheme_review(
        scheme_id=scheme.pk,
        by=people["elr-finance-reviewer"],
        kind="finance",
        decision="revise",
        comment="Show the baseline.",
        expected_version=None,
    )
    # the project lead doubles the plan: £120,000 in the year, over the rule's £100,000
    governance.scheme_update(
        scheme_id=scheme.pk,
        by=people["elr-project-lead"],
        data={name: Decimal("10000") for name in PLAN_FIELDS},
        expected_version=None,
    )
    scheme = qia.submitted(qia.fresh(scheme))
    assert qia.version(scheme).qia.route == Route.TWO_SIGN_OFFS
    said = submit_log(scheme).description
    assert "Sign-off route: Chief Nurse and Clinical Chair sign off." in said
    assert "net saving in the year of £120,000" in said


def big_schemes():
    return rule(Route.QAG_APPROVAL, name="Large schemes", at_least=Decimal("50000"))


def test_a_large_scheme_waits_for_qag_after_both_signatures_and_qag_approves_it(
    client, qia, people
):
    big_schemes()
    scheme = qia.approved()
    assert scheme.state == SchemeState.AWAITING_QAG
    assert qia.version(scheme).status == VersionStatus.SIGNED_OFF
    qag = people["elr-qag-member"]
    assert Notification.objects.filter(user=qag, subject__contains="Record QAG's approval").exists()
    client.force_login(qag)
    assert "Record QAG's approval" in visible(client.get(reverse("my_tasks")))
    url = reverse("qia_qag_approval", args=[scheme.pk])
    page = visible(client.get(url))
    assert 'Rule "Large schemes" of ELR' in page
    # bad input: no reasons
    response = client.post(url, {"version": scheme.version, "decision": "approve", "comment": ""})
    assert response.status_code == 200 and "This field is required." in visible(response)
    client.post(url, {"version": scheme.version, "decision": "approve", "comment": "Minute 7."})
    scheme = qia.fresh(scheme)
    assert scheme.state == SchemeState.APPROVED
    log = StateLog.objects.for_(scheme).latest("id")
    assert (log.transition, log.by, log.description) == (
        "qag_approve",
        qag,
        "QAG approved: Minute 7.",
    )


def test_qag_may_decide_not_to_proceed(qia, people):
    big_schemes()
    scheme = qia.approved()
    services.qag_approval_record(
        scheme_id=scheme.pk, by=people["wl-qag-member"], decision="reject", comment="Too risky."
    )
    assert qia.fresh(scheme).state == SchemeState.REJECTED


@pytest.mark.parametrize(
    "username, reason",
    [
        ("elr-chief-nurse", "Only a member of the QIPP Assurance Group"),
        ("nn-qag-member", "You do not have access to this scheme"),
    ],
)
def test_only_a_qag_member_of_its_system_approves_for_qag(client, qia, people, username, reason):
    big_schemes()
    scheme = qia.approved()
    client.force_login(people[username])
    response = client.post(
        reverse("qia_qag_approval", args=[scheme.pk]),
        {"version": scheme.version, "decision": "approve", "comment": "Fine."},
    )
    assert response.status_code == 403 and reason in visible(response)
    assert qia.fresh(scheme).state == SchemeState.AWAITING_QAG


def test_a_qag_member_on_the_schemes_team_may_not_approve_it(qia, people):
    big_schemes()
    scheme = qia.approved(qia.draft(clinical_lead=people["elr-qag-member"]))
    with pytest.raises(ActionRefused, match="You are this scheme's clinical lead"):
        services.qag_approval_record(
            scheme_id=scheme.pk, by=people["elr-qag-member"], decision="approve", comment="Ok."
        )


def test_a_scheme_waiting_for_qag_may_still_be_withdrawn(qia, people):
    big_schemes()
    scheme = qia.approved()
    governance.scheme_withdraw(
        scheme_id=scheme.pk, by=people["elr-sro"], expected_version=None, reason="No longer needed."
    )
    assert qia.fresh(scheme).state == SchemeState.WITHDRAWN
