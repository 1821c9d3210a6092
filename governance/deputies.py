"""Deputies for people on leave (ACCESS.md "Deputies").

A reviewer, quality lead, chief nurse, clinical chair, PMO or QAG member names a deputy for one
of their roles and a date range; an administrator may name one for them. While it runs the
deputy sees the principal's tasks of that role in their own inbox, marked "for <name>", and
acts on them from there: the address carries `?for=<principal's id>`, and
governance.middleware.DeputyMiddleware marks the signed-in user as deputising (`deputising`)
for that one request. governance.policy then checks the action against the principal's role
and duties *and* the deputy's own (segregation of duties applies to both), and every record of
it says "Kwame Mensah for Dr Jane Smith". Both are mailed; the principal reads what was done
in their absence on their task page.

A deputy cannot pass the principal's tasks on: only the principal (or an administrator) names
a deputy, and a deputy's own deputy gets only the deputy's own tasks.
"""

from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from governance.models import (
    Delegation,
    DelegationEvent,
    DeputyAct,
    Organisation,
    Scheme,
    User,
)
from governance.policy import DELEGABLE_ACTIONS
from notifications.outbox import notify

# The longest a delegation runs: cover for leave, not a standing second holder of the role.
LONGEST = timedelta(days=183)
# How long after a delegation ends its principal still sees, on their task page, what was
# done for them.
BACK_FOR = timedelta(days=14)


# The pages on which a deputy acts for someone away (each a decision of governance.policy's
# DELEGABLE_ACTIONS): the deputy's inbox lists the principal's tasks on these pages only.
DEPUTY_PAGES = {
    "scheme_review",
    "qia_agree",
    "qia_panel_close",
    "qia_sign_off",
    "qia_qag_approval",
    "scheme_start_delivery",
    "escalation_decide",
}


class DelegationRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DelegationNotYours(DelegationRefused):
    """Someone else's delegation: not the user's to change (the page answers 403)."""


def deputising(user) -> Delegation | None:
    """The delegation the user acts under in this request, if any: its principal is whom
    they act for, its role what they act as."""
    return getattr(user, "deputising", None)


def on_behalf_of(user) -> User | None:
    acting = deputising(user)
    return acting.principal if acting else None


def signed_name(user) -> str:
    """Who acted, as a record names them: "Kwame Mensah for Dr Jane Smith" when deputising,
    else "Kwame Mensah"."""
    acting = deputising(user)
    return f"{user} for {acting.principal}" if acting else str(user)


def for_whom(user) -> str:
    """After what someone did: " (Kwame Mensah for Dr Jane Smith)" when deputising, else ""."""
    return f" ({signed_name(user)})" if deputising(user) else ""


def held_by(deputy, day: date | None = None) -> list[Delegation]:
    """The delegations `deputy` holds that run on `day` (today), principal by principal."""
    day = day or timezone.localdate()
    return list(
        Delegation.objects.filter(
            deputy=deputy,
            starts_on__lte=day,
            ends_on__gte=day,
            ended_at__isnull=True,
            principal__is_active=True,
        )
        .select_related("principal", "organisation__system")
        .order_by("principal__last_name", "principal__first_name", "role")
    )


def deputising_through(deputy, delegation_id) -> Delegation | None:
    """The deputy's own delegation of that id, if it runs today."""
    try:
        pk = int(delegation_id)
    except (TypeError, ValueError):
        return None
    found = [d for d in held_by(deputy) if d.pk == pk]
    return found[0] if found else None


# --- naming, changing and ending a delegation ---


def _check(by, principal, deputy, role, organisation, starts_on, ends_on, *, admin: bool):
    if deputising(by):
        raise DelegationRefused(
            f"You are acting for {deputising(by).principal}: a deputy cannot pass their tasks on."
        )
    if not admin and by.pk != principal.pk:
        raise DelegationRefused(
            "You name deputies for yourself only; an administrator names others'."
        )
    if role not in DELEGABLE_ACTIONS:
        raise DelegationRefused("Choose one of the roles a deputy can cover.")
    if not principal.has_role(role):
        raise DelegationRefused(f"{principal} does not hold the role {role}.")
    if deputy is None or deputy.pk == principal.pk:
        raise DelegationRefused("Choose someone else as deputy.")
    if not deputy.is_active:
        raise DelegationRefused(f"{deputy}'s account is not active.")
    if (
        organisation.pk not in principal.organisation_ids
        or organisation.pk not in deputy.organisation_ids
    ):
        raise DelegationRefused(
            f"A deputy works in the same organisation: {deputy} and {principal} are not both "
            f"members of {organisation.code}."
        )
    if not admin and not deputy.has_role(role):
        raise DelegationRefused(
            f"{deputy} does not hold the role {role}: name someone who does, or ask an "
            "administrator to name a deputy who does not."
        )
    if starts_on is None or ends_on is None or ends_on < starts_on:
        raise DelegationRefused("The last day cannot be before the first.")
    if ends_on < timezone.localdate():
        raise DelegationRefused("The last day has passed already.")
    if ends_on - starts_on > LONGEST:
        raise DelegationRefused(
            "A delegation runs for six months at most: it covers leave, it does not share a role."
        )


def _overlapping(principal, role, starts_on, ends_on, leave_out=None):
    found = Delegation.objects.filter(
        principal=principal,
        role=role,
        ended_at__isnull=True,
        starts_on__lte=ends_on,
        ends_on__gte=starts_on,
    )
    if leave_out is not None:
        found = found.exclude(pk=leave_out.pk)
    return found.select_related("deputy").first()


def _period(delegation) -> str:
    return f"{delegation.starts_on:%-d %B %Y} to {delegation.ends_on:%-d %B %Y}"


def _tell(delegation, subject: str, message: str) -> None:
    notify(
        users=[delegation.principal, delegation.deputy],
        kind="deputy",
        subject=subject,
        message=message,
        url=reverse("deputy_list"),
    )


def name_deputy(
    *,
    by: User,
    principal: User,
    deputy: User,
    role: str,
    organisation: Organisation,
    starts_on: date,
    ends_on: date,
    admin: bool = False,
) -> Delegation:
    """`by` (the principal, or an administrator with `admin`) names `deputy` to act for
    `principal` in `role` from `starts_on` to `ends_on`."""
    _check(by, principal, deputy, role, organisation, starts_on, ends_on, admin=admin)
    with transaction.atomic():
        # one principal's delegations are named one at a time: two never overlap
        User.objects.select_for_update().get(pk=principal.pk)
        clash = _overlapping(principal, role, starts_on, ends_on)
        if clash is not None:
            raise DelegationRefused(
                f"{clash.deputy} is already {principal}'s deputy as {role} from {_period(clash)}: "
                "change or end that delegation first."
            )
        delegation = Delegation.objects.create(
            principal=principal,
            deputy=deputy,
            role=role,
            organisation=organisation,
            starts_on=starts_on,
            ends_on=ends_on,
            named_by=by,
        )
        what = f"{by} named {deputy} deputy for {principal} as {role}, {_period(delegation)}."
        DelegationEvent.objects.create(delegation=delegation, by=by, what=what)
        _tell(delegation, f"Deputy named: {deputy} for {principal} as {role}", what)
    return delegation


def _may_change(by, delegation, *, admin: bool) -> None:
    if deputising(by):
        raise DelegationNotYours("A deputy cannot change the delegation they act under.")
    if not admin and by.pk != delegation.principal_id:
        raise DelegationNotYours(
            "Only the person who is away, or an administrator, changes or ends a delegation."
        )
    if delegation.ended_at is not None:
        raise DelegationRefused("This delegation has ended already.")


def change_dates(
    *, by: User, delegation_id: int, starts_on: date, ends_on: date, admin: bool = False
) -> Delegation:
    with transaction.atomic():
        # the principal first, as name_deputy locks it: their delegations never overlap
        principal_id = Delegation.objects.values_list("principal_id", flat=True).get(
            pk=delegation_id
        )
        User.objects.select_for_update().get(pk=principal_id)
        delegation = (
            Delegation.objects.select_for_update(of=("self",))
            .select_related("principal", "deputy", "organisation")
            .get(pk=delegation_id)
        )
        _may_change(by, delegation, admin=admin)
        _check(
            by,
            delegation.principal,
            delegation.deputy,
            delegation.role,
            delegation.organisation,
            starts_on,
            ends_on,
            # a deputy an administrator named (who may not hold the role) stays allowed
            admin=admin or delegation.named_by_id != delegation.principal_id,
        )
        clash = _overlapping(delegation.principal, delegation.role, starts_on, ends_on, delegation)
        if clash is not None:
            raise DelegationRefused(
                f"{clash.deputy} is already deputy as {delegation.role} from {_period(clash)}."
            )
        before = _period(delegation)
        delegation.starts_on, delegation.ends_on = starts_on, ends_on
        delegation.save(update_fields=["starts_on", "ends_on"])
        what = f"{by} changed the dates from {before} to {_period(delegation)}."
        DelegationEvent.objects.create(delegation=delegation, by=by, what=what)
        _tell(delegation, f"Delegation changed: {delegation}", what)
    return delegation


def end(*, by: User, delegation_id: int, admin: bool = False) -> Delegation:
    with transaction.atomic():
        delegation = (
            Delegation.objects.select_for_update(of=("self",))
            .select_related("principal", "deputy")
            .get(pk=delegation_id)
        )
        _may_change(by, delegation, admin=admin)
        delegation.ended_at = timezone.now()
        delegation.ended_by = by
        delegation.save(update_fields=["ended_at", "ended_by"])
        what = f"{by} ended the delegation on {timezone.localdate():%-d %B %Y}."
        DelegationEvent.objects.create(delegation=delegation, by=by, what=what)
        _tell(delegation, f"Delegation ended: {delegation}", what)
    return delegation


# --- what deputies did ---


def record_act(user, scheme: Scheme, what: str) -> None:
    """Keep and tell what a deputy did for their principal (nothing when the user acts in
    their own right)."""
    acting = deputising(user)
    if acting is None:
        return
    said = f"{signed_name(user)}: {what}"
    DeputyAct.objects.create(delegation=acting, scheme=scheme, what=said)
    notify(
        users=[acting.principal, user],
        scheme=scheme,
        kind="deputy",
        subject=f"{user} acted for {acting.principal} on {scheme.reference}",
        message=said,
        url=scheme.get_absolute_url(),
    )


def done_for(principal) -> list[DeputyAct]:
    """What deputies did for `principal` under delegations running or ended in the last
    fortnight: what they read when back."""
    since = timezone.localdate() - BACK_FOR
    return list(
        DeputyAct.objects.filter(delegation__principal=principal, delegation__ends_on__gte=since)
        .select_related("scheme", "delegation__deputy")
        .order_by("-at", "-id")[:50]
    )


def note_step(sender, instance, **kwargs) -> None:
    """django-fsm-log's record of a step a deputy took says so: "(Kwame Mensah for Dr Jane
    Smith)", and a step of a scheme is kept as a DeputyAct for the principal. Connected to
    StateLog's pre_save in GovernanceConfig.ready(): every workflow step goes through it."""
    if instance.pk is not None or instance.by is None:
        return
    acting = deputising(instance.by)
    if acting is None:
        return
    what = instance.description or instance.transition.replace("_", " ")
    instance.description = f"{what}{for_whom(instance.by)}"
    if isinstance(instance.content_object, Scheme):
        record_act(instance.by, instance.content_object, what)
