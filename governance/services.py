"""Every write to a scheme goes through one of these functions.

Each locks the scheme row, checks the actor against governance.policy, does the work, writes
the history and queues notifications for after the commit. A refusal raises ActionRefused
with a message for the user, and is recorded as an AccessRefusal.
"""

import logging
from collections.abc import Callable
from contextvars import ContextVar
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from governance import policy, roles
from governance.models import (
    PLAN_FIELDS,
    AccessRefusal,
    Organisation,
    Review,
    ReviewDecision,
    ReviewKind,
    Scheme,
    SchemeChange,
    SchemeDocument,
    SchemeState,
    User,
)
from notifications import emails
from notifications.outbox import notify

logger = logging.getLogger("qipp.governance")


class ActionRefused(Exception):
    """The user may not do this now. `message` says why, for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Conflict(ActionRefused):
    """Someone else changed the scheme since the user loaded the page."""


CONFLICT_MESSAGE = (
    "Someone else changed this scheme while you were looking at it, so nothing was saved. "
    "The page now shows its current state: check it and try again if still needed."
)

ACTION_VERBS = {
    "submit": "submit",
    "finance_review": "record a financial review of",
    "clinical_review": "record a clinical review of",
    "withdraw": "withdraw",
    "start_delivery": "start delivery of",
    "complete": "close",
    "stop": "stop",
}


# How many refusals this thread of work has recorded: the refusal-log middleware records a 403
# that nothing else did, and no other.
_refusals_recorded: ContextVar[int] = ContextVar("refusals_recorded", default=0)


def refusals_recorded() -> int:
    return _refusals_recorded.get()


def record_refusal(*, user, action: str, target: str, reason: str) -> None:
    """Log a refused access or action with who, what and when (ACCESS.md)."""
    actor = user if getattr(user, "is_authenticated", False) else None
    AccessRefusal.objects.create(user=actor, action=action, target=target[:200], reason=reason)
    _refusals_recorded.set(_refusals_recorded.get() + 1)
    logger.warning("refused: user=%s action=%s target=%s reason=%s", actor, action, target, reason)


def refuse_logged(user, action: str, scheme_id, work: Callable):
    """work()'s result; a refusal it raises is recorded on the refusal log first (a conflict,
    someone else's change, is not a refusal)."""
    try:
        return work()
    except Conflict:
        raise
    except ActionRefused as exc:
        record_refusal(user=user, action=action, target=f"scheme {scheme_id}", reason=exc.message)
        raise


def lock_scheme(scheme_id: int, expected_version: int | None) -> Scheme:
    """The scheme, its row locked until the transaction ends; a Conflict when its version is
    no longer the one the user's page was drawn from (None: no check)."""
    try:
        scheme = (
            Scheme.objects.select_for_update(of=("self",))
            .select_related("organisation", "financial_year")
            .get(pk=scheme_id)
        )
    except Scheme.DoesNotExist:
        raise ActionRefused("That scheme does not exist.") from None
    if expected_version is not None and scheme.version != expected_version:
        raise Conflict(CONFLICT_MESSAGE)
    return scheme


def _save(scheme: Scheme, *, state_before: str) -> None:
    scheme.version += 1
    if scheme.state != state_before:
        scheme.state_changed_at = timezone.now()
    try:
        scheme.save()
    except ConcurrentTransition:
        # another process moved the state between our read and our write
        raise Conflict(CONFLICT_MESSAGE) from None


def run_transition(
    *,
    scheme_id: int,
    by: User,
    action: str,
    expected_version: int | None,
    work: Callable[[Scheme], None],
) -> Scheme:
    """Lock, check state and permission, run `work` (which calls the fsm method), save."""

    def attempt():
        with transaction.atomic():
            scheme = lock_scheme(scheme_id, expected_version)
            if not policy.can_view_scheme(by, scheme):
                # a scheme the user may not see: tell them nothing of it, not even its state
                raise ActionRefused(policy.refusal(action, by, scheme))
            method = getattr(scheme, action)
            if not can_proceed(method):
                raise ActionRefused(
                    f"This scheme is {scheme.state_words}: "
                    f"you cannot {ACTION_VERBS.get(action, action)} it now."
                )
            if not has_transition_perm(method, by):
                raise ActionRefused(
                    policy.refusal(action, by, scheme) or "You may not do that to this scheme."
                )
            state_before = scheme.state
            work(scheme)
            _save(scheme, state_before=state_before)
            return scheme

    return refuse_logged(by, action, scheme_id, attempt)


# --- the PID ---

TRACKED_FIELDS = [
    "title",
    "description",
    "programme_area",
    "area_of_spend",
    "scheme_type",
    "is_recovery",
    "project_lead",
    "sro",
    "clinical_lead",
    "finance_lead",
    "start_date",
    *PLAN_FIELDS,
]


def _display(scheme: Scheme, field: str) -> str:
    value = getattr(scheme, field)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return f"£{value:,.2f}"
    if field == "scheme_type":
        return scheme.get_scheme_type_display()
    return str(value)


def _next_sequence(organisation: Organisation, financial_year) -> int:
    top = Scheme.objects.filter(organisation=organisation, financial_year=financial_year).aggregate(
        top=Max("sequence")
    )["top"]
    return (top or 0) + 1


def make_reference(organisation: Organisation, financial_year, sequence: int) -> str:
    return f"{organisation.code}-{financial_year.code}-{sequence:03d}"


def _now_on_its_team(scheme: Scheme) -> None:
    # the people in hand read their teams again (User.on_a_team) when next asked
    for field in ("project_lead", "sro", "clinical_lead", "finance_lead"):
        if Scheme._meta.get_field(field).is_cached(scheme) and getattr(scheme, field):
            getattr(scheme, field).forget_access()


def scheme_create(*, by: User, data: dict) -> Scheme:
    """A project lead writes a new PID, in draft. `data` holds the PID's fields."""
    reason = policy.refusal("create", by, organisation=data["organisation"])
    if reason:
        record_refusal(user=by, action="create", target="new scheme", reason=reason)
        raise ActionRefused(reason)
    # Two PIDs created at once may pick the same number: the unique constraint refuses the
    # second, which simply tries the next number.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                Organisation.objects.select_for_update().get(pk=data["organisation"].pk)
                sequence = _next_sequence(data["organisation"], data["financial_year"])
                scheme = Scheme(
                    **data,
                    sequence=sequence,
                    reference=make_reference(
                        data["organisation"], data["financial_year"], sequence
                    ),
                    created_by=by,
                )
                scheme.full_clean(exclude=["state"])  # protected: the workflow sets it
                scheme.save()
                _now_on_its_team(scheme)
                return scheme
        except IntegrityError:
            continue
    raise ActionRefused("Could not number the new scheme: please try again.")


def scheme_update(
    *, scheme_id: int, by: User, data: dict, expected_version: int | None
) -> tuple[Scheme, list[SchemeChange]]:
    """The project lead edits the PID while it is a draft; each changed field is recorded."""

    def attempt():
        with transaction.atomic():
            scheme = lock_scheme(scheme_id, expected_version)
            reason = policy.refusal("edit", by, scheme)
            if reason:
                raise ActionRefused(reason)
            before = {field: _display(scheme, field) for field in TRACKED_FIELDS}
            for field, value in data.items():
                if field in TRACKED_FIELDS:
                    setattr(scheme, field, value)
            scheme.full_clean(exclude=["state"])  # protected: the workflow sets it
            changes = [
                SchemeChange(
                    scheme=scheme,
                    changed_by=by,
                    field=Scheme._meta.get_field(field).verbose_name,
                    old_value=before[field],
                    new_value=_display(scheme, field),
                )
                for field in TRACKED_FIELDS
                if _display(scheme, field) != before[field]
            ]
            if not changes:
                return scheme, []
            _save(scheme, state_before=scheme.state)
            SchemeChange.objects.bulk_create(changes)
            _now_on_its_team(scheme)
            return scheme, changes

    return refuse_logged(by, "edit", scheme_id, attempt)


def document_add(
    *, scheme_id: int, by: User, kind: str, upload, content_type: str, description: str = ""
) -> SchemeDocument:
    """Attach a PID, business case or supporting paper (already type-checked by the form)."""

    def attempt():
        with transaction.atomic():
            scheme = lock_scheme(scheme_id, None)
            reason = policy.refusal("edit", by, scheme)
            if reason:
                raise ActionRefused(reason)
            document = SchemeDocument.objects.create(
                scheme=scheme,
                kind=kind,
                file=upload,
                original_name=upload.name[:255],
                content_type=content_type,
                size=upload.size,
                description=description,
                uploaded_by=by,
            )
            SchemeChange.objects.create(
                scheme=scheme,
                changed_by=by,
                field="documents",
                old_value="",
                new_value=f"added {document.get_kind_display()}: {document.original_name}",
            )
            return document

    return refuse_logged(by, "edit", scheme_id, attempt)


def document_remove(*, document_id: int, by: User) -> None:
    document = SchemeDocument.objects.select_related("scheme").get(pk=document_id)

    def attempt():
        with transaction.atomic():
            scheme = lock_scheme(document.scheme_id, None)
            reason = policy.refusal("edit", by, scheme)
            if reason:
                raise ActionRefused(reason)
            SchemeChange.objects.create(
                scheme=scheme,
                changed_by=by,
                field="documents",
                old_value=f"{document.get_kind_display()}: {document.original_name}",
                new_value="removed",
            )
            document.delete()
            transaction.on_commit(lambda: document.file.delete(save=False))

    refuse_logged(by, "edit", document.scheme_id, attempt)


# --- the workflow ---


# Gates on submission that other apps add (e.g. a complete QIA self-assessment): each
# returns the reason the scheme cannot be submitted yet, or None.
SUBMIT_CHECKS: list[Callable[[Scheme], str | None]] = []


def reviews_awaiting_response(scheme: Scheme) -> list[Review]:
    """The reviews of the last submission, which the project lead answers on resubmitting.

    Only a challenged round asks for answers (a reviewer said "revise" or "not supported"): then
    every comment of that round is answered, once. A round both reviewers supported (the scheme
    went on to the panel and came back from it) has nothing to answer.
    """
    if scheme.submission_round == 0:
        return []
    reviews = list(scheme.reviews.filter(round=scheme.submission_round).select_related("reviewer"))
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
        scheme.submit(by=by, description=comment or "Submitted for confirm and challenge")
        notify(
            users=users_with_role(scheme, roles.FINANCE_REVIEWER, roles.CLINICAL_REVIEWER),
            scheme=scheme,
            kind="task",
            subject=f"Review requested: {scheme.reference} {scheme.title}",
            message=f"{scheme.reference} has been submitted for confirm and challenge.",
        )

    return run_transition(
        scheme_id=scheme_id, by=by, action="submit", expected_version=expected_version, work=work
    )


def _outcome(scheme: Scheme, kind: str, decision: str) -> str:
    if decision == ReviewDecision.REVISE:
        return SchemeState.DRAFT
    if decision == ReviewDecision.NOT_SUPPORTED:
        return SchemeState.REJECTED
    other = ReviewKind.CLINICAL if kind == ReviewKind.FINANCE else ReviewKind.FINANCE
    other_supported = scheme.reviews.filter(
        round=scheme.submission_round, kind=other, decision=ReviewDecision.SUPPORTED
    ).exists()
    return SchemeState.QIA_PANEL if other_supported else SchemeState.CONFIRM_AND_CHALLENGE


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
    independent. Two reviewers of the same kind still record one review between them.
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
        if done:
            raise ActionRefused(
                f"The {done.get_kind_display().lower()} review of this submission was already "
                f"recorded by {done.reviewer}."
            )
        outcome = _outcome(scheme, kind, decision)
        label = f"{ReviewKind(kind).label} review: {ReviewDecision(decision).label}"
        getattr(scheme, action)(outcome, by=by, description=f"{label}. {comment.strip()}")
        Review.objects.create(
            scheme=scheme,
            kind=kind,
            round=scheme.submission_round,
            reviewer=by,
            decision=decision,
            comment=comment.strip(),
        )
        _notify_outcome(scheme, label=label, comment=comment.strip())

    return run_transition(
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

    return run_transition(
        scheme_id=scheme_id, by=by, action="withdraw", expected_version=expected_version, work=work
    )


# --- who hears about it ---


def team_of(scheme: Scheme) -> list[User]:
    """The scheme's project lead, SRO, clinical and finance lead, those still active."""
    return list(User.objects.filter(pk__in=scheme.team_ids, is_active=True))


def users_with_role(scheme: Scheme, *role_names: str) -> list[User]:
    """Active users of the scheme's organisation holding any of the roles, minus its team."""
    return list(
        User.objects.filter(
            is_active=True,
            groups__name__in=role_names,
            organisations=scheme.organisation_id,
        )
        .exclude(pk__in=[scheme.project_lead_id, scheme.sro_id])
        .distinct()
    )


def _notify_outcome(scheme: Scheme, *, label: str, comment: str) -> None:
    lead_and_sro = emails.lead_and_sro(scheme)
    if scheme.state == SchemeState.DRAFT:
        notify(
            users=lead_and_sro,
            scheme=scheme,
            kind="returned",
            subject=f"Returned for revision: {scheme.reference} {scheme.title}",
            message=f"{label}. {comment}",
        )
    elif scheme.state == SchemeState.REJECTED:
        notify(
            users=lead_and_sro,
            scheme=scheme,
            kind="rejected",
            subject=f"Not supported: {scheme.reference} {scheme.title}",
            message=f"{label}. {comment}",
        )
    elif scheme.state == SchemeState.QIA_PANEL:
        notify(
            users=users_with_role(scheme, roles.QUALITY_LEAD, roles.PANEL_MEMBER),
            scheme=scheme,
            kind="task",
            subject=f"QIA panel scoring requested: {scheme.reference} {scheme.title}",
            message=f"{scheme.reference} passed confirm and challenge and awaits the QIA panel.",
        )
