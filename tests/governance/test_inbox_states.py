"""Every state that waits for someone is in that someone's task list ("My tasks"): the
scheme's reference beside what to do, for those who may do it, and for nobody on the
scheme's own team who may not."""

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from governance import services as governance
from governance.models import SchemeState
from notifications.models import Escalation, Level, Rule
from tests.notifications.conftest import at
from tests.pages import table
from tests.world import add_return

pytestmark = pytest.mark.django_db

# 2019/20: April's return (month 1) is due by 10 May 2019.
MAY_2 = at(2019, 5, 2, 9)


def tasks(client, user) -> list[tuple[str, str]]:
    """The user's task list as they see it: (scheme reference, what to do) a row."""
    client.force_login(user)
    response = client.get(reverse("my_tasks"))
    assert response.status_code == 200
    rows = table(response, "")[1:]  # the first row is the heading
    return [(row[0].split()[0], row[2]) for row in rows]


def test_a_draft_returned_for_revision_waits_for_its_project_lead(client, make_scheme, people):
    scheme = make_scheme(SchemeState.CONFIRM_AND_CHALLENGE, finance_lead=None)
    governance.scheme_review(
        scheme_id=scheme.pk,
        by=people["elr-finance-reviewer"],
        kind="finance",
        decision="revise",
        comment="Show the activity baseline.",
        expected_version=None,
    )
    task = (scheme.reference, "Answer the reviewers and resubmit")
    assert task in tasks(client, people["elr-project-lead"])


def test_confirm_and_challenge_waits_for_the_finance_and_clinical_reviewers(
    client, make_scheme, people
):
    scheme = make_scheme(SchemeState.CONFIRM_AND_CHALLENGE, finance_lead=None)
    finance = (scheme.reference, "Record the financial review")
    clinical = (scheme.reference, "Record the clinical review")
    assert finance in tasks(client, people["elr-finance-reviewer"])
    assert clinical in tasks(client, people["elr-clinical-reviewer"])
    assert finance not in tasks(client, people["wl-finance-reviewer"])  # another organisation


def test_the_qia_panel_waits_for_its_members_then_the_quality_lead(client, journey, people):
    scheme = journey.at_panel()
    score = (scheme.reference, "Score the QIA (version 1)")
    assert score in tasks(client, people["elr-panel-member"])
    assert score in tasks(client, people["elr-quality-lead"])
    for username in journey.PANEL:
        journey.score(scheme, username)
    assert (scheme.reference, "Agree the QIA at panel") in tasks(client, people["elr-quality-lead"])


def test_awaiting_sign_off_waits_for_the_chief_nurse_and_the_clinical_chair(
    client, journey, people
):
    scheme = journey.awaiting_sign_off()
    assert (scheme.reference, "Sign off the QIA as Chief Nurse and Quality Officer") in tasks(
        client, people["elr-chief-nurse"]
    )
    assert (scheme.reference, "Sign off the QIA as Clinical Chair") in tasks(
        client, people["elr-clinical-chair"]
    )


@time_machine.travel(MAY_2, tick=False)
def test_an_approved_scheme_waits_for_the_pmo_to_start_delivery(client, journey, people):
    scheme = journey.approved()
    task = (scheme.reference, "Start delivery (approved 2 May 2019)")
    assert task in tasks(client, people["elr-pmo"])
    assert task not in tasks(client, people["wl-pmo"])  # another organisation's PMO


def test_a_pmo_on_the_team_is_not_offered_its_own_scheme_to_start(
    client, make_scheme, people, team_pmo
):
    scheme = make_scheme(SchemeState.APPROVED, clinical_lead=team_pmo, state_changed_at=MAY_2)
    task = (scheme.reference, "Start delivery (approved 2 May 2019)")
    assert task in tasks(client, people["elr-pmo"])
    assert task not in tasks(client, team_pmo)


@time_machine.travel(at(2019, 5, 5, 9), tick=False)
def test_a_return_due_waits_for_the_finance_lead_and_the_project_lead(client, make_scheme, people):
    scheme = make_scheme()  # its finance lead is the ELR finance reviewer
    task = (scheme.reference, "Enter the Apr 2019 return (due by 10 May 2019)")
    assert task in tasks(client, people["elr-finance-reviewer"])
    assert task in tasks(client, people["elr-project-lead"])


@time_machine.travel(at(2019, 5, 5, 9), tick=False)
def test_a_return_entered_waits_for_the_pmo_to_assure_it_but_not_a_pmo_on_the_team(
    client, make_scheme, people, team_pmo
):
    scheme = make_scheme(clinical_lead=team_pmo)
    add_return(scheme, 1, 1000, by=people["elr-finance-reviewer"])
    task = (scheme.reference, "Assure the Apr 2019 return")
    assert task in tasks(client, people["elr-pmo"])
    assert task not in tasks(client, team_pmo)


def escalation(scheme, people, **fields) -> Escalation:
    return Escalation.objects.create(
        scheme=scheme,
        rule=Rule.OFF_TRACK,
        owner=people["elr-sro"],
        reason="Behind plan.",
        raised_at=timezone.now(),
        last_fired_at=timezone.now(),
        **fields,
    )


def test_an_escalation_waits_for_the_sros_remedial_action(client, make_scheme, people):
    scheme = make_scheme()
    escalation(scheme, people)
    task = (scheme.reference, "Record a remedial action (off-track delivery (RAG red))")
    assert task in tasks(client, people["elr-sro"])


def test_an_escalation_at_qag_waits_for_a_decision_of_the_systems_qag(client, make_scheme, people):
    scheme = make_scheme()
    escalation(scheme, people, level=Level.QAG, raised_to_qag_at=timezone.now())
    task = (scheme.reference, "Record QAG's decision (off-track delivery (RAG red))")
    assert task in tasks(client, people["elr-qag-member"])
    assert task in tasks(client, people["wl-qag-member"])  # the same system
    assert task not in tasks(client, people["nn-qag-member"])  # Nottinghamshire's
