"""What an import file holds (the kinds, their columns, the limits) and reading it into rows:
CSV or XLSX, each row checked against the header."""

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from governance import archives, roles
from governance.models import PLAN_FIELDS, RECURRENT_FIELDS

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
# What kind of saving a plan is (the PID's fields): optional, the PID's defaults when left out.
INVESTMENT_FIELDS = ["investment_one_off", "investment_recurring"]
SAVING_FIELDS = ["recurrence", *RECURRENT_FIELDS, "cash_releasing", *INVESTMENT_FIELDS]
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
        ["state", *TEAM, *SAVING_FIELDS],
    ),
    "returns": (
        ["reference", "month", "actual"],
        ["forecast_outturn", "pmo_assured", "assured_reason", "evidence_link", "commentary"],
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


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # a spreadsheet keeps every number as a float: 4.0 is the month 4
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


# The first bytes of a zip archive, which an .xlsx workbook is.
ZIP_SIGNATURE = b"PK\x03\x04"


def _csv_rows(data: bytes) -> list[list[str]]:
    if data.startswith(ZIP_SIGNATURE):
        # a workbook renamed .csv: the CSV reader's own complaint would not say so
        raise Invalid(
            "This looks like an Excel workbook: save it as .xlsx (or export it as CSV) and "
            "upload again."
        )
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


def records(kind: str, rows: list[list[str]], result: ImportResult, *, is_csv: bool):
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
    if not records and not result.errors:
        # otherwise it reads "0 created, 0 updated, 0 unchanged" as if it had worked
        result.errors.append(
            RowError(None, "The file has its headers but no rows under them: nothing was imported.")
        )
    return header, records
