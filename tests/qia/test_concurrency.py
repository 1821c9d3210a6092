"""Two signatories signing the same QIA at the same moment, in real threads on PostgreSQL.

Whoever locks the rows first pauses while holding them, so the other arrives while they are
held: it must wait, then see the first signature, and so complete the sign-off.
"""

import threading
import time
from datetime import date

import pytest
import time_machine
from django.db import connection
from django_fsm_log.models import StateLog

from governance.models import SchemeState
from governance.services import ActionRefused
from qia import services
from qia.models import SignOff, VersionStatus
from qia.services import steps

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slow_signature(monkeypatch):
    check = steps.check_allowed

    def slowly(*args, **kwargs):
        time.sleep(0.3)  # while holding the scheme's and the version's rows
        return check(*args, **kwargs)

    monkeypatch.setattr(steps, "check_allowed", slowly)


def at_once(*calls) -> list:
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - what each signatory got is what we check
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


def signing(qia, scheme, username):
    return lambda: qia.sign(scheme, username)


def test_two_signatures_at_once_approve_the_scheme_exactly_once(qia, slow_signature):
    scheme = qia.awaiting_sign_off()
    results = at_once(
        signing(qia, scheme, "elr-chief-nurse"), signing(qia, scheme, "elr-clinical-chair")
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert qia.fresh(scheme).state == SchemeState.APPROVED
    assert qia.version(scheme).status == VersionStatus.SIGNED_OFF
    assert SignOff.objects.count() == 2
    logs = StateLog.objects.for_(qia.fresh(scheme)).filter(transition="sign_off")
    assert sorted(logs.values_list("state", flat=True)) == ["approved", "awaiting_sign_off"]


def test_two_signatures_at_once_sign_off_a_reassessment(qia, slow_signature):
    with time_machine.travel(date(2019, 6, 3), tick=False):
        scheme = qia.approved()
    with time_machine.travel(date(2019, 12, 4)):
        version = services.reassessment_open(scheme_id=scheme.pk, by=qia["elr-project-lead"])
        services.reassessment_send_to_panel(version_id=version.pk, by=qia["elr-project-lead"])
        for username in qia.PANEL:
            qia.score(scheme, username)
        qia.agree(scheme)
        results = at_once(
            signing(qia, scheme, "elr-chief-nurse"), signing(qia, scheme, "elr-clinical-chair")
        )
    assert not [r for r in results if isinstance(r, Exception)], results
    version = qia.version(scheme)
    assert (version.number, version.status) == (2, VersionStatus.SIGNED_OFF)
    assert version.review_date == date(2020, 6, 4)


def test_the_same_member_scoring_twice_at_once_is_recorded_once(qia, monkeypatch):
    scheme = qia.at_panel()
    check = steps.check_allowed

    def slowly(*args, **kwargs):
        check(*args, **kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(steps, "check_allowed", slowly)
    results = at_once(
        lambda: qia.score(scheme, "elr-panel-member"),
        lambda: qia.score(scheme, "elr-panel-member"),
    )
    refused = [r for r in results if isinstance(r, ActionRefused)]
    assert len(refused) == 1 and "already recorded your scores" in refused[0].message
    assert qia.version(scheme).panel_scores.count() == 6
