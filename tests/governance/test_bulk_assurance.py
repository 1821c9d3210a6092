"""The PMO assures a month's returns of their organisation at once, each at the value in its
row (the actual to start with); the rule of the one-return page holds for every row."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.delivery import monthly_returns
from governance.models import AccessRefusal, MonthlyReturn, Scheme, SchemeChange
from tests.governance import delivery_fixtures
from tests.pages import text, visible
from tests.world import add_return

people = delivery_fixtures.people  # the world with a second PMO member

pytestmark = pytest.mark.django_db
URL = reverse("returns_assure_all")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(date(2019, 8, 15), tick=False):
        yield


@pytest.fixture
def june(make_scheme, people):
    """Six ELR schemes with a June 2019 return each, entered by their finance lead."""
    schemes = [make_scheme() for _ in range(6)]
    for n, scheme in enumerate(schemes):
        add_return(scheme, 3, str(900 + n), by=people["elr-finance-reviewer"])
    return schemes


def post_rows(client, page, **changes) -> dict:
    """The page's form as drawn, with `changes` (e.g. form-0-assure="")."""
    formset = page.context["formset"]
    data = {
        "form-TOTAL_FORMS": str(formset.total_form_count()),
        "form-INITIAL_FORMS": str(formset.initial_form_count()),
    }
    for form in formset.forms:
        for name in ("ret", "token", "pmo_assured", "assured_reason", "assured_link"):
            value = form[name].value()
            data[form[name].html_name] = "" if value is None else str(value)
        data[form["assure"].html_name] = "on"
    data["month"] = page.context["chosen"]  # the month the page was drawn for
    data.update(changes)
    return data


def test_the_pmo_assures_six_returns_at_once(client, people, june):
    client.force_login(people["elr-pmo"])
    assert URL in text(client.get(reverse("my_tasks")))  # found from the task list
    page = client.get(URL)
    shown = visible(page)
    assert "Returns to assure: East Leics and Rutland" in shown
    assert "Jun 2019 (6)" in shown
    for scheme in june:
        assert scheme.reference in shown
    assert 'value="£900"' in text(page)  # the actual, to start with

    response = client.post(
        URL,
        post_rows(
            client,
            page,
            **{"form-1-pmo_assured": "850", "form-1-assured_reason": "£51 fell in July."},
        ),
    )
    assert response.status_code == 302
    after = client.get(response["Location"])
    assert "6 returns assured." in text(after)
    assured = dict(MonthlyReturn.objects.values_list("scheme_id", "pmo_assured"))
    assert assured[june[0].pk] == Decimal("900") and assured[june[1].pk] == Decimal("850")
    assert all(value is not None for value in assured.values())
    assert SchemeChange.objects.filter(field__contains="assured").count() == 6
    shown = visible(after)
    assert "Every return is assured: nothing is waiting for you." in shown
    assert "No returns of Jun 2019" not in shown  # the month was not empty when asked for
    assert "Each ticked return is assured" not in shown  # nothing left to tick
    assert reverse("my_tasks") in text(after) and reverse("dashboard") in text(after)


def test_an_unticked_return_waits_and_a_bad_amount_saves_nothing(client, people, june):
    client.force_login(people["elr-pmo"])
    page = client.get(URL)
    bad = client.post(URL, post_rows(client, page, **{"form-2-pmo_assured": "nine hundred"}))
    assert bad.status_code == 200
    assert "There is a problem: nothing was assured." in text(bad)
    assert "Enter an amount in pounds, like 83,000 or 83k." in text(bad)
    assert "nine hundred" in text(bad)  # what was typed is kept
    assert not MonthlyReturn.objects.filter(assured_at__isnull=False).exists()

    client.post(URL, post_rows(client, page, **{"form-0-assure": ""}))
    assert MonthlyReturn.objects.filter(assured_at__isnull=False).count() == 5
    assert MonthlyReturn.objects.get(scheme=june[0]).assured_at is None


def test_a_return_changed_meanwhile_is_not_assured_and_said(client, people, june):
    client.force_login(people["elr-pmo"])
    page = client.get(URL)
    # corrected meanwhile (a second later)
    MonthlyReturn.objects.filter(scheme=june[3]).update(
        actual=Decimal("500"), updated_at=timezone.now() + timedelta(seconds=1)
    )
    response = client.post(URL, post_rows(client, page), follow=True)
    assert "5 returns assured." in text(response)
    # who is not known (the history does not say), so nobody is named
    assert (
        f"Not assured: {june[3].reference} Jun 2019: changed meanwhile at 01:00: check it again."
    ) in visible(response)
    assert MonthlyReturn.objects.get(scheme=june[3]).assured_at is None


def test_the_pmo_is_not_offered_a_return_they_entered_or_of_their_own_scheme(
    client, people, make_scheme, june
):
    pmo = people["elr-pmo"]
    own = make_scheme(sro=pmo)
    add_return(own, 3, "700", by=people["elr-finance-reviewer"])
    client.force_login(pmo)
    page = client.get(URL)
    assert len(page.context["rows"]) == 6
    others = visible(page).split("Waiting for another member of the PMO")[1]
    assert own.reference in others and "You are this scheme's SRO" in others


@pytest.mark.parametrize("who", ["elr-finance-reviewer", "elr-sro", "elr-viewer"])
def test_only_the_pmo_reaches_the_page(client, people, june, who):
    client.force_login(people[who])
    assert client.get(URL).status_code == 403
    response = client.post(URL, {"form-TOTAL_FORMS": "0", "form-INITIAL_FORMS": "0"})
    assert response.status_code == 403
    assert "Returns are assured by the PMO" in text(response)
    assert AccessRefusal.objects.filter(user=people[who]).exists()
    assert not MonthlyReturn.objects.filter(assured_at__isnull=False).exists()


def test_another_organisation_by_id_or_code_is_refused_saying_why(client, people, llr, june):
    client.force_login(people["wl-pmo"])
    elr = llr.org("ELR")
    for asked in (elr.pk, "elr"):
        response = client.get(URL, {"organisation": asked})
        assert response.status_code == 403
        assert "You assure the returns of your own organisations only." in text(response)
    assert AccessRefusal.objects.filter(user=people["wl-pmo"], action="assure_return").count() == 2
    assert "nothing is waiting for you" in text(client.get(URL))  # WL's own: none


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        ("x", "There is no organisation 'x': showing WL."),
        ("99999", "There is no organisation '99999': showing WL."),
        ("", "No organisation was chosen: showing WL."),
    ],
)
def test_an_organisation_that_does_not_exist_is_told_and_their_own_shown(
    client, people, june, asked, said
):
    client.force_login(people["wl-pmo"])

    response = client.get(URL, {"organisation": asked})

    assert response.status_code == 200
    page = text(response)
    assert said in page
    assert "Returns to assure: " in page and "nothing is waiting for you" in page
    assert not AccessRefusal.objects.exists()


def test_a_return_of_another_organisation_slipped_into_the_form_is_refused_and_logged(
    client, people, llr, make_scheme, june
):
    west = make_scheme(org="WL")
    add_return(west, 3, "400", by=people["wl-finance-reviewer"])
    theirs = MonthlyReturn.objects.get(scheme=west)
    client.force_login(people["elr-pmo"])
    page = client.get(URL)

    forged = post_rows(client, page, **{"form-0-ret": str(theirs.pk)})
    response = client.post(URL, forged, follow=True)

    assert "Not assured: a return that is not yours to assure." in text(response)
    theirs.refresh_from_db()
    assert theirs.assured_at is None
    refusal = AccessRefusal.objects.get(user=people["elr-pmo"], action="assure_return")
    assert refusal.target == west.reference and "PMO" in refusal.reason


def test_the_rule_of_each_row_is_asked_without_a_query_per_return(client, people, make_scheme):
    """Whether the PMO entered or corrected each return is read once for the page: the page
    with two returns and with twelve makes as many queries, bar the case beside each scheme."""

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    client.force_login(people["elr-pmo"])
    for _ in range(2):
        add_return(make_scheme(), 3, "900", by=people["elr-finance-reviewer"])
    few = queries_for_page()
    for _ in range(10):
        add_return(make_scheme(), 3, "900", by=people["elr-finance-reviewer"])
    many = queries_for_page()
    # the case beside each scheme asks one question per scheme (the blind rule of its QIA)
    assert many - few <= 10


# --- the month asked for ---


def test_once_a_months_returns_are_all_assured_the_page_opens_the_next_month_waiting(
    client, people, make_scheme, june
):
    july = make_scheme()
    add_return(july, 4, "700", by=people["elr-finance-reviewer"])
    client.force_login(people["elr-pmo"])
    page = client.get(URL)
    assert page.context["chosen"] == "2019-3"  # June, the oldest month waiting

    response = client.post(URL, post_rows(client, page), follow=True)

    shown = visible(response)
    assert "6 returns assured." in shown
    assert "Every return of Jun 2019 is assured: Jul 2019 has returns waiting." in shown
    assert "No returns of Jun 2019 are waiting" not in shown
    assert response.context["chosen"] == "2019-4"
    assert [ret.scheme for ret, _form in response.context["rows"]] == [july]
    assert "nothing is waiting for you" not in shown


def test_a_month_with_a_return_left_unticked_opens_again_without_a_word_about_it(
    client, people, make_scheme, june
):
    add_return(make_scheme(), 4, "700", by=people["elr-finance-reviewer"])
    client.force_login(people["elr-pmo"])
    page = client.get(URL)

    response = client.post(URL, post_rows(client, page, **{"form-0-assure": ""}), follow=True)

    shown = visible(response)
    assert "5 returns assured." in shown
    assert response.context["chosen"] == "2019-3"
    assert [ret.scheme for ret, _form in response.context["rows"]] == [june[0]]
    assert "Every return of" not in shown and "No returns of" not in shown


def test_a_month_whose_last_returns_wait_for_another_pmo_member_opens_again(
    client, people, make_scheme, june
):
    pmo = people["elr-pmo"]
    own = make_scheme(sro=pmo)
    add_return(own, 3, "700", by=people["elr-finance-reviewer"])
    client.force_login(pmo)
    page = client.get(URL)

    response = client.post(URL, post_rows(client, page), follow=True)

    shown = visible(response)
    assert "6 returns assured." in shown
    assert "Every return of" not in shown and "nothing is waiting for you" not in shown
    assert own.reference in shown.split("Waiting for another member of the PMO")[1]
    assert "Each ticked return is assured" not in shown


def test_a_month_with_none_left_and_nothing_else_waiting_says_so(client, people, june):
    client.force_login(people["elr-pmo"])

    shown = visible(client.get(URL, {"month": "2019-4"}))

    assert "No returns of Jul 2019 are waiting for assurance: showing Jun 2019" in shown
    assert "Jun 2019 (6)" in shown


@pytest.mark.parametrize("asked", ["abc", "2019-13", "1999-3", "2019-"])
def test_a_mistyped_month_is_told_and_the_first_month_waiting_shown(client, people, june, asked):
    client.force_login(people["elr-pmo"])

    response = client.get(URL, {"month": asked})

    shown = visible(response)
    assert (
        f"'{asked}' is not a month: showing Jun 2019, the first month with returns waiting."
        in shown
    )
    assert len(response.context["rows"]) == 6
    assert not AccessRefusal.objects.exists()


def test_nothing_waiting_at_all_is_said_once_with_the_month_asked_for(client, people):
    client.force_login(people["elr-pmo"])

    shown = visible(client.get(URL, {"month": "2019-3"}))

    assert "No returns of Jun 2019 are waiting for assurance." in shown
    assert "Every return is assured: nothing is waiting for you." in shown
    assert "Each ticked return is assured" not in shown


# --- two tabs, or two members of the PMO, on the same month ---


def test_returns_assured_meanwhile_are_each_named_with_who_assured_them(
    client, people, make_scheme, june
):
    july = make_scheme()
    add_return(july, 4, "700", by=people["elr-finance-reviewer"])
    client.force_login(people["elr-pmo-2"])
    first = client.get(URL)
    client.force_login(people["elr-pmo"])
    page = client.get(URL)  # drawn before the other member assures the first three
    client.force_login(people["elr-pmo-2"])
    client.post(URL, post_rows(client, first, **{f"form-{n}-assure": "" for n in (3, 4, 5)}))
    client.force_login(people["elr-pmo"])

    response = client.post(URL, post_rows(client, page), follow=True)

    shown = visible(response)
    assert "3 returns assured." in shown
    other = people["elr-pmo-2"]
    named = "; ".join(
        f"{june[n].reference} Jun 2019: assured meanwhile by {other} (£{900 + n})" for n in range(3)
    )
    assert f"Not assured: {named}." in shown
    assert "no longer waiting for you" not in shown
    assured = MonthlyReturn.objects.filter(scheme__in=june)
    assert {r.assured_by for r in assured if r.scheme in june[:3]} == {other}  # theirs stand
    assert {r.assured_by for r in assured if r.scheme in june[3:]} == {people["elr-pmo"]}
    assert not AccessRefusal.objects.exists()
    assert "Every return of Jun 2019 is assured: Jul 2019 has returns waiting." in shown
    assert response.context["chosen"] == "2019-4"


def test_a_second_tab_sent_after_the_first_assured_the_month_names_every_return(
    client, people, make_scheme, june
):
    july = make_scheme()
    add_return(july, 4, "700", by=people["elr-finance-reviewer"])
    client.force_login(people["elr-pmo"])
    first, second = client.get(URL), client.get(URL)  # two tabs on June
    client.post(URL, post_rows(client, first))

    response = client.post(URL, post_rows(client, second), follow=True)

    shown = visible(response)
    for n, scheme in enumerate(june):
        assert f"{scheme.reference} Jun 2019: assured meanwhile by you (£{900 + n})" in shown
    # the page goes on to July saying why, not as if the June it was sent from were July
    assert "Every return of Jun 2019 is assured: Jul 2019 has returns waiting." in shown
    assert response.context["chosen"] == "2019-4"
    assert SchemeChange.objects.filter(field__contains="assured value").count() == 6


def test_a_return_the_pmo_may_no_longer_assure_is_named_with_the_reason_and_logged(
    client, people, june
):
    client.force_login(people["elr-pmo"])
    page = client.get(URL)
    # made the scheme's SRO meanwhile: assuring its returns would be judging their own scheme
    Scheme.objects.filter(pk=june[0].pk).update(sro=people["elr-pmo"])

    response = client.post(URL, post_rows(client, page), follow=True)

    shown = visible(response)
    assert "5 returns assured." in shown
    assert f"Not assured: {june[0].reference} Jun 2019: You are this scheme's SRO" in shown
    assert MonthlyReturn.objects.get(scheme=june[0]).assured_at is None
    refusal = AccessRefusal.objects.get(user=people["elr-pmo"], action="assure_return")
    assert refusal.target == june[0].reference


def test_a_return_corrected_meanwhile_is_named_with_who_corrected_it(client, people, june):
    client.force_login(people["elr-pmo"])
    page = client.get(URL)
    with time_machine.travel(datetime(2019, 8, 15, 0, 1, tzinfo=UTC), tick=False):
        monthly_returns.return_save(
            scheme_id=june[2].pk, month=3, by=people["elr-finance-reviewer"], actual=Decimal(960)
        )
        response = client.post(URL, post_rows(client, page), follow=True)

    shown = visible(response)
    assert "5 returns assured." in shown
    assert (
        f"Not assured: {june[2].reference} Jun 2019: changed meanwhile by ELR Finance Reviewer "
        "at 01:01: check it again."
    ) in shown
    ret = MonthlyReturn.objects.get(scheme=june[2])
    assert (ret.actual, ret.assured_at) == (Decimal(960), None)
