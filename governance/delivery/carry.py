"""Carrying a recurrent saving into the next financial year, and the multi-year plan it makes.

A recurrent scheme that starts in month 7 saves twelve months' worth the year after: its
full-year effect (Scheme.full_year_effect). When next year's plan is built, the PMO of the
organisation carries each such scheme into that year as a plan line of its own: a scheme with
its own reference, linked one to one to the scheme it carries on, approved as that scheme was.
Its project lead then confirms the carried plan or edits it. A scheme carried year after year
is a multi-year plan: the chain of its years, each with its own profile.
"""

from decimal import Decimal
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from governance import money, policy, selectors, services
from governance.models import (
    PLAN_FIELDS,
    FinancialYear,
    Organisation,
    Recurrence,
    Scheme,
    SchemeChange,
    SchemeState,
    User,
)
from governance.services import ActionRefused
from notifications import emails

# A scheme has a saving to carry once it is approved, and keeps it when completed; a stopped,
# rejected or withdrawn scheme saves nothing next year, and a draft is not agreed yet.
CARRIED_STATES = (SchemeState.APPROVED, SchemeState.IN_DELIVERY, SchemeState.COMPLETED)

# A full-year effect above £0, as a query: a recurrent part saved in March, the year's last
# month (Scheme.full_year_effect is that month's recurrent saving twelve times).
SAVES_IN_MARCH = Q(recurrence=Recurrence.RECURRENT, plan_m12__gt=0) | Q(
    recurrence=Recurrence.MIXED, recurrent_m12__gt=0
)


def following_year(financial_year: FinancialYear) -> FinancialYear | None:
    """The financial year after this one, if an administrator has added it."""
    return FinancialYear.objects.filter(start_year=financial_year.start_year + 1).first()


def following_label(financial_year: FinancialYear) -> str:
    """The next year's label ("2027/28"), whether or not it has been added."""
    return FinancialYear(start_year=financial_year.start_year + 1).label


def page_url(organisation_id: int, financial_year: FinancialYear | None) -> str:
    """The carry page of the organisation's year (its default year when None)."""
    query = {"organisation": organisation_id}
    if financial_year is not None:
        query["year"] = financial_year.label
    return f"{reverse('scheme_carry')}?{urlencode(query, safe='/')}"


def carriable(organisation: Organisation, financial_year: FinancialYear) -> QuerySet[Scheme]:
    """The schemes of the organisation's year whose recurrent saving may be carried into the
    next year: approved, in delivery or completed, with a full-year effect, not carried yet,
    and, for one carried on from the year before, its plan confirmed. A recovery action is
    among them when its saving recurs: next year it is part of the plan from the start."""
    return (
        Scheme.objects.filter(
            organisation=organisation,
            financial_year=financial_year,
            state__in=CARRIED_STATES,
            carried_into__isnull=True,
        )
        .filter(SAVES_IN_MARCH)
        .filter(Q(carried_from__isnull=True) | Q(carry_confirmed_at__isnull=False))
        .order_by("sequence")
    )


def carried_already(organisation: Organisation, financial_year: FinancialYear) -> QuerySet[Scheme]:
    """The schemes of the following year carried on from this one's."""
    return (
        Scheme.objects.filter(
            carried_from__organisation=organisation, carried_from__financial_year=financial_year
        )
        .select_related("carried_from", "financial_year")
        .order_by("carried_from__sequence")
    )


def carried_into(scheme: Scheme) -> Scheme | None:
    """The scheme of the following year that carries this one on, if any (Django keeps the
    answer on the scheme: asked again, no query)."""
    try:
        return scheme.carried_into
    except Scheme.DoesNotExist:
        return None


def why_not_carried(
    scheme: Scheme, organisation: Organisation, financial_year: FinancialYear
) -> str | None:
    """Why this scheme may not be carried from the organisation's year, or None if it may."""
    if (scheme.organisation_id, scheme.financial_year_id) != (organisation.pk, financial_year.pk):
        year = financial_year.label
        return f"{scheme.reference} is not a scheme of {organisation.code} in {year}."
    if scheme.state not in CARRIED_STATES:
        return (
            f"{scheme.reference} is {scheme.state_words}: only an approved scheme, one in "
            "delivery or a completed one carries its saving into next year."
        )
    if scheme.full_year_effect <= 0:
        return (
            f"{scheme.reference} has no recurrent saving in March, the year's last month, so "
            "nothing of it carries into next year."
        )
    if scheme.carried_from_id is not None and scheme.carry_confirmed_at is None:
        # what it carries on is the plan its project lead stands by, not a figure still open
        return (
            f"{scheme.reference} carries on a plan its project lead has not confirmed yet: "
            "it is carried on once they have."
        )
    later = carried_into(scheme)
    if later is not None:
        year = following_label(financial_year)
        return f"{scheme.reference} is carried into {year} already, as {later.reference}."
    return None


def _refused(by: User, organisation: Organisation, financial_year: FinancialYear, reason: str):
    services.record_refusal(
        user=by,
        action="carry",
        target=f"carry {organisation.code} {financial_year.label}",
        reason=reason,
    )
    return ActionRefused(reason)


def carry_forward(
    *,
    organisation: Organisation,
    financial_year: FinancialYear,
    scheme_ids: list[int],
    by: User,
) -> list[Scheme]:
    """The PMO carries the ticked schemes of the organisation's year into the next: each
    becomes an approved scheme of that year whose plan is its full-year effect, month by
    month. All or none: a scheme that may not be carried (one never offered, or one someone
    else carried meanwhile) refuses the lot, saying which and why; each refusal is logged."""
    reason = policy.refusal("carry", by, organisation=organisation)
    if reason:
        raise _refused(by, organisation, financial_year, reason)
    following = following_year(financial_year)
    if following is None:
        raise _refused(
            by,
            organisation,
            financial_year,
            f"There is no {following_label(financial_year)} yet: an administrator adds it.",
        )
    try:
        with transaction.atomic():
            # the organisation's row numbers its schemes one at a time, as scheme_create does
            Organisation.objects.select_for_update().get(pk=organisation.pk)
            # the schemes carried are locked: a second PMO carrying the same one waits here,
            # then finds it carried
            originals = list(
                Scheme.objects.select_for_update(of=("self",))
                .filter(pk__in=set(scheme_ids))
                .order_by("pk")
            )
            if len(originals) < len(set(scheme_ids)):
                raise ActionRefused("A scheme ticked does not exist: nothing was carried.")
            problems = [
                why
                for original in originals
                if (why := why_not_carried(original, organisation, financial_year))
            ]
            if problems:
                raise ActionRefused(" ".join([*problems, "Nothing was carried."]))
            return [_carry(original, organisation, following, by) for original in originals]
    except ActionRefused as exc:
        raise _refused(by, organisation, financial_year, exc.message) from None


def _carry(
    original: Scheme, organisation: Organisation, following: FinancialYear, by: User
) -> Scheme:
    """The scheme of the following year that carries `original` on (locked by the caller)."""
    monthly = original.recurrent_plan[-1]
    sequence = services.next_sequence(organisation, following)
    scheme = Scheme(
        reference=services.make_reference(organisation, following, sequence),
        sequence=sequence,
        title=original.title,
        description=_description(original, following),
        organisation=organisation,
        financial_year=following,
        programme_area_id=original.programme_area_id,
        area_of_spend_id=original.area_of_spend_id,
        scheme_type=original.scheme_type,
        project_lead_id=original.project_lead_id,
        sro_id=original.sro_id,
        clinical_lead_id=original.clinical_lead_id,
        finance_lead_id=original.finance_lead_id,
        start_date=following.start_date,
        # the last month's recurrent saving in every month: the year sums to the full-year
        # effect. What recurs is the saving and the cost of running it, not the set-up cost.
        **dict.fromkeys(PLAN_FIELDS, monthly),
        recurrence=Recurrence.RECURRENT,
        cash_releasing=original.cash_releasing,
        investment_recurring=original.investment_recurring,
        carried_from=original,
        created_by=by,
        # approved already, as the scheme it carries on was: the PMO starts its delivery in
        # the new year as for any approved scheme. The fsm allows a state on creation only.
        state=SchemeState.APPROVED,
    )
    # the one-to-one link is left to the database: a second carry fails there (below)
    scheme.full_clean(exclude=["state", "carried_from"])
    try:
        with transaction.atomic():  # a savepoint: the failed insert is undone alone
            scheme.save()
    except IntegrityError:
        if Scheme.objects.filter(carried_from=original).exists():
            raise ActionRefused(
                f"{original.reference} is carried into {following.label} already: someone "
                "carried it meanwhile. Nothing was carried."
            ) from None
        raise ActionRefused("Could not number the new scheme: please try again.") from None
    emails.task_assigned(
        users=[user for user in [scheme.project_lead] if user.is_active],
        scheme=scheme,
        task=f"Confirm the plan carried from {original.reference}",
        url=reverse("carried_plan_confirm", args=[scheme.pk]),
        message=(
            f"The full-year effect of {original.reference}, {money.saving(scheme.annual_plan)}, "
            f"is carried into {following.label} as {scheme.reference}: confirm its plan, or "
            "change the months that will save differently."
        ),
    )
    return scheme


def _description(original: Scheme, following: FinancialYear) -> str:
    said = f"Full-year effect of {original.reference} carried into {following.label}."
    # a description that fills the field already loses its end rather than refuse the carry
    limit = Scheme._meta.get_field("description").max_length
    return f"{said}\n\n{original.description}"[:limit]


# --- its project lead confirms the carried plan ---


def carried_plan_confirm(
    *, scheme_id: int, by: User, plan: list[Decimal], expected_version: int | None
) -> tuple[Scheme, list[SchemeChange]]:
    """The project lead confirms the plan carried into the scheme's year, as it stands or with
    months changed; each month changed is in the history, as a PID edit's is."""

    def attempt():
        with transaction.atomic():
            scheme = services.lock_scheme(scheme_id, expected_version)
            reason = policy.refusal("confirm_carry", by, scheme)
            if reason:
                raise ActionRefused(reason)
            before = services.shown_values(scheme, PLAN_FIELDS)
            for field, amount in zip(PLAN_FIELDS, plan, strict=True):
                setattr(scheme, field, amount)
            scheme.full_clean(exclude=["state"])  # protected: the workflow sets it
            changes = services.field_changes(scheme, by, before)
            SchemeChange.objects.bulk_create(changes)
            # confirmed once the months are changed: the history reads in that order
            scheme.carry_confirmed_at = timezone.now()
            scheme.carry_confirmed_by = by
            services.save_scheme(scheme, state_before=scheme.state)
            return scheme, changes

    return services.refuse_logged(by, "confirm_carry", scheme_id, attempt)


# --- what the pages show of it ---


def years_of(scheme: Scheme) -> list[Scheme]:
    """The scheme's multi-year plan: the schemes it carries on from and those carrying it on,
    oldest year first, itself among them. A query a year."""
    shown = Scheme.objects.select_related("financial_year").defer(*selectors.LONG_TEXTS)
    years = [scheme]
    while years[0].carried_from_id is not None:
        years.insert(0, shown.get(pk=years[0].carried_from_id))
    while (later := shown.filter(carried_from=years[-1]).first()) is not None:
        years.append(later)
    return years


def history_events(scheme: Scheme) -> list[selectors.Event]:
    """A history source (governance.selectors.HISTORY_SOURCES): the carry into next year, on
    the scheme carried; and on the scheme carried on, its project lead's confirmation. (Its
    creation by the carry is its first entry: selectors._created.)"""
    events = []
    later = (
        Scheme.objects.filter(carried_from=scheme)
        .select_related("created_by", "financial_year")
        .defer(*selectors.LONG_TEXTS)
        .first()
    )
    if later is not None:
        events.append(
            selectors.Event(
                at=later.created_at,
                who=later.created_by,
                what=f"Carried into {later.financial_year.label} as {later.reference}",
                detail=(
                    f"Its full-year effect, {money.saving(scheme.full_year_effect)}, is "
                    f"{later.reference}'s plan for {later.financial_year.label}."
                ),
                kind="transition",
            )
        )
    if scheme.carry_confirmed_at is not None:
        events.append(
            selectors.Event(
                at=scheme.carry_confirmed_at,
                who=scheme.carry_confirmed_by,
                what="Carried plan confirmed by its project lead",
                detail=f"Annual plan {money.saving(scheme.annual_plan)}.",
                kind="transition",
            )
        )
    return events
