"""Importing monthly returns: the same rules as entering, correcting and assuring them in the
browser."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from governance import money, policy, services
from governance.delivery import monthly_returns, schedule
from governance.importers import cells
from governance.importers.cells import Check, Lookups
from governance.importers.tables import BATCH, MAX_FORECAST, ImportResult, RowError
from governance.models import MonthlyReturn, Scheme, SchemeChange, User, state_words


@dataclass
class ReturnRow:
    row: int
    reference: str
    scheme_id: int
    month: int
    values: dict  # actual and the optional forecast_outturn, commentary given -> value
    assured: Decimal | None  # the PMO assured value; None when blank or not a column


def _parse_return(number, record, *, schemes: dict, lookups: Lookups, result, first_row: dict):
    check = Check(result, number)
    reference = record["reference"].strip()
    scheme = None
    if not reference:
        check.fail("reference is missing")
    elif reference not in schemes:
        check.fail(f"no scheme has the reference {reference!r}")
    else:
        scheme = schemes[reference]
        check(lookups.allowed, scheme[1])
        if scheme[2] not in schedule.DELIVERY_STATES:
            check.fail(
                f"{reference} is {state_words(scheme[2])}: returns start once a "
                "scheme is in delivery"
            )
    month = check(cells.month, record["month"])
    if reference and month:
        key = (reference, month)
        if key in first_row:
            check.fail(
                f"a second return for {reference} month {month} (first on row {first_row[key]})"
            )
        first_row.setdefault(key, number)
    values = {"actual": check(cells.amount, record["actual"], "actual")}
    if "forecast_outturn" in record:
        values["forecast_outturn"] = check(
            cells.amount,
            record["forecast_outturn"],
            "forecast_outturn",
            required=False,
            limit=MAX_FORECAST,
        )
    if "commentary" in record:
        values["commentary"] = check(
            cells.text, record["commentary"], "commentary", max_length=10000
        )
    assured = None
    if "pmo_assured" in record:
        assured = check(cells.amount, record["pmo_assured"], "pmo_assured", required=False)
    if not check.ok:
        return None
    return ReturnRow(number, reference, scheme[0], month, values, assured)


def _correct_return(monthly: MonthlyReturn, values: dict, *, by, now) -> list:
    """Apply a row to an existing return; the history rows of what changed.

    The same rules as a correction in the browser (monthly_returns.return_save): a blank
    optional cell leaves the figure as it was, and correcting the actual or the forecast of
    an assured return clears its assurance (the PMO assured the figures as they were).
    """
    month = monthly.month
    labels = monthly_returns.return_fields(month)  # the labels the scheme's return history shows
    changes = []
    for name, value in _figures_changed(monthly, values).items():
        old = getattr(monthly, name)
        show = (lambda v: v) if name == "commentary" else money.saving
        changes.append(
            SchemeChange(
                scheme_id=monthly.scheme_id,
                changed_by=by,
                field=labels[name],
                old_value=show(old),
                new_value=show(value),
            )
        )
        setattr(monthly, name, value)
    figures_changed = any(c.field != labels["commentary"] for c in changes)
    if figures_changed and monthly.assured_at:
        changes.append(
            SchemeChange(
                scheme_id=monthly.scheme_id,
                changed_by=by,
                field=monthly_returns.assured_field(month),
                old_value=money.saving(monthly.pmo_assured),
                new_value="cleared: the figures were corrected",
            )
        )
        monthly.pmo_assured = monthly.assured_by = monthly.assured_at = None
    if changes:
        monthly.updated_at = now
    return changes


def _figures_changed(monthly: MonthlyReturn, values: dict) -> dict:
    """The figures of a row that differ from the return's (a blank cell changes nothing)."""
    return {
        name: value
        for name, value in values.items()
        if value is not None
        and not (name == "commentary" and not value)
        and getattr(monthly, name) != value
    }


def _check_assurance(parsed: list[ReturnRow], existing: dict, *, by: User, result) -> None:
    """A PMO assured value in a row is checked by the rule of the assurance page
    (governance.delivery: the PMO of the scheme's organisation, and never whoever entered or
    corrected the return's figures), and the import enters and corrects returns as its
    importer: so a row may not assure a return the file enters, nor one whose figures the
    same row corrects."""
    rows = [p for p in parsed if p.assured is not None]
    schemes = Scheme.objects.select_related("organisation").in_bulk({p.scheme_id for p in rows})
    for p in rows:
        monthly = existing.get((p.scheme_id, p.month))
        if monthly is None:
            why = "this file enters that return, and whoever enters a return cannot assure it"
        elif {"actual", "forecast_outturn"} & _figures_changed(monthly, p.values).keys():
            why = "this row corrects its figures, and whoever corrects a return cannot assure it"
        else:
            why = policy.refusal("assure_return", by, schemes[p.scheme_id], monthly_return=monthly)
        if why:
            result.errors.append(
                RowError(
                    p.row,
                    f"pmo_assured for {p.reference} month {p.month} is refused: {why} "
                    "Leave it blank; another member of the PMO assures the return.",
                    refused=True,
                )
            )


def import_returns(header, records, *, lookups: Lookups, by: User, result: ImportResult, **_):
    references = sorted({r["reference"].strip() for _n, r in records if r["reference"].strip()})
    schemes = {}
    for chunk in cells.chunks(references):
        for reference, pk, org, state in Scheme.objects.filter(reference__in=chunk).values_list(
            "reference", "pk", "organisation_id", "state"
        ):
            schemes[reference] = (pk, org, state)
    first_row: dict = {}
    parsed = [
        p
        for number, record in records
        if (
            p := _parse_return(
                number, record, schemes=schemes, lookups=lookups, result=result, first_row=first_row
            )
        )
    ]
    if result.errors:
        return
    existing = {}
    for chunk in cells.chunks(sorted({p.scheme_id for p in parsed})):
        for monthly in MonthlyReturn.objects.filter(scheme_id__in=chunk):
            existing[(monthly.scheme_id, monthly.month)] = monthly
    _check_assurance(parsed, existing, by=by, result=result)
    if result.errors:
        return

    now = timezone.now()
    new, changed, changes, assure = [], [], [], []
    for p in parsed:
        monthly = existing.get((p.scheme_id, p.month))
        if monthly is None:
            # entered by the importer, so never assured by them (_check_assurance)
            monthly = MonthlyReturn(
                scheme_id=p.scheme_id,
                month=p.month,
                actual=p.values["actual"],
                forecast_outturn=p.values.get("forecast_outturn"),
                commentary=p.values.get("commentary") or "",
                entered_by=by,
            )
            new.append(monthly)
            changes += monthly_returns.entered_changes(monthly, by=by)
            continue
        corrections = _correct_return(monthly, p.values, by=by, now=now)
        if corrections:
            changes += corrections
            changed.append(monthly)
        if p.assured is not None and not (monthly.assured_at and monthly.pmo_assured == p.assured):
            assure.append(p)
    MonthlyReturn.objects.bulk_create(new, batch_size=BATCH)
    MonthlyReturn.objects.bulk_update(
        changed,
        [
            "actual",
            "forecast_outturn",
            "pmo_assured",
            "commentary",
            "assured_by",
            "assured_at",
            "updated_at",
        ],
        batch_size=BATCH,
    )
    SchemeChange.objects.bulk_create(changes, batch_size=BATCH)
    for p in assure:
        # the assurance page's own service: its rule again, the value and its history
        try:
            monthly_returns.return_assure(
                scheme_id=p.scheme_id, month=p.month, by=by, value=p.assured
            )
        except services.ActionRefused as exc:
            result.errors.append(RowError(p.row, exc.message, refused=True))
    updated = {(m.scheme_id, m.month) for m in changed} | {(p.scheme_id, p.month) for p in assure}
    result.created, result.updated = len(new), len(updated)
    result.unchanged = len(parsed) - len(new) - len(updated)
    result.changed_scheme_ids = sorted({m.scheme_id for m in [*new, *changed]})
