"""Importing QIPP targets: one row per organisation and financial year."""

from governance.importers import cells
from governance.importers.cells import Check, Lookups
from governance.importers.tables import BATCH, MAX_ALLOCATION, MAX_REQUIREMENT, ImportResult
from governance.models import QippTarget, User


def import_targets(header, records, *, lookups: Lookups, by: User, result: ImportResult, **_):
    parsed, first_row = [], {}
    for number, record in records:
        check = Check(result, number)
        organisation = check(lookups.organisation, record["organisation"])
        year = check(lookups.year, record["financial_year"])
        requirement = check(
            cells.amount,
            record["requirement"],
            "requirement",
            minimum=0,
            limit=MAX_REQUIREMENT,
        )
        allocation = None
        if "allocation" in record:
            allocation = check(
                cells.amount,
                record["allocation"],
                "allocation",
                required=False,
                minimum=0,
                limit=MAX_ALLOCATION,
            )
        if organisation and year:
            key = (organisation.pk, year.pk)
            if key in first_row:
                check.fail(
                    f"a second target for {organisation.code} {year.label} "
                    f"(first on row {first_row[key]})"
                )
            first_row.setdefault(key, number)
        if check.ok:
            parsed.append((organisation, year, requirement, allocation))
    if result.errors:
        return
    existing = {
        (t.organisation_id, t.financial_year_id): t
        for t in QippTarget.objects.filter(financial_year__in={y for _o, y, _r, _a in parsed})
    }
    new, changed = [], []
    for organisation, year, requirement, allocation in parsed:
        target = existing.get((organisation.pk, year.pk))
        if target is None:
            new.append(
                QippTarget(
                    organisation=organisation,
                    financial_year=year,
                    requirement=requirement,
                    allocation=allocation,
                )
            )
            continue
        before = (target.requirement, target.allocation)
        target.requirement = requirement
        if allocation is not None:
            target.allocation = allocation
        if (target.requirement, target.allocation) != before:
            changed.append(target)
    QippTarget.objects.bulk_create(new, batch_size=BATCH)
    QippTarget.objects.bulk_update(changed, ["requirement", "allocation"], batch_size=BATCH)
    result.created, result.updated = len(new), len(changed)
    result.unchanged = len(parsed) - len(new) - len(changed)
