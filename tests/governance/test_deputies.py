"""Deputies for people on leave (ACCESS.md "Deputies"): naming one, the deputy's inbox, acting
for the principal, and every refusal, the segregation of duties of both people included."""

from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance import deputies, roles
from governance.models import (
    AccessRefusal,
    Delegation,
    DelegationEvent,
    DeputyAct,
    Review,
    SchemeState,
)
from notifications.models import Notification
from tests.pages import visible as text
from tests.world import add_return

pytestmark = pytest.mark.django_db

TODAY = date(2019, 6, 3)
travel = time_machine.travel(TODAY, tick=False)


@pytest.fixture
def away(llr):
    """ELR's finance reviewer, away; ELR's second finance reviewer, their deputy."""
    llr.add_user(
        "elr-finance-deputy", "elr", roles.FINANCE_REVIEWER, first_name="Kwame", last_name="Mensah"
    )
    return llr.users["elr-finance-reviewer"], llr.users["elr-finance-deputy"]


def name(principal, deputy, role=roles.FINANCE_REVIEWER, *, by=None, starts=TODAY, days=10, **kw):
    return deputies.name_deputy(
        by=by or principal,
        principal=principal,
        deputy=deputy,
        role=role,
        organisation=principal.organisations.get(code="ELR"),
        starts_on=starts,
        ends_on=starts + timedelta(days=days),
        **kw,
    )


def in_review(make_scheme, **fields):
    # finance lead: nobody, so that the finance reviewer away is off its team
    fields.setdefault("finance_lead", None)
    return make_scheme(SchemeState.CONFIRM_AND_CHALLENGE, **fields)


def review_as(client, scheme, kind="finance", delegation=None, decision="supported"):
    url = reverse("scheme_review", args=[scheme.pk, kind])
    if delegation is not None:
        url += f"?for={delegation.pk}"
    return client.post(
        url,
        {
            "version": scheme.version,
            "round": scheme.submission_round,
            "decision": decision,
            "comment": "Baseline checked against SLAM.",
        },
    )


# --- naming, changing, ending ---


@travel
def test_a_reviewer_names_a_deputy_who_holds_the_same_role_on_the_deputies_page(client, away):
    principal, deputy = away
    client.force_login(principal)
    page = client.get(reverse("deputy_list"))
    assert "You have named no deputy." in text(page)
    response = client.post(
        reverse("deputy_list"),
        {
            "role": roles.FINANCE_REVIEWER,
            "deputy": deputy.pk,
            "organisation": principal.organisations.get().pk,
            "starts_on": "2019-06-03",
            "ends_on": "2019-06-14",
        },
        follow=True,
    )
    delegation = Delegation.objects.get()
    assert (delegation.principal, delegation.deputy, delegation.named_by) == (
        principal,
        deputy,
        principal,
    )
    assert delegation.is_running
    assert "Kwame Mensah for ELR Finance Reviewer" in text(response)
    assert "running" in text(response)
    assert DelegationEvent.objects.get().what.startswith("ELR Finance Reviewer named Kwame Mensah")
    told = set(Notification.objects.filter(kind="deputy").values_list("user__username", flat=True))
    assert told == {"elr-finance-reviewer", "elr-finance-deputy"}


@travel
@pytest.mark.parametrize(
    "change, message",
    [
        ({"ends_on": "2019-06-01"}, "The last day cannot be before the first."),
        ({"starts_on": "2019-05-01", "ends_on": "2019-05-02"}, "The last day has passed already."),
        ({"ends_on": "2020-06-01"}, "six months at most"),
        (
            {"starts_on": "2019-05-25"},
            "The first day has passed already: a deputy starts today (3 June 2019) at the "
            "earliest.",
        ),
        # not offered: a deputy holds the role they cover
        ({"deputy": "elr-clinical-reviewer"}, "not one of the available choices"),
        ({"deputy": "wl-finance-reviewer"}, "not one of the available choices"),
        ({"deputy": "elr-finance-reviewer"}, "not one of the available choices"),
        ({"role": roles.CHIEF_NURSE}, "not one of the available choices"),
        ({"ends_on": "not a date"}, "Enter a valid date."),
    ],
)
def test_naming_a_deputy_refuses_bad_choices_with_a_reason(client, llr, away, change, message):
    principal, deputy = away
    client.force_login(principal)
    data = {
        "role": roles.FINANCE_REVIEWER,
        "deputy": deputy.pk,
        "organisation": principal.organisations.get().pk,
        "starts_on": "2019-06-03",
        "ends_on": "2019-06-14",
    }
    data.update(change)
    if data["deputy"] in llr.users:
        data["deputy"] = llr.users[data["deputy"]].pk
    response = client.post(reverse("deputy_list"), data)
    assert response.status_code == 200
    assert message in text(response)
    assert not Delegation.objects.exists()


@travel
def test_the_deputy_list_offers_only_those_who_hold_the_role(client, llr, away):
    principal, deputy = away
    client.force_login(principal)

    form = client.get(reverse("deputy_list")).context["form"]

    assert list(form.fields["deputy"].queryset) == [deputy]
    assert [role for role, _label in form.fields["role"].choices] == [roles.FINANCE_REVIEWER]


@travel
def test_when_nobody_else_holds_the_role_the_page_says_so_instead_of_a_form(client, people):
    client.force_login(people["elr-chief-nurse"])

    page = client.get(reverse("deputy_list"))

    assert (
        "Nobody else in ELR holds the role Chief Nurse and Quality Officer, so you cannot name "
        "a deputy for it here: ask an administrator to name one for you (they can name "
        "someone without the role)."
    ) in text(page)
    assert "give it to the person" not in text(page)
    assert 'name="deputy"' not in page.content.decode()  # no form that can only fail
    assert "Your roles have no decisions a deputy takes" not in text(page)


@travel
def test_a_role_nobody_else_holds_is_said_and_the_others_offered(client, llr, away):
    principal, deputy = away
    nurse = llr.users["elr-chief-nurse"]
    nurse.groups.add(Group.objects.get(name=roles.FINANCE_REVIEWER))
    client.force_login(nurse)

    page = client.get(reverse("deputy_list"))

    form = page.context["form"]
    assert [role for role, _label in form.fields["role"].choices] == [roles.FINANCE_REVIEWER]
    assert set(form.fields["deputy"].queryset) == {principal, deputy}
    assert "Nobody else in ELR holds the role Chief Nurse and Quality Officer" in text(page)
    assert 'name="deputy"' in page.content.decode()


@travel
def test_a_deputy_offered_for_another_role_is_refused_beside_the_field(client, llr, away):
    principal, _deputy = away
    llr.add_user("elr-chair-too", "elr", roles.FINANCE_REVIEWER, roles.CLINICAL_CHAIR)
    user = llr.users["elr-chair-too"]
    client.force_login(user)

    response = client.post(
        reverse("deputy_list"),
        {
            "role": roles.CLINICAL_CHAIR,
            "deputy": principal.pk,  # offered, as a finance reviewer
            "organisation": llr.org("elr").pk,
            "starts_on": "2019-06-03",
            "ends_on": "2019-06-14",
        },
    )

    assert response.status_code == 200
    said = "ELR Finance Reviewer does not hold the role Clinical Chair: choose someone who does."
    assert said in text(response)
    assert not Delegation.objects.exists()


@travel
def test_a_second_deputy_for_the_same_role_and_days_is_refused(llr, away):
    principal, deputy = away
    name(principal, deputy)
    other = llr.add_user("elr-finance-other", "elr", roles.FINANCE_REVIEWER)
    with pytest.raises(deputies.DelegationRefused, match="already ELR Finance Reviewer's deputy"):
        name(principal, other, starts=TODAY + timedelta(days=5))


@travel
def test_an_administrator_names_a_deputy_without_the_role_for_someone_else(client, llr, away):
    principal, _deputy = away
    admin = llr.add_user("admin-person", "elr", is_staff=True)
    stand_in = llr.add_user("elr-deputy-no-role", "elr")
    client.force_login(admin)
    response = client.post(
        reverse("deputy_list"),
        {
            "principal": principal.pk,
            "role": roles.FINANCE_REVIEWER,
            "deputy": stand_in.pk,
            "organisation": llr.org("elr").pk,
            "starts_on": "2019-06-03",
            "ends_on": "2019-06-14",
        },
        follow=True,
    )
    assert response.status_code == 200
    delegation = Delegation.objects.get()
    assert (delegation.deputy, delegation.named_by) == (stand_in, admin)


@travel
def test_an_administrator_cannot_name_a_deputy_from_a_day_gone_by_either(client, llr, away):
    principal, deputy = away
    client.force_login(llr.add_user("admin-person", "elr", is_staff=True))

    response = client.post(
        reverse("deputy_list"),
        {
            "principal": principal.pk,
            "role": roles.FINANCE_REVIEWER,
            "deputy": deputy.pk,
            "organisation": llr.org("elr").pk,
            "starts_on": "2019-06-02",
            "ends_on": "2019-06-14",
        },
    )

    assert response.status_code == 200
    assert "The first day has passed already" in text(response)
    assert not Delegation.objects.exists()


@travel
def test_a_running_delegation_keeps_its_first_day_gone_by_when_its_last_day_changes(client, away):
    principal, deputy = away
    with time_machine.travel(TODAY - timedelta(days=2), tick=False):
        delegation = name(principal, deputy)
    client.force_login(principal)

    response = client.post(
        reverse("deputy_dates", args=[delegation.pk]),
        {"starts_on": "2019-06-01", "ends_on": "2019-06-20"},
        follow=True,
    )

    assert "now 1 June to 20 June 2019" in text(response)
    delegation.refresh_from_db()
    assert (delegation.starts_on, delegation.ends_on) == (date(2019, 6, 1), date(2019, 6, 20))


@travel
def test_nobody_but_an_administrator_names_a_deputy_for_someone_else(away, people):
    principal, deputy = away
    with pytest.raises(deputies.DelegationRefused, match="for yourself only"):
        name(principal, deputy, by=people["elr-pmo"])


@travel
def test_the_principal_changes_the_dates_and_ends_it_and_both_are_in_its_history(client, away):
    principal, deputy = away
    delegation = name(principal, deputy)
    client.force_login(principal)
    client.post(
        reverse("deputy_dates", args=[delegation.pk]),
        {"starts_on": "2019-06-04", "ends_on": "2019-06-20"},
    )
    client.post(reverse("deputy_end", args=[delegation.pk]))
    delegation.refresh_from_db()
    assert delegation.ends_on == date(2019, 6, 20) and delegation.ended_at is not None
    assert not delegation.is_running
    whats = list(delegation.events.values_list("what", flat=True))
    assert (
        "changed the dates from 3 June 2019 to 13 June 2019 to 4 June 2019 to 20 June 2019"
        in whats[1]
    )
    assert "ended the delegation on 3 June 2019" in whats[2]
    page = text(client.get(reverse("deputy_list")))
    assert "ended 3 Jun 2019" in page and "changed the dates" in page


@travel
def test_the_deputy_cannot_change_or_end_the_delegation(client, away):
    principal, deputy = away
    delegation = name(principal, deputy)
    client.force_login(deputy)
    response = client.post(reverse("deputy_end", args=[delegation.pk]))
    assert response.status_code == 403
    assert "Only the person who is away, or an administrator" in text(response)
    dates = {"starts_on": "2019-06-01", "ends_on": "2019-06-20"}
    assert client.post(reverse("deputy_dates", args=[delegation.pk]), dates).status_code == 403
    delegation.refresh_from_db()
    assert delegation.ended_at is None
    assert AccessRefusal.objects.filter(action="change delegation").exists()


# --- the inbox ---


@travel
def test_the_deputy_sees_the_principals_tasks_marked_for_them(client, make_scheme, away):
    principal, deputy = away
    scheme = in_review(make_scheme)
    delegation = name(principal, deputy)
    client.force_login(deputy)
    page = client.get(reverse("my_tasks"))
    words = text(page)
    assert "For ELR Finance Reviewer, as Finance reviewer (ELR), until 13 June 2019" in words
    assert "Record the financial review for ELR Finance Reviewer" in words
    link = f"{reverse('scheme_review', args=[scheme.pk, 'finance'])}?for={delegation.pk}"
    assert link in page.content.decode()


@travel
def test_the_deputy_sees_no_task_on_a_scheme_whose_team_they_are_on(client, make_scheme, away):
    principal, deputy = away
    in_review(make_scheme, finance_lead=deputy)
    name(principal, deputy)
    client.force_login(deputy)
    assert "Nothing is waiting for ELR Finance Reviewer that you may act on." in text(
        client.get(reverse("my_tasks"))
    )


@pytest.mark.parametrize("day", [date(2019, 6, 2), date(2019, 6, 14)])
def test_before_it_starts_and_after_it_ends_the_deputy_sees_nothing_of_theirs(
    client, make_scheme, away, day
):
    principal, deputy = away
    in_review(make_scheme)
    with travel:
        delegation = name(principal, deputy)
    with time_machine.travel(day, tick=False):
        client.force_login(deputy)
        assert "For ELR Finance Reviewer" not in text(client.get(reverse("my_tasks")))
        scheme = in_review(make_scheme)
        response = client.get(
            reverse("scheme_review", args=[scheme.pk, "finance"]) + f"?for={delegation.pk}"
        )
    assert response.status_code == 403
    assert "You are not deputising through that link now" in text(response)


# --- acting for the principal ---


@travel
def test_the_deputy_records_a_review_for_the_principal_and_every_record_says_so(
    client, make_scheme, away
):
    principal, deputy = away
    scheme = in_review(make_scheme)
    delegation = name(principal, deputy)
    client.force_login(deputy)
    form = client.get(
        reverse("scheme_review", args=[scheme.pk, "finance"]) + f"?for={delegation.pk}"
    )
    assert "You are acting for ELR Finance Reviewer" in text(form)
    review_as(client, scheme, delegation=delegation)
    review = Review.objects.get()
    assert (review.reviewer, review.on_behalf_of) == (deputy, principal)
    log = StateLog.objects.for_(scheme).latest("id")
    assert log.by == deputy
    assert log.description.endswith("(Kwame Mensah for ELR Finance Reviewer)")
    act = DeputyAct.objects.get()
    assert act.what.startswith("Kwame Mensah for ELR Finance Reviewer: Financial review: Supported")
    subject = "Kwame Mensah acted for ELR Finance Reviewer on " + scheme.reference
    told = Notification.objects.filter(subject=subject)
    assert {n.user for n in told} == {principal, deputy}
    # on the scheme's page, and what the principal reads when back
    assert "Kwame Mensah for ELR Finance Reviewer" in text(client.get(scheme.get_absolute_url()))
    client.force_login(principal)
    back = text(client.get(reverse("my_tasks")))
    assert "Done for you by your deputies" in back and "Financial review: Supported" in back


@travel
def test_the_deputy_may_not_act_on_a_scheme_whose_team_the_principal_is_on(
    client, make_scheme, away
):
    principal, deputy = away
    scheme = in_review(make_scheme, finance_lead=principal)
    delegation = name(principal, deputy)
    client.force_login(deputy)
    response = review_as(client, scheme, delegation=delegation)
    assert response.status_code == 403
    assert (
        "You act for ELR Finance Reviewer, who may not do this: You are this scheme's finance lead"
        in text(response)
    )
    assert not Review.objects.exists()


@travel
def test_the_deputy_may_not_act_on_a_scheme_whose_team_they_are_on(client, make_scheme, away):
    principal, deputy = away
    scheme = in_review(make_scheme, finance_lead=deputy)
    delegation = name(principal, deputy)
    client.force_login(deputy)
    response = review_as(client, scheme, delegation=delegation)
    assert response.status_code == 403
    assert "You are this scheme's finance lead" in text(response)
    assert not Review.objects.exists()


@travel
def test_the_deputy_takes_only_the_delegated_roles_decisions(client, make_scheme, away):
    principal, deputy = away
    scheme = in_review(make_scheme)
    delegation = name(principal, deputy)
    client.force_login(deputy)
    response = review_as(client, scheme, kind="clinical", delegation=delegation)
    assert response.status_code == 403
    assert "as Finance reviewer only, and this is not a decision of that role" in text(response)


@travel
def test_the_deputy_acts_in_the_delegations_organisation_only(client, llr, make_scheme, away):
    principal, deputy = away
    principal.organisations.add(llr.org("wl"))
    deputy.organisations.add(llr.org("wl"))
    scheme = in_review(make_scheme, org="WL")
    delegation = name(principal, deputy)  # for ELR
    client.force_login(deputy)
    response = review_as(client, scheme, delegation=delegation)
    assert response.status_code == 403
    assert "on schemes of ELR only, not WL" in text(response)


@travel
def test_someone_elses_delegation_is_refused(client, llr, make_scheme, away):
    principal, deputy = away
    scheme = in_review(make_scheme)
    delegation = name(principal, deputy)
    client.force_login(llr.users["elr-clinical-reviewer"])
    response = review_as(client, scheme, delegation=delegation)
    assert response.status_code == 403
    assert AccessRefusal.objects.filter(action="deputise").exists()
    assert not Review.objects.exists()


@travel
def test_a_deputy_cannot_pass_the_principals_tasks_on(client, llr, make_scheme, away):
    principal, deputy = away
    scheme = in_review(make_scheme)
    name(principal, deputy)
    third = llr.add_user("elr-finance-third", "elr", roles.FINANCE_REVIEWER)
    onward = name(deputy, third)  # the deputy's own leave: their own tasks only
    client.force_login(third)
    words = text(client.get(reverse("my_tasks")))
    assert "For Kwame Mensah" in words and "For ELR Finance Reviewer" not in words
    # and acting through it is the third person's own review for the deputy, never the principal's
    review_as(client, scheme, delegation=onward)
    assert Review.objects.get().on_behalf_of == deputy
    # a deputy acting for someone cannot name a deputy for them
    deputy.deputising = deputies.deputising_through(
        deputy, Delegation.objects.get(deputy=deputy).pk
    )
    with pytest.raises(deputies.DelegationRefused, match="cannot pass their tasks on"):
        name(principal, third, by=deputy, starts=TODAY + timedelta(days=20))


@travel
def test_the_pmos_deputy_starts_delivery_for_them(client, llr, make_scheme):
    principal = llr.users["elr-pmo"]
    deputy = llr.add_user("elr-pmo-deputy", "elr", roles.PMO)
    scheme = make_scheme(SchemeState.APPROVED)
    # a return waiting for the PMO's assurance: the PMO's task, but not one a deputy takes
    delivering = make_scheme(SchemeState.IN_DELIVERY, finance_lead=llr.users["elr-sro"])
    add_return(delivering, 1, 1000, by=llr.users["elr-sro"])
    delegation = name(principal, deputy, roles.PMO)
    client.force_login(principal)
    assert "Assure the Apr 2019 return" in text(client.get(reverse("my_tasks")))
    client.force_login(deputy)
    section = text(client.get(reverse("my_tasks"))).split("For ELR Pmo")[1]
    assert "Start delivery" in section and "Assure" not in section
    client.post(
        reverse("scheme_start_delivery", args=[scheme.pk]) + f"?for={delegation.pk}",
        {"version": scheme.version, "comment": ""},
    )
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.IN_DELIVERY
    assert (
        StateLog.objects.for_(scheme)
        .latest("id")
        .description.endswith("(elr-pmo-deputy for ELR Pmo)")
    )
