"""A financial year closes the day after the return deadline of the April that follows it
(governance.delivery.schedule.closes_on: 11 May). Until then its March returns are chased and
QAG reads its figures; from then on its schemes are neither escalated nor reminded, and are not
in the QAG pack. A past year loaded with qipp_import --historical is closed from the start."""

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from governance.models import MonthlyReturn, Scheme, SchemeState
from notifications import qag
from notifications.models import Escalation, EscalationStatus, Rule
from notifications.sweep import sweep
from tests.governance.report_fixtures import import_example
from tests.notifications.conftest import at
from tests.pages import text
from tests.world import add_return

pytestmark = pytest.mark.django_db


@time_machine.travel(at(2026, 12, 5, 9), tick=False)
def test_importing_a_past_year_raises_no_escalation_mail_task_or_pack_entry(
    client, llr, people, commit
):
    commit(import_example)  # the rules the returns import queues run, as after its commit

    imported = Scheme.objects.filter(financial_year__start_year=2018)
    assert imported.count() > 10 and MonthlyReturn.objects.filter(scheme__in=imported).exists()
    commit(sweep)  # and the daily sweep over every scheme
    assert not Escalation.objects.exists()
    assert mail.outbox == []
    pack = qag.assemble(llr.system)
    assert (pack.escalations, pack.off_track) == ([], [])
    # the PMO is not asked to assure a closed year's returns, nor the importer (standing in for
    # the team) to enter its missing months
    client.force_login(people["elr-pmo"])
    tasks = text(client.get(reverse("my_tasks")))
    assert "returns (Apr 2018" not in tasks and "Assure the" not in tasks
    client.force_login(imported.first().project_lead)
    assert "Enter the" not in text(client.get(reverse("my_tasks")))


def year_without_its_march_return(make_scheme) -> Scheme:
    """A 2019/20 scheme on plan, its March 2020 return never entered."""
    scheme = make_scheme()
    for month in range(1, 12):
        add_return(scheme, month, 1000)
    return scheme


def test_a_years_late_march_return_is_escalated_until_the_year_closes(make_scheme, llr, commit):
    scheme = year_without_its_march_return(make_scheme)

    with time_machine.travel(at(2020, 5, 10, 12), tick=False):  # the last day 2019/20 is open
        commit(sweep)
        assert [e.scheme for e in qag.assemble(llr.system).escalations] == [scheme]
    escalation = Escalation.objects.get()
    assert escalation.rule == Rule.MISSING_RETURN and "Mar 2020" in escalation.reason

    with time_machine.travel(at(2020, 5, 11, 9), tick=False):  # 2019/20 has closed
        commit(sweep)
        assert qag.assemble(llr.system).escalations == []

    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.RESOLVED
    assert Escalation.objects.count() == 1  # and it is not raised again


def test_a_closed_years_scheme_is_not_in_the_pack_even_off_track(make_scheme, llr):
    scheme = make_scheme()
    add_return(scheme, 1, 0)  # far behind plan

    with time_machine.travel(at(2019, 6, 20, 9), tick=False):
        assert [row.scheme for row in qag.assemble(llr.system).off_track] == [scheme]
    with time_machine.travel(at(2026, 12, 5, 9), tick=False):
        assert qag.assemble(llr.system).off_track == []
        # a pack chosen as at a month of the year still rates it
        as_at = qag.assemble(llr.system, as_at=date(2019, 6, 1))
        assert [row.scheme for row in as_at.off_track] == [scheme]


def test_a_closed_years_scheme_waiting_to_start_is_not_reminded(make_scheme, commit):
    make_scheme(SchemeState.APPROVED, state_changed_at=at(2019, 6, 1, 9))

    with time_machine.travel(at(2019, 7, 1, 9), tick=False):  # its year open: reminded
        commit(sweep)
    assert len(mail.outbox) == 1 and "start of delivery" in mail.outbox[0].body
    mail.outbox.clear()

    with time_machine.travel(at(2026, 12, 5, 9), tick=False):
        result = commit(lambda: sweep())

    assert result.reminders == [] and mail.outbox == []


def test_a_decision_on_a_closed_years_scheme_is_not_in_the_packs_decisions(
    make_scheme, llr, people
):
    scheme = make_scheme(SchemeState.STOPPED)
    raised = at(2020, 3, 2, 9)
    Escalation.objects.create(
        scheme=scheme,
        rule=Rule.OFF_TRACK,
        status=EscalationStatus.CLOSED,
        owner=scheme.sro,
        reason="Behind plan.",
        raised_at=raised,
        last_fired_at=raised,
        decision="stop",
        decision_meeting=date(2026, 12, 3),
        decided_at=at(2026, 12, 3, 15),  # recorded long after its year closed
        decided_by=people["elr-qag-member"],
    )

    with time_machine.travel(at(2026, 12, 5, 9), tick=False):
        assert qag.assemble(llr.system).decisions == []
        # a pack as at a month of its year shows it, as it shows the year's other figures
        assert [e.scheme for e in qag.assemble(llr.system, as_at=date(2020, 3, 1)).decisions] == [
            scheme
        ]
