"""Conditions of approval: a sign-off or a QAG decision may approve a scheme on conditions, each
with an owner and a due date. The owner (or the scheme's SRO) marks it met with evidence; one
still open after its due date is escalated to the PMO like a late return (notifications.rules).

Who may mark a condition met: its owner, who was given it, or the scheme's SRO, who answers
for the scheme (an owner who has left, say). Nobody else: the signatory or QAG member who set
it judged the scheme, and judges again only through the escalation if it is not met in time.
"""

from collections.abc import Callable
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from governance import deputies, policy
from governance.models import Scheme, SchemeState, User
from governance.services import CONFLICT_MESSAGE, ActionRefused, Conflict, logged
from notifications.outbox import notify
from qia.models import Condition, ConditionSource

# The most conditions one decision sets (the forms offer as many rows).
MAX_CONDITIONS = 10
TEXT_LENGTH = Condition._meta.get_field("text").max_length
EVIDENCE_LENGTH = Condition._meta.get_field("evidence").max_length
LINK_LENGTH = Condition._meta.get_field("evidence_link").max_length

# The states of a scheme whose open conditions wait for their owners: approved (or on the way to
# it, between the two signatures or before QAG) and not yet over. A scheme sent back to draft
# or rejected after a first signatory approved with conditions never was approved on them.
OWED_IN = [
    SchemeState.AWAITING_SIGN_OFF,
    SchemeState.AWAITING_QAG,
    SchemeState.APPROVED,
    SchemeState.IN_DELIVERY,
]

# Run inside condition_meet's transaction when an overdue condition is met: hook(condition=,
# by=). QiaConfig.ready() adds the escalation rules' (they run again once it commits).
CONDITION_MET_HOOKS: list[Callable] = []


# --- setting them ---


def add_conditions(*, scheme: Scheme, by: User, source: str, rows: list[dict]) -> list[Condition]:
    """The conditions a sign-off or a QAG approval is given on, each row {"text", "owner",
    "due_on"}; each owner is told. Called by those services inside their transaction, which
    records a refusal (ActionRefused, naming the row) and undoes the approval with it."""
    if source not in ConditionSource.values:
        raise ActionRefused("Unknown source of conditions.")
    if len(rows) > MAX_CONDITIONS:
        raise ActionRefused(f"At most {MAX_CONDITIONS} conditions can be set at once.")
    today = timezone.localdate()
    checked = [_checked_row(scheme, row, number, today) for number, row in enumerate(rows, 1)]
    created = [
        Condition.objects.create(scheme=scheme, source=source, set_by=by, **row) for row in checked
    ]
    for condition in created:
        _tell_owner(condition, by)
    return created


def _checked_row(scheme: Scheme, row: dict, number: int, today: date) -> dict:
    text = (row.get("text") or "").strip()
    owner, due_on = row.get("owner"), row.get("due_on")
    if not text:
        raise ActionRefused(f"Condition {number}: write what the condition is.")
    if len(text) > TEXT_LENGTH:
        raise ActionRefused(
            f"Condition {number}: at most {TEXT_LENGTH:,} characters (it has {len(text):,})."
        )
    if not isinstance(owner, User):
        raise ActionRefused(f"Condition {number}: choose who owns it.")
    if not owner.is_active or scheme.organisation_id not in owner.organisation_ids:
        raise ActionRefused(
            f"Condition {number}: {owner} is not an active member of "
            f"{scheme.organisation.code}; choose an owner who is."
        )
    if not isinstance(due_on, date):
        raise ActionRefused(f"Condition {number}: give the date it is due by.")
    if due_on < today:
        raise ActionRefused(
            f"Condition {number}: the due date, {due_on:%-d %B %Y}, has passed: give today "
            "or a later date."
        )
    return {"text": text, "owner": owner, "due_on": due_on}


def _tell_owner(condition: Condition, by: User) -> None:
    scheme = condition.scheme
    notify(
        users=[condition.owner],
        scheme=scheme,
        kind="task",
        subject=(
            f"Condition to meet by {condition.due_on:%-d %B %Y}: {scheme.reference} {scheme.title}"
        ),
        message=(
            f"{deputies.signed_name(by)} set this condition, which you own, at the "
            f"{ConditionSource(condition.source).label} of {scheme.reference}: "
            f"{condition.text}\n\nWhen it is met, mark it met on the scheme page with the "
            "evidence. Not met by its due date, it is escalated to the PMO."
        ),
        url=f"{scheme.get_absolute_url()}#conditions",
    )


# --- meeting them ---


def meet_refusal(user, condition: Condition) -> str | None:
    """Why `user` may not mark the condition met, or None if they may (ACCESS.md)."""
    scheme = condition.scheme
    if not policy.can_view_scheme(user, scheme):
        return "You do not have access to this scheme."
    if user.pk not in (condition.owner_id, scheme.sro_id):
        return (
            f"Only the condition's owner ({condition.owner}) or the scheme's SRO can mark it met."
        )
    return None


def condition_meet(
    *,
    condition_id: int,
    by: User,
    evidence: str,
    evidence_link: str = "",
    expected_version: int | None = None,
) -> Condition:
    """The owner or the SRO marks the condition met, with the evidence (and a link to it, if
    any); whoever set it and the SRO are told. A refusal is recorded; someone else's change
    since the page was drawn (expected_version) is a Conflict."""
    evidence, evidence_link = evidence.strip(), evidence_link.strip()

    def attempt() -> Condition:
        with transaction.atomic():
            condition = _locked(condition_id)
            reason = meet_refusal(by, condition)
            if reason:
                raise ActionRefused(reason)
            if expected_version is not None and condition.version != expected_version:
                raise Conflict(CONFLICT_MESSAGE)
            if condition.is_met:
                raise ActionRefused(
                    f"This condition was marked met by {condition.met_by} on "
                    f"{timezone.localdate(condition.met_at):%-d %B %Y}."
                )
            _check_evidence(evidence, evidence_link)
            now = timezone.now()
            claimed = Condition.objects.filter(
                pk=condition.pk, version=condition.version, met_at__isnull=True
            ).update(
                met_at=now,
                met_by=by,
                evidence=evidence,
                evidence_link=evidence_link,
                version=condition.version + 1,
            )
            if not claimed:
                # another request marked it met first (SQLite locks no rows)
                raise Conflict(CONFLICT_MESSAGE)
            condition.met_at, condition.met_by, condition.version = now, by, condition.version + 1
            condition.evidence, condition.evidence_link = evidence, evidence_link
            _tell_met(condition, by)
            if condition.due_on < timezone.localdate():
                for hook in CONDITION_MET_HOOKS:
                    hook(condition=condition, by=by)
            return condition

    return logged(by, "condition_meet", f"condition {condition_id}", attempt)


def _locked(condition_id: int) -> Condition:
    try:
        return (
            Condition.objects.select_for_update(of=("self",))
            .select_related("scheme__organisation__system", "owner", "met_by")
            .get(pk=condition_id)
        )
    except Condition.DoesNotExist:
        raise ActionRefused("That condition does not exist.") from None


def _check_evidence(evidence: str, link: str) -> None:
    if not evidence:
        raise ActionRefused("Describe the evidence that the condition is met.")
    if len(evidence) > EVIDENCE_LENGTH:
        raise ActionRefused(f"Keep the evidence to {EVIDENCE_LENGTH:,} characters.")
    if not link:
        return
    if len(link) > LINK_LENGTH:
        raise ActionRefused(f"Keep the link to {LINK_LENGTH} characters.")
    try:
        URLValidator(schemes=["http", "https"])(link)
    except ValidationError:
        raise ActionRefused(
            "The evidence link must be a web address starting http:// or https://."
        ) from None


def _tell_met(condition: Condition, by: User) -> None:
    scheme = condition.scheme
    # whoever set it and the SRO; not the person who has just done it
    told = {user.pk: user for user in (condition.set_by, scheme.sro) if user.pk != by.pk}
    notify(
        users=told.values(),
        scheme=scheme,
        kind="qia",
        subject=f"Condition met: {scheme.reference} {scheme.title}",
        message=(
            f"{deputies.signed_name(by)} marked this condition met: {condition.text}\n\n"
            f"Evidence: {condition.evidence}"
            + (f"\n{condition.evidence_link}" if condition.evidence_link else "")
        ),
        url=f"{scheme.get_absolute_url()}#conditions",
    )


# --- reading them ---


def conditions_of(scheme: Scheme) -> list[Condition]:
    """The scheme's conditions, open and met, soonest due first."""
    return list(Condition.objects.filter(scheme=scheme).select_related("owner", "set_by", "met_by"))


def open_conditions(user):
    """The user's conditions still to meet, on schemes that owe them, soonest due first."""
    return (
        Condition.objects.filter(owner=user, met_at__isnull=True, scheme__state__in=OWED_IN)
        .select_related("scheme__organisation")
        .order_by("due_on", "pk")
    )


def meet_url(condition: Condition) -> str:
    return reverse("qia_condition_meet", args=[condition.pk])


def overdue_conditions(scheme_ids, today: date) -> dict[int, str]:
    """For the escalation rules: each of these schemes with a condition still open after its
    due date, and what is overdue, in words naming the conditions and their owners. One query:
    overdue conditions are few, whatever the number of schemes."""
    wanted = set(scheme_ids)
    found: dict[int, list[str]] = {}
    overdue = Condition.objects.filter(
        met_at__isnull=True, due_on__lt=today, scheme__state__in=OWED_IN
    ).select_related("owner")
    for condition in overdue.order_by("due_on", "pk"):
        if condition.scheme_id in wanted:
            found.setdefault(condition.scheme_id, []).append(
                f'"{short(condition.text, 80)}" (owner {condition.owner}, due '
                f"{condition.due_on:%-d %B %Y})"
            )
    return {
        scheme_id: (
            f"Condition{'s' if len(said) > 1 else ''} of approval not met by the due date: "
            + "; ".join(said)
            + "."
        )
        for scheme_id, said in found.items()
    }


def short(text: str, length: int) -> str:
    """The text on one line, cut at `length` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
