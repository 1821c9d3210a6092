"""Importing scheme plans: new schemes (as drafts with their team) and changes to the plans of
existing ones, by reference, with what kind of saving each is when the file says."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from governance import money
from governance.delivery import schedule
from governance.importers import cells
from governance.importers.cells import Check, Lookups
from governance.importers.tables import (
    BATCH,
    INVESTMENT_FIELDS,
    SAVING_FIELDS,
    TEAM,
    TEAM_REQUIRED,
    ImportResult,
    Invalid,
    RowError,
)
from governance.models import (
    MONTH_NAMES,
    PLAN_FIELDS,
    RECURRENT_FIELDS,
    FinancialYear,
    Organisation,
    Recurrence,
    Scheme,
    SchemeChange,
    SchemeState,
    SchemeType,
    User,
    state_words,
)
from governance.text import one_line

PLAN_COMPARED = [
    "title",
    "programme_area_id",
    "area_of_spend_id",
    "scheme_type",
    "is_recovery",
    *PLAN_FIELDS,
]
# What kind of saving a scheme's is: optional columns. A cell left blank (or a column left out)
# gives a new scheme the PID's defaults (recurrent, cash-releasing, nothing invested) and leaves
# an existing scheme's own value as it is.
RECURRENCE_WORDS = {
    "recurrent": Recurrence.RECURRENT,
    "non-recurrent": Recurrence.NON_RECURRENT,
    "one-off": Recurrence.NON_RECURRENT,
    "mixed": Recurrence.MIXED,
}


@dataclass
class PlanRow:
    row: int
    reference: str
    sequence: int
    organisation: Organisation
    year: FinancialYear
    values: dict  # PLAN_COMPARED, and the SAVING_FIELDS the row gives -> value
    state: str | None  # blank: a new scheme starts as a draft, an existing one keeps its state
    team: dict  # TEAM column -> User, or None when blank or not a column


def recurrence(text: str) -> str:
    """recurrent, non-recurrent (or one-off) or mixed, in any case, with _ or a space for -."""
    word = "-".join(text.strip().lower().replace("_", " ").split())
    if word not in RECURRENCE_WORDS:
        raise Invalid(f"recurrence {text!r} should be recurrent, non-recurrent, one-off or mixed")
    return RECURRENCE_WORDS[word]


def _kind_of_saving(record: dict, plan: dict | None, check: Check) -> dict:
    """The SAVING_FIELDS the row's cells give, as values to set. The recurrent part of each
    month only with recurrence mixed (a blank month is £0, none more than its plan, unless the
    plan could not be read: None); recurrent or non-recurrent clears them."""
    given = {name for name in SAVING_FIELDS if record.get(name, "").strip()}
    values = {}
    if "cash_releasing" in given:
        values["cash_releasing"] = check(cells.yes_no, record["cash_releasing"], "cash_releasing")
    for name in INVESTMENT_FIELDS:
        if name in given:
            values[name] = check(cells.amount, record[name], name, minimum=0)
    parts = [name for name in RECURRENT_FIELDS if name in given]
    if "recurrence" not in given:
        if parts:
            check.fail(
                f"{', '.join(parts)}: only a mixed saving has a recurrent part of each month "
                "(say mixed in recurrence, or leave them blank)"
            )
        return values
    kind = values["recurrence"] = check(recurrence, record["recurrence"])
    if kind is None:
        return values
    if kind != Recurrence.MIXED:
        if parts:
            check.fail(
                f"{', '.join(parts)}: only a mixed saving has a recurrent part of each month "
                f"(recurrence is {record['recurrence'].strip()})"
            )
        return {**values, **dict.fromkeys(RECURRENT_FIELDS, None)}
    for name, month, plan_name in zip(RECURRENT_FIELDS, MONTH_NAMES, PLAN_FIELDS, strict=True):
        part = check(cells.amount, record.get(name, ""), name, required=False, minimum=0)
        values[name] = part or Decimal("0.00")
        if plan is not None and part is not None and part > plan[plan_name]:
            check.fail(
                f"{name} {money.pounds(part)} is more than {plan_name} "
                f"{money.pounds(plan[plan_name])}: the recurrent part of {month} cannot be "
                "more than its plan"
            )
    return values


def _parse_plan(number, record, *, lookups: Lookups, result, has_state: bool, first_row: dict):
    check = Check(result, number)
    reference = check(cells.text, record["reference"], "reference", max_length=30, required=True)
    sequence = None
    if reference:
        if reference in first_row:
            check.fail(
                f"{reference} appears twice in the file (first on row {first_row[reference]})"
            )
        first_row.setdefault(reference, number)
        sequence = check(cells.sequence, reference)
    title = check(cells.text, one_line(record["title"]), "title", max_length=200, required=True)
    organisation = check(lookups.organisation, record["organisation"])
    year = check(lookups.year, record["financial_year"])
    programme_area = check(lookups.programme_area, record["programme_area"])
    area_of_spend = check(lookups.area_of_spend, record["area_of_spend"])
    scheme_type = check(cells.scheme_type, record["scheme_type"])
    recovery = check(cells.yes_no, record["recovery"], "recovery")
    problems_before = len(result.errors)
    plan = {
        name: check(cells.amount, record[name], name, required=False, minimum=0) or Decimal("0.00")
        for name in PLAN_FIELDS
    }
    plan_read = len(result.errors) == problems_before
    state = None
    if has_state and record["state"].strip():
        state = check(cells.state, record["state"])
    team = {}
    if organisation:
        for column in TEAM:
            if column in record:
                team[column] = check(lookups.person, record[column], column, organisation)
    if reference and organisation and year:
        check(cells.reference_matches, reference, organisation, year)
    saving = _kind_of_saving(record, plan if plan_read else None, check)
    if not check.ok:
        return None
    values = {
        "title": title,
        "programme_area_id": programme_area.pk,
        "area_of_spend_id": area_of_spend.pk,
        "scheme_type": scheme_type,
        "is_recovery": recovery,
        **plan,
        **saving,
    }
    return PlanRow(number, reference, sequence, organisation, year, values, state, team)


def _plan_display(lookups: Lookups, name: str, value) -> str:
    """A value as the scheme's history shows it (governance.services.pid)."""
    if value is None:
        return ""
    if name == "programme_area_id":
        return next((a.name for a in lookups.programme_areas.values() if a.pk == value), "")
    if name == "area_of_spend_id":
        return next((a.name for a in lookups.areas_of_spend.values() if a.pk == value), "")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if name in INVESTMENT_FIELDS:  # a cost, not a saving
        return money.pounds(value)
    if isinstance(value, Decimal):
        return money.saving(value)
    if name == "scheme_type":
        return SchemeType(value).label
    if name == "recurrence":
        return Recurrence(value).label
    return str(value)


def _check_numbering(parsed: list[PlanRow], existing: dict, lookups: Lookups, result) -> None:
    """A reference keeps its organisation and year, and no two schemes share a number."""
    taken = {
        (org, year, sequence): reference
        for org, year, sequence, reference in Scheme.objects.filter(
            financial_year__in={p.year.pk for p in parsed}
        ).values_list("organisation_id", "financial_year_id", "sequence", "reference")
    }
    claimed = {}
    for p in parsed:
        scheme = existing.get(p.reference)
        if scheme and (scheme.organisation_id, scheme.financial_year_id) != (
            p.organisation.pk,
            p.year.pk,
        ):
            result.errors.append(
                RowError(
                    p.row,
                    f"{p.reference} is already a scheme of "
                    f"{lookups.codes.get(scheme.organisation_id)} "
                    f"{scheme.financial_year.label}, not {p.organisation.code} {p.year.label}",
                )
            )
            continue
        if scheme:
            continue
        key = (p.organisation.pk, p.year.pk, p.sequence)
        owner = taken.get(key)
        if owner and owner != p.reference:
            result.errors.append(
                RowError(
                    p.row,
                    f"{p.reference} has number {p.sequence} of {p.organisation.code} "
                    f"{p.year.label}, which {owner} already has",
                )
            )
        elif key in claimed:
            result.errors.append(
                RowError(
                    p.row,
                    f"{p.reference} has the same number as {claimed[key].reference} "
                    f"(row {claimed[key].row})",
                )
            )
        claimed.setdefault(key, p)


def check_states(parsed: list[PlanRow], existing: dict, result) -> None:
    """The file's state of an existing scheme must be its state: the import never changes it.

    A scheme moves from state to state only through its workflow (review, QIA panel, sign-off,
    delivery), each step checked and logged; a file must not skip them. A new scheme may
    start in any state: that is how schemes governed before this product are brought in.
    """
    for p in parsed:
        scheme = existing.get(p.reference)
        if scheme and p.state and p.state != scheme.state:
            result.errors.append(
                RowError(
                    p.row,
                    f"{p.reference} is {scheme.state_words} and its state changes only "
                    f"through its workflow (the file says {state_words(p.state)})",
                )
            )


def _check_new_schemes(parsed: list[PlanRow], existing: dict, result, *, historical: bool):
    """A new scheme starts as a draft with the team the file names, and goes through the
    workflow like a PID written on the page. Only a past year may be loaded as it stood, in
    any state and with the importer standing in for a team the file leaves blank
    (qipp_import --historical, by a staff user): that is how the committee tables of years
    governed before this product are brought in."""
    today = timezone.localdate()
    for p in parsed:
        if p.reference in existing:
            continue
        if historical:
            # A past year's scheme is loaded as it stood (in delivery, unless the file says
            # otherwise) and stays so: the year has closed (schedule.closes_on), so it is
            # neither escalated nor reminded, nor put before QAG, nor its returns offered for
            # assurance, and its returns can still be loaded. Marking it completed would claim
            # a closure report nobody wrote; the PMO may still close it with one.
            if not schedule.year_closed(p.year, today):
                result.errors.append(
                    RowError(
                        p.row,
                        f"{p.reference} is of {p.year.label}, which has not closed (it closes "
                        f"on {schedule.day_text(schedule.closes_on(p.year))}, once its March "
                        "returns are in and reported): only a closed year is loaded with "
                        "--historical; import this year's schemes as drafts",
                    )
                )
            continue
        if p.state and p.state != SchemeState.DRAFT:
            result.errors.append(
                RowError(
                    p.row,
                    f"{p.reference} would start {state_words(p.state)}: an import creates "
                    "schemes as drafts, which then go through review, the QIA and sign-off "
                    "(leave state blank, or draft)",
                )
            )
        missing = [c for c in TEAM_REQUIRED if p.team.get(c) is None]
        if missing:
            result.errors.append(
                RowError(
                    p.row,
                    f"{p.reference} is new: name its {' and '.join(missing)} (a username or "
                    "e-mail)",
                )
            )


def _check_teams(parsed: list[PlanRow], existing: dict, result) -> None:
    """An existing scheme's team changes through its PID, not a file: a team column must be
    blank or name who is already there."""
    for p in parsed:
        scheme = existing.get(p.reference)
        if scheme is None:
            continue
        for column, user in p.team.items():
            if user is not None and getattr(scheme, f"{column}_id") != user.pk:
                result.errors.append(
                    RowError(
                        p.row,
                        f"{column} of {p.reference} changes through its PID, not an import "
                        "(leave the cell blank)",
                    )
                )


def _check_recurrent_parts(parsed: list[PlanRow], existing: dict, result) -> None:
    """A mixed scheme whose row leaves recurrence blank keeps its recurrent parts: the file's
    plan must still cover each of them."""
    for p in parsed:
        scheme = existing.get(p.reference)
        if scheme is None or "recurrence" in p.values or scheme.recurrence != Recurrence.MIXED:
            continue
        for name, month, plan_name in zip(RECURRENT_FIELDS, MONTH_NAMES, PLAN_FIELDS, strict=True):
            part, planned = getattr(scheme, name), p.values[plan_name]
            if part is not None and part > planned:
                result.errors.append(
                    RowError(
                        p.row,
                        f"{p.reference} is a mixed saving whose recurrent part of {month} "
                        f"({money.pounds(part)}) is more than {plan_name} "
                        f"{money.pounds(planned)}: give its recurrent parts too, with "
                        "recurrence mixed",
                    )
                )


def import_plans(
    header,
    records,
    *,
    lookups: Lookups,
    by: User,
    result: ImportResult,
    historical: bool,
    name,
):
    has_state = "state" in header
    first_row: dict[str, int] = {}
    parsed = [
        p
        for number, record in records
        if (
            p := _parse_plan(
                number,
                record,
                lookups=lookups,
                result=result,
                has_state=has_state,
                first_row=first_row,
            )
        )
    ]
    # the rows that parsed are checked against the schemes too: every problem listed at once
    # The schemes the file changes, locked until the import commits: a PID edit or a
    # transition saved meanwhile waits, then finds the version changed and is refused as a
    # conflict, rather than being overwritten by values read before it was saved.
    existing = {}
    for chunk in cells.chunks(sorted(p.reference for p in parsed)):
        locked = (
            Scheme.objects.filter(reference__in=chunk)
            .select_related("financial_year")
            .select_for_update(of=("self",))
            .order_by("reference")  # always the same order: two imports never deadlock
        )
        for scheme in locked:
            existing[scheme.reference] = scheme
    _check_numbering(parsed, existing, lookups, result)
    check_states(parsed, existing, result)
    _check_new_schemes(parsed, existing, result, historical=historical)
    _check_teams(parsed, existing, result)
    _check_recurrent_parts(parsed, existing, result)
    if result.errors:
        return

    now = timezone.now()
    new, changed, changes = [], [], []
    for p in parsed:
        scheme = existing.get(p.reference)
        if scheme is None:
            team = {column: p.team.get(column) for column in TEAM}
            if historical:  # a past year's scheme: the importer stands in for a blank team
                team["project_lead"] = team["project_lead"] or by
                team["sro"] = team["sro"] or by
            state = p.state or (SchemeState.IN_DELIVERY if historical else SchemeState.DRAFT)
            new.append(
                Scheme(
                    reference=p.reference,
                    sequence=p.sequence,
                    description=p.values["title"],
                    organisation=p.organisation,
                    financial_year=p.year,
                    start_date=p.year.start_date,
                    **team,
                    created_by=by,
                    state=state,
                    imported_from=name[:255],
                    imported_historical=historical and state != SchemeState.DRAFT,
                    **p.values,
                )
            )
            continue
        fields = [name for name, value in p.values.items() if getattr(scheme, name) != value]
        for name in fields:
            changes.append(
                SchemeChange(
                    scheme=scheme,
                    changed_by=by,
                    field=Scheme._meta.get_field(name.removesuffix("_id")).verbose_name,
                    old_value=_plan_display(lookups, name, getattr(scheme, name)),
                    new_value=_plan_display(lookups, name, p.values[name]),
                )
            )
            setattr(scheme, name, p.values[name])
        if fields:
            scheme.version += 1
            scheme.updated_at = now
            changed.append(scheme)
    Scheme.objects.bulk_create(new, batch_size=BATCH)
    given = {name for p in parsed for name in p.values}
    columns = [*PLAN_COMPARED, *(name for name in SAVING_FIELDS if name in given)]
    Scheme.objects.bulk_update(changed, [*columns, "version", "updated_at"], batch_size=BATCH)
    SchemeChange.objects.bulk_create(changes, batch_size=BATCH)
    result.created, result.updated = len(new), len(changed)
    result.unchanged = len(parsed) - len(new) - len(changed)
