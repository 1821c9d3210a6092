"""What the escalations read from the QIA app (qia.escalation_feed, wired in by
notifications.qia_link): review dates come, extreme sign-offs in the QAG pack."""

from datetime import date

import pytest
import time_machine
from django.core import mail

from governance.models import System
from notifications import qag
from notifications.models import Escalation, EscalationStatus, Rule
from notifications.rules import sweep
from qia.models import FlagKind, QagFlag, Qia, QiaVersion, VersionStatus

from .conftest import add_return, at

pytestmark = pytest.mark.django_db


def signed_off(scheme, *, number=1, review_date=date(2019, 6, 10)) -> QiaVersion:
    qia, _ = Qia.objects.get_or_create(scheme=scheme)
    return QiaVersion.objects.create(
        qia=qia,
        number=number,
        status=VersionStatus.SIGNED_OFF,
        signed_off_at=at(2018, 12, 10, 12),
        review_date=review_date,
        top_score=12,
        overall_score=12,
    )


@pytest.fixture
def on_track(make_scheme):
    scheme = make_scheme()
    for month in (1, 2):
        add_return(scheme, month, 1000)
    return scheme


def run(commit, when):
    with time_machine.travel(when, tick=False):
        return commit(sweep)


def test_a_qia_is_escalated_once_its_review_date_comes(on_track, commit):
    signed_off(on_track)
    assert run(commit, at(2019, 6, 9, 9)).counts()["raised"] == 0
    run(commit, at(2019, 6, 10, 9))
    escalation = Escalation.objects.get()
    assert escalation.rule == Rule.QIA_REVIEW_DUE
    assert "v1 was due for review on 10 June 2019" in escalation.reason
    assert {m.to[0] for m in mail.outbox} == {
        "elr-sro@example.nhs.uk",
        "elr-project-lead@example.nhs.uk",
    }


def test_opening_a_reassessment_resolves_it_and_a_new_sign_off_keeps_it_resolved(on_track, commit):
    version = signed_off(on_track)
    run(commit, at(2019, 6, 11, 9))
    QiaVersion.objects.create(qia=version.qia, number=2, status=VersionStatus.PANEL)
    run(commit, at(2019, 6, 12, 9))
    assert Escalation.objects.get().status == EscalationStatus.RESOLVED
    QiaVersion.objects.filter(number=2).delete()
    signed_off(on_track, number=2, review_date=date(2019, 12, 12))
    assert run(commit, at(2019, 6, 13, 9)).counts()["raised"] == 0


def test_a_closed_scheme_is_not_escalated_for_its_qia(make_scheme, commit):
    from governance.models import SchemeState

    signed_off(make_scheme(SchemeState.COMPLETED))
    assert run(commit, at(2019, 6, 11, 9)).counts()["raised"] == 0


def test_the_pack_lists_extreme_qias_signed_off_since_the_last_pack(on_track):
    version = signed_off(on_track)
    with time_machine.travel(at(2019, 6, 20, 12), tick=False):
        QagFlag.objects.create(
            version=version,
            scheme=on_track,
            kind=FlagKind.EXTREME,
            score=20,
            detail="Chief Nurse: mitigated by a weekly audit.",
        )
    llr = System.objects.get(code="LLR")
    pack = qag.assemble(llr, meeting_date=date(2019, 6, 27), today=date(2019, 6, 25))
    (extreme,) = pack.extreme_qias
    assert (extreme.scheme, extreme.score) == (on_track, 20)
    assert "weekly audit" in extreme.justification
    pack.since = at(2019, 6, 21, 7)
    later = qag.EXTREME_QIAS(llr.pk, pack.since)
    assert later == []
    other = System.objects.get(code="NOT")
    assert qag.EXTREME_QIAS(other.pk, None) == []
