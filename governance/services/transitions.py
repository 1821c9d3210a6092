"""What every write to a scheme shares: the refusal and conflict errors, the refusal log,
locking the scheme row, and running a workflow transition (checked, logged, saved)."""

import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm
from django_fsm_log.models import StateLog

from governance import policy
from governance.models import (
    AccessRefusal,
    Scheme,
    User,
)

logger = logging.getLogger("qipp.governance")


class ActionRefused(Exception):
    """The user may not do this now. `message` says why, for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Conflict(ActionRefused):
    """Someone else changed the scheme since the user loaded the page."""


class AlreadyDone(ActionRefused):
    """The user's own step is recorded already: the same form sent twice (a double click).
    Nothing to do and nothing refused; `message` says so. An ActionRefused only so that a
    caller which does not look for it still shows the message rather than failing: logged()
    does not record it as a refusal."""


# How long after a step the same user sending the same step again is taken for the same form
# sent twice (a double click, or Back and send) rather than a new decision.
SENT_AGAIN_WITHIN = timedelta(minutes=1)


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

# The steps that cannot be taken twice in a row, as a sentence says they were taken: the
# same form sent again is told it was done (see _sent_again).
DONE_WORDS = {
    "submit": "submitted",
    "withdraw": "withdrew",
    "start_delivery": "started delivery of",
    "complete": "closed",
    "stop": "stopped",
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


def logged(user, action: str, target: str, work: Callable):
    """work()'s result; a refusal it raises is recorded on the refusal log first, with its
    target ("opportunity 12"). A conflict, someone else's change, is not a refusal."""
    try:
        return work()
    except (Conflict, AlreadyDone):
        raise
    except ActionRefused as exc:
        record_refusal(user=user, action=action, target=target, reason=exc.message)
        raise


def refuse_logged(user, action: str, scheme_id, work: Callable):
    """logged(), for a scheme."""
    return logged(user, action, f"scheme {scheme_id}", work)


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


def save_scheme(scheme: Scheme, *, state_before: str) -> None:
    """Save the locked scheme with its version one higher (and when its state changed, when):
    a page drawn from the older version can no longer overwrite it."""
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
    """Lock, check access, version, state and permission, run `work` (which calls the fsm
    method), save. A page drawn before the user's own same step of a moment ago (a double
    click) is AlreadyDone, not a Conflict."""

    def attempt():
        with transaction.atomic():
            scheme = lock_scheme(scheme_id, None)
            visible = policy.can_view_scheme(by, scheme)
            stale = expected_version is not None and scheme.version != expected_version
            if stale and _sent_again(scheme, by, action):
                # the user's own step, just recorded (the first submit of a double click, which
                # the row lock waited for): done, not someone else's change
                raise AlreadyDone(
                    f"You {DONE_WORDS[action]} {scheme.reference} a moment ago: "
                    f"it is {scheme.state_words}."
                )
            if stale:
                # changed since the user's page was drawn. Someone who may never do this to
                # the scheme is told so rather than invited to try again; asked only while
                # they see it, as the change may have made it a draft they no longer see
                known = visible and action in policy.RULES
                reason = policy.refusal(action, by, scheme) if known else None
                raise ActionRefused(reason) if reason else Conflict(CONFLICT_MESSAGE)
            if not visible:
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
            save_scheme(scheme, state_before=state_before)
            return scheme

    return refuse_logged(by, action, scheme_id, attempt)


def _sent_again(scheme: Scheme, by: User, action: str) -> bool:
    """Whether the scheme's newest step is this very step, taken by `by` a moment ago."""
    if action not in DONE_WORDS:
        return False
    latest = StateLog.objects.for_(scheme).order_by("-timestamp", "-pk").first()
    return just_taken(latest, by, action)


def just_taken(log: StateLog | None, by: User, action: str) -> bool:
    """Whether the transition log entry is `action` taken by `by` a moment ago: the same form
    sent twice (a double click), which is no conflict."""
    return (
        log is not None
        and log.by_id == by.pk
        and log.transition == action
        and log.timestamp >= timezone.now() - SENT_AGAIN_WITHIN
    )
