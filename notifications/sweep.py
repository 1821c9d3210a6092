"""The sweep (DESIGN.md "Escalation and notification"): it runs the rules (notifications.rules)
and compares what they found with the live escalations. A new finding raises an escalation
(and mails the SRO and project lead), a finding that is still there updates it (no mail), a
live escalation whose rule no longer fires resolves itself (and mails those who were told).
Then escalations whose remedial action is overdue go to QAG, and steps waiting past their
service level remind their assignees.

Everything is read in a fixed number of queries, whatever the number of schemes; everything is
written in one transaction behind the escalation lock, so two sweeps never interleave.
"""

from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from governance.delivery import schedule
from governance.models import (
    PLAN_FIELDS,
    Scheme,
    SchemeState,
)
from notifications import conf, emails, rules
from notifications.escalations import take_lock, told_about
from notifications.models import (
    ACTIVE,
    Escalation,
    EscalationEvent,
    EscalationStatus,
    Level,
    RulesDue,
)
from notifications.rules import FACT_FIELDS, STEPS, Facts, Findings, SweepResult

# The states some rule watches: delivery, the QIA's review date, the workflow steps.
WATCHED = [SchemeState.IN_DELIVERY, SchemeState.APPROVED, *STEPS]


def _schemes(scheme_ids, today: date) -> list[Facts]:
    """The schemes the rules look at: those in a watched state, of a year that has not closed.

    A closed year's scheme (schedule.closes_on: a past year loaded as it stood, or one nobody
    completed) owes no more returns and has no step left to take this year: it is neither
    escalated nor reminded, and an escalation still live on it resolves, as when a scheme is
    completed.
    """
    schemes = Scheme.objects.filter(
        state__in=WATCHED, financial_year__start_year__gte=schedule.earliest_open_year(today)
    )
    if scheme_ids is not None:
        schemes = schemes.filter(pk__in=scheme_ids)
    n = len(FACT_FIELDS)
    return [
        Facts(*row[:n], plan=list(row[n:]))
        for row in schemes.order_by().values_list(*FACT_FIELDS, *PLAN_FIELDS)
    ]


def sweep(
    *, scheme_ids: list[int] | None = None, now: datetime | None = None, dry_run: bool = False
) -> SweepResult:
    """Evaluate the rules (over every scheme, or the given ones) and apply what they found.

    With dry_run, everything is worked out and written, then rolled back: nothing is kept
    and no mail is queued.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        take_lock(now)
        schemes = _schemes(scheme_ids, today)
        findings = rules.evaluate(schemes, today=today, now=now)
        result = apply(findings, scheme_ids=scheme_ids, now=now, today=today)
        if scheme_ids is None:  # every scheme's rules have run
            RulesDue.objects.filter(queued_at__lte=now).delete()
        if dry_run:
            transaction.set_rollback(True)
    return result


def apply(findings: Findings, *, scheme_ids, now: datetime, today: date) -> SweepResult:
    result = SweepResult()
    in_scope = Escalation.objects.filter(status__in=ACTIVE)
    if scheme_ids is not None:
        in_scope = in_scope.filter(scheme_id__in=scheme_ids)
    live = {(e.scheme_id, e.rule): e for e in in_scope.select_related("owner")}
    new_keys = [key for key in findings.found if key not in live]
    stale = [e for key, e in live.items() if key not in findings.found and e.rule in findings.rules]

    # still firing: keep the finding up to date, quietly
    changed = []
    for key, reason in findings.found.items():
        escalation = live.get(key)
        if escalation is not None:
            escalation.last_fired_at = now
            result.updated.append(escalation)
            if escalation.reason != reason:
                escalation.reason = reason
                changed.append(escalation)
    # one statement, whatever their number: every live one of the rules run, but the stale
    in_scope.filter(rule__in=findings.rules).exclude(pk__in=[e.pk for e in stale]).update(
        last_fired_at=now
    )
    Escalation.objects.bulk_update(changed, ["reason"], batch_size=500)
    overdue = [
        e
        for key, e in live.items()
        if key in findings.found and e.level == Level.PMO and _remedial_overdue(e, today)
    ]
    # QAG let it continue and it is still found past the due date that decision stood on:
    # back before QAG, once (after this, it waits for QAG's next decision)
    again = [
        e
        for key, e in live.items()
        if key in findings.found
        and e.level == Level.QAG
        and e.decided_at is not None
        and e.decided_at >= e.raised_to_qag_at
        and e.qag_due_date_passed(today)
    ]
    full = _full_schemes(
        {k[0] for k in new_keys}
        | {e.scheme_id for e in stale + overdue + again}
        | {r.scheme.pk for r in findings.reminders}
    )

    # newly found: raise, at PMO level, owned by the SRO
    result.raised = Escalation.objects.bulk_create(
        [
            Escalation(
                scheme=full[scheme_id],
                rule=rule,
                owner=full[scheme_id].sro,
                reason=findings.found[(scheme_id, rule)],
                raised_at=now,
                last_fired_at=now,
            )
            for scheme_id, rule in new_keys
        ]
    )
    events = [
        EscalationEvent(
            escalation=e,
            at=now,
            what=f"Escalation raised to the PMO: {e.rule_phrase}",
            detail=e.reason,
        )
        for e in result.raised
    ]

    # no longer found: resolve
    _in_chunks(
        [e.pk for e in stale],
        lambda ids: Escalation.objects.filter(pk__in=ids, status__in=ACTIVE).update(
            status=EscalationStatus.RESOLVED, resolved_at=now
        ),
    )
    for e in stale:
        e.status, e.resolved_at, e.scheme = EscalationStatus.RESOLVED, now, full[e.scheme_id]
        events.append(
            EscalationEvent(
                escalation=e,
                at=now,
                what=f"Escalation resolved: {e.rule_phrase} no longer applies",
            )
        )
    result.resolved = stale

    # remedial action overdue (or never agreed): to QAG
    _in_chunks(
        [e.pk for e in overdue],
        lambda ids: Escalation.objects.filter(pk__in=ids, level=Level.PMO).update(
            level=Level.QAG, raised_to_qag_at=now
        ),
    )
    for e in overdue:
        e.level, e.raised_to_qag_at, e.scheme = Level.QAG, now, full[e.scheme_id]
        why = (
            f"the remedial action was due by {e.remedial_due:%-d %B %Y}"
            if e.remedial_due
            else "no remedial action was agreed in time"
        )
        events.append(EscalationEvent(escalation=e, at=now, what="Raised to QAG", detail=why))
    result.to_qag = overdue

    # a new raised_to_qag_at (after the decision) makes QAG's decision due again
    _in_chunks(
        [e.pk for e in again],
        lambda ids: Escalation.objects.filter(pk__in=ids, level=Level.QAG).update(
            raised_to_qag_at=now, raised_to_qag_by=None
        ),
    )
    for e in again:
        e.raised_to_qag_at, e.raised_to_qag_by, e.scheme = now, None, full[e.scheme_id]
        events.append(
            EscalationEvent(
                escalation=e,
                at=now,
                what="Due for a QAG decision again",
                detail=(
                    f"QAG decided on {timezone.localdate(e.decided_at):%-d %B %Y} to continue; "
                    f"the remedial action was due by {e.remedial_due:%-d %B %Y} and "
                    f"{e.rule_phrase} still applies."
                ),
            )
        )
    result.due_again = again
    EscalationEvent.objects.bulk_create(events)

    told = told_about(stale)
    with emails.batch():
        for e in result.raised:
            emails.escalation_raised(escalation=e)
        for e in overdue:
            emails.escalation_to_qag(escalation=e)
        for e in again:
            emails.escalation_to_qag(escalation=e, again=True)
        for e in stale:
            emails.escalation_resolved(escalation=e, told=told.get(e.pk, []))
        for reminder in findings.reminders:
            reminder.scheme = full[reminder.scheme.pk]
            emails.step_reminder(
                users=reminder.users,
                scheme=reminder.scheme,
                step=reminder.step,
                waiting_days=reminder.waiting_days,
                url=reminder.url,
                dedupe=reminder.dedupe,
                escalates=reminder.escalates,
            )
    result.reminders = findings.reminders
    return result


def _in_chunks(ids: list, work) -> None:
    """One statement for all, or as many as SQLite's limit of parameters needs."""
    size = connection.features.max_query_params or len(ids) or 1
    for start in range(0, len(ids), size):
        work(ids[start : start + size])


def _remedial_overdue(escalation: Escalation, today: date) -> bool:
    if escalation.remedial_due is not None:
        return escalation.remedial_due < today
    allowed = timedelta(days=conf.get("QIPP_REMEDIAL_ACTION_DAYS"))
    return timezone.localdate(escalation.raised_at) + allowed < today


def _full_schemes(ids) -> dict[int, Scheme]:
    """The schemes a mail is about, with what the mails show, in one query."""
    if not ids:
        return {}
    return Scheme.objects.select_related(
        "organisation", "financial_year", "project_lead", "sro"
    ).in_bulk(ids)


# --- the rules of schemes whose returns changed ---


def evaluate_due(scheme_ids: list[int]) -> SweepResult:
    """Run the rules of these schemes and clear what was due of them until now."""
    started = timezone.now()
    result = sweep(scheme_ids=scheme_ids)
    RulesDue.objects.filter(scheme_id__in=scheme_ids, queued_at__lte=started).delete()
    return result


def run_rules_due(*, older_than_seconds: int, limit: int = 1000) -> int:
    """The rules of schemes left due for longer than a task takes (their task was lost: the
    broker was down when their returns committed, or a worker died). How many ran."""
    stale = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        RulesDue.objects.filter(queued_at__lt=stale)
        .order_by("queued_at")
        .values_list("scheme_id", flat=True)[:limit]
    )
    if ids:
        evaluate_due(ids)
    return len(ids)
