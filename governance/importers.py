"""Bulk import of QIPP targets, scheme plans and monthly returns from a CSV or XLSX file.

The whole file is imported or nothing is: every row is checked first and each problem reported
with its row number as the spreadsheet shows it (the header is row 1); only a file without a
single error is written, in one transaction. Importing the same file again changes nothing:
targets are matched by organisation and year, plans by reference, returns by reference and
month. Lookups are loaded once and rows written in bulk, so a year of 10,000 schemes imports in
seconds.

Amounts are in pounds, savings positive, with at most two decimal places. An optional column
left blank on a row that matches an existing return or target leaves that value as it was.
"""

import csv
import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from governance import archives, money, policy, roles, services
from governance.delivery import monthly_returns, schedule
from governance.models import (
    MAX_MONTHLY_AMOUNT,
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    ImportRun,
    ImportStatus,
    MonthlyReturn,
    Organisation,
    ProgrammeArea,
    QippTarget,
    Scheme,
    SchemeChange,
    SchemeState,
    SchemeType,
    System,
    User,
    state_words,
)
from governance.reports import as_text as reports_text
from governance.text import one_line

logger = logging.getLogger("qipp.governance")

KINDS = ("targets", "plans", "returns")
# A new scheme's team, named in the file by username or e-mail, and the role each must hold
# in the scheme's organisation (the PID form's rules); None: any member.
TEAM = {
    "project_lead": roles.PROJECT_LEAD,
    "sro": roles.SRO,
    "clinical_lead": None,
    "finance_lead": None,
}
TEAM_REQUIRED = ("project_lead", "sro")
COLUMNS = {
    "targets": (["organisation", "financial_year", "requirement"], ["allocation"]),
    "plans": (
        [
            "reference",
            "title",
            "organisation",
            "financial_year",
            "programme_area",
            "area_of_spend",
            "scheme_type",
            "recovery",
            *PLAN_FIELDS,
        ],
        ["state", *TEAM],
    ),
    "returns": (
        ["reference", "month", "actual"],
        ["forecast_outturn", "pmo_assured", "commentary"],
    ),
}
YES = {"yes", "true", "1"}
NO = {"no", "false", "0"}
BATCH = 500
PENNY = Decimal("0.01")
# The largest amount each column holds (its model field's digits).
MAX_FORECAST = Decimal("9999999999.99")
MAX_REQUIREMENT = Decimal("999999999999.99")
MAX_ALLOCATION = Decimal("99999999999999.99")


@dataclass
class RowError:
    row: int | None  # the spreadsheet's row number; None for a problem with the whole file
    message: str
    refused: bool = False  # a rule of who may do what (ACCESS.md), not a mistake in the file

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}" if self.row else self.message


@dataclass
class ImportResult:
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    # the schemes whose returns this import created or corrected
    changed_scheme_ids: list[int] = field(default_factory=list)
    # how far the check has got, and who wants to know (told every thousand rows)
    rows: int = 0
    checked: int = 0
    progress: Callable[[dict], None] | None = field(default=None, repr=False)

    def row_checked(self) -> None:
        self.checked += 1
        if self.progress is not None and (self.checked % 1000 == 0 or self.checked == self.rows):
            self.progress({"rows": self.rows, "checked": self.checked, "errors": len(self.errors)})

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        text = (
            f"Imported {self.kind}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged."
        )
        if self.ignored_columns:
            text += f" Columns not used: {', '.join(self.ignored_columns)}."
        return text


class Invalid(Exception):
    """One problem with one value; `message` says what, for the person fixing the file."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- reading the file ---


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # a spreadsheet keeps every number as a float: 4.0 is the month 4
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # a CSV saved by Excel on Windows
    try:
        rows, cells = [], 0
        for row in csv.reader(io.StringIO(text)):
            values = [cell.strip() for cell in row]
            cells += len(values)
            _within_limits(len(rows) + 1, _width(values), cells)
            rows.append(values)
        return rows
    except csv.Error as exc:
        # a spreadsheet or other binary file named .csv, or a line break inside a cell
        raise Invalid(
            f"The file could not be read as CSV ({exc}). Save it from your spreadsheet as "
            "'CSV UTF-8 (comma delimited)', or upload the .xlsx file itself."
        ) from None


def _xlsx_rows(handle) -> list[list[str]]:
    """The first sheet's rows as text, read as they are stored (not as far as the sheet's
    declared size: one cell at XFD1048576 would make that a billion cells)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(handle) as archive:
            archives.check(archive)
        handle.seek(0)
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except archives.UnsafeArchive as exc:
        raise Invalid(exc.message) from None
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise Invalid("The file could not be read as an XLSX workbook.") from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        rows, cells = [], 0
        for row in sheet.iter_rows(values_only=True):
            values = [_cell_text(v) for v in row]
            while values and not values[-1]:  # trailing empty cells are nothing
                values.pop()
            cells += len(values)
            _within_limits(len(rows) + 1, len(values), cells)
            rows.append(values)
        return rows
    finally:
        workbook.close()


def _within_limits(rows: int, width: int, cells: int) -> None:
    """Refuse a file larger than any real import, before it takes the server's memory."""
    if rows > settings.QIPP_IMPORT_MAX_ROWS:
        raise Invalid(
            f"The file has more than {settings.QIPP_IMPORT_MAX_ROWS:,} rows: split it into "
            "smaller files and import each."
        )
    if width > settings.QIPP_IMPORT_MAX_COLUMNS:
        raise Invalid(
            f"Row {rows} has a value in column {width}: the file may have at most "
            f"{settings.QIPP_IMPORT_MAX_COLUMNS} columns. Remove what lies beyond the table."
        )
    if cells > settings.QIPP_IMPORT_MAX_CELLS:
        raise Invalid(
            f"The file has more than {settings.QIPP_IMPORT_MAX_CELLS:,} values: split it into "
            "smaller files and import each."
        )


def read_table(handle, name: str) -> list[list[str]]:
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return _csv_rows(handle.read())
    if suffix == ".xlsx":
        return _xlsx_rows(handle)
    raise Invalid(f"{name} is neither a .csv nor an .xlsx file.")


def _separator_hint(header: list[str]) -> str | None:
    """The file's separator when a CSV's header is one cell holding semicolons or tabs."""
    if len([cell for cell in header if cell]) != 1:
        return None
    text = next(cell for cell in header if cell)
    counts = {"semicolons": text.count(";"), "tabs": text.count("\t")}
    name, count = max(counts.items(), key=lambda item: item[1])
    return name if count else None


def _width(cells: list[str]) -> int:
    """How many cells a row has up to its last non-empty one: trailing empty cells are nothing."""
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1
    return width


def _cell_count_problem(cells: list[str], header: list[str]) -> str | None:
    """Why a CSV row does not line up with its header, if it does not.

    An unquoted "34,319" splits one amount into two cells and moves every later value one
    column to the right; a line cut short leaves its last columns out. Either way the values
    would land in the wrong columns or go missing, so the row is refused rather than guessed.
    """
    columns = _width(header)
    values = _width(cells)
    if values > columns:
        return (
            f"row has {values} values but the header has {columns} columns: "
            "a value containing a comma must be in quotes"
        )
    if len(cells) < columns:
        missing = [c for c in header[len(cells) : columns] if c]
        return (
            f"row has {len(cells)} values but the header has {columns} columns: "
            f"the line is cut short before {', '.join(missing)}"
        )
    return None


def _records(kind: str, rows: list[list[str]], result: ImportResult, *, is_csv: bool):
    """The header's columns and (row number, {column: text}) for each non-blank row.

    A CSV row must have a cell for each column of the header (trailing empty cells are fine);
    one that does not is a row error and is left out. Rows of a workbook have no commas to
    split them wrongly, and openpyxl may leave trailing empty cells out, so they are padded.
    """
    if not rows:
        result.errors.append(RowError(None, "The file is empty: the first row must be headers."))
        return [], []
    header = [cell.strip().lower().replace(" ", "_") for cell in rows[0]]
    separator = _separator_hint(rows[0]) if is_csv else None
    if separator:
        # otherwise the whole header reads as one unknown column and every column is "missing"
        result.errors.append(
            RowError(
                None,
                f"The file looks separated by {separator}, but it must be comma-separated. "
                "Save it from your spreadsheet as 'CSV UTF-8 (comma delimited)'.",
            )
        )
        return header, []
    required, optional = COLUMNS[kind]
    missing = [c for c in required if c not in header]
    if missing:
        result.errors.append(RowError(1, f"missing column(s): {', '.join(missing)}"))
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:
        result.errors.append(RowError(1, f"column(s) appearing twice: {', '.join(twice)}"))
    result.ignored_columns = [c for c in header if c and c not in required + optional]
    if result.errors:
        return header, []
    records = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cells):
            continue
        problem = _cell_count_problem(cells, header) if is_csv else None
        if any("\x00" in cell for cell in cells):
            problem = "a cell holds a NUL character, which no spreadsheet saves: remove it"
        if problem:
            result.errors.append(RowError(number, problem))
            continue
        cells = cells + [""] * (len(header) - len(cells))
        records.append((number, {c: v for c, v in zip(header, cells, strict=False) if c}))
    return header, records


# --- checking values ---


class Check:
    """Collects the problems of one row: `check(parse, value, ...)` returns None on a problem."""

    def __init__(self, result: ImportResult, row: int):
        self.result = result
        self.row = row
        self.ok = True
        result.row_checked()

    def fail(self, message: str) -> None:
        self.ok = False
        self.result.errors.append(RowError(self.row, message))

    def __call__(self, parse: Callable, *args, **kwargs):
        try:
            return parse(*args, **kwargs)
        except Invalid as exc:
            self.fail(exc.message)
            return None


def _amount(
    text: str, what: str, *, required: bool = True, minimum=None, limit=MAX_MONTHLY_AMOUNT
) -> Decimal | None:
    cleaned = text.replace(",", "").replace("£", "").strip()
    if cleaned.startswith("(") and cleaned.endswith(")"):
        cleaned = "-" + cleaned[1:-1]  # an accountant's negative
    if not cleaned:
        if required:
            raise Invalid(f"{what} is missing")
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise Invalid(f"{what} {text!r} is not an amount in pounds") from None
    if not value.is_finite():
        raise Invalid(f"{what} {text!r} is not an amount in pounds")
    if abs(value) > limit:
        raise Invalid(f"{what} {text} is too large")
    if minimum is not None and value < minimum:
        raise Invalid(f"{what} {text} must not be negative")
    if value != value.quantize(PENNY):
        raise Invalid(f"{what} {text} has more than two decimal places")
    return value.quantize(PENNY)


def _yes_no(text: str, what: str) -> bool:
    value = text.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise Invalid(f"{what} {text!r} should be yes, no, true, false, 1 or 0")


def _scheme_type(text: str) -> str:
    value = text.strip().lower()
    if value not in SchemeType.values:
        raise Invalid(f"scheme_type {text!r} should be transformational or transactional")
    return value


def _state(text: str) -> str:
    value = text.strip().lower()
    for state in SchemeState:
        if value in (state.value, state.label.lower()):
            return state.value
    raise Invalid(f"state {text!r} is not a scheme state (e.g. in_delivery, approved, draft)")


def _month(text: str) -> int:
    try:
        month = int(text.strip())
    except ValueError:
        raise Invalid(f"month {text!r} is not a number from 1 to 12") from None
    if not 1 <= month <= 12:
        raise Invalid(f"month {month} is outside 1 to 12 (1 is April, 12 is March)")
    return month


def _text(text: str, what: str, *, max_length: int, required: bool = False) -> str:
    value = text.strip()
    if required and not value:
        raise Invalid(f"{what} is missing")
    if len(value) > max_length:
        raise Invalid(f"{what} is longer than {max_length} characters")
    return value


def _sequence(reference: str) -> int:
    """ELR-1819-014 -> 14: the number a reference ends in."""
    found = re.search(r"(\d+)$", reference)
    if not found or int(found[1]) == 0:
        raise Invalid(f"reference {reference!r} should end in its number, like ELR-1920-014")
    return int(found[1])


def _reference_matches(reference: str, organisation: Organisation, year: FinancialYear) -> None:
    parts = re.fullmatch(r"(.+)-(\d{4})-(\d+)", reference)
    if not parts:
        return
    if parts[1].casefold() != organisation.code.casefold():
        raise Invalid(f"reference {reference} does not belong to organisation {organisation.code}")
    if parts[2] != year.code:
        raise Invalid(f"reference {reference} does not belong to financial year {year.label}")


def _name_key(text: str) -> str:
    return " ".join(text.split()).casefold()


class Lookups:
    """Organisations, years and areas, loaded once; unknown ones made when create_missing."""

    def __init__(self, *, create_missing: bool, organisation_ids: set[int] | None):
        self.create_missing = create_missing
        self.organisation_ids = organisation_ids  # None: any organisation
        self.organisations = {o.code.casefold(): o for o in Organisation.objects.all()}
        self.years = {y.start_year: y for y in FinancialYear.objects.all()}
        self.programme_areas = {_name_key(a.name): a for a in ProgrammeArea.objects.all()}
        self.areas_of_spend = {_name_key(a.name): a for a in AreaOfSpend.objects.all()}
        self.codes = {o.pk: o.code for o in self.organisations.values()}
        self._people: dict[str, User] | None = None

    def person(self, text: str, column: str, organisation: Organisation) -> User | None:
        """The user a team column names (username or e-mail), who must be an active member
        of the scheme's organisation holding the column's role; None when blank."""
        name = text.strip()
        if not name:
            return None
        if self._people is None:  # read when the file first names someone
            people = User.objects.filter(is_active=True).prefetch_related("groups", "memberships")
            self._people = {}
            for user in people:
                self._people[user.username.casefold()] = user
                if user.email:
                    self._people.setdefault(user.email.casefold(), user)
        user = self._people.get(name.casefold())
        if user is None:
            raise Invalid(f"{column} {name!r} is not an active user's username or e-mail")
        if organisation.pk not in {m.organisation_id for m in user.memberships.all()}:
            raise Invalid(f"{column} {name} is not a member of {organisation.code}")
        role = TEAM[column]
        if role and role not in {g.name for g in user.groups.all()}:
            raise Invalid(f"{column} {name} does not hold the role {role}")
        return user

    def organisation(self, text: str) -> Organisation:
        code = text.strip()
        if not code:
            raise Invalid("organisation is missing")
        found = self.organisations.get(code.casefold())
        # a restricted import (the upload page) may not create organisations
        if found is None and self.create_missing and self.organisation_ids is None:
            if len(code) > 20:
                raise Invalid(f"organisation code {code!r} is longer than 20 characters")
            found = Organisation.objects.create(code=code, name=code, system=self._new_system())
            self.organisations[code.casefold()] = found
            self.codes[found.pk] = found.code
        if found is None:
            raise Invalid(f"unknown organisation {code!r}")
        self.allowed(found.pk)
        return found

    def allowed(self, organisation_id: int) -> None:
        if self.organisation_ids is not None and organisation_id not in self.organisation_ids:
            raise Invalid(
                f"you can import for your own organisations only, "
                f"not {self.codes.get(organisation_id, organisation_id)}"
            )

    def _new_system(self) -> System:
        """The system every existing organisation shares, else one named Imported."""
        systems = {o.system_id for o in self.organisations.values()}
        if len(systems) == 1:
            return System.objects.get(pk=systems.pop())
        system, _ = System.objects.get_or_create(code="IMPORTED", defaults={"name": "Imported"})
        return system

    def year(self, text: str) -> FinancialYear:
        start = FinancialYear.parse_label(text)
        if start is None:
            raise Invalid(f"financial year {text!r} should look like 2019/20")
        found = self.years.get(start)
        if found is None and self.create_missing:
            if not 2000 <= start <= 2100:
                raise Invalid(f"financial year {text} is outside 2000/01 to 2100/01")
            found = self.years[start] = FinancialYear.objects.create(start_year=start)
        if found is None:
            raise Invalid(f"unknown financial year {text.strip()}")
        return found

    def _named(self, table: dict, model, what: str, text: str):
        name = " ".join(text.split())
        if not name:
            raise Invalid(f"{what} is missing")
        found = table.get(name.casefold())
        if found is None and self.create_missing:
            if len(name) > 100:
                raise Invalid(f"{what} {name!r} is longer than 100 characters")
            found = table[name.casefold()] = model.objects.create(name=name)
        if found is None:
            raise Invalid(f"unknown {what} {name!r}")
        return found

    def programme_area(self, text: str) -> ProgrammeArea:
        return self._named(self.programme_areas, ProgrammeArea, "programme area", text)

    def area_of_spend(self, text: str) -> AreaOfSpend:
        return self._named(self.areas_of_spend, AreaOfSpend, "area of spend", text)


def _chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- targets ---


def _import_targets(header, records, *, lookups: Lookups, by: User, result: ImportResult, **_):
    parsed, first_row = [], {}
    for number, record in records:
        check = Check(result, number)
        organisation = check(lookups.organisation, record["organisation"])
        year = check(lookups.year, record["financial_year"])
        requirement = check(
            _amount, record["requirement"], "requirement", minimum=0, limit=MAX_REQUIREMENT
        )
        allocation = None
        if "allocation" in record:
            allocation = check(
                _amount,
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


# --- plans ---

PLAN_COMPARED = [
    "title",
    "programme_area_id",
    "area_of_spend_id",
    "scheme_type",
    "is_recovery",
    *PLAN_FIELDS,
]


@dataclass
class PlanRow:
    row: int
    reference: str
    sequence: int
    organisation: Organisation
    year: FinancialYear
    values: dict  # PLAN_COMPARED -> value
    state: str | None  # blank: a new scheme starts as a draft, an existing one keeps its state
    team: dict  # TEAM column -> User, or None when blank or not a column


def _parse_plan(number, record, *, lookups: Lookups, result, has_state: bool, first_row: dict):
    check = Check(result, number)
    reference = check(_text, record["reference"], "reference", max_length=30, required=True)
    sequence = None
    if reference:
        if reference in first_row:
            check.fail(
                f"{reference} appears twice in the file (first on row {first_row[reference]})"
            )
        first_row.setdefault(reference, number)
        sequence = check(_sequence, reference)
    title = check(_text, one_line(record["title"]), "title", max_length=200, required=True)
    organisation = check(lookups.organisation, record["organisation"])
    year = check(lookups.year, record["financial_year"])
    programme_area = check(lookups.programme_area, record["programme_area"])
    area_of_spend = check(lookups.area_of_spend, record["area_of_spend"])
    scheme_type = check(_scheme_type, record["scheme_type"])
    recovery = check(_yes_no, record["recovery"], "recovery")
    plan = {
        name: check(_amount, record[name], name, required=False, minimum=0) or Decimal("0.00")
        for name in PLAN_FIELDS
    }
    state = None
    if has_state and record["state"].strip():
        state = check(_state, record["state"])
    team = {}
    if organisation:
        for column in TEAM:
            if column in record:
                team[column] = check(lookups.person, record[column], column, organisation)
    if reference and organisation and year:
        check(_reference_matches, reference, organisation, year)
    if not check.ok:
        return None
    values = {
        "title": title,
        "programme_area_id": programme_area.pk,
        "area_of_spend_id": area_of_spend.pk,
        "scheme_type": scheme_type,
        "is_recovery": recovery,
        **plan,
    }
    return PlanRow(number, reference, sequence, organisation, year, values, state, team)


def _plan_display(lookups: Lookups, name: str, value) -> str:
    if name == "programme_area_id":
        return next((a.name for a in lookups.programme_areas.values() if a.pk == value), "")
    if name == "area_of_spend_id":
        return next((a.name for a in lookups.areas_of_spend.values() if a.pk == value), "")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return money.pounds_and_pence(value)
    if name == "scheme_type":
        return SchemeType(value).label
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


def _check_states(parsed: list[PlanRow], existing: dict, result) -> None:
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
            if p.year.end_date >= today:
                result.errors.append(
                    RowError(
                        p.row,
                        f"{p.reference} is of {p.year.label}, which has not ended: only a "
                        "past year is loaded with --historical; import this year's schemes "
                        "as drafts",
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


def _import_plans(
    header, records, *, lookups: Lookups, by: User, result: ImportResult, historical: bool, name
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
    for chunk in _chunks(sorted(p.reference for p in parsed)):
        locked = (
            Scheme.objects.filter(reference__in=chunk)
            .select_related("financial_year")
            .select_for_update(of=("self",))
            .order_by("reference")  # always the same order: two imports never deadlock
        )
        for scheme in locked:
            existing[scheme.reference] = scheme
    _check_numbering(parsed, existing, lookups, result)
    _check_states(parsed, existing, result)
    _check_new_schemes(parsed, existing, result, historical=historical)
    _check_teams(parsed, existing, result)
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
        fields = [name for name in PLAN_COMPARED if getattr(scheme, name) != p.values[name]]
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
    Scheme.objects.bulk_update(changed, [*PLAN_COMPARED, "version", "updated_at"], batch_size=BATCH)
    SchemeChange.objects.bulk_create(changes, batch_size=BATCH)
    result.created, result.updated = len(new), len(changed)
    result.unchanged = len(parsed) - len(new) - len(changed)


# --- returns ---


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
    month = check(_month, record["month"])
    if reference and month:
        key = (reference, month)
        if key in first_row:
            check.fail(
                f"a second return for {reference} month {month} (first on row {first_row[key]})"
            )
        first_row.setdefault(key, number)
    values = {"actual": check(_amount, record["actual"], "actual")}
    if "forecast_outturn" in record:
        values["forecast_outturn"] = check(
            _amount,
            record["forecast_outturn"],
            "forecast_outturn",
            required=False,
            limit=MAX_FORECAST,
        )
    if "commentary" in record:
        values["commentary"] = check(_text, record["commentary"], "commentary", max_length=10000)
    assured = None
    if "pmo_assured" in record:
        assured = check(_amount, record["pmo_assured"], "pmo_assured", required=False)
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
        show = (lambda v: v) if name == "commentary" else money.pounds_and_pence
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
                old_value=money.pounds_and_pence(monthly.pmo_assured),
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


def _import_returns(header, records, *, lookups: Lookups, by: User, result: ImportResult, **_):
    references = sorted({r["reference"].strip() for _n, r in records if r["reference"].strip()})
    schemes = {}
    for chunk in _chunks(references):
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
    for chunk in _chunks(sorted({p.scheme_id for p in parsed})):
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


IMPORTERS = {"targets": _import_targets, "plans": _import_plans, "returns": _import_returns}

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
        rows = read_table(handle, name)
    except Invalid as exc:
        result.errors.append(RowError(None, exc.message))
        return result
    header, records = _records(kind, rows, result, is_csv=Path(name).suffix.lower() == ".csv")
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


# --- an import run on a worker (the upload page) ---

# The errors a page lists; all of them are in a CSV to download.
ERRORS_SHOWN = 200
PROGRESS_KEY = "import-run-{}"


def progress_of(run_id: int) -> dict | None:
    """How far a run's check has got, as its worker last said (None when nothing is known:
    not started, or the cache cannot be reached)."""
    try:
        return cache.get(PROGRESS_KEY.format(run_id))
    except Exception:  # noqa: BLE001 - a cache that cannot be reached knows nothing
        return None


def _tell_progress(run_id: int) -> Callable[[dict], None]:
    def tell(progress: dict) -> None:
        try:
            cache.set(PROGRESS_KEY.format(run_id), progress, timeout=3600)
        except Exception:  # noqa: BLE001 - the page shows less, the import goes on
            logger.debug("could not note the progress of import run %s", run_id, exc_info=True)

    return tell


def run_import(run_id: int) -> str:
    """Check and import the file of an ImportRun, once: claim it, import it (all or nothing)
    and record what was committed, or every problem found."""
    now = timezone.now()
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=now
    )
    if not claimed:
        return "another worker got there first, or it has run"
    run = ImportRun.objects.select_related("by").get(pk=run_id)
    try:
        with run.file.open("rb") as handle:
            result = import_file(
                run.kind,
                handle,
                name=run.name,
                by=run.by,
                create_missing=run.create_missing,
                organisation_ids=set(run.organisation_ids),
                progress=_tell_progress(run.pk),
            )
    except Exception:
        # nothing was committed: the import's transaction rolled back with the error
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED, finished_at=timezone.now()
        )
        raise
    run.finished_at = timezone.now()
    run.error_count = len(result.errors)
    run.first_errors = [str(error) for error in result.errors[:ERRORS_SHOWN]]
    if result.ok:
        run.status, run.summary = ImportStatus.DONE, result.summary()
    else:
        run.status = ImportStatus.REFUSED
        if len(result.errors) > ERRORS_SHOWN:
            run.all_errors.save(f"{Path(run.name).stem}-errors.csv", _errors_csv(result), False)
    run.save()
    return run.get_status_display()


def _errors_csv(result: ImportResult) -> ContentFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "problem"])
    for error in result.errors:
        writer.writerow([error.row or "", reports_text(error.message)])
    return ContentFile(out.getvalue().encode("utf-8"))


def waiting_imports(*, older_than_seconds: int) -> list[int]:
    """The runs still waiting for a worker after that long (the broker was down when they
    were uploaded): to hand to a worker again."""
    before = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        ImportRun.objects.filter(status=ImportStatus.QUEUED, created_at__lt=before).values_list(
            "pk", flat=True
        )
    )
