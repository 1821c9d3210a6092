"""The pipeline's writes: adding an opportunity, changing it, closing it, and writing it up as a
PID. Each asks governance.policy, works on the opportunity's locked row, refuses a page drawn
from an older version (Conflict), bumps the version and records an OpportunityEvent, the
opportunity's history (and the start of its scheme's, once written up)."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from governance import money, policy, roles
from governance.models import (
    AreaOfSpend,
    FinancialYear,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
    Organisation,
    Scheme,
    User,
)
from governance.services.pid import scheme_create
from governance.services.transitions import (
    SENT_AGAIN_WITHIN,
    ActionRefused,
    AlreadyDone,
    Conflict,
    logged,
    record_refusal,
)

OPPORTUNITY_CONFLICT = (
    "This opportunity was changed meanwhile by someone else, so nothing was saved. The page "
    "now shows it as it is: check it and try again if still needed."
)

# What an edit may change, in the order the history lists it. Organisation and year make the
# reference, so they are chosen once, when the opportunity is added (as for a PID).
TRACKED_FIELDS = [
    "title",
    "description",
    "programme_area",
    "area_of_spend",
    "estimated_saving",
    "owner",
]


def make_reference(organisation: Organisation, financial_year: FinancialYear, sequence: int) -> str:
    return f"OPP-{organisation.code}-{financial_year.code}-{sequence:03d}"


def _display(opportunity: Opportunity, field: str) -> str:
    value = getattr(opportunity, field)
    if value is None:
        return ""
    if field == "estimated_saving":
        return money.saving(value)
    return str(value)


def _label(field: str) -> str:
    return str(Opportunity._meta.get_field(field).verbose_name).capitalize()


def _check_owner(owner: User, organisation: Organisation) -> None:
    if not owner.is_active or not owner.memberships.filter(organisation=organisation).exists():
        raise ValidationError(
            {"owner": f"{owner} is not a member of {organisation.code}: choose one of its people."}
        )


def _lock(opportunity_id: int, by: User, action: str, expected_version: int | None) -> Opportunity:
    """The opportunity, its row locked until the transaction ends, once the policy allows
    `action`; a Conflict when its version is no longer the one the user's page was drawn from
    (None: no check). The policy comes first: an opportunity written up meanwhile is refused
    with that reason, not as a conflict."""
    try:
        opportunity = (
            Opportunity.objects.select_for_update(of=("self",))
            .select_related("organisation", "financial_year", "owner", "scheme")
            .get(pk=opportunity_id)
        )
    except Opportunity.DoesNotExist:
        raise ActionRefused("That opportunity does not exist.") from None
    reason = policy.opportunity_refusal(action, by, opportunity)
    if reason:
        raise ActionRefused(reason)
    if expected_version is not None and opportunity.version != expected_version:
        raise Conflict(OPPORTUNITY_CONFLICT)
    return opportunity


def _save(opportunity: Opportunity, *, by: User, what: str, detail: str = "") -> None:
    """Save the locked opportunity a version higher, with the history entry of the change."""
    opportunity.version += 1
    opportunity.save()
    OpportunityEvent.objects.create(opportunity=opportunity, by=by, what=what, detail=detail)


def _next_sequence(organisation: Organisation, financial_year: FinancialYear) -> int:
    top = Opportunity.objects.filter(
        organisation=organisation, financial_year=financial_year
    ).aggregate(top=Max("sequence"))["top"]
    return (top or 0) + 1


class AlreadyAdded(AlreadyDone):
    """The user added this opportunity a moment ago: the same form sent twice (a double
    click). `opportunity` is the one they added."""

    def __init__(self, opportunity: Opportunity):
        super().__init__(f"You added {opportunity.reference} to the pipeline a moment ago.")
        self.opportunity = opportunity


def opportunity_create(*, by: User, data: dict) -> Opportunity:
    """A project lead or the PMO adds an idea to its organisation's pipeline. `data` holds its
    fields: title, description, organisation, financial_year, programme_area, area_of_spend,
    estimated_saving, owner. The same user adding one of the same title to the same
    organisation and year a moment ago is AlreadyAdded, with that one: not a second."""
    organisation = data["organisation"]
    reason = policy.opportunity_refusal("opportunity_create", by, organisation=organisation)
    if reason:
        record_refusal(
            user=by, action="opportunity_create", target="new opportunity", reason=reason
        )
        raise ActionRefused(reason)
    _check_owner(data["owner"], organisation)
    # Two added at once may pick the same number: the unique constraint refuses the second,
    # which simply tries the next number.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                # the organisation's row is the lock: two adds to it queue up, so the second
                # of a double click finds the first
                Organisation.objects.select_for_update().get(pk=organisation.pk)
                just_added = Opportunity.objects.filter(
                    created_by=by,
                    organisation=organisation,
                    financial_year=data["financial_year"],
                    title=data["title"],
                    created_at__gte=timezone.now() - SENT_AGAIN_WITHIN,
                ).first()
                if just_added is not None:
                    raise AlreadyAdded(just_added)
                sequence = _next_sequence(organisation, data["financial_year"])
                opportunity = Opportunity(
                    **data,
                    sequence=sequence,
                    reference=make_reference(organisation, data["financial_year"], sequence),
                    created_by=by,
                )
                opportunity.full_clean()
                opportunity.save()
                OpportunityEvent.objects.create(
                    opportunity=opportunity,
                    by=by,
                    what=f"Created, estimated saving {money.saving(opportunity.estimated_saving)}",
                    detail=f"Owner: {opportunity.owner}",
                )
                return opportunity
        except IntegrityError:
            continue
    raise ActionRefused("Could not number the new opportunity: please try again.")


def opportunity_update(
    *, opportunity_id: int, by: User, data: dict, expected_version: int | None
) -> tuple[Opportunity, list[str]]:
    """Its owner, a project lead or the PMO changes an open opportunity; the fields changed are
    recorded, each as "Label: old → new". Returns the opportunity and those lines."""

    def attempt():
        with transaction.atomic():
            opportunity = _lock(opportunity_id, by, "opportunity_edit", expected_version)
            before = {field: _display(opportunity, field) for field in TRACKED_FIELDS}
            owner_before = opportunity.owner_id
            for field, value in data.items():
                if field in TRACKED_FIELDS:
                    setattr(opportunity, field, value)
            if opportunity.owner_id != owner_before:
                _check_owner(opportunity.owner, opportunity.organisation)
            opportunity.full_clean()
            changed = [f for f in TRACKED_FIELDS if _display(opportunity, f) != before[f]]
            if not changed:
                return opportunity, []
            lines = [
                f"{_label(f)}: {before[f] or '(empty)'} → {_display(opportunity, f) or '(empty)'}"
                for f in changed
            ]
            if len(changed) == 1:
                what = f"Changed {_label(changed[0]).lower()}"
            else:
                what = f"Changed {len(changed)} fields"
            _save(opportunity, by=by, what=what, detail="\n".join(lines))
            return opportunity, lines

    return logged(by, "opportunity_edit", f"opportunity {opportunity_id}", attempt)


def opportunity_close(
    *, opportunity_id: int, by: User, reason: str, expected_version: int | None
) -> Opportunity:
    """The idea goes no further: closed with the reason, and read-only from then on."""

    def attempt():
        with transaction.atomic():
            opportunity = _lock(opportunity_id, by, "opportunity_close", expected_version)
            opportunity.status = OpportunityStatus.CLOSED
            opportunity.closed_reason = reason
            _save(opportunity, by=by, what="Closed", detail=reason)
            return opportunity

    return logged(by, "opportunity_close", f"opportunity {opportunity_id}", attempt)


def pid_start_date(financial_year: FinancialYear, today: date) -> date:
    """The start date a PID written up today begins with: its year's first day, or, in a year
    already under way, the first of next month (a saving cannot start in a month gone by).
    The project lead sets the real date on the PID."""
    if not financial_year.start_date <= today <= financial_year.end_date:
        return financial_year.start_date
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return min(next_month, financial_year.month_start(12))


def _check_write_up(opportunity: Opportunity, sro: User, description: str, area_of_spend) -> None:
    """What a PID needs that the opportunity may lack, and an SRO of its organisation."""
    errors = {}
    if not (opportunity.description or description.strip()):
        errors["description"] = "Describe the scheme: the opportunity has no description."
    if opportunity.area_of_spend is None and area_of_spend is None:
        errors["area_of_spend"] = "Choose the area of spend: the opportunity has none."
    is_sro = sro.is_active and sro.groups.filter(name=roles.SRO).exists()
    if not is_sro or not sro.memberships.filter(organisation=opportunity.organisation).exists():
        errors["sro"] = f"Choose an SRO of {opportunity.organisation.code}."
    if errors:
        raise ValidationError(errors)


def opportunity_write_up(
    *,
    opportunity_id: int,
    by: User,
    expected_version: int | None,
    scheme_type: str,
    sro: User,
    description: str = "",
    area_of_spend: AreaOfSpend | None = None,
) -> Scheme:
    """The owner writes the opportunity up as a PID, in one step: a draft scheme with its
    title, description, organisation, year, programme area and area of spend, the owner as its
    project lead, the SRO and type chosen on the confirmation page (with the description and
    area of spend where the opportunity has none), starting at pid_start_date and with a plan
    of £0 a month, which the project lead fills in (the estimate is one figure for the year;
    a PID's plan is month by month, and a plan of £0 cannot be submitted). The opportunity is
    then written up: read-only, linked to its scheme."""

    def attempt():
        with transaction.atomic():
            opportunity = _lock(opportunity_id, by, "opportunity_write_up", expected_version)
            _check_write_up(opportunity, sro, description, area_of_spend)
            year = opportunity.financial_year
            scheme = scheme_create(
                by=by,
                data={
                    "title": opportunity.title,
                    "description": opportunity.description or description,
                    "organisation": opportunity.organisation,
                    "financial_year": year,
                    "programme_area": opportunity.programme_area,
                    "area_of_spend": opportunity.area_of_spend or area_of_spend,
                    "scheme_type": scheme_type,
                    "project_lead": by,
                    "sro": sro,
                    "start_date": pid_start_date(year, timezone.localdate()),
                },
            )
            opportunity.status = OpportunityStatus.CONVERTED
            opportunity.scheme = scheme
            _save(
                opportunity,
                by=by,
                what=f"Written up as PID {scheme.reference}",
                detail=f"Project lead: {by}. SRO: {sro}.",
            )
            return scheme

    return logged(by, "opportunity_write_up", f"opportunity {opportunity_id}", attempt)
