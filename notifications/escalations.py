"""What people do to an escalation: the SRO agrees a remedial action, the PMO raises it to
QAG, a QAG member records QAG's decision. Nobody else changes an escalation (ACCESS.md).

Each is one service function: take the escalation lock, lock the row, check the actor
(governance.policy), change it, write the history, queue the mail. A refusal raises
governance.services.ActionRefused with a message for the user and is recorded.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import deputies, policy, roles
from governance.delivery import lifecycle
from governance.models import Scheme, SchemeState, User
from governance.services import ActionRefused, AlreadyDone, Conflict, logged
from notifications import emails
from notifications.models import (
    ACTIVE,
    Decision,
    Escalation,
    EscalationEvent,
    EscalationLock,
    EscalationStatus,
    Level,
    Notification,
    OutboxEmail,
)

# --- the lock ---


def take_lock(now: datetime) -> None:
    """Hold the escalation lock until the current transaction ends: one sweep at a time.

    An UPDATE of one row: PostgreSQL queues the second taker on the row; SQLite makes this
    transaction the writer at once, so what it reads next cannot change under it.
    """
    if EscalationLock.objects.filter(pk=1).update(last_taken_at=now):
        return
    try:
        with transaction.atomic():
            EscalationLock.objects.create(pk=1, last_taken_at=now)
    except IntegrityError:
        # another process created it first: queue behind it like everyone else
        EscalationLock.objects.filter(pk=1).update(last_taken_at=now)


# --- who was told ---


def told_about(escalations: list[Escalation]) -> dict[int, list]:
    """Everyone mailed or notified about each escalation so far: users (by their in-app
    notices), then addresses outside the product. Two queries."""
    if not escalations:
        return {}
    topics = {f"escalation:{e.pk}": e.pk for e in escalations}
    noticed = Notification.objects.filter(topic__in=topics).values_list("topic", "user_id")
    mailed = OutboxEmail.objects.filter(topic__in=topics).values_list("topic", "recipient")
    noticed, mailed = list(noticed), list(mailed)
    people = User.objects.in_bulk({user_id for _t, user_id in noticed})
    found: dict[int, dict] = defaultdict(dict)
    for topic, user_id in sorted(noticed):
        user = people[user_id]
        if user.is_active:
            found[topics[topic]].setdefault(user.email.lower() or f"user {user.pk}", user)
    for topic, address in sorted(mailed):
        found[topics[topic]].setdefault(address.lower(), address)
    return {pk: list(found[pk].values()) for pk in topics.values()}


# --- who may do what (ACCESS.md), registered with governance.policy ---


def _see(user, scheme: Scheme) -> str | None:
    if policy.is_team(user, scheme):
        return None
    if (user.has_role(roles.PMO) or user.has_role(roles.QAG_MEMBER)) and policy.in_system(
        user, scheme
    ):
        return None
    return "Escalations are seen by the PMO, QAG members and the scheme's team only."


def _remedial(user, scheme: Scheme) -> str | None:
    if user.pk != scheme.sro_id:
        return "Only the scheme's SRO can record a remedial action."
    return None


def _raise(user, scheme: Scheme) -> str | None:
    if not (user.has_role(roles.PMO) and policy.in_organisation(user, scheme)):
        return "Only the PMO of the scheme's organisation can raise an escalation to QAG."
    return policy.judging_own_scheme(user, scheme)


def _stop(user, scheme: Scheme) -> str | None:
    """Stopping a scheme is a QAG decision "stop" (or "replace") recorded on one of its live
    escalations at QAG level, by a QAG member of its system: escalation_decide."""
    reason = policy.qag_decision_rule(user, scheme)
    if reason:
        return reason
    if not Escalation.objects.filter(scheme=scheme, status__in=ACTIVE, level=Level.QAG).exists():
        return (
            "A scheme is stopped only by a QAG decision on one of its escalations at QAG "
            "level, and this scheme has none: the PMO raises an escalation to QAG first."
        )
    return None


# The escalations' access rules, which NotificationsConfig.ready() gives governance.policy.
POLICY_RULES = {
    "escalation_view": _see,
    "escalation_remedial": _remedial,
    "escalation_raise": _raise,
    "escalation_decide": policy.qag_decision_rule,
    "stop": _stop,
}


def may_see_escalations(user) -> bool:
    """PMO and QAG members see every escalation of their system (and the QAG pack)."""
    return user.is_authenticated and (user.has_role(roles.PMO) or user.has_role(roles.QAG_MEMBER))


def visible_escalations(user):
    """The escalations a user may see, as one query: their system's if PMO or QAG member,
    else those of the schemes on whose team they are."""
    if not user.is_authenticated or not user.is_active:
        return Escalation.objects.none()
    from django.db.models import Q

    team = (
        Q(scheme__project_lead=user)
        | Q(scheme__sro=user)
        | Q(scheme__clinical_lead=user)
        | Q(scheme__finance_lead=user)
    )
    if may_see_escalations(user):
        team |= Q(scheme__organisation__system_id__in=user.system_ids)
    return Escalation.objects.filter(team)


# --- the actions ---


CONFLICT_MESSAGE = (
    "Someone else recorded something on this escalation while you were looking at it, so "
    "nothing was saved. The page now shows it as it stands: check it and record yours again "
    "if still needed."
)


def _locked(
    escalation_id: int,
    now: datetime,
    expected_version: int | None = None,
    *,
    sent_again: Callable[[Escalation], str | None] | None = None,
) -> Escalation:
    """The escalation, its row locked until the transaction ends; a Conflict when someone
    has recorded something on it since the user's form was drawn (`expected_version`).

    `sent_again(escalation)`, asked first, says when the user's own action is on record
    already (the first submit of a double click, which the row lock waited for): that is
    AlreadyDone, not someone else's change."""
    take_lock(now)
    try:
        escalation = (
            Escalation.objects.select_for_update(of=("self",))
            .select_related("scheme__organisation", "scheme__financial_year", "scheme__sro")
            .select_related("scheme__project_lead")
            .get(pk=escalation_id)
        )
    except Escalation.DoesNotExist:
        raise ActionRefused("That escalation does not exist.") from None
    if sent_again is not None and (said := sent_again(escalation)):
        raise AlreadyDone(said)
    if expected_version is not None and escalation.version != expected_version:
        raise Conflict(CONFLICT_MESSAGE)
    escalation.version += 1  # saved with the action
    return escalation


def _check(action: str, user, escalation: Escalation) -> None:
    reason = policy.refusal(action, user, escalation.scheme)
    if reason:
        raise ActionRefused(reason)
    if not escalation.is_active:
        raise ActionRefused(
            f"This escalation is {escalation.get_status_display().lower()}: nothing more can "
            "be recorded on it."
        )


def _refused(user, action: str, escalation_id: int, work):
    return logged(user, action, f"escalation {escalation_id}", work)


# A remedial action brings a scheme back on track within its year or soon after: a due date
# further off than this is a slip of the keyboard (2099), not a plan QAG could hold anyone to.
REMEDIAL_HORIZON_YEARS = 2


def latest_remedial_due(today: date) -> date:
    """The latest date a remedial action may be due by, seen from `today`."""
    year = today.year + REMEDIAL_HORIZON_YEARS
    if (today.month, today.day) == (2, 29):
        return date(year, 2, 28)  # 29 February has no twin two years on
    return today.replace(year=year)


def remedial_due_problem(due: date, today: date) -> str | None:
    """Why a remedial action cannot be due by `due`, or None: not past, not years away."""
    if due < today:
        return "The remedial action's due date cannot be in the past."
    latest = latest_remedial_due(today)
    if due > latest:
        return (
            f"The remedial action's due date, {due:%-d %B %Y}, is more than "
            f"{REMEDIAL_HORIZON_YEARS} years away: give a date by {latest:%-d %B %Y}."
        )
    return None


def escalation_record_remedial(
    *,
    escalation_id: int,
    by: User,
    action: str,
    due: date,
    today: date | None = None,
    expected_version: int | None = None,
) -> Escalation:
    """The SRO agrees a remedial action and the date it will be done by."""
    action = action.strip()
    today = today or timezone.localdate()

    def standing(escalation: Escalation) -> str | None:
        # the same form sent again (a double click, or Back and send): the remedial action
        # agreed is this one, recorded by this SRO; no second history entry
        if (
            escalation.status == EscalationStatus.REMEDIAL_AGREED
            and escalation.remedial_by_id == by.pk
            and escalation.remedial_action == action
            and escalation.remedial_due == due
        ):
            return f"Your remedial action is already recorded, due by {due:%-d %B %Y}."
        return None

    def work():
        if not action:
            raise ActionRefused("Describe the remedial action.")
        problem = remedial_due_problem(due, today)
        if problem:
            raise ActionRefused(problem)
        now = timezone.now()
        with transaction.atomic():
            escalation = _locked(escalation_id, now, expected_version, sent_again=standing)
            _check("escalation_remedial", by, escalation)
            first = not escalation.remedial_action
            escalation.remedial_action = action
            escalation.remedial_due = due
            escalation.remedial_by = by
            escalation.remedial_at = now
            escalation.status = EscalationStatus.REMEDIAL_AGREED
            escalation.save()
            EscalationEvent.objects.create(
                escalation=escalation,
                at=now,
                by=by,
                what="Remedial action agreed" if first else "Remedial action revised",
                # the text as agreed now: a revision overwrites the escalation's copy
                detail=f"{action}\nDue by {due:%-d %B %Y}.",
            )
            return escalation

    return _refused(by, "escalation_remedial", escalation_id, work)


def escalation_raise_to_qag(*, escalation_id: int, by: User, note: str) -> Escalation:
    """The PMO raises an escalation to QAG before the sweep would."""
    note = note.strip()

    def work():
        if not note:
            raise ActionRefused("Say why the escalation goes to QAG.")
        now = timezone.now()
        with transaction.atomic():
            escalation = _locked(escalation_id, now)
            _check("escalation_raise", by, escalation)
            if escalation.level == Level.QAG:
                raise ActionRefused("This escalation is already with QAG.")
            escalation.level = Level.QAG
            escalation.raised_to_qag_at = now
            escalation.raised_to_qag_by = by
            escalation.save()
            EscalationEvent.objects.create(
                escalation=escalation, at=now, by=by, what="Raised to QAG", detail=note
            )
            emails.escalation_to_qag(escalation=escalation)
            return escalation

    return _refused(by, "escalation_raise", escalation_id, work)


def escalation_decide(
    *,
    escalation_id: int,
    by: User,
    decision: str,
    note: str,
    meeting: date,
    due: date | None = None,
    expected_version: int | None = None,
) -> Escalation:
    """A QAG member records the decision QAG took at its meeting of `meeting`. Continue: the
    remedial plan stands (a new due date may be set). Stop, or replace with a recovery scheme:
    the scheme is stopped (the only way a scheme stops) and its live escalations are closed.

    A decision stands until QAG decides again at a later meeting, with its reasons; the earlier
    decision stays in the escalation's history."""
    note = note.strip()

    def work():
        if decision not in Decision.values:
            raise ActionRefused("Choose continue, stop or replace.")
        if not note:
            raise ActionRefused("Record the reasons for QAG's decision.")
        today = timezone.localdate()
        if meeting is None or meeting > today:
            raise ActionRefused("Give the date of the QAG meeting that took the decision.")
        if due is not None and (problem := remedial_due_problem(due, today)):
            raise ActionRefused(problem)
        now = timezone.now()
        with transaction.atomic():
            escalation = _locked(escalation_id, now, expected_version)
            _check("escalation_decide", by, escalation)
            if escalation.level != Level.QAG:
                raise ActionRefused(
                    "QAG decides on escalations raised to it: the PMO raises this one first."
                )
            _check_meeting(escalation, meeting)
            earlier = _standing(escalation)
            escalation.decision = decision
            escalation.decision_note = note
            escalation.decision_meeting = meeting
            escalation.decided_at = now
            escalation.decided_by = by
            escalation.decided_for = deputies.on_behalf_of(by)
            label = Decision(decision).label
            if decision == Decision.CONTINUE:
                if due is not None:
                    escalation.remedial_due = due
                if escalation.remedial_action:
                    escalation.status = EscalationStatus.REMEDIAL_AGREED
                escalation.save()
            else:
                minuted = f"{label} (QAG meeting of {meeting:%-d %B %Y}). {note}"
                _stop_scheme(escalation.scheme, by=by, decision=minuted)
                escalation.status = EscalationStatus.CLOSED
                escalation.closed_at = now
                escalation.save()
                _close_others(escalation, now=now, by=by, label=label)
            if decision == Decision.CONTINUE:
                # stopping is a step of the scheme, which records a deputy's part itself
                deputies.record_act(by, escalation.scheme, f"QAG decision: {label.lower()}")
            EscalationEvent.objects.create(
                escalation=escalation,
                at=now,
                by=by,
                what=f"QAG decision: {label.lower()}{deputies.for_whom(by)}",
                # the minuted reasons as decided: a later decision overwrites the escalation's
                # copy, so each decision's own words are kept here
                detail=_decision_detail(meeting, note, due, earlier),
            )
            emails.escalation_decided(escalation=escalation)
            return escalation

    return _refused(by, "escalation_decide", escalation_id, work)


def _standing(escalation: Escalation) -> str:
    """The decision standing before this one, in words for the history ("" if none)."""
    if not escalation.decision:
        return ""
    meeting = escalation.decision_meeting
    when = f" at the meeting of {meeting:%-d %B %Y}" if meeting else ""
    return f"{escalation.get_decision_display()}{when}"


def _check_meeting(escalation: Escalation, meeting: date) -> None:
    """The meeting must be on or after the day the escalation was raised, and a decision
    already recorded stands: only a later meeting's decision replaces it."""
    if meeting < timezone.localdate(escalation.raised_at):
        raise ActionRefused(
            f"The escalation was raised on {escalation.raised_at:%-d %B %Y}: QAG cannot "
            "have decided on it at an earlier meeting."
        )
    standing = escalation.decision_meeting
    if escalation.decision and standing is not None and meeting <= standing:
        raise ActionRefused(
            f"QAG's decision of its meeting of {standing:%-d %B %Y} is already recorded "
            f"({escalation.get_decision_display().lower()}, by {escalation.decided_by}). It "
            "stands until QAG decides again at a later meeting: record that decision with "
            "its meeting date and reasons."
        )


def _decision_detail(meeting: date, note: str, due: date | None, earlier: str) -> str:
    lines = [f"At the QAG meeting of {meeting:%-d %B %Y}.", note]
    if due:
        lines.append(f"New due date {due:%-d %B %Y}.")
    if earlier:
        lines.append(f"This replaces the earlier decision: {earlier}.")
    return "\n".join(lines)


def _stop_scheme(scheme: Scheme, *, by: User, decision: str) -> None:
    if scheme.state != SchemeState.IN_DELIVERY:
        raise ActionRefused(
            f"The scheme is {scheme.state_words}, not in delivery: it cannot be stopped."
        )
    lifecycle.scheme_stop(scheme_id=scheme.pk, by=by, expected_version=None, decision=decision)


def _close_others(escalation: Escalation, *, now: datetime, by: User, label: str) -> None:
    others = list(
        Escalation.objects.filter(scheme_id=escalation.scheme_id, status__in=ACTIVE).exclude(
            pk=escalation.pk
        )
    )
    Escalation.objects.filter(pk__in=[e.pk for e in others]).update(
        status=EscalationStatus.CLOSED, closed_at=now
    )
    EscalationEvent.objects.bulk_create(
        EscalationEvent(
            escalation=e,
            at=now,
            by=by,
            what="Escalation closed",
            detail=f"The scheme was stopped by QAG decision ({label.lower()}).",
        )
        for e in others
    )
