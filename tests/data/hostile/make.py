"""Make the hostile files the upload and import tests send (tests/data/hostile/).

    python tests/data/hostile/make.py

Each is small on disk and enormous when read carelessly: the files that took a worker to
gigabytes, scaled down so the repository stays small (the limits they meet are far below).
"""

import io
import zipfile
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024


def odt_bomb() -> bytes:
    """An .odt whose one-line `mimetype` entry inflates to 64 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("mimetype", b"application/vnd.oasis.opendocument.text" + b" " * 64 * MB)
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def _workbook(sheet_xml: bytes | None = None, fill=None) -> bytes:
    """A real workbook from openpyxl, its first sheet's XML replaced when given."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["reference", "month", "actual"])
    if fill:
        fill(sheet)
    out = io.BytesIO()
    workbook.save(out)
    if sheet_xml is None:
        return out.getvalue()
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for item in source.infolist():
            data = sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            archive.writestr(item.filename, data)
    return rebuilt.getvalue()


def far_cell() -> bytes:
    """One value in the last cell a sheet has, XFD1048576."""
    return _workbook(fill=lambda sheet: sheet.cell(row=1_048_576, column=16_384, value=1))


SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData>%s</sheetData></worksheet>"
)


def empty_rows() -> bytes:
    """300,000 rows with nothing in them."""
    rows = b"<row/>" * 300_000
    return _workbook(SHEET % rows)


def packed_sheet() -> bytes:
    """A sheet whose XML is 160 MB of spaces: it compresses a thousand times."""
    return _workbook(SHEET % (b" " * 160 * MB))


FILES = {
    "mimetype-bomb.odt": odt_bomb,
    "far-cell.xlsx": far_cell,
    "empty-rows.xlsx": empty_rows,
    "packed-sheet.xlsx": packed_sheet,
}

if __name__ == "__main__":
    for name, make in FILES.items():
        (HERE / name).write_bytes(make())
        print(f"{name}: {(HERE / name).stat().st_size:,} bytes")
