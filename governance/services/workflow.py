"""The PID workflow: submission, the financial and clinical reviews, withdrawal; and who
hears about each step."""

from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from governance import deputies, roles
from governance.models import (
    Review,
    ReviewDecision,
    ReviewKind,
    Scheme,
    SchemeState,
    User,
)
from governance.services import transitions
from governance.services.transitions import CONFLICT_MESSAGE, ActionRefused, AlreadyDone, Conflict
from notifications import emails
from notifications.emails import users_with_role
from notifications.outbox import notify

# --- the workflow ---


# Gates on submission that other apps add (e.g. a complete QIA self-assessment): each
# returns the reason the scheme cannot be submitted yet, or None.
SUBMIT_CHECKS: list[Callable[[Scheme], str | None]] = []
# What other apps decide as a scheme is submitted (e.g. its QIA's sign-off route): each
# returns what the submission's history entry says of it ("" for nothing).
SUBMIT_STEPS: list[Callable[[Scheme], str]] = []


def reviews_awaiting_response(scheme: Scheme) -> list[Review]:
    """The reviews of the last submission, which the project lead answers on resubmitting.

    Only a challenged round asks for answers (a reviewer said "revise" or "not supported"): then
    every comment of that round is answered, once. A round both reviewers supported (the scheme
    went on to the panel and came back from it) has nothing to answer.
    """
    if scheme.submission_round == 0:
        return []
    reviews = list(
        scheme.reviews.filter(round=scheme.submission_round).select_related(
            "reviewer", "on_behalf_of"
        )
    )
    if all(review.decision == ReviewDecision.SUPPORTED for review in reviews):
        return []
    return [review for review in reviews if not review.response]


def scheme_submit(
    *,
    scheme_id: int,
    by: User,
    expected_version: int | None,
    comment: str = "",
    responses: dict[int, str] | None = None,
) -> Scheme:
    """The project lead submits the PID for confirm-and-challenge."""
    responses = responses or {}

    def work(scheme: Scheme):
        if scheme.annual_plan <= 0:
            raise ActionRefused("Enter the monthly savings plan before submitting.")
        for check in SUBMIT_CHECKS:
            problem = check(scheme)
            if problem:
                raise ActionRefused(problem)
        previous = reviews_awaiting_response(scheme)
        missing = [r for r in previous if not (responses.get(r.pk) or "").strip()]
        if missing:
            names = ", ".join(r.get_kind_display().lower() for r in missing)
            raise ActionRefused(f"Answer each reviewer's comment before resubmitting ({names}).")
        now = timezone.now()
        for review in previous:
            review.response = responses[review.pk].strip()
            review.responded_at = now
            review.save(update_fields=["response", "responded_at"])
        said = "".join(step(scheme) for step in SUBMIT_STEPS)
        described = comment or "Submitted for confirm and challenge"
        scheme.submit(by=by, description=f"{described}{said}")
        notify(
            users=users_with_role(scheme, roles.FINANCE_REVIEWER, roles.CLINICAL_REVIEWER),
            scheme=scheme,
            kind="task",
            subject=f"Review requested: {scheme.reference} {scheme.title}",
            message=f"{scheme.reference} has been submitted for confirm and challenge.",
        )

    return transitions.run_transition(
        scheme_id=scheme_id, by=by, action="submit", expected_version=expected_version, work=work
    )


def review_outcome(scheme: Scheme, kind: str, decision: str) -> str:
    """The state a review leaves the scheme in: back to draft, rejected, on to the QIA panel
    once both reviews support it, or where it is while the other review is awaited."""
    if decision == ReviewDecision.REVISE:
        return SchemeState.DRAFT
    if decision == ReviewDecision.NOT_SUPPORTED:
        return SchemeState.REJECTED
    other = ReviewKind.CLINICAL if kind == ReviewKind.FINANCE else ReviewKind.FINANCE
    other_supported = scheme.reviews.filter(
        round=scheme.submission_round, kind=other, decision=ReviewDecision.SUPPORTED
    ).exists()
    return SchemeState.QIA_PANEL if other_supported else SchemeState.CONFIRM_AND_CHALLENGE


def own_review(*, scheme_id: int, by: User, kind: str, submission: int | None) -> Review | None:
    """`by`'s review of that kind of the given submission (None: the scheme's current one)."""
    mine = Review.objects.filter(scheme_id=scheme_id, kind=kind, reviewer=by)
    if submission is None:
        return mine.filter(round=F("scheme__submission_round")).first()
    return mine.filter(round=submission).first()


def yours_recorded(review: Review) -> str:
    return f"Your {review.get_kind_display().lower()} review is already recorded."


def recorded_review(scheme: Scheme, kind: str) -> Review | None:
    """The review of that kind already recorded for the scheme's current submission."""
    return (
        scheme.reviews.filter(round=scheme.submission_round, kind=kind)
        .select_related("reviewer")
        .first()
    )


def scheme_review(
    *,
    scheme_id: int,
    by: User,
    kind: str,
    decision: str,
    comment: str,
    expected_version: int | None,
    expected_round: int | None = None,
) -> Scheme:
    """A finance or clinical reviewer records confirm-and-challenge; both orders work.

    With `expected_round` (the submission the reviewer read), only a new submission meanwhile
    is a conflict: the other kind of review being recorded is not, as the two are
    independent. Two reviewers of the same kind still record one review between them; the
    same reviewer sending the same form twice gets AlreadyDone, not a refusal.
    """
    if kind not in ReviewKind.values:
        raise ActionRefused("Unknown kind of review.")
    if decision not in ReviewDecision.values:
        raise ActionRefused("Choose supported, revise or not supported.")
    if not comment.strip():
        raise ActionRefused("Write a comment explaining your decision.")
    action = f"{kind}_review"

    def work(scheme: Scheme):
        if expected_round is not None and scheme.submission_round != expected_round:
            raise Conflict(CONFLICT_MESSAGE)
        done = recorded_review(scheme, kind)
        if done and done.reviewer_id == by.pk:
            raise AlreadyDone(yours_recorded(done))
        if done:
            raise ActionRefused(
                f"The {done.get_kind_display().lower()} review of this submission was already "
                f"recorded by {done.reviewer}."
            )
        outcome = review_outcome(scheme, kind, decision)
        label = f"{ReviewKind(kind).label} review: {ReviewDecision(decision).label}"
        getattr(scheme, action)(outcome, by=by, description=f"{label}. {comment.strip()}")
        Review.objects.create(
            scheme=scheme,
            kind=kind,
            round=scheme.submission_round,
            reviewer=by,
            on_behalf_of=deputies.on_behalf_of(by),
            decision=decision,
            comment=comment.strip(),
        )
        _notify_outcome(scheme, label=label, comment=comment.strip())

    def sent_again() -> Review | None:
        with transaction.atomic():
            # the row lock waits for a review being recorded now (the first submit of a
            # double click) to commit; asked before the state, which that review may have moved
            transitions.lock_scheme(scheme_id, None)
            return own_review(scheme_id=scheme_id, by=by, kind=kind, submission=expected_round)

    mine = transitions.refuse_logged(by, action, scheme_id, sent_again)
    if mine is not None:
        raise AlreadyDone(yours_recorded(mine))
    return transitions.run_transition(
        scheme_id=scheme_id,
        by=by,
        action=action,
        expected_version=expected_version if expected_round is None else None,
        work=work,
    )


def scheme_withdraw(*, scheme_id: int, by: User, reason: str, expected_version: int | None):
    if not reason.strip():
        raise ActionRefused("Say why the scheme is being withdrawn.")

    def work(scheme: Scheme):
        scheme.withdraw(by=by, description=f"Withdrawn: {reason.strip()}")
        notify(
            users=team_of(scheme),
            scheme=scheme,
            kind="withdrawn",
            subject=f"Withdrawn: {scheme.reference} {scheme.title}",
            message=f"{by} withdrew {scheme.reference}: {reason.strip()}",
        )

    return transitions.run_transition(
        scheme_id=scheme_id, by=by, action="withdraw", expected_version=expected_version, work=work
    )


# --- who hears about it ---


def team_of(scheme: Scheme) -> list[User]:
    """The scheme's project lead, SRO, clinical and finance lead, those still active."""
    return list(User.objects.filter(pk__in=scheme.team_ids, is_active=True))


def _notify_outcome(scheme: Scheme, *, label: str, comment: str) -> None:
    if scheme.state == SchemeState.DRAFT:
        emails.scheme_returned(scheme=scheme, by=None, reason=f"{label}. {comment}")
    elif scheme.state == SchemeState.REJECTED:
        emails.scheme_rejected(scheme=scheme, by=None, reason=f"{label}. {comment}")
    elif scheme.state == SchemeState.QIA_PANEL:
        notify(
            users=users_with_role(scheme, roles.QUALITY_LEAD, roles.PANEL_MEMBER),
            scheme=scheme,
            kind="task",
            subject=f"QIA panel scoring requested: {scheme.reference} {scheme.title}",
            message=f"{scheme.reference} passed confirm and challenge and awaits the QIA panel.",
        )
