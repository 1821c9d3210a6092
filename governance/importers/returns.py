"""Importing monthly returns: the same rules as entering, correcting and assuring them in the
browser."""

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils import timezone

from governance import money, policy, services
from governance.delivery import monthly_returns, schedule
from governance.importers import cells
from governance.importers.cells import Check, Lookups
from governance.importers.tables import BATCH, MAX_FORECAST, ImportResult, Invalid, RowError
from governance.models import (
    FinancialYear,
    MonthlyReturn,
    Scheme,
    SchemeChange,
    User,
    state_words,
)


class SchemeFacts(NamedTuple):
    """What a returns file's rows are checked against, of the scheme a reference names."""

    pk: int
    organisation_id: int
    state: str
    financial_year: FinancialYear


@dataclass
class ReturnRow:
    row: int
    reference: str
    scheme_id: int
    month: int
    values: dict  # actual and the optional forecast_outturn, commentary given -> value
    assured: Decimal | None  # the PMO assured value; None when blank or not a column
    # why it differs from the actual, and a link to the evidence; None when not a column
    reason: str | None = None
    link: str | None = None


def _link(text: str) -> str:
    link = text.strip()
    if len(link) > 500:
        raise Invalid("evidence_link is longer than 500 characters")
    if link:
        try:
            monthly_returns.validate_evidence_link(link)
        except ValidationError:
            raise Invalid(
                f"evidence_link {text!r} is not a web address starting http:// or https://"
            ) from None
    return link


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
        check(lookups.allowed, scheme.organisation_id)
        if scheme.state not in schedule.DELIVERY_STATES:
            check.fail(
                f"{reference} is {state_words(scheme.state)}: returns start once a "
                "scheme is in delivery"
            )
        elif closed := monthly_returns.returns_closed(
            reference=reference, state=scheme.state, financial_year=scheme.financial_year
        ):
            check.fail(closed)
    month = check(cells.month, record["month"])
    if scheme and month and (early := monthly_returns.not_started(scheme.financial_year, month)):
        check.fail(early)  # the return form's rule, in its words
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
    assured = reason = link = None
    if "pmo_assured" in record:
        assured = check(cells.amount, record["pmo_assured"], "pmo_assured", required=False)
    if "assured_reason" in record:
        reason = check(cells.text, record["assured_reason"], "assured_reason", max_length=5000)
    if "evidence_link" in record:
        link = check(_link, record["evidence_link"])
    if (reason or link) and not record.get("pmo_assured", "").strip():
        check.fail("assured_reason and evidence_link go with a pmo_assured value: give it too")
    if not check.ok:
        return None
    return ReturnRow(number, reference, scheme.pk, month, values, assured, reason, link)


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
        changes += monthly_returns.assurance_cleared(monthly, by=by)
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


def _assurance(p: ReturnRow, monthly: MonthlyReturn) -> dict | None:
    """What a row assures its return with (the service's value, reason, link and document), or
    None when the return is assured so already.

    While the value stays, a column the file does not have keeps what the return has (a file
    names no document: the one chosen on the page stays). A new value starts afresh with the
    row's reason and link: the earlier ones were about the earlier value.
    """
    if monthly.assured_at and monthly.pmo_assured == p.assured:
        reason = monthly.assured_reason if p.reason is None else p.reason
        link = monthly.assured_link if p.link is None else p.link
        if (reason, link) == (monthly.assured_reason, monthly.assured_link):
            return None
        document_id = monthly.assured_document_id
    else:
        reason, link, document_id = p.reason or "", p.link or "", None
    return {"value": p.assured, "reason": reason, "link": link, "document_id": document_id}


def _check_assurance(parsed: list[ReturnRow], existing: dict, *, by: User, result) -> None:
    """A PMO assured value in a row is checked by the rules of the assurance page
    (governance.delivery: the PMO of the scheme's organisation, and never whoever entered or
    corrected the return's figures; a reason for a value other than the actual), and the
    import enters and corrects returns as its importer: so a row may not assure a return the
    file enters, nor one whose figures the same row corrects."""
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
        elif (assurance := _assurance(p, monthly)) and monthly_returns.reason_missing(
            actual=monthly.actual, value=p.assured, reason=assurance["reason"]
        ):
            result.errors.append(
                RowError(
                    p.row,
                    f"pmo_assured {money.pounds(p.assured)} for {p.reference} month {p.month} "
                    f"differs from its actual {money.pounds(monthly.actual)}: say why in the "
                    "assured_reason column",
                )
            )


def import_returns(header, records, *, lookups: Lookups, by: User, result: ImportResult, **_):
    references = sorted({r["reference"].strip() for _n, r in records if r["reference"].strip()})
    schemes = {}
    for chunk in cells.chunks(references):
        found = Scheme.objects.filter(reference__in=chunk).values_list(
            "reference", "pk", "organisation_id", "state", "financial_year__start_year"
        )
        for reference, pk, org, state, year in found:
            schemes[reference] = SchemeFacts(pk, org, state, lookups.years[year])
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
        # with its evidence document, whose name the history records if a correction clears it
        found = MonthlyReturn.objects.filter(scheme_id__in=chunk).select_related("assured_document")
        for monthly in found:
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
        if p.assured is not None and (assurance := _assurance(p, monthly)) is not None:
            assure.append((p, assurance))
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
            "assured_reason",
            "assured_link",
            "assured_document",
            "updated_at",
        ],
        batch_size=BATCH,
    )
    SchemeChange.objects.bulk_create(changes, batch_size=BATCH)
    for p, assurance in assure:
        # the assurance page's own service: its rules again, the value, reason, evidence and
        # their history
        try:
            monthly_returns.return_assure(scheme_id=p.scheme_id, month=p.month, by=by, **assurance)
        except services.ActionRefused as exc:
            result.errors.append(RowError(p.row, exc.message, refused=True))
        except ValidationError as exc:
            result.errors.append(RowError(p.row, " ".join(exc.messages)))
    updated = {(m.scheme_id, m.month) for m in changed} | {
        (p.scheme_id, p.month) for p, _ in assure
    }
    result.created, result.updated = len(new), len(updated)
    result.unchanged = len(parsed) - len(new) - len(updated)
    result.changed_scheme_ids = sorted({m.scheme_id for m in [*new, *changed]})
