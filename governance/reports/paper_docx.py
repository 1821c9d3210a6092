"""The committee paper as a Word document, with python-docx.

Every table is a real Word table (a header row repeated on each page, figures right-aligned as
shown on the page, totals in bold), so the finance officer can edit it and the committee's
papers can be assembled from it. The narrative placeholders have a style of their own,
"Narrative placeholder", highlighted so none is left in by mistake; replacing the text and
choosing the Normal style makes it an ordinary paragraph. "OFFICIAL" heads and foots every
page: the government security classification committee papers carry.
"""

import io

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from governance.reports.paper import NumberedTable, Paper, Text

CLASSIFICATION = "OFFICIAL"
PLACEHOLDER_STYLE = "Narrative placeholder"
NOTE_STYLE = "Table note"
TABLE_STYLE = "Table Grid"
UNITS = (
    "£'000; savings are shown as negative figures in brackets; a positive variance is "
    "under-delivery."
)
PAGE_WIDTH = Cm(21.0)  # A4
MARGIN = Cm(2.0)
LABEL_WIDTH = Cm(4.4)


def to_docx(paper: Paper) -> bytes:
    document = Document()
    _set_up(document, paper)
    document.add_paragraph(paper.title, style="Title")
    document.add_paragraph(paper.subtitle, style="Subtitle")
    for section in paper.sections:
        document.add_heading(section.heading, level=1)
        for block in section.blocks:
            if isinstance(block, NumberedTable):
                _add_table(document, block)
            else:
                _add_text(document, block)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _set_up(document, paper: Paper) -> None:
    """A4 portrait, the classification on every page, the styles the paper uses."""
    document.core_properties.title = paper.title
    document.core_properties.subject = paper.subtitle
    section = document.sections[0]
    section.page_width, section.page_height = PAGE_WIDTH, Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, MARGIN)
    for part in (section.header, section.footer):
        line = part.paragraphs[0]
        line.alignment = WD_ALIGN_PARAGRAPH.CENTER
        line.add_run(CLASSIFICATION).bold = True

    styles = document.styles
    styles["Normal"].font.name = "Arial"  # the NHS's house font for documents
    styles["Normal"].font.size = Pt(11)
    placeholder = styles.add_style(PLACEHOLDER_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    placeholder.base_style = styles["Normal"]
    placeholder.font.italic = True
    placeholder.font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)
    placeholder.font.highlight_color = WD_COLOR_INDEX.YELLOW
    note = styles.add_style(NOTE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    note.base_style = styles["Normal"]
    note.font.size = Pt(8)
    note.paragraph_format.space_after = Pt(12)


def _add_text(document, text: Text) -> None:
    document.add_paragraph(text.text, style=PLACEHOLDER_STYLE if text.placeholder else None)


def _add_table(document, numbered: NumberedTable) -> None:
    """Caption, what it shows and in what units, the table, then what it counts."""
    table = numbered.table
    caption = document.add_paragraph(numbered.caption, style="Caption")
    caption.paragraph_format.keep_with_next = True
    said = document.add_paragraph(
        f"{table.year.label}, {table.as_at}, {table.scope.label}. {UNITS}", style=NOTE_STYLE
    )
    said.paragraph_format.keep_with_next = True
    said.paragraph_format.space_after = Pt(2)

    grid = document.add_table(rows=1, cols=len(table.columns) + 1, style=TABLE_STYLE)
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = grid.rows[0]
    _repeat_on_each_page(header)
    for cell, text in zip(
        header.cells, [table.label_header, *(c.label for c in table.columns)], strict=True
    ):
        _write(cell, text, bold=True, right=cell is not header.cells[0])
    for row in table.rows:
        cells = grid.add_row().cells
        _write(cells[0], row.label, bold=row.total)
        for cell, figure in zip(cells[1:], row.cells, strict=True):
            _write(cell, figure.text, bold=row.total, right=True)
    _widths(grid, len(table.columns))

    for line in (table.counts, *table.notes):
        document.add_paragraph(line, style=NOTE_STYLE)


def _write(cell, text: str, *, bold: bool = False, right: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = Pt(8)
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _repeat_on_each_page(row) -> None:
    """Mark the header row as one Word repeats at the top of each page the table runs onto."""
    properties = row._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    properties.append(repeat)


def _widths(grid, figures: int) -> None:
    """The names' column wide enough to read; the figures share the rest of the page."""
    grid.autofit = False
    rest = (PAGE_WIDTH - 2 * MARGIN - LABEL_WIDTH) // figures
    for column, width in zip(grid.columns, [LABEL_WIDTH, *[rest] * figures], strict=True):
        for cell in column.cells:
            cell.width = width
