"""Delivery services: start, close and stop a scheme; enter, correct and assure returns."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from django_fsm_log.models import StateLog

from governance import policy
from governance.delivery import lifecycle, monthly_returns, progress, schedule
from governance.models import (
    AccessRefusal,
    FinancialYear,
    MonthlyReturn,
    Scheme,
    SchemeChange,
    SchemeState,
)
from governance.services import ActionRefused, Conflict
from notifications.models import Escalation, Level, Notification, Rule
from tests.governance import delivery_fixtures
from tests.world import add_return

people = delivery_fixtures.people  # the world with the delivery tests' extra people

pytestmark = pytest.mark.django_db

APPROVED, IN_DELIVERY = SchemeState.APPROVED, SchemeState.IN_DELIVERY


def logs(scheme):
    return list(StateLog.objects.filter(object_id=scheme.pk).order_by("timestamp"))


def refused(call, match: str):
    with pytest.raises(ActionRefused, match=match) as caught:
        call()
    return caught.value


# --- start delivery, close, stop ---


def test_the_pmo_of_the_organisation_starts_delivery_and_the_team_hears(people, make_scheme):
    scheme = make_scheme(APPROVED)
    pmo = people["elr-pmo"]

    started = lifecycle.scheme_start_delivery(
        scheme_id=scheme.pk, by=pmo, expected_version=scheme.version, comment="Go live 1 May"
    )

    assert started.state == IN_DELIVERY
    assert started.version == scheme.version + 1
    [log] = logs(scheme)
    assert (log.by, log.source_state, log.state) == (pmo, APPROVED, IN_DELIVERY)
    assert log.description == "Go live 1 May"
    told = set(
        Notification.objects.filter(kind="delivery").values_list("user__username", flat=True)
    )
    assert {"elr-project-lead", "elr-sro", "elr-finance-reviewer"} <= told


@pytest.mark.parametrize(
    "who", ["elr-project-lead", "elr-sro", "elr-finance-reviewer", "elr-qag-member", "wl-pmo"]
)
def test_start_delivery_is_refused_to_anyone_but_the_organisations_pmo(people, make_scheme, who):
    scheme = make_scheme(APPROVED)

    refused(
        lambda: lifecycle.scheme_start_delivery(
            scheme_id=scheme.pk, by=people[who], expected_version=None
        ),
        "Only the PMO of the scheme's organisation can start delivery",
    )

    scheme.refresh_from_db()
    assert scheme.state == APPROVED
    assert logs(scheme) == []
    assert AccessRefusal.objects.get(user=people[who]).action == "start_delivery"


@pytest.mark.parametrize("state", [SchemeState.DRAFT, SchemeState.IN_DELIVERY])
def test_start_delivery_is_refused_outside_approved(people, make_scheme, state):
    scheme = make_scheme(state)

    refused(
        lambda: lifecycle.scheme_start_delivery(
            scheme_id=scheme.pk, by=people["elr-pmo"], expected_version=None
        ),
        "you cannot start delivery of it now",
    )
    assert logs(scheme) == []


def test_someone_elses_change_since_the_page_loaded_is_a_conflict(people, make_scheme):
    scheme = make_scheme(APPROVED)

    with pytest.raises(Conflict):
        lifecycle.scheme_start_delivery(
            scheme_id=scheme.pk, by=people["elr-pmo"], expected_version=scheme.version - 1
        )
    assert logs(scheme) == []


@pytest.mark.parametrize("who", ["elr-pmo", "elr-sro"])
def test_the_pmo_or_the_sro_closes_a_scheme_with_its_closure_report(people, make_scheme, who):
    scheme = make_scheme()

    closed = lifecycle.scheme_complete(
        scheme_id=scheme.pk,
        by=people[who],
        expected_version=scheme.version,
        delivered="  Follow-ups down 30%  ",
        lessons="Start the clinic audit earlier.",
    )

    assert closed.state == SchemeState.COMPLETED
    assert closed.closure_delivered == "Follow-ups down 30%"
    assert closed.closure_lessons == "Start the clinic audit earlier."
    [log] = logs(scheme)
    assert (log.by, log.source_state, log.state) == (people[who], IN_DELIVERY, "completed")
    assert "Follow-ups down 30%" in log.description


@pytest.mark.parametrize("who", ["elr-project-lead", "elr-finance-reviewer", "wl-pmo", "wl-sro"])
def test_closing_is_refused_to_others(people, make_scheme, who):
    scheme = make_scheme()

    refused(
        lambda: lifecycle.scheme_complete(
            scheme_id=scheme.pk,
            by=people[who],
            expected_version=None,
            delivered="x",
            lessons="y",
        ),
        "Only the PMO of the scheme's organisation or its SRO can close",
    )
    scheme.refresh_from_db()
    assert scheme.state == IN_DELIVERY
    assert scheme.closure_delivered == ""


def test_closing_needs_what_was_delivered_and_the_lessons(people, make_scheme):
    scheme = make_scheme()

    refused(
        lambda: lifecycle.scheme_complete(
            scheme_id=scheme.pk,
            by=people["elr-pmo"],
            expected_version=None,
            delivered="x",
            lessons="  ",
        ),
        "Write what was delivered and the lessons learned",
    )
    assert logs(scheme) == []


def test_a_scheme_not_in_delivery_cannot_be_closed(people, make_scheme):
    scheme = make_scheme(APPROVED)

    refused(
        lambda: lifecycle.scheme_complete(
            scheme_id=scheme.pk,
            by=people["elr-pmo"],
            expected_version=None,
            delivered="x",
            lessons="y",
        ),
        "This scheme is approved: you cannot close it now",
    )


def at_qag(scheme, people) -> Escalation:
    """A live escalation of the scheme, raised to QAG."""
    now = timezone.now()
    return Escalation.objects.create(
        scheme=scheme,
        rule=Rule.OFF_TRACK,
        level=Level.QAG,
        owner=people["elr-sro"],
        reason="Behind plan.",
        raised_at=now,
        last_fired_at=now,
        raised_to_qag_at=now,
    )


def test_a_scheme_is_not_stopped_outside_a_qag_decision(people, make_scheme):
    scheme = make_scheme()  # in delivery, with no escalation at QAG level

    refused(
        lambda: lifecycle.scheme_stop(
            scheme_id=scheme.pk,
            by=people["wl-qag-member"],
            expected_version=None,
            decision="Stop.",
        ),
        "A scheme is stopped only by a QAG decision on one of its escalations at QAG level",
    )
    assert logs(scheme) == []


def test_a_qag_member_stops_a_scheme_recording_the_decision(people, make_scheme):
    scheme = make_scheme()
    at_qag(scheme, people)
    qag = people["wl-qag-member"]  # QAG sits across the system

    stopped = lifecycle.scheme_stop(
        scheme_id=scheme.pk,
        by=qag,
        expected_version=scheme.version,
        decision="No prospect of delivery.",
    )

    assert stopped.state == SchemeState.STOPPED
    assert stopped.stop_decision == "No prospect of delivery."
    [log] = logs(scheme)
    assert (log.by, log.state) == (qag, "stopped")
    assert log.description == "Stopped by QAG decision: No prospect of delivery."


def test_a_qag_member_on_the_scheme_team_cannot_stop_it(people, make_scheme):
    qag = people["elr-qag-member"]
    scheme = make_scheme(clinical_lead=qag)
    at_qag(scheme, people)

    refused(
        lambda: lifecycle.scheme_stop(
            scheme_id=scheme.pk, by=qag, expected_version=None, decision="Stop."
        ),
        "You are this scheme's clinical lead",
    )
    assert logs(scheme) == []


@pytest.mark.parametrize("who", ["elr-pmo", "elr-sro", "elr-viewer"])
def test_stopping_is_refused_to_anyone_but_qag(people, make_scheme, who):
    scheme = make_scheme()
    at_qag(scheme, people)

    refused(
        lambda: lifecycle.scheme_stop(
            scheme_id=scheme.pk, by=people[who], expected_version=None, decision="Stop."
        ),
        "Only a member of the QIPP Assurance Group can record QAG's decision",
    )


def test_stopping_needs_the_decision_and_a_scheme_in_delivery(people, make_scheme):
    qag = people["elr-qag-member"]
    refused(
        lambda: lifecycle.scheme_stop(
            scheme_id=make_scheme().pk, by=qag, expected_version=None, decision=" "
        ),
        "Record QAG's decision",
    )
    refused(
        lambda: lifecycle.scheme_stop(
            scheme_id=make_scheme(APPROVED).pk, by=qag, expected_version=None, decision="Stop."
        ),
        "This scheme is approved: you cannot stop it now",
    )


# --- monthly returns ---


def save(scheme, by, month=3, actual="900", forecast=None, commentary="", token=None):
    return monthly_returns.return_save(
        scheme_id=scheme.pk,
        month=month,
        by=by,
        actual=Decimal(actual),
        forecast_outturn=None if forecast is None else Decimal(forecast),
        commentary=commentary,
        expected_token=token,
    )


@pytest.mark.parametrize("who", ["elr-finance-reviewer", "elr-project-lead"])
def test_the_finance_lead_or_project_lead_enters_a_return(people, make_scheme, who):
    scheme = make_scheme()

    saved = save(scheme, people[who], actual="900.50", forecast="11500", commentary="Slow start")

    assert saved.created
    ret = MonthlyReturn.objects.get(scheme=scheme, month=3)
    assert (ret.actual, ret.forecast_outturn, ret.commentary) == (
        Decimal("900.50"),
        Decimal("11500"),
        "Slow start",
    )
    assert ret.entered_by == people[who]
    assert ret.assured_at is None
    recorded = {c.field: (c.old_value, c.new_value) for c in SchemeChange.objects.all()}
    assert recorded == {
        "Month 3 actual": ("", "(£900.50)"),
        "Month 3 forecast outturn": ("", "(£11,500)"),
        "Month 3 commentary": ("", "Slow start"),
    }


@pytest.mark.parametrize(
    "who", ["elr-sro", "elr-finance-reviewer-2", "elr-pmo", "wl-finance-reviewer", "elr-viewer"]
)
def test_nobody_else_enters_a_return_and_the_refusal_is_recorded(people, make_scheme, who):
    scheme = make_scheme()

    refused(
        lambda: save(scheme, people[who]),
        "Only the scheme's finance lead or project lead can enter or correct its returns",
    )

    assert not MonthlyReturn.objects.exists()
    assert AccessRefusal.objects.get(user=people[who]).action == "enter_return"


def test_a_scheme_without_a_finance_lead_takes_returns_from_its_project_lead_only(
    people, make_scheme
):
    scheme = make_scheme(finance_lead=None)

    refused(lambda: save(scheme, people["elr-finance-reviewer"]), "finance lead or project lead")
    assert save(scheme, people["elr-project-lead"]).created


def test_returns_wait_until_delivery_starts(people, make_scheme):
    scheme = make_scheme(APPROVED)

    refused(
        lambda: save(scheme, people["elr-finance-reviewer"]),
        "Monthly returns start once the scheme is in delivery; it is approved",
    )


@time_machine.travel(date(2020, 1, 20), tick=False)  # while 2019/20 is open: test_closed_returns
def test_a_completed_scheme_can_still_have_a_past_return_corrected(people, make_scheme):
    scheme = make_scheme(SchemeState.COMPLETED)
    add_return(scheme, 3, "500", by=people["elr-finance-reviewer"])

    saved = save(scheme, people["elr-finance-reviewer"], actual="600")

    assert [c.new_value for c in saved.changes] == ["(£600)"]


@time_machine.travel(date(2019, 6, 20), tick=False)
def test_a_return_for_a_month_not_yet_begun_is_refused(people, make_scheme):
    scheme = make_scheme()

    refused(
        lambda: save(scheme, people["elr-finance-reviewer"], month=4),
        "Jul 2019 has not started yet: its return can be entered from 1 July 2019",
    )
    assert save(scheme, people["elr-finance-reviewer"], month=3).created  # June: begun


def test_a_month_outside_the_year_is_refused(people, make_scheme):
    refused(
        lambda: save(make_scheme(), people["elr-finance-reviewer"], month=13),
        "Choose a month from 1 \\(April\\) to 12 \\(March\\)",
    )


def test_negative_actuals_and_forecasts_are_accepted_when_costs_rose(people, make_scheme):
    scheme = make_scheme()

    save(scheme, people["elr-finance-reviewer"], actual="-250", forecast="-1000")

    ret = MonthlyReturn.objects.get()
    assert (ret.actual, ret.forecast_outturn) == (Decimal("-250"), Decimal("-1000"))
    assert SchemeChange.objects.get(field="Month 3 actual").new_value == "£250"


def test_a_correction_records_each_changed_figure_with_who_and_what_it_was(people, make_scheme):
    scheme = make_scheme()
    lead, finance = people["elr-project-lead"], people["elr-finance-reviewer"]
    first = save(scheme, finance, actual="900", forecast="12000", commentary="On track")

    corrected = save(
        scheme,
        lead,
        actual="950",
        forecast="12000",
        commentary="On track",
        token=monthly_returns.return_token(first.monthly_return),
    )

    assert not corrected.created
    [change] = corrected.changes
    assert (change.field, change.old_value, change.new_value, change.changed_by) == (
        "Month 3 actual",
        "(£900)",
        "(£950)",
        lead,
    )
    ret = MonthlyReturn.objects.get()
    assert ret.actual == Decimal("950")
    assert ret.entered_by == finance  # who first entered it; the correction is in the history
    history = [(c.field, c.new_value) for c in monthly_returns.return_history(scheme, 3)]
    assert history[0] == ("Month 3 actual", "(£950)")
    assert ("Month 3 actual", "(£900)") in history


def test_saving_the_same_figures_again_records_nothing(people, make_scheme):
    scheme = make_scheme()
    save(scheme, people["elr-finance-reviewer"], forecast="12000")
    before = SchemeChange.objects.count()

    again = save(scheme, people["elr-finance-reviewer"], forecast="12000.00")

    assert again.changes == []
    assert SchemeChange.objects.count() == before


def test_a_stale_form_does_not_overwrite_a_return_saved_meanwhile(people, make_scheme):
    scheme = make_scheme()
    save(scheme, people["elr-finance-reviewer"], actual="900")

    with pytest.raises(Conflict):
        # the project lead's form was drawn when there was no return yet
        save(scheme, people["elr-project-lead"], actual="100", token="")

    assert MonthlyReturn.objects.get().actual == Decimal("900")


def test_correcting_the_figures_of_an_assured_return_clears_its_assurance(people, make_scheme):
    scheme = make_scheme()
    ret = add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])
    monthly_returns.return_assure(
        scheme_id=scheme.pk,
        month=3,
        by=people["elr-pmo"],
        value=Decimal("850"),
        reason="An invoice of £50 fell in July.",
    )

    saved = save(scheme, people["elr-finance-reviewer"], actual="1000")

    ret.refresh_from_db()
    assert (ret.pmo_assured, ret.assured_by, ret.assured_at) == (None, None, None)
    cleared = [c for c in saved.changes if c.field == "Month 3 PMO assured value"]
    assert [(c.old_value, c.new_value) for c in cleared] == [
        ("(£850)", "cleared: the figures were corrected")
    ]


def test_correcting_only_the_commentary_keeps_the_assurance(people, make_scheme):
    scheme = make_scheme()
    add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])
    monthly_returns.return_assure(
        scheme_id=scheme.pk, month=3, by=people["elr-pmo"], value=Decimal("900")
    )

    save(scheme, people["elr-finance-reviewer"], actual="900", commentary="Clinic moved")

    assert MonthlyReturn.objects.get().pmo_assured == Decimal("900")


def test_saving_a_return_calls_the_hooks_inside_its_transaction(people, make_scheme, monkeypatch):
    scheme = make_scheme()
    calls = []
    monkeypatch.setattr(
        monthly_returns,
        "RETURN_SAVED_HOOKS",
        [lambda **kwargs: calls.append((kwargs["monthly_return"].month, kwargs["created"]))],
    )

    save(scheme, people["elr-finance-reviewer"], actual="900")
    save(scheme, people["elr-finance-reviewer"], actual="950")
    save(scheme, people["elr-finance-reviewer"], actual="950")  # nothing changed: no hook

    assert calls == [(3, True), (3, False)]

    def broken(**kwargs):
        raise RuntimeError("escalation rules failed")

    monkeypatch.setattr(monthly_returns, "RETURN_SAVED_HOOKS", [broken])
    with pytest.raises(RuntimeError):
        save(scheme, people["elr-finance-reviewer"], month=4, actual="1")
    assert not MonthlyReturn.objects.filter(month=4).exists()  # all or nothing


# --- PMO assurance ---


def test_the_pmo_of_the_organisation_assures_a_return_at_its_own_value(people, make_scheme):
    scheme = make_scheme()
    add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])
    pmo = people["elr-pmo"]

    ret = monthly_returns.return_assure(
        scheme_id=scheme.pk, month=3, by=pmo, value=Decimal("850"), reason="£50 fell in July."
    )

    assert (ret.actual, ret.pmo_assured, ret.assured_by) == (Decimal("900"), Decimal("850"), pmo)
    assert ret.assured_at is not None
    change = SchemeChange.objects.get(field="Month 3 PMO assured value")
    assert (change.old_value, change.new_value, change.changed_by) == ("", "(£850)", pmo)


@pytest.mark.parametrize(
    "who", ["wl-pmo", "elr-finance-reviewer", "elr-project-lead", "elr-qag-member", "elr-sro"]
)
def test_assurance_is_refused_to_anyone_but_the_organisations_pmo(people, make_scheme, who):
    scheme = make_scheme()
    add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])

    refused(
        lambda: monthly_returns.return_assure(
            scheme_id=scheme.pk, month=3, by=people[who], value=Decimal("900")
        ),
        "Only the PMO of the scheme's organisation can assure its returns",
    )
    assert MonthlyReturn.objects.get().assured_at is None
    assert AccessRefusal.objects.get(user=people[who]).action == "assure_return"


def test_a_pmo_member_never_assures_a_return_they_entered(people, make_scheme):
    pmo = people["elr-pmo"]
    scheme = make_scheme(finance_lead=pmo)  # a PMO officer who is also the finance lead
    save(scheme, pmo, actual="900")

    refused(
        lambda: monthly_returns.return_assure(
            scheme_id=scheme.pk, month=3, by=pmo, value=Decimal("900")
        ),
        "You are this scheme's finance lead",
    )
    # no longer its finance lead: still not the one to assure what they entered
    Scheme.objects.filter(pk=scheme.pk).update(finance_lead=people["elr-finance-reviewer-2"])
    refused(
        lambda: monthly_returns.return_assure(
            scheme_id=scheme.pk, month=3, by=pmo, value=Decimal("900")
        ),
        "You entered or corrected this return",
    )
    assured = monthly_returns.return_assure(
        scheme_id=scheme.pk, month=3, by=people["elr-pmo-2"], value=Decimal("900")
    )
    assert assured.assured_by == people["elr-pmo-2"]


def test_a_pmo_member_never_assures_a_return_they_corrected(people, make_scheme):
    pmo = people["elr-pmo"]
    scheme = make_scheme(finance_lead=pmo)
    add_return(scheme, 3, "900", by=people["elr-project-lead"])
    save(scheme, pmo, actual="950")

    refused(
        lambda: monthly_returns.return_assure(
            scheme_id=scheme.pk, month=3, by=pmo, value=Decimal("950")
        ),
        "segregation of duties",
    )


def test_there_is_nothing_to_assure_before_a_return_is_in(people, make_scheme):
    refused(
        lambda: monthly_returns.return_assure(
            scheme_id=make_scheme().pk, month=3, by=people["elr-pmo"], value=Decimal("1")
        ),
        "There is no return for that month to assure yet",
    )


def test_assuring_a_return_changed_since_the_page_loaded_is_a_conflict(people, make_scheme):
    scheme = make_scheme()
    ret = add_return(scheme, 3, "900", by=people["elr-finance-reviewer"])
    token = monthly_returns.return_token(ret)
    save(scheme, people["elr-finance-reviewer"], actual="100")

    with pytest.raises(Conflict):
        monthly_returns.return_assure(
            scheme_id=scheme.pk,
            month=3,
            by=people["elr-pmo"],
            value=Decimal("900"),
            expected_token=token,
        )
    assert MonthlyReturn.objects.get().assured_at is None


def test_policy_answers_the_pages_questions_about_returns(people, make_scheme):
    scheme = make_scheme()
    assert policy.refusal("enter_return", people["elr-finance-reviewer"], scheme) is None
    assert policy.refusal("assure_return", people["elr-pmo"], scheme) is None
    assert policy.refusal("enter_return", people["nn-pmo"], scheme) == (
        "You do not have access to this scheme."
    )


# --- deadlines and missing returns ---


@pytest.mark.parametrize(
    "month, deadline",
    [(1, date(2019, 5, 10)), (9, date(2020, 1, 10)), (12, date(2020, 4, 10))],
)
def test_a_months_return_is_due_by_the_tenth_of_the_next_month(people, month, deadline):
    assert schedule.return_deadline(FinancialYear.objects.get(), month) == deadline


def test_the_deadline_day_is_a_setting(people, settings):
    settings.QIPP_RETURN_DEADLINE_DAY = 31
    year = FinancialYear.objects.get()
    assert schedule.return_deadline(year, 1) == date(2019, 5, 31)
    assert schedule.return_deadline(year, 2) == date(2019, 6, 30)  # June has 30 days


def test_missing_returns_list_schemes_in_delivery_that_had_started(people, make_scheme):
    year = FinancialYear.objects.get()
    returned = make_scheme(title="Returned")
    add_return(returned, 4, "1000")
    silent = make_scheme(title="Silent")
    make_scheme(title="Starts in August", start_date=date(2019, 8, 1))
    make_scheme(APPROVED, title="Not started")
    make_scheme(SchemeState.COMPLETED, title="Closed")

    before = progress.missing_returns(year, 4, today=date(2019, 8, 10))
    after = progress.missing_returns(year, 4, today=date(2019, 8, 11))

    assert [(m.scheme, m.label, m.deadline, m.overdue) for m in before] == [
        (silent, "Jul 2019", date(2019, 8, 10), False)
    ]
    assert [m.overdue for m in after] == [True]


def test_overdue_returns_cover_every_month_past_its_deadline(people, make_scheme):
    scheme = make_scheme()
    add_return(scheme, 2, "1000")

    found = progress.overdue_returns(today=date(2019, 7, 11))  # Apr-Jun past their deadlines

    assert [(m.scheme, m.month) for m in found] == [(scheme, 1), (scheme, 3)]
