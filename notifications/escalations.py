"""What people do to an escalation: the SRO agrees a remedial action, the PMO raises it to
QAG, a QAG member records QAG's decision. Nobody else changes an escalation (ACCESS.md).

Each is one service function: take the escalation lock, lock the row, check the actor
(governance.policy), change it, write the history, queue the mail. A refusal raises
governance.services.ActionRefused with a message for the user and is recorded.
"""

from collections import defaultdict
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import policy, roles
from governance.models import Scheme, SchemeState, User
from governance.services import ActionRefused, Conflict, record_refusal
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
    if policy.is_team(user, scheme):
        return "You cannot escalate a scheme on whose team you are (segregation of duties)."
    return None


def _decide(user, scheme: Scheme) -> str | None:
    if not user.has_role(roles.QAG_MEMBER):
        return "Only a member of the QIPP Assurance Group can record QAG's decision."
    if not policy.in_system(user, scheme):
        return "You decide on schemes of your own system only."
    if policy.is_team(user, scheme):
        return "You cannot decide on a scheme on whose team you are (segregation of duties)."
    return None


# The escalations' access rules, which NotificationsConfig.ready() gives governance.policy.
POLICY_RULES = {
    "escalation_view": _see,
    "escalation_remedial": _remedial,
    "escalation_raise": _raise,
    "escalation_decide": _decide,
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


def _locked(escalation_id: int, now: datetime, expected_version: int | None = None) -> Escalation:
    """The escalation, its row locked until the transaction ends; a Conflict when someone
    has recorded something on it since the user's form was drawn (`expected_version`)."""
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
    try:
        return work()
    except Conflict:
        raise  # not a refusal: the user acted on a page someone else has since changed
    except ActionRefused as exc:
        record_refusal(
            user=user, action=action, target=f"escalation {escalation_id}", reason=exc.message
        )
        raise


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

    def work():
        if not action:
            raise ActionRefused("Describe the remedial action.")
        if due < today:
            raise ActionRefused("The remedial action's due date cannot be in the past.")
        now = timezone.now()
        with transaction.atomic():
            escalation = _locked(escalation_id, now, expected_version)
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
    due: date | None = None,
    expected_version: int | None = None,
) -> Escalation:
    """A QAG member records QAG's decision. Continue: the remedial plan stands (a new due
    date may be set). Stop, or replace with a recovery scheme: the scheme is stopped through
    the delivery app's stop service, and its live escalations are closed."""
    note = note.strip()

    def work():
        if decision not in Decision.values:
            raise ActionRefused("Choose continue, stop or replace.")
        if not note:
            raise ActionRefused("Record the reasons for QAG's decision.")
        if due is not None and due < timezone.localdate():
            raise ActionRefused("The new due date cannot be in the past.")
        now = timezone.now()
        with transaction.atomic():
            escalation = _locked(escalation_id, now, expected_version)
            _check("escalation_decide", by, escalation)
            if escalation.level != Level.QAG:
                raise ActionRefused(
                    "QAG decides on escalations raised to it: the PMO raises this one first."
                )
            escalation.decision = decision
            escalation.decision_note = note
            escalation.decided_at = now
            escalation.decided_by = by
            label = Decision(decision).label
            if decision == Decision.CONTINUE:
                if due is not None:
                    escalation.remedial_due = due
                if escalation.remedial_action:
                    escalation.status = EscalationStatus.REMEDIAL_AGREED
                escalation.save()
            else:
                _stop(escalation.scheme, by=by, decision=f"{label}. {note}")
                escalation.status = EscalationStatus.CLOSED
                escalation.closed_at = now
                escalation.save()
                _close_others(escalation, now=now, by=by, label=label)
            EscalationEvent.objects.create(
                escalation=escalation,
                at=now,
                by=by,
                what=f"QAG decision: {label.lower()}",
                # the minuted reasons as decided: a later decision overwrites the escalation's
                detail=f"{note}\nNew due date {due:%-d %B %Y}." if due else note,
            )
            emails.escalation_decided(escalation=escalation)
            return escalation

    return _refused(by, "escalation_decide", escalation_id, work)


def _stop(scheme: Scheme, *, by: User, decision: str) -> None:
    if scheme.state != SchemeState.IN_DELIVERY:
        raise ActionRefused(
            f"The scheme is {scheme.state_words}, not in delivery: it cannot be stopped."
        )
    try:
        from governance.delivery.lifecycle import scheme_stop
    except ImportError:  # the delivery app is not wired in: the bare transition
        from governance.services import run_transition

        def work(locked):
            locked.stop_decision = decision
            locked.stop(by=by, description=f"Stopped by QAG decision: {decision}")

        run_transition(scheme_id=scheme.pk, by=by, action="stop", expected_version=None, work=work)
        return
    scheme_stop(scheme_id=scheme.pk, by=by, expected_version=None, decision=decision)


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
