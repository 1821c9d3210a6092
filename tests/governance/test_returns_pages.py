"""The delivery pages as users drive them: start, close and stop; enter, correct and assure."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_fsm_log.models import StateLog

from governance.delivery import monthly_returns
from governance.models import (
    AccessRefusal,
    FinancialYear,
    MonthlyReturn,
    SchemeChange,
    SchemeState,
)
from notifications.models import Escalation, Level, Rule
from tests.governance import delivery_fixtures
from tests.pages import text, visible
from tests.world import add_return

people = delivery_fixtures.people  # the world with the delivery tests' extra people

pytestmark = pytest.mark.django_db

# Every page below is seen on 15 August 2019: April to July 2019 have begun and ended.
pytestmark = [pytestmark, pytest.mark.usefixtures("mid_august")]


@pytest.fixture
def mid_august():
    with time_machine.travel(date(2019, 8, 15), tick=False):
        yield


def as_user(client, user):
    client.force_login(user)
    return client


def new_url(scheme):
    return reverse("return_new", args=[scheme.pk])


def edit_url(scheme, month):
    return reverse("return_edit", args=[scheme.pk, month])


def assure_url(scheme, month):
    return reverse("return_assure", args=[scheme.pk, month])


def test_anonymous_visitors_are_sent_to_sign_in(client, make_scheme):
    scheme = make_scheme()
    for url in [
        reverse("dashboard"),
        reverse("scheme_start_delivery", args=[scheme.pk]),
        reverse("scheme_complete", args=[scheme.pk]),
        reverse("scheme_stop", args=[scheme.pk]),
        new_url(scheme),
        edit_url(scheme, 3),
        assure_url(scheme, 3),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


# --- start, close, stop ---


def test_the_pmo_starts_delivery_from_the_scheme_page(client, people, make_scheme):
    scheme = make_scheme(SchemeState.APPROVED)
    pmo = as_user(client, people["elr-pmo"])
    page = text(pmo.get(scheme.get_absolute_url()))
    assert "Start delivery" in page

    form = pmo.get(reverse("scheme_start_delivery", args=[scheme.pk]))
    assert "From now on the scheme's finance lead or project lead enters a return" in text(form)
    response = pmo.post(
        reverse("scheme_start_delivery", args=[scheme.pk]),
        {"version": scheme.version, "comment": "Clinics open in May"},
        follow=True,
    )

    page = text(response)
    assert f"{scheme.reference} is now in delivery." in page
    assert "Clinics open in May" in page  # in the history
    assert "Delivery" in page and "Enter a monthly return" not in page  # not the PMO's to enter


@pytest.mark.parametrize("who", ["elr-viewer", "elr-project-lead", "wl-pmo"])
def test_start_delivery_is_a_403_saying_why_for_others(client, people, make_scheme, who):
    scheme = make_scheme(SchemeState.APPROVED)
    user = as_user(client, people[who])

    assert "Start delivery" not in text(user.get(scheme.get_absolute_url()))
    response = user.post(reverse("scheme_start_delivery", args=[scheme.pk]), {"version": 1})

    assert response.status_code == 403
    assert "Only the PMO of the scheme's organisation can start delivery." in text(response)
    assert StateLog.objects.count() == 0
    assert AccessRefusal.objects.filter(user=people[who], action="start_delivery").exists()


def test_a_step_that_does_not_apply_in_this_state_says_so(client, people, make_scheme):
    scheme = make_scheme(SchemeState.DRAFT)

    response = as_user(client, people["elr-pmo"]).get(
        reverse("scheme_start_delivery", args=[scheme.pk]), follow=True
    )

    assert "is a draft: that step does not apply now." in text(response)


def test_the_sro_closes_the_scheme_with_a_closure_report(client, people, make_scheme):
    scheme = make_scheme()
    sro = as_user(client, people["elr-sro"])
    url = reverse("scheme_complete", args=[scheme.pk])

    empty = sro.post(url, {"version": scheme.version, "delivered": "", "lessons": ""})
    assert empty.status_code == 200
    assert "What was delivered: This field is required." in text(empty)

    response = sro.post(
        url,
        {"version": scheme.version, "delivered": "Saved £11k", "lessons": "Audit sooner"},
        follow=True,
    )
    page = text(response)
    assert "is now completed." in page
    assert "Closure report" in page and "Saved £11k" in page and "Audit sooner" in page


def test_a_stale_close_form_is_refused_as_a_conflict_message(client, people, make_scheme):
    scheme = make_scheme()

    response = as_user(client, people["elr-pmo"]).post(
        reverse("scheme_complete", args=[scheme.pk]),
        {"version": scheme.version - 1, "delivered": "Saved the clinics", "lessons": "y"},
    )

    # the form again, with what was typed, ready to be sent knowingly
    page = text(response)
    assert "changed while you were looking at it" in page and "so nothing was saved" in page
    assert "Saved the clinics" in page
    assert response.context["form"]["version"].value() == scheme.version
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.IN_DELIVERY


def test_a_qag_member_stops_a_scheme_with_the_decision_shown_on_its_page(
    client, people, make_scheme
):
    scheme = make_scheme()
    escalation = Escalation.objects.create(
        scheme=scheme,
        rule=Rule.OFF_TRACK,
        level=Level.QAG,
        owner=people["elr-sro"],
        reason="Behind plan.",
        raised_at=timezone.now() - timedelta(days=14),
        last_fired_at=timezone.now(),
        raised_to_qag_at=timezone.now() - timedelta(days=7),
    )
    qag = as_user(client, people["elr-qag-member"])
    assert "Stop scheme (QAG decision)" in text(qag.get(scheme.get_absolute_url()))

    # the button leads to QAG's decision on the escalation, "stop" chosen, the outcome spelt out
    shown = qag.get(reverse("scheme_stop", args=[scheme.pk]), follow=True)
    decide = reverse("escalation_decide", args=[escalation.pk])
    assert shown.redirect_chain[-1][0] == f"{decide}?decision=stop"
    page = text(shown)
    assert "cannot be undone" in page and "no more monthly returns are due" in page
    assert shown.context["form"]["decision"].value() == "stop"

    decision = {
        "version": escalation.version,
        "meeting": "2019-08-12",
        "decision": "stop",
        "note": "QAG 12 Aug: no route to savings.",
    }
    unconfirmed = text(qag.post(decide, decision))
    assert "Tick to confirm that QAG decided to stop the scheme" in unconfirmed
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.IN_DELIVERY

    qag.post(decide, {**decision, "confirm": "on"})
    page = text(qag.get(scheme.get_absolute_url()))
    assert "Stopped" in page
    assert "QAG decision to stop" in page and "QAG 12 Aug: no route to savings." in page
    assert "QAG decision: stop the scheme (meeting of 12 Aug 2019)" in page


def test_nobody_stops_a_scheme_outside_a_qag_decision(client, people, make_scheme):
    scheme = make_scheme()  # in delivery, no escalation with QAG
    qag = as_user(client, people["elr-qag-member"])
    assert "Stop scheme" not in text(qag.get(scheme.get_absolute_url()))
    for attempt in (qag.get, qag.post):
        response = attempt(reverse("scheme_stop", args=[scheme.pk]))
        assert response.status_code == 403
        assert "A scheme is stopped only by a QAG decision" in text(response)
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.IN_DELIVERY


# --- entering and correcting returns ---


def test_the_finance_lead_enters_a_return_and_sees_it_on_the_scheme_page(
    client, people, make_scheme
):
    scheme = make_scheme()
    finance = as_user(client, people["elr-finance-reviewer"])
    page = text(finance.get(scheme.get_absolute_url()))
    assert "Enter a monthly return" in page
    assert "Overdue" in page  # April to June are past their deadlines

    form = finance.get(new_url(scheme) + "?month=4")
    assert "Jul 2019 (month 4)" in text(form)
    response = finance.post(
        new_url(scheme),
        {
            "token": "",
            "month": "4",
            "actual": "950.50",
            "forecast_outturn": "11800",
            "commentary": "Two clinics cancelled",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == scheme.get_absolute_url() + "#delivery"
    page = text(finance.get(response["Location"]))
    assert "The Jul 2019 return is saved." in page
    assert "(£950.50)" in page and "£11,800" in page and "Two clinics cancelled" in page
    assert "Awaiting assurance" in page
    ret = MonthlyReturn.objects.get()
    assert (ret.month, ret.actual, ret.entered_by) == (
        4,
        Decimal("950.50"),
        people["elr-finance-reviewer"],
    )


@pytest.mark.parametrize(
    "post, error",
    [
        ({"actual": "lots"}, "Actual saving in the month (£): Enter an amount in pounds, like 83"),
        ({"actual": ""}, "Actual saving in the month (£): This field is required."),
        ({"actual": "10.123"}, "Pounds and pence only: at most 2 figures after the point."),
        ({"actual": "5000000000"}, "That is more than £1bn a month: check it."),
        ({"forecast_outturn": "12 grand"}, "Forecast outturn for the year (£): Enter an amount"),
        ({"month": "13"}, "Month: Select a valid choice. 13 is not one of the available choices."),
        ({"month": "April"}, "Month: Select a valid choice."),
        ({"month": "8"}, "Nov 2019 has not started yet"),
    ],
)
def test_bad_input_is_shown_as_form_errors_and_nothing_is_saved(
    client, people, make_scheme, post, error
):
    scheme = make_scheme()
    data = {"token": "", "month": "4", "actual": "100", "forecast_outturn": "", **post}

    response = as_user(client, people["elr-project-lead"]).post(new_url(scheme), data)

    assert response.status_code == 200
    assert "There is a problem" in text(response)
    assert error in text(response)
    assert not MonthlyReturn.objects.exists()


def test_negative_figures_are_accepted_when_costs_rose(client, people, make_scheme):
    scheme = make_scheme()

    as_user(client, people["elr-project-lead"]).post(
        new_url(scheme),
        {"token": "", "month": "1", "actual": "-1250", "forecast_outturn": "-3000"},
    )

    ret = MonthlyReturn.objects.get()
    assert (ret.actual, ret.forecast_outturn) == (Decimal("-1250"), Decimal("-3000"))


def test_a_month_outside_the_year_in_the_address_is_a_404(client, people, make_scheme):
    response = as_user(client, people["elr-project-lead"]).get(edit_url(make_scheme(), 13))

    assert response.status_code == 404


def test_choosing_a_month_already_returned_opens_its_correction(client, people, make_scheme):
    scheme = make_scheme()
    add_return(scheme, 2, "900", by=people["elr-project-lead"])

    response = as_user(client, people["elr-project-lead"]).get(new_url(scheme) + "?month=2")

    assert response["Location"] == edit_url(scheme, 2)


def test_a_correction_shows_and_keeps_the_history_of_the_return(client, people, make_scheme):
    scheme = make_scheme()
    lead = as_user(client, people["elr-project-lead"])
    lead.post(new_url(scheme), {"token": "", "month": "3", "actual": "900"})
    form = lead.get(edit_url(scheme, 3))
    assert "Correct the Jun 2019 return" in text(form)
    token = form.context["form"].initial["token"]

    response = lead.post(
        edit_url(scheme, 3),
        {"token": token, "actual": "975", "forecast_outturn": "", "commentary": "Late invoice"},
        follow=True,
    )

    page = text(response)
    assert "The Jun 2019 return is corrected; the change is in its history." in page
    assert "Month 3 actual: (£900) → (£975)" in page
    history = text(lead.get(edit_url(scheme, 3)))
    assert "Month 3 actual: (£900) → (£975)" in history
    assert "Month 3 actual: (empty) → (£900)" in history
    assert "Month 3 commentary: (empty) → Late invoice" in history


def test_a_new_return_for_a_month_already_in_is_refused_and_keeps_what_was_typed(
    client, people, make_scheme
):
    scheme = make_scheme()
    monthly_returns.return_save(
        scheme_id=scheme.pk, month=3, by=people["elr-finance-reviewer"], actual=Decimal(900)
    )
    lead = as_user(client, people["elr-project-lead"])
    typed = {"month": "3", "actual": "1234.56", "commentary": "Clinic income"}

    response = lead.post(new_url(scheme), {"token": "", **typed})

    assert response.status_code == 200  # the form again, with the figures typed
    page = visible(response)
    assert (
        "The Jun 2019 return is already in, so nothing was saved. Saved meanwhile by ELR "
        "Finance Reviewer at 01:00: actual £900, no commentary. What you typed is below: save "
        "again to replace the saved return with it."
    ) in page
    form = response.context["form"]
    assert (form["actual"].value(), form["commentary"].value()) == ("1234.56", "Clinic income")
    ret = MonthlyReturn.objects.get()
    assert ret.actual == Decimal("900")
    assert form["token"].value() == ret.updated_at.isoformat()

    # sent again from the page shown, knowingly: it replaces the return
    response = lead.post(new_url(scheme), {"token": form["token"].value(), **typed}, follow=True)

    assert "The Jun 2019 return is corrected" in visible(response)
    ret = MonthlyReturn.objects.get()
    assert (ret.actual, ret.commentary) == (Decimal("1234.56"), "Clinic income")


def test_a_correction_saved_by_someone_else_meanwhile_is_not_overwritten(
    client, people, make_scheme
):
    scheme = make_scheme()
    lead = as_user(client, people["elr-project-lead"])
    lead.post(new_url(scheme), {"token": "", "month": "3", "actual": "900"})
    token = lead.get(edit_url(scheme, 3)).context["form"].initial["token"]
    # someone else's correction meanwhile, by a write that keeps no history
    # (the clock stands still in these tests: the change moves its time on a second)
    changed_at = MonthlyReturn.objects.get().updated_at + timedelta(seconds=1)
    MonthlyReturn.objects.filter(month=3).update(actual=Decimal("950"), updated_at=changed_at)

    response = lead.post(edit_url(scheme, 3), {"token": token, "actual": "1"})

    assert response.status_code == 200
    page = visible(response)
    # who is not known (the history does not say), so nobody is named
    assert (
        "The Jun 2019 return was changed while you were looking at it, so nothing was saved. "
        "Saved meanwhile at 01:00: actual £950, no commentary."
    ) in page
    assert response.context["form"]["actual"].value() == "1"
    assert MonthlyReturn.objects.get().actual == Decimal("950")


# the finance lead's correction, while the PMO assures the return, a minute later
A_MINUTE_LATER = datetime(2019, 8, 15, 0, 1, tzinfo=UTC)
COMMENTARY = "The December invoices were paid early. " * 20


def test_a_correction_sent_after_the_pmo_assured_the_return_keeps_what_was_typed(
    client, people, make_scheme
):
    scheme = make_scheme()
    add_return(scheme, 3, "900", commentary="On plan.", by=people["elr-finance-reviewer"])
    lead = as_user(client, people["elr-finance-reviewer"])
    token = lead.get(edit_url(scheme, 3)).context["form"].initial["token"]
    with time_machine.travel(A_MINUTE_LATER, tick=False):
        monthly_returns.return_assure(
            scheme_id=scheme.pk, month=3, by=people["elr-pmo"], value=Decimal("900")
        )
        typed = {"actual": "120,000", "forecast_outturn": "", "commentary": COMMENTARY}

        response = lead.post(edit_url(scheme, 3), {"token": token, **typed})

        assert response.status_code == 200
        page = visible(response)
        assert (
            "The Jun 2019 return was changed while you were looking at it, so nothing was "
            "saved. Assured meanwhile by ELR Pmo at 01:01: actual £900, commentary 'On plan.'. "
            "It is assured at £900, by ELR Pmo. Saving other figures clears that assurance. "
            "What you typed is below: save again to replace the saved return with it."
        ) in page
        form = response.context["form"]
        assert form["actual"].value() == "120,000"
        assert COMMENTARY.strip() in page  # what was typed, in its field
        ret = MonthlyReturn.objects.get()  # the PMO's assurance stands
        assert (ret.actual, ret.pmo_assured, ret.assured_by) == (
            Decimal("900"),
            Decimal("900"),
            people["elr-pmo"],
        )
        assert form["token"].value() == ret.updated_at.isoformat() != token

        response = lead.post(
            edit_url(scheme, 3), {**typed, "token": form["token"].value()}, follow=True
        )

    assert "Its PMO assurance was cleared" in visible(response)
    ret = MonthlyReturn.objects.get()
    assert (ret.actual, ret.commentary, ret.assured_at) == (
        Decimal("120000"),
        COMMENTARY.strip(),
        None,
    )


def test_an_assurance_sent_after_the_finance_lead_corrected_the_return_keeps_what_was_typed(
    client, people, make_scheme
):
    scheme = make_scheme()
    add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])
    pmo = as_user(client, people["elr-pmo"])
    token = pmo.get(assure_url(scheme, 3)).context["form"].initial["token"]
    reason = "£50 of it is a July invoice paid in June."
    with time_machine.travel(A_MINUTE_LATER, tick=False):
        monthly_returns.return_save(
            scheme_id=scheme.pk,
            month=3,
            by=people["elr-finance-reviewer"],
            actual=Decimal("960"),
            commentary="Late invoice.",
        )

        response = pmo.post(
            assure_url(scheme, 3), {"token": token, "pmo_assured": "850", "assured_reason": reason}
        )

        assert response.status_code == 200
        page = visible(response)
        assert (
            "The Jun 2019 return was changed while you were looking at it, so nothing was "
            "saved. Saved meanwhile by ELR Finance Reviewer at 01:01: actual £960, commentary "
            "'Late invoice.'. What you typed is below: check the return, then record the "
            "assured value again."
        ) in page
        assert "Actual saving reported (£960)" in page  # the return as it now stands
        form = response.context["form"]
        assert form["pmo_assured"].value() == "£850"
        assert reason in page
        ret = MonthlyReturn.objects.get()
        assert (ret.actual, ret.assured_at) == (Decimal("960"), None)
        assert form["token"].value() == ret.updated_at.isoformat() != token

        response = pmo.post(
            assure_url(scheme, 3),
            {"token": form["token"].value(), "pmo_assured": "850", "assured_reason": reason},
            follow=True,
        )

    assert "The Jun 2019 return is assured." in visible(response)
    ret = MonthlyReturn.objects.get()
    assert (ret.pmo_assured, ret.assured_reason, ret.actual) == (Decimal("850"), reason, 960)


@pytest.mark.parametrize(
    "who", ["elr-sro", "elr-pmo", "elr-finance-reviewer-2", "elr-viewer", "wl-finance-reviewer"]
)
def test_others_get_a_403_saying_who_enters_returns(client, people, make_scheme, who):
    scheme = make_scheme()
    user = as_user(client, people[who])

    assert "Enter a monthly return" not in text(user.get(scheme.get_absolute_url()))
    for response in [
        user.get(new_url(scheme)),
        user.post(new_url(scheme), {"token": "", "month": "1", "actual": "5"}),
        user.post(edit_url(scheme, 1), {"token": "", "actual": "5"}),
    ]:
        assert response.status_code == 403
        assert "Only the scheme's finance lead or project lead can enter or correct" in text(
            response
        )
    assert not MonthlyReturn.objects.exists()


def test_a_user_of_another_system_cannot_see_the_scheme_at_all(client, people, make_scheme):
    response = as_user(client, people["nn-finance-reviewer"]).get(new_url(make_scheme()))

    assert response.status_code == 403
    assert "You do not have access to this scheme." in text(response)


# --- PMO assurance ---


def test_the_pmo_assures_a_return_at_a_value_of_its_own(client, people, make_scheme):
    scheme = make_scheme()
    add_return(scheme, 3, "900", "12000", by=people["elr-finance-reviewer"])
    pmo = as_user(client, people["elr-pmo"])
    assert "Assure the Jun 2019 return" in text(pmo.get(reverse("my_tasks")))
    form = pmo.get(assure_url(scheme, 3))
    assert form.context["form"].initial["pmo_assured"] == Decimal("900")

    response = pmo.post(
        assure_url(scheme, 3),
        {
            "token": form.context["form"].initial["token"],
            "pmo_assured": "850",
            "assured_reason": "£50 of it fell in July.",
        },
        follow=True,
    )

    page = text(response)
    assert "The Jun 2019 return is assured." in page
    assert "Month 3 PMO assured value: (empty) → (£850)" in page
    ret = MonthlyReturn.objects.get()
    assert (ret.actual, ret.pmo_assured, ret.assured_by) == (
        Decimal("900"),
        Decimal("850"),
        people["elr-pmo"],
    )
    assert "Assure the Jun 2019 return" not in text(pmo.get(reverse("my_tasks")))


def assured_twice(client, people, make_scheme, *, second_by: str, second_value: str = "850"):
    """elr-pmo assures the June return at £850 from the form; then `second_by` sends the same
    form (drawn before that assurance), at `second_value`: the page they land on."""
    scheme = make_scheme()
    add_return(scheme, 3, "900", "12000", by=people["elr-finance-reviewer"])
    # entered an hour ago: the clock stands still in these tests, and the form's token is
    # the time the return was last saved
    MonthlyReturn.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    token = as_user(client, people["elr-pmo"]).get(assure_url(scheme, 3)).context["form"]
    sent = {"token": token.initial["token"], "assured_reason": "£50 of it fell in July."}
    client.post(assure_url(scheme, 3), {**sent, "pmo_assured": "850"})
    as_user(client, people[second_by])
    return client.post(assure_url(scheme, 3), {**sent, "pmo_assured": second_value}, follow=True)


def assurance_entries() -> int:
    return SchemeChange.objects.filter(field="Month 3 PMO assured value").count()


def test_assuring_a_return_twice_from_one_page_says_it_is_assured(client, people, make_scheme):
    response = assured_twice(client, people, make_scheme, second_by="elr-pmo")

    page = text(response)
    assert "The Jun 2019 return is assured." in page
    assert "changed while you were looking at it" not in page
    assert assurance_entries() == 1
    ret = MonthlyReturn.objects.get()
    assert (ret.pmo_assured, ret.assured_by) == (Decimal("850"), people["elr-pmo"])


def test_another_value_sent_from_the_same_old_page_is_still_a_conflict(client, people, make_scheme):
    response = assured_twice(client, people, make_scheme, second_by="elr-pmo", second_value="800")

    assert "was changed while you were looking at it, so nothing was saved" in text(response)
    assert assurance_entries() == 1
    assert MonthlyReturn.objects.get().pmo_assured == Decimal("850")


def test_someone_elses_assurance_at_the_same_value_is_still_a_conflict(client, people, make_scheme):
    response = assured_twice(client, people, make_scheme, second_by="elr-pmo-2")

    assert "was changed while you were looking at it, so nothing was saved" in text(response)
    assert assurance_entries() == 1
    assert MonthlyReturn.objects.get().assured_by == people["elr-pmo"]


def test_an_assured_value_must_be_a_number(client, people, make_scheme):
    scheme = make_scheme()
    add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])

    response = as_user(client, people["elr-pmo"]).post(
        assure_url(scheme, 3), {"token": "", "pmo_assured": "nine hundred"}
    )

    assert "PMO assured value (£): Enter an amount in pounds, like 83,000 or 83k." in text(response)
    assert MonthlyReturn.objects.get().assured_at is None


@pytest.mark.parametrize(
    "who, reason",
    [
        ("wl-pmo", "Only the PMO of the scheme's organisation can assure its returns."),
        ("elr-finance-reviewer", "Only the PMO of the scheme's organisation can assure"),
        ("elr-qag-member", "Only the PMO of the scheme's organisation can assure"),
    ],
)
def test_assurance_is_a_403_for_anyone_but_the_organisations_pmo(
    client, people, make_scheme, who, reason
):
    scheme = make_scheme()
    add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])

    response = as_user(client, people[who]).post(
        assure_url(scheme, 3), {"token": "", "pmo_assured": "900"}
    )

    assert response.status_code == 403
    assert reason in text(response)
    assert MonthlyReturn.objects.get().assured_at is None


def test_the_pmo_officer_who_entered_a_return_cannot_assure_it(client, people, make_scheme):
    pmo = people["elr-pmo"]
    scheme = make_scheme(finance_lead=pmo)
    user = as_user(client, pmo)
    user.post(new_url(scheme), {"token": "", "month": "3", "actual": "900"})

    page = text(user.get(scheme.get_absolute_url()))
    assert "Assure the Jun 2019 return" not in page  # no link for them
    response = user.post(assure_url(scheme, 3), {"token": "", "pmo_assured": "900"})

    assert response.status_code == 403
    assert "You are this scheme's finance lead" in text(response)
    assert "Assure" in text(as_user(client, people["elr-pmo-2"]).get(scheme.get_absolute_url()))


def test_correcting_an_assured_return_tells_the_user_the_assurance_was_cleared(
    client, people, make_scheme
):
    scheme = make_scheme()
    ret = add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])
    as_user(client, people["elr-pmo"]).post(
        assure_url(scheme, 3), {"token": ret.updated_at.isoformat(), "pmo_assured": "900"}
    )
    ret.refresh_from_db()
    assert ret.assured_at is not None
    finance = as_user(client, people["elr-finance-reviewer"])
    assert "Assured by ELR Pmo" in text(finance.get(edit_url(scheme, 3)))

    response = finance.post(
        edit_url(scheme, 3),
        {"token": ret.updated_at.isoformat(), "actual": "1000", "forecast_outturn": ""},
        follow=True,
    )

    assert "Its PMO assurance was cleared: the PMO will assure it again." in text(response)
    assert SchemeChange.objects.filter(field="Month 3 PMO assured value").count() == 2


# --- tasks ---


def test_the_finance_lead_and_project_lead_see_the_returns_due_as_tasks(
    client, people, make_scheme
):
    scheme = make_scheme()
    for month in (1, 2, 3):
        add_return(scheme, month, "1000")

    for who in ("elr-finance-reviewer", "elr-project-lead"):
        page = text(as_user(client, people[who]).get(reverse("my_tasks")))
        assert "Enter the Jul 2019 return (overdue)" in page  # due by 10 August
        assert "Enter the Jun 2019 return" not in page  # in already
    with time_machine.travel(date(2019, 8, 5), tick=False):
        page = text(as_user(client, people["elr-finance-reviewer"]).get(reverse("my_tasks")))
    assert "Enter the Jul 2019 return (due by 10 August 2019)" in page
    assert "Enter the" not in text(as_user(client, people["elr-sro"]).get(reverse("my_tasks")))


def test_returns_past_their_deadline_show_as_overdue_tasks(client, people, make_scheme):
    make_scheme()

    page = text(as_user(client, people["elr-finance-reviewer"]).get(reverse("my_tasks")))

    assert "Enter the Apr 2019 return (overdue)" in page
    assert "Enter the Jun 2019 return (overdue)" in page


def test_the_pmo_has_one_assurance_task_per_scheme(client, people, make_scheme):
    scheme = make_scheme()
    for month in (1, 2):
        add_return(scheme, month, "1000", by=people["elr-finance-reviewer"])

    page = text(as_user(client, people["elr-pmo"]).get(reverse("my_tasks")))

    assert "Assure 2 returns (Apr 2019, May 2019)" in page
    other = text(as_user(client, people["wl-pmo"]).get(reverse("my_tasks")))
    assert "Assure 2 returns" not in other and scheme.reference not in other


def test_an_assurance_task_names_each_waiting_month_when_one_between_is_assured(
    client, people, make_scheme
):
    scheme = make_scheme()
    for month in (1, 2, 3):
        add_return(scheme, month, "1000", by=people["elr-finance-reviewer"])
    pmo = as_user(client, people["elr-pmo"])
    token = pmo.get(assure_url(scheme, 2)).context["form"].initial["token"]
    assured = pmo.post(assure_url(scheme, 2), {"token": token, "pmo_assured": "1000"})
    assert assured.status_code == 302

    page = text(pmo.get(reverse("my_tasks")))

    assert "Assure 2 returns (Apr 2019, Jun 2019)" in page


# --- the new-return page offers the months still to return ---


def test_a_new_return_starts_at_the_first_month_still_missing_and_offers_only_those(
    client, people, make_scheme
):
    scheme = make_scheme()
    for month in (1, 2, 3, 5):
        add_return(scheme, month, "900", by=people["elr-finance-reviewer"])

    form = as_user(client, people["elr-finance-reviewer"]).get(new_url(scheme))

    assert form.status_code == 200
    assert form.context["form"]["month"].value() == 4  # Jul 2019, the first one missing
    # begun on 15 August and without a return: July and nothing else (August is in)
    assert [label for _m, label in form.context["form"].fields["month"].choices] == [
        "Jul 2019 (month 4)"
    ]
    assert "Apr 2019 (month 1)" not in text(form)
    assert "Sep 2019 (month 6)" not in text(form)  # not begun


def test_a_month_asked_for_in_the_address_is_chosen(client, people, make_scheme):
    scheme = make_scheme()

    form = as_user(client, people["elr-finance-reviewer"]).get(new_url(scheme) + "?month=3")

    assert form.context["form"]["month"].value() == "3"
    assert len(form.context["form"].fields["month"].choices) == 5  # April to August


def test_with_every_month_begun_returned_the_page_says_so(client, people, make_scheme):
    scheme = make_scheme()
    for month in range(1, 6):
        add_return(scheme, month, "900", by=people["elr-finance-reviewer"])

    response = as_user(client, people["elr-finance-reviewer"]).get(new_url(scheme), follow=True)

    assert response.redirect_chain == [(scheme.get_absolute_url() + "#delivery", 302)]
    assert (
        "Every month of 2019/20 that has begun has its return in. To change one, choose "
        "Correct beside its month in the delivery section."
    ) in text(response)
    assert not AccessRefusal.objects.exists()


def test_before_the_year_begins_the_page_says_when_the_first_return_opens(
    client, people, make_scheme
):
    scheme = make_scheme(financial_year=FinancialYear.objects.create(start_year=2020))

    response = as_user(client, people["elr-finance-reviewer"]).get(new_url(scheme), follow=True)

    assert "Apr 2020 has not started yet: its return can be entered from 1 April 2020." in text(
        response
    )
