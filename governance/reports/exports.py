"""A table as CSV, as text for the command line, and as an XLSX workbook.

The text and the workbook open with the table's heading (its scope included) and close with
what it counts (the states, the drafts); the CSV is the page's headings and rows only, and its
file's name carries the scope."""

import csv
import io

from governance.reports.parts import TABLES, XLSX_MONEY_FORMAT, XLSX_PERCENT_FORMAT, Table
from governance.text import keep_as_text, spreadsheet_text

# --- renderers ---


def to_csv(table: Table) -> str:
    """The page's columns under the page's headings, then one line per row: plain signed £'000
    and whole percents. Names (organisations, areas) are text cells that no spreadsheet runs as
    a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [spreadsheet_text(table.label_header), *(spreadsheet_text(c.label) for c in table.columns)]
    )
    for row in table.rows:
        writer.writerow(
            [
                spreadsheet_text(row.label),
                *("" if cell.value is None else cell.value for cell in row.cells),
            ]
        )
    return out.getvalue()


def to_text(table: Table) -> str:
    """An aligned table like the committee paper: brackets for savings, thousands separated."""
    header = [table.label_header, *(c.label for c in table.columns)]
    body = [[row.label, *(cell.text for cell in row.cells)] for row in table.rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells):
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "-" * len(line(header))
    lines = [table.heading, "£'000; savings shown as negative figures in brackets", ""]
    lines += [line(header), rule]
    for row, cells in zip(table.rows, body, strict=True):
        if row.total:
            lines.append(rule)
        lines.append(line(cells))
    lines += ["", table.counts, *table.notes]
    return "\n".join(lines) + "\n"


def to_xlsx(table: Table) -> bytes:
    """One sheet: title, header, rows; numbers stay numbers, shown in the papers' brackets."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = TABLES[table.name][:31]
    sheet.append([table.heading])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append(["£'000; savings shown as negative figures in brackets"])
    sheet.append([])
    sheet.append([table.label_header, *(c.label for c in table.columns)])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for row in table.rows:
        sheet.append([row.label, *(cell.value for cell in row.cells)])
        for cell, source in zip(sheet[sheet.max_row][1:], row.cells, strict=True):
            cell.number_format = XLSX_PERCENT_FORMAT if source.column.percent else XLSX_MONEY_FORMAT
        if row.total:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    sheet.append([])
    for line in (table.counts, *table.notes):
        sheet.append([line])
    sheet.column_dimensions["A"].width = (
        max([len(table.label_header), *(len(r.label) for r in table.rows)]) + 2
    )
    for index in range(2, len(table.columns) + 2):
        sheet.column_dimensions[get_column_letter(index)].width = 14
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
    keep_as_text(sheet)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
