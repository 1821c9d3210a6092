"""The committee tables of DESIGN.md ("Committee reports"), computed in the database.

Each table costs a fixed handful of aggregate queries, however many schemes there are. Money is
summed in SQL as integer pence: SQLite keeps decimals as floating point, and a float sum can put
a half-thousand on the wrong side. Here the pence become exact Decimal pounds, and every figure
shown, totals included, is rounded from those exact pounds, half away from zero; so a total may
differ from the sum of its rounded rows, as in the published papers.

The tables are plain data (columns, rows of cells holding the exact figure and the figure shown)
that the HTML page, the CSV and XLSX downloads and the command's text table all render.

Every table counts the schemes of one scope, and says so (DESIGN.md: "Every table says what it
counts"): "approved and in delivery" (approved, in delivery, completed, stopped) by default for
the summary, forecast, recurrence and carry-forward tables, "whole pipeline" (every state but
rejected and withdrawn, drafts in; open opportunities in the requirement table's pipeline rows)
for the requirement and area-of-spend tables. Where drafts are in, the table says how many and
how much.

The recurrence table splits the year's plans into recurrent and one-off, cash-releasing or
not, with the investment, net plan and full-year effect; the carry-forward table follows the
recurrent savings delivered to date and what the next year's plan carries of them (its
recurrent delivered is a share of each return, kept exact: queries.recurrent_delivered).

parts: what a table is made of, and the scopes; queries: the figures; tables: the tables and
choosing one; recurring: the recurrence and carry-forward tables; exports: CSV, text and XLSX;
chart: the cumulative chart; lists: a list page (schemes, register, pipeline, assured values)
as CSV or XLSX; paper: the committee paper (its numbered tables, generated sentences and
narrative placeholders) and paper_docx: that paper as a Word document. The names other modules
use are listed here.
"""

from governance.reports.chart import Chart, Series, chart, chart_drawing
from governance.reports.exports import to_csv, to_text, to_xlsx
from governance.reports.paper import CONTENTS as PAPER_CONTENTS
from governance.reports.paper import Paper, committee_paper
from governance.reports.paper_docx import to_docx
from governance.reports.parts import (
    BY_CHOICES,
    DEFAULT_SCOPES,
    NOT_COUNTED,
    SCOPES,
    TABLES,
    TABLES_WITH_BY,
    XLSX_MONEY_FORMAT,
    XLSX_PERCENT_FORMAT,
    ReportError,
    Scope,
    Table,
)
from governance.reports.tables import area_of_spend_schemes, build, parse_scope, parse_selection

__all__ = [
    "BY_CHOICES",
    "DEFAULT_SCOPES",
    "NOT_COUNTED",
    "PAPER_CONTENTS",
    "SCOPES",
    "TABLES",
    "TABLES_WITH_BY",
    "XLSX_MONEY_FORMAT",
    "XLSX_PERCENT_FORMAT",
    "Chart",
    "Paper",
    "ReportError",
    "Scope",
    "Series",
    "Table",
    "area_of_spend_schemes",
    "build",
    "chart",
    "chart_drawing",
    "committee_paper",
    "parse_scope",
    "parse_selection",
    "to_csv",
    "to_docx",
    "to_text",
    "to_xlsx",
]
