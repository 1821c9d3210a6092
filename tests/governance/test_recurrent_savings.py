"""Savings that stand up to audit: a PID says whether its saving recurs (recurrent, one-off or
mixed, with the recurrent part of each month), whether it releases cash, and what the scheme
costs; the scheme page and the case beside a decision show the gross and net saving and the
full-year effect; every change is in the history; the plans import takes the same, optionally.

The worked example: £10,000 a month saved from October (month 7), recurrent. This year it saves
six months, £60,000; a whole year of it is twelve, £120,000, the full-year effect."""

import csv
import html
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from governance import importers, roles, services
from governance.forms import plan_month_field
from governance.models import (
    PLAN_FIELDS,
    RECURRENT_FIELDS,
    AreaOfSpend,
    FinancialYear,
    Organisation,
    ProgrammeArea,
    Recurrence,
    Scheme,
    SchemeChange,
    SchemeState,
    User,
)
from tests.governance import test_money_entry as entry
from tests.governance.report_fixtures import EXAMPLES, report_world
from tests.pages import table, text, visible

pytestmark = pytest.mark.django_db

FROM_OCTOBER = ["0"] * 6 + ["10000"] * 6  # £10,000 a month from month 7


def pid_post(people, **overrides) -> dict:
    """What the PID form posts for a new ELR scheme saving £10,000 a month from October."""
    data = {
        "title": "Outpatient follow-up reduction",
        "description": "Patient-initiated follow-up in dermatology and rheumatology.",
        "organisation": Organisation.objects.get(code="ELR").pk,
        "financial_year": FinancialYear.objects.get().pk,
        "programme_area": ProgrammeArea.objects.get().pk,
        "area_of_spend": AreaOfSpend.objects.get().pk,
        "scheme_type": "transactional",
        "sro": people["elr-sro"].pk,
        "clinical_lead": "",
        "finance_lead": "",
        "start_date": "2019-10-01",
        **dict(zip(PLAN_FIELDS, FROM_OCTOBER, strict=True)),
        "recurrence": "recurrent",
        "cash_releasing": "True",
        "investment_one_off": "£0",
        "investment_recurring": "£0",
    }
    data.update(overrides)
    return data


def create(client, people, **overrides):
    client.force_login(people["elr-project-lead"])
    return client.post(reverse("scheme_create"), pid_post(people, **overrides))


def parts(scheme: Scheme) -> list:
    return [getattr(scheme, name) for name in RECURRENT_FIELDS]


# --- the PID form ---


def test_the_pid_form_takes_a_recurrent_saving(client, people):
    response = create(client, people)

    assert response.status_code == 302, text(response)
    scheme = Scheme.objects.get()
    assert scheme.recurrence == Recurrence.RECURRENT
    assert scheme.cash_releasing
    assert parts(scheme) == [None] * 12
    assert scheme.recurrent_annual == Decimal("60000")
    assert scheme.full_year_effect == Decimal("120000")


def test_the_pid_form_takes_a_one_off_saving_that_releases_no_cash(client, people):
    response = create(client, people, recurrence="non_recurrent", cash_releasing="False")

    assert response.status_code == 302, text(response)
    scheme = Scheme.objects.get()
    assert scheme.recurrence == Recurrence.NON_RECURRENT
    assert not scheme.cash_releasing
    assert scheme.non_recurrent_annual == Decimal("60000")
    assert scheme.full_year_effect == 0


def test_the_pid_form_takes_a_mixed_saving_with_the_recurrent_part_of_each_month(client, people):
    # from October £10,000 a month, of which £4,000 recurs; the rest is a one-off rebate
    recurrent = {name: "4k" for name in RECURRENT_FIELDS[6:]}
    response = create(
        client,
        people,
        recurrence="mixed",
        investment_one_off="£20,000",
        investment_recurring="5k",
        **recurrent,
    )

    assert response.status_code == 302, text(response)
    scheme = Scheme.objects.get()
    assert scheme.recurrence == Recurrence.MIXED
    # a month left blank is none of it recurrent
    assert parts(scheme) == [Decimal(0)] * 6 + [Decimal("4000")] * 6
    assert scheme.recurrent_annual == Decimal("24000")
    assert scheme.non_recurrent_annual == Decimal("36000")
    assert scheme.full_year_effect == Decimal("48000")
    assert scheme.investment_one_off == Decimal("20000")
    assert scheme.investment_recurring == Decimal("5000")
    assert scheme.net_saving == Decimal("35000")


def test_a_recurrent_part_above_its_months_plan_is_refused_naming_the_month(client, people):
    response = create(client, people, recurrence="mixed", plan_m07="5,000", recurrent_m07="6,000")

    assert response.status_code == 200
    page = visible(response)
    assert "There is a problem" in page
    assert "The recurrent part of Oct cannot be more than its plan (£5,000)." in page
    assert not Scheme.objects.exists()


def test_bad_money_in_a_recurrent_part_or_an_investment_is_refused_with_an_example(client, people):
    response = create(
        client, people, recurrence="mixed", recurrent_m07="ten", investment_one_off="83,00"
    )

    assert response.status_code == 200
    page = visible(response)
    assert "Oct (recurrent): Enter an amount in pounds, like 83,000 or 83k." in page
    assert "One-off investment: Enter an amount in pounds, like 83,000 or 83k." in page
    assert not Scheme.objects.exists()


def test_the_recurrent_parts_are_ignored_unless_the_saving_is_mixed(client, people):
    # shown without JavaScript, typed in, then "recurrent" chosen: saved, and kept empty
    typed = {"recurrent_m07": "ten", "recurrent_m08": "999999", "recurrent_m09": "-5"}
    response = create(client, people, recurrence="recurrent", **typed)

    assert response.status_code == 302, text(response)
    assert parts(Scheme.objects.get()) == [None] * 12


def test_a_negative_investment_is_refused(client, people):
    response = create(client, people, investment_recurring="(5,000)")

    assert "Recurring investment a year: Enter the cost as a positive amount." in visible(response)
    assert not Scheme.objects.exists()


def test_blank_investment_is_none(client, people):
    response = create(client, people, investment_one_off="", investment_recurring="")

    assert response.status_code == 302, text(response)
    scheme = Scheme.objects.get()
    assert scheme.investment_one_off == 0 and scheme.investment_recurring == 0


def test_without_javascript_every_recurrent_month_shows_with_its_note(client, people):
    client.force_login(people["elr-project-lead"])
    page = text(client.get(reverse("scheme_create")))

    for name in RECURRENT_FIELDS:
        assert f'name="{name}"' in page
    assert "only for a mixed saving" in page
    group = re.search(r"<fieldset[^>]*data-recurrent-parts[^>]*>", page).group(0)
    assert "hidden" not in group  # static/js/plan.js hides it unless "mixed" is chosen
    # a new PID starts recurrent and cash-releasing, with nothing invested
    assert re.search(r'<input[^>]*value="recurrent"[^>]*checked', page)
    assert re.search(r'<input[^>]*name="cash_releasing"[^>]*value="True"[^>]*checked', page)
    assert re.search(r'<input[^>]*name="investment_one_off"[^>]*value="£0"', page)


def test_editing_a_mixed_saving_back_to_recurrent_clears_its_parts(client, people):
    create(client, people, recurrence="mixed", recurrent_m12="4000")
    scheme = Scheme.objects.get()
    url = reverse("scheme_edit", args=[scheme.pk])
    data = pid_post(people, recurrence="recurrent", version=scheme.version, recurrent_m12="4000")

    response = client.post(url, data)

    assert response.status_code == 302, text(response)
    scheme.refresh_from_db()
    assert scheme.recurrence == Recurrence.RECURRENT and parts(scheme) == [None] * 12
    assert scheme.full_year_effect == Decimal("120000")


def test_the_service_refuses_a_recurrent_part_above_its_plan_whoever_calls_it(llr, people):
    data = llr.pid_data(recurrence=Recurrence.MIXED, plan_m01=Decimal("100"))
    data["recurrent_m01"] = Decimal("101")

    with pytest.raises(ValidationError) as refused:
        services.scheme_create(by=people["elr-project-lead"], data=data)

    assert refused.value.messages == [
        "The recurrent part of Apr cannot be more than its plan (£100)."
    ]


# --- money typed as people type it (tests/governance/test_money_entry.py) ---

MORE_THAN_A_BILLION = {
    "That is more than £1bn in a month: check it.",
    "That is more than £1bn: check it.",
}


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    typed=st.one_of(
        st.text(max_size=20),
        st.from_regex(r"\A\(?-?£?[0-9]{0,7}(,[0-9]{3}){0,2}(\.[0-9]{0,3})?[kKmM]?\)?\Z"),
    )
)
def test_whatever_is_typed_as_a_recurrent_part_is_read_exactly_or_refused(typed):
    field = plan_month_field("Oct (recurrent)", required=False)
    try:
        value = field.clean(typed)
    except ValidationError as refused:
        assert refused.messages[0] in {
            entry.INVALID,
            "Enter the saving as a positive amount.",
            "Pounds and pence only: at most 2 figures after the point.",
            "That amount is too large: check it.",
            *MORE_THAN_A_BILLION,
        }, (typed, refused.messages)
        return
    if value is None:  # blank: none of the month recurs
        assert not typed.strip()
        return
    assert value == entry.reading(typed), typed  # never a silent truncation


# --- the scheme page and the case ---


@pytest.fixture
def from_october(make_scheme):
    """£10,000 a month saved from October, recurrent, cash-releasing; £20,000 to set up and
    £5,000 a year to run."""
    return make_scheme(
        SchemeState.CONFIRM_AND_CHALLENGE,
        plan=FROM_OCTOBER,
        start_date=date(2019, 10, 1),
        investment_one_off=Decimal("20000"),
        investment_recurring=Decimal("5000"),
    )


def test_the_pid_page_shows_what_a_saving_from_october_is_worth(client, people, from_october):
    client.force_login(people["elr-viewer"])
    page = visible(client.get(from_october.get_absolute_url()))

    # worked by hand: 6 x £10,000 this year; 12 x £10,000 over a whole year
    assert "Gross saving (the annual plan) (£60,000)" in page
    assert "Kind of saving Recurrent" in page
    assert "Recurrent (£60,000)" in page
    assert "Non-recurrent (one-off) £0" in page
    assert "Cash-releasing Yes: the money leaves the budget" in page
    # costs in plain pounds
    assert "One-off investment £20,000" in page
    assert "Recurring investment a year £5,000" in page
    # £60,000 less £20,000 and £5,000
    assert "Net saving (£35,000)" in page
    assert (
        "Full-year effect: (£120,000), the recurrent saving over a whole year; "
        "£60,000 of it falls in this year, 2019/20."
    ) in page
    assert "Less the recurring investment, (£115,000)." in page


def test_a_one_off_saving_has_no_full_year_effect(client, people, make_scheme):
    one_off = make_scheme(
        plan=FROM_OCTOBER, recurrence=Recurrence.NON_RECURRENT, cash_releasing=False
    )
    client.force_login(people["elr-viewer"])
    page = visible(client.get(one_off.get_absolute_url()))

    assert "Recurrent £0" in page
    assert "Non-recurrent (one-off) (£60,000)" in page
    assert "Cash-releasing No: it frees staff time or capacity, not cash" in page
    assert "Full-year effect: £0: none of the saving is planned to recur after 2019/20." in page


def test_a_recurrent_part_that_ends_before_march_has_no_full_year_effect(
    client, people, make_scheme
):
    # £4,000 of October's saving recurs, none of March's: the year ends on nothing recurrent
    ends_early = make_scheme(
        plan=FROM_OCTOBER, recurrence=Recurrence.MIXED, recurrent_m07=Decimal("4000")
    )
    client.force_login(people["elr-viewer"])
    page = visible(client.get(ends_early.get_absolute_url()))

    assert "Recurrent (£4,000)" in page
    assert (
        "Full-year effect: £0: no recurrent saving is planned in Mar, the year's last month."
        in (page)
    )


def test_a_mixed_saving_shows_the_recurrent_part_under_each_month(client, people, make_scheme):
    mixed = make_scheme(
        plan=FROM_OCTOBER,
        recurrence=Recurrence.MIXED,
        **{name: Decimal("4000") for name in RECURRENT_FIELDS[6:]},
    )
    client.force_login(people["elr-viewer"])
    response = client.get(mixed.get_absolute_url())

    rows = table(response, "plan-table")
    # in rows of four months: each month's saving, then its recurrent part
    assert rows == [
        ["", "Apr", "May", "Jun", "Jul"],
        ["Saving", "£0", "£0", "£0", "£0"],
        ["Recurrent", "£0", "£0", "£0", "£0"],
        ["", "Aug", "Sep", "Oct", "Nov"],
        ["Saving", "£0", "£0", "(£10,000)", "(£10,000)"],
        ["Recurrent", "£0", "£0", "(£4,000)", "(£4,000)"],
        ["", "Dec", "Jan", "Feb", "Mar"],
        ["Saving", *["(£10,000)"] * 4],
        ["Recurrent", *["(£4,000)"] * 4],
        ["Annual plan", "(£60,000)"],
    ]
    page = visible(response)
    assert "Recurrent (£24,000)" in page and "Non-recurrent (one-off) (£36,000)" in page
    assert "Full-year effect: (£48,000)" in page


def test_a_recurrent_saving_has_no_recurrent_row(client, people, from_october):
    client.force_login(people["elr-viewer"])
    rows = table(client.get(from_october.get_absolute_url()), "plan-table")

    assert not any(row and row[0] == "Recurrent" for row in rows)


def the_case(response) -> str:
    found = re.search(r'<section class="case .*?</section>', response.content.decode(), re.S)
    assert found, "no case on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def test_the_case_beside_a_review_shows_gross_recurrent_net_and_full_year_effect(
    client, people, from_october
):
    # (the world's finance reviewer is the finance lead of its schemes: not theirs to judge)
    client.force_login(people["elr-clinical-reviewer"])
    case = the_case(client.get(reverse("scheme_review", args=[from_october.pk, "clinical"])))

    assert "Gross saving (£60,000)" in case
    assert "Recurrent (£60,000)" in case
    assert "Net saving (less £20,000 one-off and £5,000 a year invested) (£35,000)" in case
    assert "Full-year effect (£120,000)" in case
    assert "Cash-releasing Yes" in case


# --- the history ---


def test_the_history_records_the_kind_of_saving_and_what_it_costs(client, people, llr):
    lead = people["elr-project-lead"]
    scheme = services.scheme_create(by=lead, data=llr.pid_data())
    services.scheme_update(
        scheme_id=scheme.pk,
        by=lead,
        expected_version=None,
        data={
            "recurrence": Recurrence.MIXED,
            "recurrent_m12": Decimal("4000"),
            "cash_releasing": False,
            "investment_one_off": Decimal("20000"),
            "investment_recurring": Decimal("5000"),
        },
    )

    changes = {c.field: (c.old_value, c.new_value) for c in SchemeChange.objects.all()}
    assert changes["recurrence"] == ("Recurrent", "Mixed (the recurrent part given month by month)")
    assert changes["recurrent part of Mar (month 12)"] == ("", "(£4,000)")
    assert changes["recurrent part of Apr (month 1)"] == ("", "£0")  # none of April recurs
    assert changes["cash-releasing"] == ("Yes", "No")
    assert changes["one-off investment"] == ("£0", "£20,000")  # a cost: plain pounds
    assert changes["recurring investment a year"] == ("£0", "£5,000")

    client.force_login(lead)
    words = visible(client.get(scheme.get_absolute_url())).split("History", 1)[1]
    assert "recurrence: Recurrent → Mixed (the recurrent part given month by month)" in words
    assert "cash-releasing: Yes → No" in words


def test_going_back_to_recurrent_clears_the_parts_in_the_history(people, llr):
    lead = people["elr-project-lead"]
    data = llr.pid_data(recurrence=Recurrence.MIXED, recurrent_m12=Decimal("4000"))
    scheme = services.scheme_create(by=lead, data=data)

    services.scheme_update(
        scheme_id=scheme.pk,
        by=lead,
        expected_version=None,
        data={"recurrence": Recurrence.RECURRENT},
    )

    scheme.refresh_from_db()
    assert parts(scheme) == [None] * 12
    changes = {c.field: (c.old_value, c.new_value) for c in SchemeChange.objects.all()}
    assert changes["recurrent part of Mar (month 12)"] == ("(£4,000)", "")


# --- the plans import ---

SAVING_COLUMNS = [
    "recurrence",
    "cash_releasing",
    "investment_one_off",
    "investment_recurring",
    *RECURRENT_FIELDS,
]


@pytest.fixture
def world(db):
    world = report_world()
    world.add_user("team-lead", list(world.orgs), roles.PROJECT_LEAD)
    world.add_user("team-sro", list(world.orgs), roles.SRO)
    return world


def plan_row(reference: str, **cells) -> dict:
    return {
        "reference": reference,
        "title": f"Scheme {reference}",
        "organisation": "ELR",
        "financial_year": "2019/20",
        "programme_area": "Planned Care",
        "area_of_spend": "Elective Care",
        "scheme_type": "transactional",
        "recovery": "no",
        **dict(zip(PLAN_FIELDS, FROM_OCTOBER, strict=True)),
        "project_lead": "team-lead",
        "sro": "team-sro",
        **cells,
    }


def import_plans(world, rows: list[dict], header: list[str] | None = None):
    header = header or list(rows[0])
    handle = io.StringIO()
    writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    data = io.BytesIO(handle.getvalue().encode())
    return importers.import_file("plans", data, name="plans.csv", by=world.users["elr-pmo"])


def test_todays_plans_file_imports_every_scheme_recurrent_and_cash_releasing(db):
    admin = User.objects.create_superuser("admin", password="pw")
    with (EXAMPLES / "plans.csv").open("rb") as handle:
        result = importers.import_file(
            "plans", handle, name="plans.csv", by=admin, create_missing=True, historical=True
        )

    assert result.ok, result.errors
    assert result.ignored_columns == []
    schemes = Scheme.objects.all()
    assert schemes.count() == result.created > 0
    assert {s.recurrence for s in schemes} == {Recurrence.RECURRENT}
    assert all(s.cash_releasing and not s.investment_one_off for s in schemes)
    assert all(parts(s) == [None] * 12 for s in schemes)


def test_a_plan_imports_with_what_kind_of_saving_it_is(world):
    rows = [
        plan_row("ELR-1920-001", recurrence="Mixed", cash_releasing="no",
                 investment_one_off="20,000", investment_recurring="5000",
                 **{name: "4000" for name in RECURRENT_FIELDS[6:]}),
        plan_row("ELR-1920-002", recurrence="ONE-OFF"),
        plan_row("ELR-1920-003", recurrence="non-recurrent"),
        plan_row("ELR-1920-004", recurrence=""),
    ]  # fmt: skip

    result = import_plans(world, rows)

    assert result.ok, result.errors
    assert result.ignored_columns == []
    mixed, one_off, non_recurrent, blank = Scheme.objects.order_by("reference")
    assert mixed.recurrence == Recurrence.MIXED and not mixed.cash_releasing
    assert parts(mixed) == [Decimal(0)] * 6 + [Decimal("4000")] * 6
    assert mixed.full_year_effect == Decimal("48000")
    assert mixed.net_saving == Decimal("35000")
    assert one_off.recurrence == non_recurrent.recurrence == Recurrence.NON_RECURRENT
    assert blank.recurrence == Recurrence.RECURRENT and blank.cash_releasing  # the defaults


def test_a_file_without_the_columns_leaves_a_schemes_kind_of_saving_as_it_is(world):
    mixed = {name: "4000" for name in RECURRENT_FIELDS[6:]}
    first = plan_row("ELR-1920-001", recurrence="mixed", cash_releasing="no", **mixed)
    import_plans(world, [first])
    today = {k: v for k, v in first.items() if k in plan_row("x")}  # today's columns only

    again = import_plans(world, [today])

    assert again.ok, again.errors
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    scheme = Scheme.objects.get()
    assert scheme.recurrence == Recurrence.MIXED and not scheme.cash_releasing
    assert parts(scheme)[6:] == [Decimal("4000")] * 6


def test_an_import_changing_the_kind_of_saving_is_in_the_history(world):
    import_plans(world, [plan_row("ELR-1920-001")])

    result = import_plans(
        world,
        [plan_row("ELR-1920-001", recurrence="non-recurrent", investment_recurring="5000")],
    )

    assert result.ok and result.updated == 1, result.errors
    changes = {c.field: (c.old_value, c.new_value) for c in SchemeChange.objects.all()}
    assert changes["recurrence"] == ("Recurrent", "Non-recurrent (one-off)")
    assert changes["recurring investment a year"] == ("£0", "£5,000")
    assert Scheme.objects.get().version == 2


def test_bad_kinds_of_saving_are_row_errors(world):
    rows = [
        plan_row("ELR-1920-001", recurrence="sometimes"),
        plan_row("ELR-1920-002", cash_releasing="perhaps"),
        plan_row("ELR-1920-003", investment_one_off="-5"),
        plan_row("ELR-1920-004", recurrence="mixed", recurrent_m07="12000"),
        plan_row("ELR-1920-005", recurrence="recurrent", recurrent_m07="1000"),
        plan_row("ELR-1920-006", recurrent_m07="1000"),
    ]

    result = import_plans(world, rows, header=[*plan_row("x"), *SAVING_COLUMNS])

    assert [str(error) for error in result.errors] == [
        "row 2: recurrence 'sometimes' should be recurrent, non-recurrent, one-off or mixed",
        "row 3: cash_releasing 'perhaps' should be yes, no, true, false, 1 or 0",
        "row 4: investment_one_off -5 must not be negative",
        "row 5: recurrent_m07 £12,000 is more than plan_m07 £10,000: the recurrent part of "
        "Oct cannot be more than its plan",
        "row 6: recurrent_m07: only a mixed saving has a recurrent part of each month "
        "(recurrence is recurrent)",
        "row 7: recurrent_m07: only a mixed saving has a recurrent part of each month "
        "(say mixed in recurrence, or leave them blank)",
    ]
    assert not Scheme.objects.exists()


def test_a_lower_plan_for_a_mixed_scheme_must_still_cover_its_recurrent_parts(world):
    import_plans(world, [plan_row("ELR-1920-001", recurrence="mixed", recurrent_m12="8000")])

    result = import_plans(world, [plan_row("ELR-1920-001", plan_m12="5000")])

    assert [str(error) for error in result.errors] == [
        "row 2: ELR-1920-001 is a mixed saving whose recurrent part of Mar (£8,000) is more "
        "than plan_m12 £5,000: give its recurrent parts too, with recurrence mixed"
    ]
    assert Scheme.objects.get().plan_m12 == Decimal("10000")


# --- the demo ---


def test_the_demo_has_savings_of_every_kind_and_schemes_that_cost_money(client):
    call_command("seed_demo", stdout=io.StringIO())
    schemes = Scheme.objects.all()

    kinds = {scheme.recurrence for scheme in schemes}
    assert kinds == {Recurrence.RECURRENT, Recurrence.NON_RECURRENT, Recurrence.MIXED}
    assert schemes.filter(cash_releasing=False).exists()
    assert schemes.filter(investment_one_off__gt=0).count() >= 2
    assert schemes.filter(investment_recurring__gt=0).exists()
    mixed = schemes.get(recurrence=Recurrence.MIXED)
    assert 0 < mixed.recurrent_annual < mixed.annual_plan
    client.force_login(mixed.project_lead)
    response = client.get(mixed.get_absolute_url())
    assert any(row[0] == "Recurrent" for row in table(response, "plan-table"))
    assert "Full-year effect: (£" in visible(response)
