"""Two reviewers acting on the same scheme at the same moment, in real threads on PostgreSQL.

Each thread has its own database connection. The first to lock the scheme row holds it a
moment longer than it would (a pause inside its transaction), so the other is sure to arrive
while it is held and to wait for it.
"""

import threading
import time

import pytest
from django.db import connection
from django_fsm_log.models import StateLog

from governance import roles, services
from governance.models import Review, ReviewDecision, Scheme, SchemeState
from governance.services import workflow
from tests.factories import UserFactory, complete_self_assessment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HOLD_SECONDS = 0.3


@pytest.fixture
def submitted(llr):
    data = llr.pid_data("ELR")
    scheme = services.scheme_create(by=data["project_lead"], data=data)
    complete_self_assessment(scheme)
    services.scheme_submit(scheme_id=scheme.pk, by=scheme.project_lead, expected_version=None)
    return Scheme.objects.get(pk=scheme.pk)


@pytest.fixture
def two_finance_reviewers(llr):
    colleague = UserFactory(
        username="elr-finance-reviewer-2",
        first_name="Second",
        last_name="Reviewer",
        roles=[roles.FINANCE_REVIEWER],
        organisations=[llr.orgs["elr"]],
    )
    return llr.user("elr", "finance-reviewer"), colleague


@pytest.fixture
def slow_decision(monkeypatch):
    """Whoever gets the lock pauses while holding it."""
    decide = workflow.review_outcome

    def slowly(*args, **kwargs):
        time.sleep(HOLD_SECONDS)
        return decide(*args, **kwargs)

    monkeypatch.setattr(workflow, "review_outcome", slowly)


def at_once(*calls) -> list:
    """Run the calls together, one thread and one connection each; their results or errors."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - what each user got is what we look at
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a reviewer never finished"
    return results


def reviewing(scheme, user, kind, decision, expected_version):
    return lambda: services.scheme_review(
        scheme_id=scheme.pk,
        by=user,
        kind=kind,
        decision=decision,
        comment=f"{ReviewDecision(decision).label}, says {user.username}.",
        expected_version=expected_version,
    )


def outcome(results):
    won = [r for r in results if isinstance(r, Scheme)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert (len(won), len(lost)) == (1, 1), results
    return won[0], lost[0]


@pytest.mark.parametrize("attempt", range(3))
def test_two_reviewers_on_the_same_page_make_exactly_one_transition(
    submitted, two_finance_reviewers, slow_decision, attempt
):
    first, second = two_finance_reviewers
    page_version = submitted.version
    won, lost = outcome(
        at_once(
            reviewing(submitted, first, "finance", ReviewDecision.REVISE, page_version),
            reviewing(submitted, second, "finance", ReviewDecision.NOT_SUPPORTED, page_version),
        )
    )
    assert isinstance(lost, services.Conflict)
    assert lost.message.startswith("Someone else changed this scheme")
    assert "nothing was saved" in lost.message
    final = Scheme.objects.get(pk=submitted.pk)
    assert final.state == won.state
    assert final.state in (SchemeState.DRAFT, SchemeState.REJECTED)
    assert final.version == page_version + 1
    reviews = list(Review.objects.filter(scheme=submitted))
    assert len(reviews) == 1
    assert StateLog.objects.for_(submitted).filter(transition="finance_review").count() == 1
    assert (
        StateLog.objects.for_(submitted).get(transition="finance_review").by == reviews[0].reviewer
    )


def test_without_a_page_version_the_row_lock_lets_only_one_review_through(
    submitted, two_finance_reviewers, slow_decision
):
    first, second = two_finance_reviewers
    won, lost = outcome(
        at_once(
            reviewing(submitted, first, "finance", ReviewDecision.SUPPORTED, None),
            reviewing(submitted, second, "finance", ReviewDecision.SUPPORTED, None),
        )
    )
    recorded = Review.objects.get(scheme=submitted)
    assert isinstance(lost, services.ActionRefused)
    assert not isinstance(lost, services.Conflict)
    assert lost.message == (
        f"The financial review of this submission was already recorded by {recorded.reviewer}."
    )
    assert won.state == SchemeState.CONFIRM_AND_CHALLENGE
    assert StateLog.objects.for_(submitted).filter(transition="finance_review").count() == 1


def test_finance_and_clinical_support_at_the_same_moment_still_reach_the_panel(
    llr, submitted, slow_decision
):
    # Each decision depends on the other's review: read without the lock, both would see
    # none and the scheme would wait in confirm and challenge for ever.
    results = at_once(
        reviewing(submitted, llr.user("elr", "finance-reviewer"), "finance", "supported", None),
        reviewing(submitted, llr.user("elr", "clinical-reviewer"), "clinical", "supported", None),
    )
    assert all(isinstance(r, Scheme) for r in results), results
    assert Scheme.objects.get(pk=submitted.pk).state == SchemeState.QIA_PANEL
    assert [e.state for e in StateLog.objects.for_(submitted).order_by("id")] == [
        SchemeState.CONFIRM_AND_CHALLENGE,
        SchemeState.CONFIRM_AND_CHALLENGE,
        SchemeState.QIA_PANEL,
    ]
