"""The escalation rules at their edges (time travel, never sleeps), dedupe, self-resolution,
the move to QAG, reminders, the return-saved hook and the management command."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from governance import roles
from governance.delivery import monthly_returns
from governance.models import MonthlyReturn, Review, SchemeState
from notifications.models import (
    Escalation,
    EscalationEvent,
    EscalationStatus,
    Level,
    Notification,
    OutboxEmail,
    QagListEntry,
    Rule,
)
from notifications.sweep import sweep
from qia import escalation_feed
from tests.notifications.conftest import at
from tests.world import add_return

pytestmark = pytest.mark.django_db

# 2019/20: the May return (month 2) is due by 10 June 2019. London is on BST: 09:00 UTC is
# 10:00 local, the same day.
JUNE_10 = at(2019, 6, 10, 9)
JUNE_11 = at(2019, 6, 11, 9)


def run(commit, when, **kwargs):
    with time_machine.travel(when, tick=False):
        return commit(lambda: sweep(**kwargs))


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


# --- off-track delivery (RAG red) ---


def test_a_scheme_behind_plan_by_exactly_ten_percent_is_not_escalated(make_scheme, commit):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 800)  # 10% behind the year-to-date plan of £2,000: amber
    result = run(commit, JUNE_11)
    assert result.counts()["raised"] == 0 and not Escalation.objects.exists()


def test_a_scheme_behind_by_more_than_ten_percent_raises_one_escalation_and_one_mail_each(
    make_scheme, commit, people
):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 799)
    result = run(commit, JUNE_11)
    escalation = Escalation.objects.get()
    assert result.raised == [escalation]
    assert (escalation.rule, escalation.level, escalation.status) == (
        Rule.OFF_TRACK,
        Level.PMO,
        EscalationStatus.OPEN,
    )
    assert escalation.owner == people["elr-sro"]
    assert "May 2019" in escalation.reason and "£201" in escalation.reason
    assert len(mails_to("elr-sro@example.nhs.uk")) == 1
    assert len(mails_to("elr-project-lead@example.nhs.uk")) == 1
    assert len(mails_to("elr-pmo@example.nhs.uk")) == 1  # "escalated to the PMO"
    assert len(mail.outbox) == 3
    message = mails_to("elr-sro@example.nhs.uk")[0]
    assert message.subject == f"Escalation raised: {scheme.reference} off-track delivery (RAG red)"
    assert f"/notifications/escalations/{escalation.pk}/" in message.body
    assert Notification.objects.filter(user=people["elr-sro"], kind="escalation").count() == 1
    assert EscalationEvent.objects.get().what.startswith("Escalation raised to the PMO")


def test_the_escalation_states_its_figures_as_the_pages_do(make_scheme, commit):
    scheme = make_scheme(monthly=Decimal("5000.50"))
    add_return(scheme, 1, Decimal("-1500.25"))
    add_return(scheme, 2, Decimal("0"))
    run(commit, JUNE_11)
    reason = Escalation.objects.get().reason
    # pence kept, and savings in the committee papers' sign, as on the scheme page: a cost
    # (costs rose) is a plain amount, a saving is in brackets
    assert "actual £1,500.25 against plan (£10,001)" in reason
    assert "against annual plan (£60,006)" in reason


def test_the_rag_is_read_as_at_the_month_whose_return_is_due(make_scheme, commit):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 500)  # far behind in May, but May's return is not due until 10 June
    assert run(commit, JUNE_10).counts()["raised"] == 0
    assert run(commit, JUNE_11).counts()["raised"] == 1


def test_a_forecast_short_of_plan_by_more_than_ten_percent_is_off_track(make_scheme, commit):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 1000, forecast=10800)  # exactly 10% short of £12,000: not red
    assert run(commit, JUNE_11).counts()["raised"] == 0
    MonthlyReturn.objects.filter(month=2).update(forecast_outturn=Decimal("10799.99"))
    assert run(commit, JUNE_11).counts()["raised"] == 1


def test_the_sweep_run_twice_raises_once_and_mails_once(make_scheme, commit):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 100)
    run(commit, JUNE_11)
    MonthlyReturn.objects.filter(month=2).update(actual=Decimal("50"))
    again = run(commit, JUNE_11 + timedelta(days=1))
    assert again.counts() == {
        "raised": 0,
        "updated": 1,
        "resolved": 0,
        "to_qag": 0,
        "due_again": 0,
        "reminded": 0,
    }
    escalation = Escalation.objects.get()
    assert "£950" in escalation.reason  # the finding is kept up to date
    assert len(mail.outbox) == 3 and OutboxEmail.objects.count() == 3
    assert Notification.objects.count() == 3


def test_it_resolves_itself_when_the_scheme_is_back_on_track_and_tells_who_was_told(
    make_scheme, commit, people
):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 100)
    run(commit, JUNE_11)
    MonthlyReturn.objects.filter(month=2).update(actual=Decimal("1000"))
    mail.outbox.clear()
    result = run(commit, JUNE_11 + timedelta(days=1))
    escalation = Escalation.objects.get()
    assert result.resolved == [escalation]
    assert escalation.status == EscalationStatus.RESOLVED and escalation.resolved_at
    assert sorted(m.to[0] for m in mail.outbox) == [
        "elr-pmo@example.nhs.uk",
        "elr-project-lead@example.nhs.uk",
        "elr-sro@example.nhs.uk",
    ]
    assert mail.outbox[0].subject.startswith("Escalation resolved:")
    # resolved stays resolved, and a later slip raises a new escalation
    assert run(commit, JUNE_11 + timedelta(days=2)).counts()["resolved"] == 0
    MonthlyReturn.objects.filter(month=2).update(actual=Decimal("0"))
    run(commit, JUNE_11 + timedelta(days=3))
    assert Escalation.objects.count() == 2
    assert Escalation.objects.filter(status=EscalationStatus.OPEN).count() == 1


def test_a_dry_run_keeps_nothing_and_mails_nobody(make_scheme, commit):
    scheme = make_scheme()
    add_return(scheme, 1, 0)
    result = run(commit, JUNE_11, dry_run=True)
    assert result.counts()["raised"] == 2  # off-track and May's return missing
    assert not Escalation.objects.exists() and not OutboxEmail.objects.exists()
    assert mail.outbox == []


# --- a missing return ---


def test_a_return_is_missing_from_the_day_after_its_deadline(make_scheme, commit):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    assert run(commit, JUNE_10).counts()["raised"] == 0
    run(commit, JUNE_11)
    escalation = Escalation.objects.get()
    assert escalation.rule == Rule.MISSING_RETURN
    assert "May 2019" in escalation.reason and "10 June 2019" in escalation.reason


def test_a_scheme_that_starts_later_owes_no_earlier_returns(make_scheme, commit):
    make_scheme(start_date=date(2019, 6, 1))
    assert run(commit, JUNE_11).counts()["raised"] == 0


def test_a_scheme_not_in_delivery_owes_no_return(make_scheme, commit):
    make_scheme(SchemeState.APPROVED)
    make_scheme(SchemeState.COMPLETED)
    assert run(commit, JUNE_11).counts()["raised"] == 0


def test_saving_the_missing_return_resolves_the_escalation_with_it(make_scheme, commit, people):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    run(commit, JUNE_11)
    mail.outbox.clear()
    with time_machine.travel(JUNE_11 + timedelta(hours=2), tick=False):
        commit(
            lambda: monthly_returns.return_save(
                scheme_id=scheme.pk, month=2, by=people["elr-finance-reviewer"], actual=1000
            )
        )
    escalation = Escalation.objects.get()
    assert escalation.status == EscalationStatus.RESOLVED
    assert {m.to[0] for m in mail.outbox} == {
        "elr-sro@example.nhs.uk",
        "elr-project-lead@example.nhs.uk",
        "elr-pmo@example.nhs.uk",
    }


def test_an_off_track_return_is_escalated_once_it_commits_and_never_when_it_rolls_back(
    make_scheme, commit, people
):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)

    with time_machine.travel(JUNE_11, tick=False):
        lead = people["elr-finance-reviewer"]

        def save_and_roll_back():
            with pytest.raises(RuntimeError), transaction.atomic():
                monthly_returns.return_save(scheme_id=scheme.pk, month=2, by=lead, actual=1)
                # the rules wait for the commit: nothing of theirs inside the transaction
                assert not Escalation.objects.exists()
                raise RuntimeError("the user's transaction failed")

        commit(save_and_roll_back)
        assert not Escalation.objects.exists() and mail.outbox == []
        commit(lambda: monthly_returns.return_save(scheme_id=scheme.pk, month=2, by=lead, actual=1))
    assert Escalation.objects.get().rule == Rule.OFF_TRACK
    assert len(mails_to("elr-sro@example.nhs.uk")) == 1


def test_importing_returns_that_put_a_scheme_off_track_escalates_it_once_after_the_commit(
    make_scheme, commit, people, tmp_path
):
    from governance import importers

    off, fine = make_scheme(), make_scheme()
    rows = ["reference,month,actual"] + [
        f"{scheme.reference},{month},{actual}"
        for scheme, actual in ((off, 1), (fine, 1000))
        for month in (1, 2)
    ]
    path = tmp_path / "returns.csv"
    path.write_text("\n".join(rows) + "\n")
    pmo = people["elr-pmo"]

    def do_import():
        raised_before = Escalation.objects.count()
        with path.open("rb") as handle:
            result = importers.import_file("returns", handle, name=path.name, by=pmo)
        assert Escalation.objects.count() == raised_before  # the rules wait for the commit
        return result

    with time_machine.travel(JUNE_11, tick=False):
        result = commit(do_import)
        assert result.ok and result.created == 4
        assert list(Escalation.objects.values_list("scheme", "rule")) == [(off.pk, Rule.OFF_TRACK)]
        assert len(mails_to("elr-sro@example.nhs.uk")) == 1

        commit(do_import)  # the same file again changes nothing and raises nothing new
    assert Escalation.objects.count() == 1
    assert len(mails_to("elr-sro@example.nhs.uk")) == 1


# --- a workflow step past its service level ---


def _in_challenge(make_scheme):
    return make_scheme(
        SchemeState.CONFIRM_AND_CHALLENGE, state_changed_at=at(2019, 6, 1, 9), finance_lead=None
    )


def test_reviewers_are_reminded_at_the_service_level_and_only_once(make_scheme, commit, people):
    scheme = _in_challenge(make_scheme)
    assert run(commit, at(2019, 6, 11, 8, 59)).counts()["reminded"] == 0
    result = run(commit, at(2019, 6, 11, 9))
    assert result.counts()["reminded"] == 2
    assert sorted(m.to[0] for m in mail.outbox) == [
        "elr-clinical-reviewer@example.nhs.uk",
        "elr-finance-reviewer@example.nhs.uk",
    ]
    assert "waiting 10 days" in mail.outbox[0].subject
    assert not Escalation.objects.exists()
    run(commit, at(2019, 6, 12, 9))
    assert len(mail.outbox) == 2
    assert scheme.reference in mail.outbox[0].subject


def test_a_reviewer_whose_review_is_in_is_not_reminded(make_scheme, commit, people):
    scheme = _in_challenge(make_scheme)
    Review.objects.create(
        scheme=scheme,
        kind="finance",
        round=1,
        reviewer=people["elr-finance-reviewer"],
        decision="supported",
        comment="Fine.",
    )
    run(commit, at(2019, 6, 11, 9))
    assert [m.to[0] for m in mail.outbox] == ["elr-clinical-reviewer@example.nhs.uk"]
    assert f"/schemes/{scheme.pk}/review/clinical/" in mail.outbox[0].body


def test_the_pmo_is_escalated_to_at_twice_the_service_level(make_scheme, commit):
    scheme = _in_challenge(make_scheme)
    assert run(commit, at(2019, 6, 21, 8, 59)).counts()["raised"] == 0
    run(commit, at(2019, 6, 21, 9))
    escalation = Escalation.objects.get()
    assert escalation.rule == Rule.STEP_OVERDUE and escalation.level == Level.PMO
    assert "20 days" in escalation.reason and "service level is 10 days" in escalation.reason
    # the scheme moves on: the step is no longer waiting
    type(scheme).objects.filter(pk=scheme.pk).update(state=SchemeState.QIA_PANEL)
    run(commit, at(2019, 6, 22, 9))
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.RESOLVED


@pytest.mark.parametrize(
    ("state", "days", "reminded"),
    [
        (SchemeState.QIA_PANEL, 15, ["elr-panel-member", "elr-quality-lead"]),
        (SchemeState.AWAITING_SIGN_OFF, 10, ["elr-chief-nurse", "elr-clinical-chair"]),
    ],
)
def test_panel_and_sign_off_have_their_own_service_levels(
    make_scheme, commit, state, days, reminded
):
    make_scheme(state, state_changed_at=at(2019, 6, 1, 9))
    assert run(commit, at(2019, 6, days, 9)).counts()["reminded"] == 0
    run(commit, at(2019, 6, 1 + days, 9))
    assert sorted(m.to[0].split("@")[0] for m in mail.outbox) == reminded


def test_service_levels_are_a_setting(make_scheme, commit, settings):
    settings.QIPP_SERVICE_LEVEL_DAYS = {
        "confirm_and_challenge": 2,
        "qia_panel": 15,
        "awaiting_sign_off": 10,
    }
    _in_challenge(make_scheme)
    assert run(commit, at(2019, 6, 5, 9)).counts()["raised"] == 1


def test_the_project_lead_and_sro_are_never_reminded_to_review_their_own_scheme(
    make_scheme, commit, people
):
    reviewer = people["elr-finance-reviewer"]
    make_scheme(
        SchemeState.CONFIRM_AND_CHALLENGE,
        state_changed_at=at(2019, 6, 1, 9),
        sro=reviewer,
        finance_lead=None,
    )
    run(commit, at(2019, 6, 11, 9))
    assert [m.to[0] for m in mail.outbox] == ["elr-clinical-reviewer@example.nhs.uk"]


# --- to QAG ---


@pytest.fixture
def off_track(make_scheme, commit, people):
    """An off-track scheme escalated on 11 June 2019, and a QAG list for its system."""
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    add_return(scheme, 2, 0)
    QagListEntry.objects.create(
        system=scheme.organisation.system, email="qag-secretary@example.nhs.uk"
    )
    run(commit, JUNE_11)
    mail.outbox.clear()
    return Escalation.objects.get()


def test_with_no_remedial_action_in_fourteen_days_it_goes_to_qag(off_track, commit, people):
    assert run(commit, at(2019, 6, 25, 9)).counts()["to_qag"] == 0
    result = run(commit, at(2019, 6, 26, 9))
    off_track.refresh_from_db()
    assert result.to_qag == [off_track]
    assert off_track.level == Level.QAG and off_track.raised_to_qag_by is None
    assert sorted(m.to[0] for m in mail.outbox) == [
        "elr-project-lead@example.nhs.uk",
        "elr-qag-member@example.nhs.uk",
        "elr-sro@example.nhs.uk",
        "qag-secretary@example.nhs.uk",
        "wl-qag-member@example.nhs.uk",  # the same system; not Nottinghamshire's
    ]
    assert "no remedial action was agreed in time" in mail.outbox[0].body
    run(commit, at(2019, 6, 27, 9))
    assert len(mail.outbox) == 5  # once


def test_an_overdue_remedial_action_goes_to_qag_the_day_after_its_due_date(off_track, commit):
    Escalation.objects.filter(pk=off_track.pk).update(
        status=EscalationStatus.REMEDIAL_AGREED,
        remedial_action="Recover the lost activity.",
        remedial_due=date(2019, 7, 1),
    )
    assert run(commit, at(2019, 7, 1, 9)).counts()["to_qag"] == 0
    assert run(commit, at(2019, 7, 2, 9)).counts()["to_qag"] == 1
    assert "was due by 1 July 2019" in EscalationEvent.objects.last().detail


def test_once_resolved_everyone_told_hears_including_qag(off_track, commit):
    run(commit, at(2019, 6, 26, 9))
    MonthlyReturn.objects.filter(month=2).update(actual=Decimal("1000"))
    mail.outbox.clear()
    run(commit, at(2019, 6, 27, 9))
    assert len(mail.outbox) == 6  # the PMO, told when it was raised, too
    assert all(m.subject.startswith("Escalation resolved") for m in mail.outbox)


def test_an_inactive_qag_member_is_not_told(off_track, commit, people):
    people["wl-qag-member"].is_active = False
    people["wl-qag-member"].save()
    Group.objects.get(name=roles.QAG_MEMBER).user_set.remove(people["elr-qag-member"])
    run(commit, at(2019, 6, 26, 9))
    assert "wl-qag-member@example.nhs.uk" not in {m.to[0] for m in mail.outbox}
    assert "elr-qag-member@example.nhs.uk" not in {m.to[0] for m in mail.outbox}


# --- scale and the command ---


def _off_track_schemes(make_scheme, n):
    for _ in range(n):
        scheme = make_scheme()
        add_return(scheme, 1, 1000)
        add_return(scheme, 2, 0)


def _queries(when) -> int:
    """The sweep's own queries (the mails it queues are delivered after, one by one). A bulk
    insert counts once: SQLite's limit of parameters splits a large one into several
    statements, which is no query a scheme."""
    with time_machine.travel(when, tick=False), CaptureQueriesContext(connection) as queries:
        sweep()
    into = [q["sql"].split(" VALUES ")[0] for q in queries.captured_queries]
    return sum(
        1
        for n, sql in enumerate(into)
        if not (n and sql.startswith("INSERT INTO") and sql == into[n - 1])
    )


def test_the_sweep_costs_the_same_number_of_queries_for_3_or_30_schemes(make_scheme):
    _queries(JUNE_10)  # the very first sweep also creates the lock row
    with transaction.atomic():
        _off_track_schemes(make_scheme, 3)
        few_raised = _queries(JUNE_11)
        few_steady = _queries(JUNE_11)
        # undone, not deleted: escalation history is append-only
        transaction.set_rollback(True)
    _off_track_schemes(make_scheme, 30)
    many_raised = _queries(JUNE_11 + timedelta(hours=1))
    many_steady = _queries(JUNE_11 + timedelta(hours=1))
    assert Escalation.objects.count() == 30
    assert many_raised == few_raised
    assert many_steady == few_steady


def test_run_escalations_prints_what_it_raised_updated_and_resolved(make_scheme, commit):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    out = StringIO()
    with time_machine.travel(JUNE_11, tick=False):
        commit(lambda: call_command("run_escalations", "--dry-run", stdout=out))
    printed = out.getvalue()
    assert "Dry run" in printed and "raised 1" in printed
    assert f"raised: {scheme.reference} monthly return missing" in printed
    assert not Escalation.objects.exists() and mail.outbox == []
    out = StringIO()
    with time_machine.travel(JUNE_11, tick=False):
        commit(lambda: call_command("run_escalations", stdout=out))
    assert (
        "raised 1, updated 0, resolved 0, raised to QAG 0, due for a QAG decision again 0, "
        "reminded 0"
    ) in out.getvalue()
    assert Escalation.objects.count() == 1 and len(mail.outbox) == 3


def test_a_fault_in_the_rules_never_refuses_the_return(make_scheme, commit, people, monkeypatch):
    from notifications import rules

    scheme = make_scheme()
    monkeypatch.setattr(rules, "evaluate", mock.Mock(side_effect=RuntimeError("bug")))
    with time_machine.travel(JUNE_11, tick=False):
        saved = commit(
            lambda: monthly_returns.return_save(
                scheme_id=scheme.pk, month=1, by=people["elr-finance-reviewer"], actual=0
            )
        )
    assert saved.created and MonthlyReturn.objects.filter(scheme=scheme).count() == 1
    assert not Escalation.objects.exists()


# --- a QIA past its review date (the QIA app answers which) ---


def test_a_qia_past_its_review_date_is_escalated_and_resolves_when_reassessed(
    make_scheme, commit, monkeypatch
):
    scheme = make_scheme(SchemeState.APPROVED)
    due = {scheme.pk: "QIA v1 was due for review on 1 June 2019."}
    monkeypatch.setattr(
        escalation_feed, "review_due", lambda ids, today: {k: v for k, v in due.items() if k in ids}
    )
    run(commit, JUNE_11)
    escalation = Escalation.objects.get()
    assert escalation.rule == Rule.QIA_REVIEW_DUE and "1 June 2019" in escalation.reason
    due.clear()
    run(commit, JUNE_11 + timedelta(days=1))
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.RESOLVED
