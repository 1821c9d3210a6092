"""One small function per e-mail the product sends.

Each picks the recipients and the words, then queues the mail (subject, text and HTML from
templates/emails/<name>-*) and the in-app notice in the caller's transaction. Nothing is sent
until that transaction commits.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.urls import reverse

from governance import roles
from governance.models import Scheme, User
from notifications.models import QagListEntry
from notifications.outbox import Mail, queue_mails

# Inside `batch()`, mails are collected and queued together at the end: a sweep that raises
# a thousand escalations writes its mails in a few queries rather than thousands.
_batch: ContextVar[dict | None] = ContextVar("mail_batch", default=None)


@contextmanager
def batch():
    if _batch.get() is not None:  # already in one: the outer one queues
        yield
        return
    token = _batch.set({"mails": [], "qag": {}, "roles": {}})
    try:
        yield
        queue_mails(_batch.get()["mails"])
    finally:
        _batch.reset(token)


def lead_and_sro(scheme: Scheme) -> list[User]:
    """Uses the scheme's loaded users when the caller selected them (no query)."""
    people = {user.pk: user for user in (scheme.project_lead, scheme.sro)}
    return [user for user in people.values() if user.is_active]


def users_with_role(scheme: Scheme, *role_names: str) -> list[User]:
    """Active users of the scheme's organisation holding any of the roles, minus its whole
    team: a task mail never goes to someone the task list does not offer it (nobody reviews,
    scores or signs their own scheme), and the team hears as the team. Inside `batch()`,
    one query per organisation and roles, however many schemes are mailed."""
    key = (scheme.organisation_id, role_names)
    current = _batch.get()
    if current is None:
        found = _role_holders(*key)
    else:
        if key not in current["roles"]:
            current["roles"][key] = _role_holders(*key)
        found = current["roles"][key]
    return [user for user in found if user.pk not in scheme.team_ids]


def _role_holders(organisation_id: int, role_names: tuple[str, ...]) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, groups__name__in=role_names, organisations=organisation_id
        ).distinct()
    )


def qag_recipients(system_id: int) -> list:
    """The QAG distribution list of a system: its QAG members, then the admin's entries.
    Users come back as users (they also get the in-app notice), others as addresses."""
    current = _batch.get()
    if current is not None:
        if system_id not in current["qag"]:
            current["qag"][system_id] = _qag_recipients(system_id)
        return current["qag"][system_id]
    return _qag_recipients(system_id)


def _qag_recipients(system_id: int) -> list:
    members = list(
        User.objects.filter(
            is_active=True,
            groups__name=roles.QAG_MEMBER,
            organisations__system_id=system_id,
        ).distinct()
    )
    found = {user.email.lower() for user in members if user.email}
    for entry in QagListEntry.objects.filter(system_id=system_id, is_active=True).select_related(
        "user"
    ):
        if entry.user_id and entry.user.is_active:
            if entry.user.email.lower() not in found and entry.user not in members:
                members.append(entry.user)
                found.add(entry.user.email.lower())
        elif entry.email and entry.email.lower() not in found:
            members.append(entry.email)
            found.add(entry.email.lower())
    return members


def _send(
    template, to, *, kind, scheme=None, url="", dedupe=None, topic="", urgent=False, **context
):
    mails = [
        Mail(
            template=template,
            to=recipient,
            context=context,
            kind=kind,
            scheme=scheme,
            url=url,
            dedupe=dedupe,
            topic=topic,
            urgent=urgent,
        )
        for recipient in to
    ]
    current = _batch.get()
    if current is not None:
        current["mails"].extend(mails)
    else:
        queue_mails(mails)


# --- the workflow ---


def task_assigned(*, users, scheme: Scheme, task: str, url: str = "", message: str = ""):
    """Work now waits for these users: a review, panel scoring, a sign-off, a return."""
    _send(
        "task-assigned",
        users,
        kind="task",
        scheme=scheme,
        url=url,
        subject=f"{task}: {scheme.reference} {scheme.title}",
        message=message,
        task=task,
    )


def _to_team(scheme: Scheme, template: str, *, kind: str, heading: str, **context):
    """A mail to the scheme's project lead and SRO; its subject "heading: reference title"."""
    subject = f"{heading}: {scheme.reference} {scheme.title}"
    _send(template, lead_and_sro(scheme), kind=kind, scheme=scheme, subject=subject, **context)


def scheme_returned(*, scheme: Scheme, by, reason: str):
    heading = "Returned for revision"
    _to_team(scheme, "scheme-returned", kind="returned", heading=heading, message=reason, by=by)


def scheme_rejected(*, scheme: Scheme, by, reason: str):
    heading = "Not supported"
    _to_team(scheme, "scheme-rejected", kind="rejected", heading=heading, message=reason, by=by)


def scheme_approved(*, scheme: Scheme, message: str = ""):
    """To the project lead and SRO; and to the PMO of its organisation, whose task it now is
    to start delivery (the mail says so and links to it)."""
    _to_team(scheme, "scheme-approved", kind="approved", heading="Approved", message=message)
    _send(
        "scheme-approved",
        users_with_role(scheme, roles.PMO),
        kind="approved",
        scheme=scheme,
        url=reverse("scheme_start_delivery", args=[scheme.pk]),
        subject=f"Approved, start delivery: {scheme.reference} {scheme.title}",
        message=message,
        to_pmo=True,
    )


def extreme_risk_signed_off(
    *, scheme: Scheme, score: int, url: str = "", justification: str = "", dedupe: str = ""
):
    """A QIA signed off with an extreme agreed score: flagged to QAG."""
    _send(
        "extreme-risk",
        qag_recipients(scheme.organisation.system_id),
        kind="extreme_risk",
        scheme=scheme,
        url=url,
        dedupe=dedupe or None,
        subject=f"Extreme QIA risk signed off: {scheme.reference} {scheme.title}",
        score=score,
        justification=justification,
    )


def returns_due(*, user, month: str, deadline, schemes: list, dedupe: str):
    """The month's returns a finance lead or project lead still owes: [(scheme, url)]."""
    n = len(schemes)
    _send(
        "returns-due",
        [user],
        kind="task",
        url=reverse("my_tasks"),
        dedupe=dedupe,
        subject=(
            f"Monthly return due by {deadline:%-d %B}: {schemes[0][0].reference}"
            if n == 1
            else f"{n} monthly returns due by {deadline:%-d %B}"
        ),
        message=f"Enter the {month} return{'s' if n > 1 else ''} by {deadline:%-d %B %Y}.",
        month=month,
        deadline=deadline,
        schemes=schemes,
    )


def step_reminder(
    *,
    users,
    scheme: Scheme,
    step: str,
    waiting_days: int,
    url: str,
    dedupe: str,
    escalates: bool = True,
):
    """A workflow step has waited past its service level: remind whoever it waits for.
    `escalates`: the step goes to the PMO at twice its service level (the mail says so)."""
    _send(
        "step-reminder",
        users,
        kind="reminder",
        scheme=scheme,
        url=url,
        dedupe=dedupe,
        subject=f"Reminder, {step} waiting {waiting_days} days: {scheme.reference}",
        step=step,
        waiting_days=waiting_days,
        escalates=escalates,
    )


# --- escalations (each mail once per escalation and recipient) ---


def _about(
    escalation, template: str, to, *, key: str, summary: str, urgent: bool = False, **context
):
    """A mail about an escalation, linked to it: once per escalation, recipient and `key`."""
    _send(
        template,
        to,
        kind="escalation",
        scheme=escalation.scheme,
        url=escalation.get_absolute_url(),
        dedupe=f"escalation:{escalation.pk}:{key}",
        topic=f"escalation:{escalation.pk}",
        urgent=urgent,
        escalation=escalation,
        summary=summary,
        **context,
    )


def escalation_raised(*, escalation):
    """The mail says the scheme is escalated to the PMO: its organisation's PMO gets it, with
    the SRO who owns it and the project lead."""
    recipients = [*lead_and_sro(escalation.scheme), *users_with_role(escalation.scheme, roles.PMO)]
    _about(escalation, "escalation-raised", recipients, key="raised", summary=escalation.reason)


def escalation_to_qag(*, escalation, again: bool = False):
    """The escalation goes before QAG: raised by the PMO, or `again` when QAG let the scheme
    continue and the due date passed with it still off track (once per due date). It goes at
    once to everyone, whatever they chose for escalations: QAG decides on it at its next
    meeting, and the SRO and project lead must know before then."""
    scheme = escalation.scheme
    recipients = [*lead_and_sro(scheme), *qag_recipients(scheme.organisation.system_id)]
    key = f"qag-again:{escalation.remedial_due:%Y%m%d}" if again else "qag"
    summary = escalation.reason
    _about(
        escalation, "escalation-qag", recipients, key=key, summary=summary, urgent=True, again=again
    )


def escalation_decided(*, escalation):
    """QAG's decision: to the SRO and project lead, the PMO of the scheme's organisation (who
    follows the escalation up) and the QAG list (the record of what QAG decided)."""
    scheme = escalation.scheme
    recipients = [
        *lead_and_sro(scheme),
        *users_with_role(scheme, roles.PMO),
        *qag_recipients(scheme.organisation.system_id),
    ]
    _about(
        escalation,
        "escalation-decision",
        recipients,
        key=f"decision:{escalation.decided_at:%Y%m%d%H%M%S%f}",
        summary=escalation.decision_note,
    )


def escalation_resolved(*, escalation, told: list):
    """To everyone told about the escalation before (`told`: users and addresses)."""
    _about(
        escalation,
        "escalation-resolved",
        told,
        key="resolved",
        summary=f"Resolved: {escalation.rule_phrase} no longer applies.",
    )


# --- QAG ---


def qag_pack(*, pack, to: list, dedupe: str):
    _send(
        "qag-pack",
        to,
        kind="qag_pack",
        url=reverse("qag_pack") + f"?system={pack.system.pk}",
        dedupe=dedupe,
        pack=pack,
        summary=pack.summary,
    )
