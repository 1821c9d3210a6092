"""Bulk import of QIPP targets, scheme plans and monthly returns from a CSV or XLSX file.

The whole file is imported or nothing is: every row is checked first and each problem reported
with its row number as the spreadsheet shows it (the header is row 1); only a file without a
single error is written, in one transaction. Importing the same file again changes nothing:
targets are matched by organisation and year, plans by reference, returns by reference and
month. Lookups are loaded once and rows written in bulk, so a year of 10,000 schemes imports in
seconds.

Amounts are in pounds, savings positive, with at most two decimal places. An optional column
left blank on a row that matches an existing return or target leaves that value as it was.

tables reads a file into rows, cells checks their values, targets, plans and returns import
each kind, importing runs a whole file, runs is an import on a worker; the names other
modules use are listed here.
"""

from governance.importers.importing import (
    IMPORTERS,
    RETURNS_IMPORTED_HOOKS,
    import_file,
    import_user,
)
from governance.importers.runs import progress_of, run_import, waiting_imports
from governance.importers.tables import COLUMNS, KINDS, ImportResult, RowError, read_table

__all__ = [
    "COLUMNS",
    "IMPORTERS",
    "KINDS",
    "RETURNS_IMPORTED_HOOKS",
    "ImportResult",
    "RowError",
    "import_file",
    "import_user",
    "progress_of",
    "read_table",
    "run_import",
    "waiting_imports",
]
