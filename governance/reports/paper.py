"""The committee paper (issue 21): what goes into it, in the order the scrutiny committee reads
it. The title, the purpose, the committee tables, numbered and titled, each built by `build` as
the report pages build it, short sentences where the figures say it plainly, and placeholders
for the narrative the finance officer writes. paper_docx writes it as a Word document.

The sentences are in £m to three decimals, worked from the figure the table shows in £'000 (so
a sentence never disagrees with its table), and never mix pounds with £'000 (DESIGN.md).
"""

from dataclasses import dataclass, field
from decimal import Decimal

from governance.models import FinancialYear
from governance.reports.parts import GRAND_TOTAL, UNIDENTIFIED, Row, Table
from governance.reports.tables import build


@dataclass(frozen=True)
class Contents:
    """One numbered table of the paper: which table, grouped how, under what title."""

    number: int
    name: str
    by: str
    title: str


# The published month-4 paper prints the year to date by organisation as its Table 1 and the
# forecast as its Table 2; the issue asks for both groupings of each, so each grouping is a
# table of its own, numbered in the order the paper reads.
CONTENTS = (
    Contents(1, "summary", "organisation", "Summary by organisation"),
    Contents(2, "summary", "programme_area", "Summary by programme area"),
    Contents(3, "requirement", "organisation", "Net QIPP requirement by organisation"),
    Contents(4, "area_of_spend", "organisation", "Schemes by area of spend"),
    Contents(5, "forecast", "programme_area", "Forecast delivery by programme area"),
    Contents(6, "forecast", "organisation", "Forecast delivery by organisation"),
)


@dataclass(frozen=True)
class Text:
    """A paragraph: a sentence worked out from the figures, or (placeholder) a marked gap the
    finance officer replaces with their own words."""

    text: str
    placeholder: bool = False


@dataclass
class NumberedTable:
    number: int
    title: str
    table: Table

    @property
    def caption(self) -> str:
        return f"Table {self.number}: {self.title}"


@dataclass
class Section:
    heading: str
    blocks: list[Text | NumberedTable] = field(default_factory=list)


@dataclass
class Paper:
    title: str
    subtitle: str
    year: FinancialYear
    month: int
    organisations: list[str]
    sections: list[Section]

    @property
    def tables(self) -> list[NumberedTable]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, NumberedTable)]

    @property
    def placeholders(self) -> list[str]:
        return [
            b.text for s in self.sections for b in s.blocks if isinstance(b, Text) and b.placeholder
        ]

    @property
    def filename(self) -> str:
        year = f"{self.year.start_year}-{self.year.code[2:]}"
        return f"committee_paper_{year}_m{self.month:02d}.docx"


def narrative(what: str) -> Text:
    return Text(f"[Narrative: {what}]", placeholder=True)


def millions(thousands: int) -> str:
    """A figure shown in £'000 as £m, its sign left to the sentence: 62 -> '£0.062m'."""
    return f"£{Decimal(abs(thousands)).scaleb(-3):,.3f}m"


def _organisations_said(codes: list[str]) -> str:
    if not codes:
        return "no organisation"
    if len(codes) == 1:
        return codes[0]
    return f"{', '.join(codes[:-1])} and {codes[-1]}"


# --- the sentences: each says one figure of one row, or nothing when the figure is blank ---


def year_to_date(row: Row, month: int) -> Text | None:
    """Delivery to date against plan. A negative variance is over-delivery (savings are
    negative). At month 12 the year to date is the year, so it is said in the past tense."""
    variance = row.value("ytd_variance")
    if variance is None:
        return None
    who = "Overall, the organisations" if row.label == GRAND_TOTAL else row.label
    if month == 12:
        if variance < 0:
            return Text(f"{who} over-achieved {_its(row)} annual plan by {millions(variance)}.")
        if variance > 0:
            return Text(f"{who} fell short of {_its(row)} annual plan by {millions(variance)}.")
        return Text(f"{who} delivered {_its(row)} annual plan.")
    if variance < 0:
        return Text(f"{who} {_is(row)} {millions(variance)} ahead of plan for the year to date.")
    if variance > 0:
        return Text(f"{who} {_is(row)} {millions(variance)} behind plan for the year to date.")
    return Text(f"{who} {_is(row)} on plan for the year to date.")


def year_forecast(row: Row, month: int) -> Text | None:
    """The forecast outturn against the annual plan; at month 12 the year to date says it."""
    variance = row.value("annual_variance")
    if variance is None or month == 12:
        return None
    who = "Overall, the organisations" if row.label == GRAND_TOTAL else row.label
    verb = _is(row)
    if variance < 0:
        return Text(
            f"{who} {verb} forecast to over-achieve {_its(row)} annual plan by "
            f"{millions(variance)}."
        )
    if variance > 0:
        return Text(
            f"{who} {verb} forecast to fall short of {_its(row)} annual plan by "
            f"{millions(variance)}."
        )
    return Text(f"{who} {verb} forecast to deliver {_its(row)} annual plan.")


def unidentified(table: Table) -> list[Text]:
    """Per organisation, the requirement not yet covered by identified schemes; nothing for an
    organisation without a recorded requirement (its figure is blank)."""
    row = next(r for r in table.rows if r.label == UNIDENTIFIED)
    said = []
    for cell in row.cells:
        if cell.column.key == "total" or cell.value is None:
            continue
        code = cell.column.label
        # the requirement is a saving still to find: negative in the report's sign
        if cell.value < 0:
            said.append(
                Text(f"{code} has {millions(cell.value)} of its QIPP requirement unidentified.")
            )
        elif cell.value > 0:
            said.append(
                Text(
                    f"{code} has identified {millions(cell.value)} more than its QIPP requirement."
                )
            )
        else:
            said.append(Text(f"{code} has identified schemes for all of its QIPP requirement."))
    return said


def recovery(table: Table) -> Text | None:
    total = next(r for r in table.rows if r.label == GRAND_TOTAL)
    forecast = total.value("recovery_forecast")
    # savings are negative: nothing plain to say of none, or of recovery actions costing money
    if forecast is None or forecast >= 0:
        return None
    return Text(f"Recovery actions are forecast to deliver {millions(forecast)} of savings.")


def _its(row: Row) -> str:
    return "their" if row.label == GRAND_TOTAL else "its"


def _is(row: Row) -> str:
    return "are" if row.label == GRAND_TOTAL else "is"


# --- the paper ---


def committee_paper(*, year: FinancialYear, month: int, system_ids=None) -> Paper:
    """The paper for `year` as at `month`; `system_ids` limits every table to those systems'
    organisations, as on the report pages."""
    numbered = {
        (c.name, c.by): NumberedTable(
            c.number,
            c.title,
            build(c.name, year=year, month=month, by=c.by, system_ids=system_ids),
        )
        for c in CONTENTS
    }
    by_organisation = numbered["summary", "organisation"].table
    organisations = [row.label for row in by_organisation.rows if not row.total]
    as_at = by_organisation.as_at
    who = _organisations_said(organisations)

    # with one organisation its Grand Total says the same again
    summary_rows = by_organisation.rows if len(organisations) > 1 else by_organisation.rows[:-1]
    headline = [
        said
        for row in summary_rows
        for said in (year_to_date(row, month), year_forecast(row, month))
        if said is not None
    ]
    sections = [
        Section(
            "1. Purpose",
            [
                Text(
                    f"This paper reports the delivery of the QIPP savings schemes of {who} in "
                    f"{year.label}, {as_at}: delivery to date against plan, the QIPP "
                    "requirement and the forecast for the year."
                ),
                narrative("the context of this report and what the committee is asked to do."),
            ],
        ),
        Section(
            "2. Summary",
            [*headline, narrative("the main points, risks and actions for the committee.")],
        ),
        Section(
            "3. Delivery to date",
            [
                numbered["summary", "organisation"],
                numbered["summary", "programme_area"],
                narrative("delivery to date by organisation and by programme area."),
            ],
        ),
        Section(
            "4. QIPP requirement",
            [
                *unidentified(numbered["requirement", "organisation"].table),
                numbered["requirement", "organisation"],
                numbered["area_of_spend", "organisation"],
                narrative("progress in identifying schemes to meet the QIPP requirement."),
            ],
        ),
        Section(
            "5. Forecast",
            [
                *filter(None, [recovery(numbered["forecast", "organisation"].table)]),
                numbered["forecast", "programme_area"],
                numbered["forecast", "organisation"],
                narrative("the forecast outturn, the recovery actions and the risks to them."),
            ],
        ),
        Section(
            "6. Recommendation",
            [narrative("what the committee is asked to note, approve or decide.")],
        ),
    ]
    return Paper(
        title=f"QIPP savings: delivery report {year.label}, {as_at}",
        subtitle="Report to the scrutiny committee",
        year=year,
        month=month,
        organisations=organisations,
        sections=sections,
    )
