"""Importing a whole file: check every row, then write all of it in one transaction or
nothing."""

from collections.abc import Callable
from pathlib import Path

from django.db import transaction

from governance import services
from governance.importers import plans, returns, tables, targets
from governance.importers.cells import Lookups
from governance.importers.tables import KINDS, ImportResult, Invalid, RowError
from governance.models import User

IMPORTERS = {
    "targets": targets.import_targets,
    "plans": plans.import_plans,
    "returns": returns.import_returns,
}

# Called as hook(scheme_ids=[...]) inside the import's transaction when an import of returns
# created or corrected some: the rules that react to returns (escalation of off-track delivery)
# look at those schemes once it commits, as they do when one return is saved in the browser.
RETURNS_IMPORTED_HOOKS: list[Callable] = []


def import_file(
    kind: str,
    handle,
    *,
    name: str,
    by: User,
    create_missing: bool = False,
    organisation_ids: set[int] | None = None,
    historical: bool = False,
    progress: Callable[[dict], None] | None = None,
) -> ImportResult:
    """Import targets, plans or returns from an open .csv or .xlsx file: all rows, or none.

    `by` is recorded as the creator of new schemes, the author of each change in the schemes'
    history and the enterer of returns. New schemes are drafts with the team the file names;
    with `historical` (staff only, from the command line) a past year's schemes are loaded as
    they stood, in delivery unless the file says otherwise. `organisation_ids`, when given,
    limits the rows to those organisations. `progress`, when given, is told how far the check
    has got every thousand rows, as {"rows": ..., "checked": ..., "errors": ...}.
    """
    if kind not in IMPORTERS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    result = ImportResult(kind)
    if historical and not (by.is_staff and by.is_active):
        result.errors.append(
            RowError(None, "Only a staff user loads a past year as it stood.", refused=True)
        )
        _record_refusals(result, by=by, kind=kind, name=name)
        return result
    try:
        rows = tables.read_table(handle, name)
    except Invalid as exc:
        result.errors.append(RowError(None, exc.message))
        return result
    header, records = tables.records(kind, rows, result, is_csv=Path(name).suffix.lower() == ".csv")
    # a row refused for its cell count does not stop the other rows being checked: every bad
    # row is listed at once
    if result.errors and not records:
        return result
    result.rows, result.progress = len(records), progress
    with transaction.atomic():
        lookups = Lookups(create_missing=create_missing, organisation_ids=organisation_ids)
        IMPORTERS[kind](
            header,
            records,
            lookups=lookups,
            by=by,
            result=result,
            historical=historical,
            name=name,
        )
        if result.errors:
            # organisations, years or areas made for this file go too
            transaction.set_rollback(True)
            result.created = result.updated = result.unchanged = 0
            result.errors.sort(key=lambda error: error.row or 0)
        elif result.changed_scheme_ids:
            for hook in RETURNS_IMPORTED_HOOKS:
                hook(scheme_ids=result.changed_scheme_ids)
    _record_refusals(result, by=by, kind=kind, name=name)
    return result


def _record_refusals(result: ImportResult, *, by: User, kind: str, name: str) -> None:
    """Rows refused by a rule of who may do what go on the refusal log, once a file (after
    the import's transaction is rolled back, so the record stays)."""
    refused = [error for error in result.errors if error.refused]
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        services.record_refusal(
            user=by, action=f"import {kind}", target=name, reason=f"{refused[0]}{more}"
        )


def import_user() -> User:
    """Who the command line imports as: the first superuser, else an inactive 'import' user."""
    user = User.objects.filter(is_superuser=True).order_by("pk").first()
    if user:
        return user
    user, created = User.objects.get_or_create(
        username="import", defaults={"is_active": False, "first_name": "Import"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
