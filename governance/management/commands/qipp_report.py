"""python manage.py qipp_report
summary|requirement|area_of_spend|forecast|recurrence|carry_forward --year 2019/20
[--month N] [--by organisation|programme_area] [--scope delivery|pipeline]
[--format table|csv|xlsx] [--output FILE]

python manage.py qipp_report paper --year 2019/20 [--month N] --output FILE.docx
writes the committee paper, every table in one Word document (it takes no --by, --scope or
--format: it holds both groupings, each table in its own scope).

Without --month, a table or the paper is as at the year's latest month whose returns are due,
as the pages open (12 for a year gone by).

Other tools and finance teams' scripts call this: keep the interface as it is (--scope is
optional; without it each table counts what it always has by default, DEFAULT_SCOPES).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance import reports
from governance.delivery import schedule
from governance.models import FinancialYear

PAPER = "paper"


class Command(BaseCommand):
    help = (
        "Print a committee table for a financial year as at a month: a text table like the "
        "committee paper, CSV (signed £'000) or XLSX (needs --output); or, with `paper`, "
        "write the committee paper as a Word document (needs --output)."
    )

    def add_arguments(self, parser):
        parser.add_argument("table", choices=[*reports.TABLES, PAPER])
        parser.add_argument("--year", required=True, help="financial year, e.g. 2019/20")
        parser.add_argument(
            "--month",
            default=None,
            help="as at month 1 (April) to 12 (March); by default the year's latest month "
            "whose returns are due (12 for a year gone by), as on the pages",
        )
        parser.add_argument(
            "--by",
            default=None,  # organisation (parse_selection); None tells the paper none was given
            help="organisation or programme_area (summary, forecast and recurrence)",
        )
        parser.add_argument(
            "--scope",
            help="what the table counts: delivery (approved and in delivery: the default of "
            "summary, forecast, recurrence and carry_forward) or pipeline (every state but "
            "rejected and withdrawn, drafts included: the default of requirement and "
            "area_of_spend)",
        )
        # table unless given; None tells the paper none was given
        parser.add_argument("--format", default=None, choices=["table", "csv", "xlsx"])
        parser.add_argument("--output", help="write to this file instead of the screen")

    def handle(self, *args, table, year, month, by, scope, format, output, **options):
        month = month or self.latest_month_due(year)
        if table == PAPER:
            self.write_paper(
                year=year, month=month, by=by, scope=scope, format=format, output=output
            )
            return
        format = format or "table"
        if format == "xlsx" and not output:
            raise CommandError("An XLSX workbook needs a file: add --output FILE.xlsx.")
        try:
            financial_year, month, by = reports.parse_selection(
                table, year=year, month=month, by=by
            )
            counted = reports.parse_scope(table, scope)
        except reports.ReportError as exc:
            raise CommandError(exc.message) from None
        result = reports.build(table, year=financial_year, month=month, by=by, scope=counted)
        if format == "xlsx":
            content = reports.to_xlsx(result)
        elif format == "csv":
            content = reports.to_csv(result)
        else:
            content = reports.to_text(result)
        if not output:
            self.stdout.write(content, ending="")
            return
        path = Path(output)
        try:
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", newline="")
        except OSError as exc:
            raise CommandError(f"Could not write {output}: {exc.strerror}.") from None
        self.stdout.write(f"Wrote {result.heading} to {output}.")

    def latest_month_due(self, year: str) -> str:
        """The pages' default month (DESIGN.md): the year's latest month whose returns are due.
        A year not in the system, or badly written, is left to parse_selection to refuse."""
        start = FinancialYear.parse_label(year)
        financial_year = FinancialYear.objects.filter(start_year=start).first()
        if start is None or financial_year is None:
            return "12"
        month = schedule.reporting_month(financial_year, schedule.today_or(None))
        if month == 0:
            raise CommandError(
                f"No return of {financial_year.label} is due yet, so it has no month to be as "
                "at by default: give --month 1 (April) to 12 (March)."
            )
        return str(month)

    def write_paper(self, *, year, month, by, scope, format, output) -> None:
        if not output:
            raise CommandError("The committee paper is a Word document: add --output FILE.docx.")
        given = [
            name
            for name, value in (("--by", by), ("--scope", scope), ("--format", format))
            if value
        ]
        if given:
            raise CommandError(
                f"The committee paper takes no {' or '.join(given)}: it holds the tables by "
                "organisation and by programme area, each counting its own schemes, as a DOCX."
            )
        try:
            # the year and month are checked as for any table
            financial_year, month, _by = reports.parse_selection(
                "summary", year=year, month=month, by="organisation"
            )
        except reports.ReportError as exc:
            raise CommandError(exc.message) from None
        paper = reports.committee_paper(year=financial_year, month=month)
        try:
            Path(output).write_bytes(reports.to_docx(paper))
        except OSError as exc:
            raise CommandError(f"Could not write {output}: {exc.strerror}.") from None
        self.stdout.write(f"Wrote the committee paper, {paper.title}, to {output}.")
