"""A list page (the schemes, the QIA risk register) as a CSV or XLSX download: the page's
columns under the page's headings, one line per row of the page's own filtered queryset, every
page of it.

Money is in pounds in the committee papers' sign, a saving negative: a signed number in the
CSV, a number shown in brackets in the XLSX; its heading says "(£)". Text cells never become
formulas in a spreadsheet (governance.text).
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpResponse, QueryDict

from governance.reports.parts import XLSX_MONEY_FORMAT
from governance.text import BYTE_ORDER_MARK, keep_as_text, spreadsheet_text

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    heading: str  # as on the page
    value: Callable  # row -> its cell: text, or for a saving the pounds as stored
    saving: bool = False  # a saving stored positive: written in the papers' sign, negative

    @property
    def label(self) -> str:
        return f"{self.heading} (£)" if self.saving else self.heading

    def cell(self, row):
        value = self.value(row)
        if self.saving:
            return None if value is None else Decimal(0) - value  # 0, never -0
        return "" if value is None else str(value)


@dataclass
class Download:
    name: str  # the file's name without its extension; the sheet's title
    columns: list[Column]
    rows: Iterable

    def lines(self) -> Iterable[list]:
        for row in self.rows:
            yield [column.cell(row) for column in self.columns]


@dataclass
class Listing:
    """What a list page with downloads makes of its address: the file asked for, or the page
    with its download links."""

    query: QueryDict  # the filters as asked, without the page number or the format
    output: str  # "html", or the download asked for
    error: str | None  # why no file can be made, when one was asked for

    @property
    def wants_file(self) -> bool:
        return self.output != "html" and self.error is None

    @property
    def status(self) -> int:
        return 400 if self.error else 200

    def context(self) -> dict:
        """What the page's template needs: the filters as asked, the links, the error."""
        return {
            "query": self.query.urlencode(),
            "downloads": download_queries(self.query),
            "download_error": self.error,
        }


def listing(request, form) -> Listing:
    """The list page's address read: ?format= asks for a file, made only when the filters are
    valid (else the page says why, with status 400)."""
    output = request.GET.get("format") or "html"
    error = None if output == "html" else problem(output, filters_valid=not form.errors)
    return Listing(page_query(request.GET), output, error)


def page_query(get: QueryDict) -> QueryDict:
    """The page's filters as asked, without the page number or the download format."""
    query = get.copy()
    query.pop("page", None)
    query.pop("format", None)
    return query


def download_queries(query: QueryDict) -> dict[str, str]:
    """The address query of each download of the page: its filters, every page."""
    found = {}
    for output in FORMATS:
        link = query.copy()
        link["format"] = output
        found[output] = link.urlencode()
    return found


def problem(output: str, filters_valid: bool) -> str | None:
    """Why no file can be made, in words for the page; None when one can."""
    if output not in FORMATS:
        return f"Choose CSV or XLSX to download, not {output!r}."
    if not filters_valid:
        return "Nothing was downloaded: correct the filters below, then download again."
    return None


def plain_pounds(value: Decimal) -> str:
    """-83000 and -83000.50: a plain signed number, as a spreadsheet or a script reads it."""
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"


def to_csv(download: Download) -> str:
    """The headings, then the rows, after the byte order mark Excel needs."""
    out = io.StringIO()
    out.write(BYTE_ORDER_MARK)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([spreadsheet_text(column.label) for column in download.columns])
    for line in download.lines():
        writer.writerow(
            [
                ("" if cell is None else plain_pounds(cell))
                if column.saving
                else spreadsheet_text(cell)
                for column, cell in zip(download.columns, line, strict=True)
            ]
        )
    return out.getvalue()


def to_xlsx(download: Download) -> bytes:
    """One sheet: the headings, then the rows; money stays a number, in brackets when saved."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = download.name[:31]
    sheet.append([column.label for column in download.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in download.lines():
        sheet.append(line)
    widths = {index: len(column.label) for index, column in enumerate(download.columns, 1)}
    for index, column in enumerate(download.columns, 1):
        letter = get_column_letter(index)
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            if column.saving:
                cell.number_format = XLSX_MONEY_FORMAT
            widths[index] = max(widths[index], len(str(cell.value or "")))
        sheet.column_dimensions[letter].width = min(widths[index], 60) + 2
    sheet.freeze_panes = "A2"
    keep_as_text(sheet)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def response(download: Download, output: str) -> HttpResponse:
    """The file to save, named for the list and the format."""
    if output == "csv":
        response = HttpResponse(to_csv(download), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(to_xlsx(download), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{download.name}.{output}"'
    return response
