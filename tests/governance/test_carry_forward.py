"""Savings that stand up to audit, part 2: the full-year effect carried into next year, and a
scheme's years as its multi-year plan.

The worked example: £10,000 a month saved from October (month 7) of 2019/20, recurrent. Its
full-year effect, £120,000, is carried into 2020/21 by the PMO as a scheme of its own, £10,000
in every month, approved, linked both ways; its project lead confirms the plan or edits it."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance import roles
from governance.delivery import carry, lifecycle
from governance.models import (
    PLAN_FIELDS,
    RECURRENT_FIELDS,
    AccessRefusal,
    FinancialYear,
    Recurrence,
    Scheme,
    SchemeChange,
    SchemeState,
)
from governance.selectors import history, tasks_for
from governance.services import ActionRefused
from tests.pages import table, text, visible

pytestmark = pytest.mark.django_db

FROM_OCTOBER = ["0"] * 6 + ["10000"] * 6  # £10,000 a month from month 7
NOT_OFFERED = "Nothing was carried."
NO_NEXT_YEAR = "There is no 2020/21 yet: an administrator adds it."


@pytest.fixture
def next_year(llr):
    return FinancialYear.objects.create(start_year=2020)


@pytest.fixture
def october(make_scheme):
    """The worked example, in delivery in 2019/20, with a recurring and a one-off cost."""
    return make_scheme(
        SchemeState.IN_DELIVERY,
        plan=FROM_OCTOBER,
        start_date=date(2019, 10, 1),
        title="Outpatient follow-up reduction",
        description="Patient-initiated follow-up in dermatology.",
        investment_one_off=Decimal("20000"),
        investment_recurring=Decimal("5000"),
    )


def signed_in(client, user):
    client.force_login(user)
    return client


def carry_url(scheme: Scheme) -> str:
    return f"{reverse('scheme_carry')}?organisation={scheme.organisation_id}&year=2019/20"


def post_carry(client, user, *schemes, organisation=None, year="2019/20"):
    """The carry page's form as the PMO posts it, the schemes ticked."""
    organisation = organisation or schemes[0].organisation
    return signed_in(client, user).post(
        reverse("scheme_carry"),
        {"organisation": organisation.pk, "year": year, "scheme": [s.pk for s in schemes]},
        follow=True,
    )


def carried_by_service(original: Scheme, by) -> Scheme:
    [later] = carry.carry_forward(
        organisation=original.organisation,
        financial_year=original.financial_year,
        scheme_ids=[original.pk],
        by=by,
    )
    return later


def confirm_data(scheme: Scheme, **months) -> dict:
    """The confirm page's form as drawn: the carried plan, the version it was drawn from."""
    data = {name: str(getattr(scheme, name)) for name in PLAN_FIELDS}
    return {**data, "version": scheme.version, **months}


# --- carrying: the PMO ---


def test_the_october_example_carries_twelve_months_of_its_saving_into_next_year(
    client, people, october, next_year
):
    response = post_carry(client, people["elr-pmo"], october)

    later = Scheme.objects.get(financial_year=next_year)
    assert "Carried into 2020/21: ELR-2021-001." in visible(response)
    assert later.reference == "ELR-2021-001"
    assert later.plan == [Decimal("10000")] * 12
    assert later.annual_plan == Decimal("120000") == october.full_year_effect
    assert later.state == SchemeState.APPROVED
    assert later.recurrence == Recurrence.RECURRENT
    assert later.start_date == date(2020, 4, 1)
    assert later.description == (
        "Full-year effect of ELR-1920-001 carried into 2020/21.\n\n"
        "Patient-initiated follow-up in dermatology."
    )
    # the same scheme and team; what recurs is the saving and its running cost, not set-up
    assert (later.title, later.organisation, later.programme_area, later.area_of_spend) == (
        october.title,
        october.organisation,
        october.programme_area,
        october.area_of_spend,
    )
    assert later.scheme_type == october.scheme_type
    assert later.team_ids == october.team_ids
    assert (later.investment_recurring, later.investment_one_off) == (Decimal("5000"), 0)
    # linked both ways
    assert later.carried_from == october
    october.refresh_from_db()
    assert october.carried_into == later
    assert later.carry_confirmed_at is None
    # its history starts with the carry; the original's says where it went
    assert history(later)[-1].what == "Carried from ELR-1920-001 (full-year effect (£120,000))"
    assert history(later)[-1].who == people["elr-pmo"]
    assert history(october)[0].what == "Carried into 2020/21 as ELR-2021-001"


def test_the_next_scheme_of_the_year_takes_the_next_number(
    client, people, october, next_year, make_scheme
):
    make_scheme(SchemeState.DRAFT, financial_year=next_year)  # ELR-2021-001

    later = carried_by_service(october, people["elr-pmo"])

    assert later.reference == "ELR-2021-002"


def test_a_mixed_scheme_carries_only_its_last_months_recurrent_part(people, make_scheme, next_year):
    # £10,000 a month from October, of which £4,000 recurs (the rest a one-off rebate)
    mixed = make_scheme(
        plan=FROM_OCTOBER,
        recurrence=Recurrence.MIXED,
        **dict(zip(RECURRENT_FIELDS, [Decimal(0)] * 6 + [Decimal(4000)] * 6, strict=True)),
    )

    later = carried_by_service(mixed, people["elr-pmo"])

    assert later.plan == [Decimal("4000")] * 12
    assert later.annual_plan == Decimal("48000") == mixed.full_year_effect
    assert later.recurrence == Recurrence.RECURRENT


def test_the_carried_scheme_waits_for_the_pmo_to_start_its_delivery(
    client, people, october, next_year
):
    later = carried_by_service(october, people["elr-pmo"])

    tasks = tasks_for(people["elr-pmo"], 50).items
    assert [t.scheme_id for t in tasks if t.what.startswith("Start delivery")] == [later.pk]
    lifecycle.scheme_start_delivery(
        scheme_id=later.pk, by=people["elr-pmo"], expected_version=later.version
    )
    later.refresh_from_db()
    assert later.state == SchemeState.IN_DELIVERY


def test_only_the_schemes_with_a_saving_to_carry_are_offered_and_a_forged_post_is_refused(
    client, people, make_scheme, october, next_year
):
    carried = make_scheme(title="Carried already")
    carried_by_service(carried, people["elr-pmo"])
    others = {
        "non-recurrent": make_scheme(title="One-off rebate", recurrence=Recurrence.NON_RECURRENT),
        "nothing recurs in March": make_scheme(
            title="Ends in February", plan=["1000"] * 11 + ["0"]
        ),
        "carried already": carried,
        "rejected": make_scheme(SchemeState.REJECTED, title="Rejected"),
        "draft": make_scheme(SchemeState.DRAFT, title="A draft"),
        "stopped": make_scheme(SchemeState.STOPPED, title="Stopped by QAG"),
        "of WL": make_scheme(org="WL", title="West's scheme"),
    }
    unconfirmed = make_scheme(SchemeState.APPROVED, title="Carried on, not confirmed")
    year_before = make_scheme(financial_year=FinancialYear.objects.create(start_year=2018))
    Scheme.objects.filter(pk=unconfirmed.pk).update(carried_from=year_before)
    others["carried on, its plan not confirmed"] = unconfirmed
    completed = make_scheme(SchemeState.COMPLETED, title="Completed last year")
    approved = make_scheme(SchemeState.APPROVED, title="Approved", is_recovery=True)

    page = signed_in(client, people["elr-pmo"]).get(carry_url(october))

    offered = [row[1] for row in table(page, "carry-table")[1:-1]]
    assert offered == [
        f"{s.reference} {s.title}" + (" Recovery action" if s.is_recovery else "")
        for s in (october, completed, approved)
    ]
    assert "ELR-1920-002 Carried already: carried into 2020/21 as ELR-2021-001" in visible(page)
    for why, scheme in others.items():
        before = Scheme.objects.count()
        response = post_carry(
            client, people["elr-pmo"], october, scheme, organisation=october.organisation
        )
        assert NOT_OFFERED in visible(response), why
        assert scheme.reference in visible(response), why
        assert Scheme.objects.count() == before, why  # nor the October one: all or none
    assert AccessRefusal.objects.filter(user=people["elr-pmo"], action="carry").count() == 8


def test_a_scheme_id_that_does_not_exist_is_refused(client, people, october, next_year):
    response = signed_in(client, people["elr-pmo"]).post(
        reverse("scheme_carry"),
        {"organisation": october.organisation_id, "year": "2019/20", "scheme": ["999999"]},
        follow=True,
    )

    assert "A scheme ticked does not exist: nothing was carried." in visible(response)
    assert not Scheme.objects.filter(financial_year=next_year).exists()


def test_a_year_that_does_not_exist_is_said_and_carries_nothing(client, people, october, next_year):
    pmo = signed_in(client, people["elr-pmo"])
    chosen = {"organisation": october.organisation_id, "year": "xyz"}

    page = pmo.get(reverse("scheme_carry"), chosen, follow=True)
    sent = pmo.post(reverse("scheme_carry"), {**chosen, "scheme": [october.pk]}, follow=True)

    for response in (page, sent):
        assert response.status_code == 200
        assert "There is no financial year 'xyz'." in visible(response)
    assert not Scheme.objects.filter(financial_year=next_year).exists()


def test_nothing_ticked_is_asked_for_again(client, people, october, next_year):
    response = signed_in(client, people["elr-pmo"]).post(
        reverse("scheme_carry"), {"organisation": october.organisation_id, "year": "2019/20"}
    )

    assert response.status_code == 200
    assert "Tick the schemes to carry into 2020/21." in visible(response)
    assert not Scheme.objects.filter(financial_year=next_year).exists()


def test_without_next_year_the_carry_is_refused_clearly(client, people, october):
    page = signed_in(client, people["elr-pmo"]).get(carry_url(october))
    assert NO_NEXT_YEAR in visible(page)
    assert "Carry into 2020/21</button>" not in text(page)

    response = post_carry(client, people["elr-pmo"], october)

    assert NO_NEXT_YEAR in visible(response)
    assert Scheme.objects.count() == 1
    assert AccessRefusal.objects.get().reason == NO_NEXT_YEAR


def test_two_pmos_carrying_the_same_scheme_one_carries_it_and_the_other_is_told(
    client, llr, people, october, next_year
):
    colleague = llr.add_user("elr-pmo-2", "elr", roles.PMO)
    # both drew the page with the scheme offered
    for who in (people["elr-pmo"], colleague):
        assert october.reference in visible(signed_in(client, who).get(carry_url(october)))

    first = post_carry(client, people["elr-pmo"], october)
    second = post_carry(client, colleague, october)

    assert "Carried into 2020/21: ELR-2021-001." in visible(first)
    assert (
        "ELR-1920-001 is carried into 2020/21 already, as ELR-2021-001. Nothing was carried."
        in visible(second)
    )
    assert Scheme.objects.filter(carried_from=october).count() == 1


def test_a_carry_that_finds_it_carried_only_as_it_saves_is_told_so(
    people, october, next_year, monkeypatch
):
    """The one-to-one link refuses a second carry in the database, whatever was read before
    (two PMOs at the same moment on a database that does not lock rows)."""
    carried_by_service(october, people["elr-pmo"])
    monkeypatch.setattr(carry, "carried_into", lambda scheme: None)  # the check read too early

    with pytest.raises(ActionRefused) as refused:
        carried_by_service(october, people["elr-pmo"])

    assert refused.value.message == (
        "ELR-1920-001 is carried into 2020/21 already: someone carried it meanwhile. "
        "Nothing was carried."
    )
    assert Scheme.objects.filter(carried_from=october).count() == 1


@pytest.mark.parametrize(
    "who, reason",
    [
        ("elr-viewer", "Only the PMO carries recurrent savings into next year."),
        ("elr-project-lead", "Only the PMO carries recurrent savings into next year."),
        ("wl-pmo", "You carry the schemes of your own organisation only, not ELR."),
    ],
)
def test_nobody_but_the_pmo_of_its_organisation_carries_a_scheme(
    client, people, october, next_year, who, reason
):
    signed_in(client, people[who])
    page = client.get(carry_url(october))
    response = client.post(
        reverse("scheme_carry"),
        {"organisation": october.organisation_id, "year": "2019/20", "scheme": [october.pk]},
    )

    for refused in (page, response):
        assert refused.status_code == 403
        assert reason in text(refused)
    assert not Scheme.objects.filter(financial_year=next_year).exists()
    assert AccessRefusal.objects.filter(user=people[who], action="carry").count() == 2


def test_a_pmo_on_the_schemes_team_carries_it_too_as_carrying_judges_nothing(
    client, team_pmo, make_scheme, next_year
):
    scheme = make_scheme(sro=team_pmo)

    response = post_carry(client, team_pmo, scheme)

    assert "Carried into 2020/21: ELR-2021-001." in visible(response)
    assert Scheme.objects.get(carried_from=scheme).created_by == team_pmo


def test_the_pmo_is_led_to_the_carry_page_from_my_tasks_and_an_eligible_schemes_page(
    client, people, october, next_year
):
    pmo = signed_in(client, people["elr-pmo"])
    assert reverse("scheme_carry") in text(pmo.get(reverse("my_tasks")))
    page = text(pmo.get(october.get_absolute_url()))
    assert "Carry into 2020/21" in page
    assert f'href="{carry_url(october)}"' in page

    viewer = signed_in(client, people["elr-viewer"]).get(october.get_absolute_url())
    assert "Carry into 2020/21" not in text(viewer)
    assert reverse("scheme_carry") not in text(client.get(reverse("my_tasks")))


# --- the scheme pages: linked both ways, and the multi-year plan ---


def test_each_scheme_page_links_to_the_other_year_and_lists_the_years(
    client, people, october, next_year
):
    later = carried_by_service(october, people["elr-pmo"])
    FinancialYear.objects.create(start_year=2021)
    carry.carried_plan_confirm(
        scheme_id=later.pk, by=people["elr-project-lead"], plan=later.plan, expected_version=None
    )
    latest = carried_by_service(later, people["elr-pmo"])
    signed_in(client, people["elr-viewer"])

    original = client.get(october.get_absolute_url())
    middle = client.get(later.get_absolute_url())

    assert "Carried into 2020/21 as ELR-2021-001" in visible(original)
    assert f'href="{later.get_absolute_url()}">ELR-2021-001</a>' in text(original)
    assert "Carried on from ELR-1920-001 (2019/20)." in visible(middle)
    assert "Plan confirmed by ELR Project Lead, its project lead" in visible(middle)
    assert "Plan not yet confirmed by its project lead." in visible(
        client.get(latest.get_absolute_url())
    )
    assert "Carried into 2021/22 as ELR-2122-001" in visible(middle)
    # a scheme spanning three years: each year's scheme, its plan and state
    assert table(middle, "years-table") == [
        ["Year", "Scheme", "Plan for the year", "State"],
        ["2019/20", "ELR-1920-001", "(£60,000)", "In delivery"],
        ["2020/21", "ELR-2021-001 (this scheme)", "(£120,000)", "Approved"],
        ["2021/22", "ELR-2122-001", "(£120,000)", "Approved"],
    ]
    assert table(original, "years-table")[1:] == [
        ["2019/20", "ELR-1920-001 (this scheme)", "(£60,000)", "In delivery"],
        ["2020/21", "ELR-2021-001", "(£120,000)", "Approved"],
        ["2021/22", "ELR-2122-001", "(£120,000)", "Approved"],
    ]
    assert latest.carried_from == later


def test_a_scheme_carried_neither_way_shows_no_years(client, people, october, next_year):
    page = signed_in(client, people["elr-viewer"]).get(october.get_absolute_url())

    assert "Carried" not in visible(page)
    assert not table(page, "years-table")


# --- the project lead confirms the carried plan, or edits it ---


@pytest.fixture
def carried(people, october, next_year) -> Scheme:
    return carried_by_service(october, people["elr-pmo"])


def test_the_project_lead_has_a_task_until_the_plan_is_confirmed(client, people, carried):
    lead = signed_in(client, people["elr-project-lead"])
    task = "Confirm the plan carried from ELR-1920-001"
    tasks = lead.get(reverse("my_tasks"))
    assert task in visible(tasks)
    assert reverse("carried_plan_confirm", args=[carried.pk]) in text(tasks)
    assert "Confirm the carried plan" in visible(lead.get(carried.get_absolute_url()))
    # nobody else has it
    for other in ("elr-sro", "elr-pmo", "elr-finance-reviewer"):
        assert task not in [t.what for t in tasks_for(people[other], 50).items]
    sro = signed_in(client, people["elr-sro"]).get(carried.get_absolute_url())
    assert "Confirm the carried plan" not in visible(sro)
    lead = signed_in(client, people["elr-project-lead"])

    lead.post(reverse("carried_plan_confirm", args=[carried.pk]), confirm_data(carried))

    assert task not in visible(lead.get(reverse("my_tasks")))


def test_the_project_lead_confirms_the_plan_as_carried(client, people, carried):
    lead = signed_in(client, people["elr-project-lead"])
    url = reverse("carried_plan_confirm", args=[carried.pk])
    page = lead.get(url)
    assert page.status_code == 200
    assert 'value="£10,000"' in text(page)
    assert "Annual total: £120,000" in visible(page)

    response = lead.post(url, confirm_data(carried), follow=True)

    assert "The plan of ELR-2021-001 is confirmed." in visible(response)
    carried.refresh_from_db()
    assert carried.carry_confirmed_by == people["elr-project-lead"]
    assert carried.carry_confirmed_at is not None
    assert carried.annual_plan == Decimal("120000")
    assert not SchemeChange.objects.filter(scheme=carried).exists()
    assert history(carried)[0].what == "Carried plan confirmed by its project lead"
    assert "Plan not yet confirmed" not in visible(response)
    assert "Plan confirmed by" in visible(response)
    assert "Confirm the carried plan" not in visible(response)


def test_the_project_lead_edits_a_month_before_confirming_and_the_history_keeps_it(
    client, people, carried
):
    lead = signed_in(client, people["elr-project-lead"])
    # the contract ends in February: no saving in March
    lead.post(
        reverse("carried_plan_confirm", args=[carried.pk]),
        confirm_data(carried, plan_m01="8k", plan_m12="0"),
    )

    carried.refresh_from_db()
    assert carried.plan[0] == Decimal("8000") and carried.plan[11] == 0
    assert carried.annual_plan == Decimal("108000")
    assert carried.carry_confirmed_by == people["elr-project-lead"]
    changes = {
        (c.field, c.old_value, c.new_value) for c in SchemeChange.objects.filter(scheme=carried)
    }
    assert changes == {
        ("Apr (month 1)", "(£10,000)", "(£8,000)"),
        ("Mar (month 12)", "(£10,000)", "£0"),
    }
    # newest first: confirmed, once the months were changed
    assert [event.what for event in history(carried)][:2] == [
        "Carried plan confirmed by its project lead",
        "Changed 2 fields",
    ]


def test_a_stale_confirm_is_refused_as_changed_meanwhile(client, people, carried):
    lead = signed_in(client, people["elr-project-lead"])
    drawn = confirm_data(carried, plan_m01="8k")  # the page as drawn
    # meanwhile the PMO starts its delivery
    lifecycle.scheme_start_delivery(
        scheme_id=carried.pk, by=people["elr-pmo"], expected_version=carried.version
    )

    response = lead.post(reverse("carried_plan_confirm", args=[carried.pk]), drawn, follow=True)

    assert "Someone else changed this scheme while you were looking at it" in visible(response)
    carried.refresh_from_db()
    assert carried.carry_confirmed_at is None
    assert carried.plan[0] == Decimal("10000")
    # the page is drawn again from the scheme as it now is: confirming goes through
    response = lead.post(reverse("carried_plan_confirm", args=[carried.pk]), confirm_data(carried))
    carried.refresh_from_db()
    assert carried.carry_confirmed_at is not None


def test_a_bad_amount_is_refused_with_an_example(client, people, carried):
    lead = signed_in(client, people["elr-project-lead"])

    response = lead.post(
        reverse("carried_plan_confirm", args=[carried.pk]),
        confirm_data(carried, plan_m03="ten grand"),
    )

    assert response.status_code == 200
    assert "Jun: Enter an amount in pounds, like 83,000 or 83k." in visible(response)
    assert 'value="ten grand"' in text(response)
    carried.refresh_from_db()
    assert carried.carry_confirmed_at is None


def test_a_plan_of_nothing_is_refused(client, people, carried):
    lead = signed_in(client, people["elr-project-lead"])

    response = lead.post(
        reverse("carried_plan_confirm", args=[carried.pk]),
        confirm_data(carried, **dict.fromkeys(PLAN_FIELDS, "0")),
    )

    assert "The savings plan must add up to more than £0 for the year." in visible(response)
    carried.refresh_from_db()
    assert carried.carry_confirmed_at is None


@pytest.mark.parametrize(
    "who, reason",
    [
        ("elr-viewer", "Only the scheme's project lead confirms the plan carried into its year."),
        ("elr-pmo", "Only the scheme's project lead confirms the plan carried into its year."),
        ("elr-sro", "Only the scheme's project lead confirms the plan carried into its year."),
        ("wl-pmo", "Only the scheme's project lead confirms the plan carried into its year."),
        ("elr-project-lead-2", "Only the scheme's project lead confirms the plan carried"),
        ("nn-project-lead", "You do not have access to this scheme."),
    ],
)
def test_nobody_but_its_project_lead_confirms_a_carried_plan(
    client, llr, people, carried, who, reason
):
    llr.add_user("elr-project-lead-2", "elr", roles.PROJECT_LEAD)  # leads other schemes
    signed_in(client, people[who])
    url = reverse("carried_plan_confirm", args=[carried.pk])

    for refused in (client.get(url), client.post(url, confirm_data(carried, plan_m01="1"))):
        assert refused.status_code == 403
        assert reason in text(refused)
    carried.refresh_from_db()
    assert carried.carry_confirmed_at is None and carried.plan[0] == Decimal("10000")
    assert AccessRefusal.objects.filter(user=people[who]).count() == 2


def test_confirming_twice_is_refused(client, people, carried):
    lead = signed_in(client, people["elr-project-lead"])
    url = reverse("carried_plan_confirm", args=[carried.pk])
    lead.post(url, confirm_data(carried))
    carried.refresh_from_db()

    again = lead.post(url, confirm_data(carried, plan_m01="1"))

    assert again.status_code == 403
    assert "The carried plan is confirmed already: it is the scheme's plan now." in text(again)
    carried.refresh_from_db()
    assert carried.plan[0] == Decimal("10000")


def test_a_scheme_not_carried_has_no_plan_to_confirm(client, people, october):
    response = signed_in(client, people["elr-project-lead"]).get(
        reverse("carried_plan_confirm", args=[october.pk])
    )

    assert response.status_code == 403
    assert "ELR-1920-001 was not carried on from last year: it has no carried plan." in text(
        response
    )


def test_the_task_list_costs_the_same_for_one_carried_plan_as_for_many(
    client, people, make_scheme, next_year
):
    lead = signed_in(client, people["elr-project-lead"])

    def carry_some(n: int) -> None:
        for i in range(n):
            carried_by_service(make_scheme(title=f"Recurrent {i}"), people["elr-pmo"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert lead.get(reverse("my_tasks")).status_code == 200
        return len(captured)

    carry_some(1)
    lead.get(reverse("my_tasks"))  # the session and the content types read once
    few = queries()
    carry_some(20)
    many = queries()

    assert many <= few
    assert len(tasks_for(people["elr-project-lead"], 100).items) >= 21


def test_no_carry_is_offered_on_the_scheme_page_until_next_year_is_there(client, people, october):
    page = signed_in(client, people["elr-pmo"]).get(october.get_absolute_url())

    assert "Carry into" not in visible(page)


def test_the_demo_carries_last_years_running_cost_reduction_into_this_year(client):
    call_command("seed_demo", stdout=StringIO())
    carried = Scheme.objects.get(carried_from__isnull=False)
    original = carried.carried_from

    assert (original.title, original.state) == ("Running cost reduction", SchemeState.COMPLETED)
    assert carried.financial_year.start_year == original.financial_year.start_year + 1
    assert carried.state == SchemeState.APPROVED and carried.carry_confirmed_at is None
    assert carried.annual_plan == original.full_year_effect
    lead = signed_in(client, carried.project_lead)
    assert f"Confirm the plan carried from {original.reference}" in visible(
        lead.get(reverse("my_tasks"))
    )
    # a second run carries nothing again
    call_command("seed_demo", stdout=StringIO())
    assert Scheme.objects.filter(carried_from__isnull=False).count() == 1


@pytest.mark.parametrize(
    ("asked", "said"),
    [("abc", "There is no organisation 'abc'"), ("", "No organisation was chosen")],
)
def test_an_organisation_that_does_not_exist_is_told_and_their_own_shown(
    client, people, october, next_year, asked, said
):
    pmo = signed_in(client, people["elr-pmo"])
    chosen = {"organisation": asked, "year": "2019/20"}

    page = pmo.get(reverse("scheme_carry"), chosen)
    sent = pmo.post(reverse("scheme_carry"), {**chosen, "scheme": [october.pk]}, follow=True)

    assert page.status_code == 200
    assert f"{said}: showing ELR." in visible(page)
    assert october.reference in visible(page)  # ELR's schemes, offered
    assert sent.status_code == 200
    assert f"{said}: nothing was carried." in visible(sent)
    assert not Scheme.objects.filter(financial_year=next_year).exists()
    assert not AccessRefusal.objects.exists()


def test_another_organisation_asked_for_by_code_is_refused_and_logged(
    client, people, october, next_year
):
    response = signed_in(client, people["wl-pmo"]).get(
        reverse("scheme_carry"), {"organisation": "ELR", "year": "2019/20"}
    )

    assert response.status_code == 403
    assert "You carry the schemes of your own organisation only, not ELR." in text(response)
    assert AccessRefusal.objects.filter(user=people["wl-pmo"], action="carry").exists()
