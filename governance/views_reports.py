"""The committee tables as pages and downloads, and the PMO's import page.

Every signed-in user sees the tables for the organisations of their own system(s) (ACCESS.md);
only the PMO imports, and only for their own organisations.
"""

import logging
from datetime import date
from pathlib import Path

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode

from governance import importers, reports, roles, selectors
from governance.delivery import schedule
from governance.models import MONTH_NAMES, FinancialYear, ImportRun
from governance.pages import Refused, signed_in
from governance.text import BYTE_ORDER_MARK

logger = logging.getLogger("qipp.governance")

FORMATS = ("html", "csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def default_selection(today: date | None = None) -> tuple[str, int]:
    """The year and month a report opens on: the dashboard's own default (DESIGN.md: one "as at"
    month, the latest whose returns are due), this year (schedule.current_year) as at
    schedule.reporting_month. A table is as at a month from 1 to 12, so before any return of
    this year is due it is the year before, as at its latest month due; with no year before,
    month 1 (the page says its returns are not due yet)."""
    today = schedule.today_or(today)
    year = schedule.current_year(today)
    if year is None:
        return "", 12
    month = schedule.reporting_month(year, today)
    if month == 0:
        before = FinancialYear.objects.filter(start_year=year.start_year - 1).first()
        if before is not None:
            return before.label, schedule.reporting_month(before, today)
    return year.label, max(month, 1)


def _choices(request) -> dict:
    return {
        "tables": reports.TABLES,
        "years": FinancialYear.objects.order_by("-start_year"),
        "months": list(enumerate(MONTH_NAMES, start=1)),
        "by_choices": reports.BY_CHOICES,
        "scopes": reports.SCOPES.values(),
        "may_import": request.user.has_role(roles.PMO),
    }


@signed_in
def report_index(request):
    year, month = default_selection()
    links = [
        (name, title, "?" + urlencode({"year": year, "month": month}), reports.DEFAULT_SCOPES[name])
        for name, title in reports.TABLES.items()
    ]
    return render(
        request,
        "reports/index.html",
        {**_choices(request), "links": links, "year": year, "month": month},
    )


@signed_in
def report_table(request, table: str):
    if table not in reports.TABLES:
        raise Http404("There is no such report.")
    default_year, default_month = default_selection()
    chosen = {
        "year": request.GET.get("year") or default_year,
        "month": request.GET.get("month") or default_month,
        "by": request.GET.get("by") or "organisation",
    }
    # what the table counts: its own default unless the page asks for the other scope
    chosen_scope = request.GET.get("scope") or reports.DEFAULT_SCOPES[table].key
    context = {**_choices(request), "table_name": table, "title": reports.TABLES[table]}
    context.update(chosen={**chosen, "scope": chosen_scope}, has_by=table in reports.TABLES_WITH_BY)
    output = request.GET.get("format") or "html"
    try:
        if output not in FORMATS:
            raise reports.ReportError(f"Choose html, csv or xlsx, not {output!r}.")
        year, month, by = reports.parse_selection(table, **chosen)
        scope = reports.parse_scope(table, chosen_scope)
    except reports.ReportError as exc:
        context["error"] = exc.message
        return render(request, "reports/table.html", context, status=400)
    system_ids = request.user.system_ids
    result = reports.build(table, year=year, month=month, by=by, system_ids=system_ids, scope=scope)
    if output != "html":
        return _download(result, output)
    context.update(_table_page(result, system_ids))
    if table == "area_of_spend":
        context["drill_down"] = reports.area_of_spend_schemes(year, system_ids, scope)
        # a draft PID counts in the table, but only its team and the PMO may open it
        context["may_open"] = set(
            selectors.visible_schemes(request.user)
            .filter(financial_year=year)
            .values_list("pk", flat=True)
        )
    return render(request, "reports/table.html", context)


def _download(result: reports.Table, output: str) -> HttpResponse:
    """The table as a CSV (with the mark Excel needs) or XLSX file to save."""
    if output == "csv":
        content = BYTE_ORDER_MARK + reports.to_csv(result)
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(reports.to_xlsx(result), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}.{output}"'
    return response


def _table_page(result: reports.Table, system_ids) -> dict:
    """What the table's page shows besides the choices: the table, the downloads (of the same
    choices, the scope included), and under the summary (only there: it is one chart for the
    whole year) the cumulative chart of the same schemes."""
    year, month = result.year, result.month
    selection = {"year": year.label, "month": month, "by": result.by, "scope": result.scope.key}
    page = {
        "chosen": selection,
        "table": result,
        "csv_query": urlencode({**selection, "format": "csv"}),
        "xlsx_query": urlencode({**selection, "format": "xlsx"}),
        "no_organisation": not system_ids,
        "not_due": _not_due(year, month, selection),
    }
    if result.name == "summary":
        series = reports.chart(year, month, system_ids, result.scope)
        chart_title = f"Cumulative savings, {year.label}, as at month {month}, {result.scope.label}"
        page.update(
            chart=reports.chart_drawing(series, title=chart_title),
            chart_title=chart_title,
            series=series,
        )
    return page


def _not_due(year: FinancialYear, month: int, selection: dict) -> dict | None:
    """What the page says when the chosen month's returns are not due yet: its actuals are not
    all in, so a return not yet in counts as nothing saved. The figures stay as they are (the
    published tables come out exact); the page offers the latest month that is due."""
    today = timezone.localdate()
    if schedule.is_overdue(year, month, today):
        return None
    latest = schedule.reporting_month(year, today)
    return {
        "label": schedule.month_label(year, month),
        "deadline": schedule.return_deadline(year, month),
        "latest": latest,
        "latest_label": schedule.month_label(year, latest) if latest else "",
        "latest_query": urlencode({**selection, "month": latest}),
    }


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label="What the file holds",
        choices=[
            ("plans", "Scheme plans"),
            ("returns", "Monthly returns"),
            ("targets", "QIPP targets"),
        ],
    )
    file = forms.FileField(
        help_text="A .csv or .xlsx file: first row headers, amounts in pounds.",
    )
    create_missing = forms.BooleanField(
        required=False,
        label="Create financial years, programme areas and areas of spend not yet known",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.is_staff:
            # reference data is kept by staff in the admin (ACCESS.md): the PMO imports
            # against the years and areas already there
            del self.fields["create_missing"]
            self.fields["file"].help_text += (
                " A financial year, programme area or area of spend not yet in the system is "
                "reported as unknown: ask an administrator to add it first."
            )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in (".csv", ".xlsx"):
            raise forms.ValidationError("Choose a .csv or .xlsx file.")
        if upload.size > settings.QIPP_DOCUMENT_MAX_BYTES:
            limit = settings.QIPP_DOCUMENT_MAX_BYTES // (1024 * 1024)
            raise forms.ValidationError(f"The file is larger than {limit} MB.")
        return upload


def _check_may_import(request) -> None:
    """Only the PMO imports (ACCESS.md): Refused for anyone else."""
    if not request.user.has_role(roles.PMO):
        raise Refused(
            "Only the PMO can import targets, plans and returns. Ask your PMO to import the file.",
            action="import",
            target="import page",
        )


@signed_in
def import_upload(request):
    """The PMO uploads a file; a worker checks and imports it, and the run's page follows it
    (so no page waits for a large file)."""
    _check_may_import(request)
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        run = ImportRun.objects.create(
            kind=form.cleaned_data["kind"],
            name=Path(upload.name).name[:255],
            file=upload,
            by=request.user,
            organisation_ids=sorted(request.user.organisation_ids),
            create_missing=form.cleaned_data.get("create_missing", False),
            created_at=timezone.now(),
        )
        transaction.on_commit(lambda: _start(run.pk))
        return redirect(run)
    recent = ImportRun.objects.filter(by=request.user)[:5]
    return render(
        request,
        "reports/upload.html",
        {"form": form, "columns": importers.COLUMNS, "recent": recent},
    )


def _start(run_id: int) -> None:
    from governance.tasks import run_import

    try:
        run_import.delay(run_id)
    except Exception:  # noqa: BLE001 - its page says what became of it
        # the broker is down (it waits, and the beat hands it to a worker later), or, with
        # no broker, the import failed in-process (its run says so)
        logger.warning("import run %s was not handed to a worker", run_id, exc_info=True)


def _run_for(request, pk: int) -> ImportRun:
    """The run if the user may see it (who uploaded it, or staff), else Refused."""
    run = get_object_or_404(ImportRun.objects.select_related("by"), pk=pk)
    if run.by_id != request.user.pk and not request.user.is_staff:
        raise Refused(
            "This import was uploaded by someone else: only they can follow it.",
            action="import_run",
            target=f"import {pk}",
        )
    return run


@signed_in
def import_run(request, pk: int):
    """An import's page: how far its check has got, then what was committed or every
    problem found (the first ERRORS_SHOWN here, all of them in a CSV)."""
    run = _run_for(request, pk)
    return render(
        request,
        "reports/import_run.html",
        {
            "run": run,
            "progress": None if run.finished else importers.progress_of(run.pk),
            "more_errors": max(run.error_count - len(run.first_errors), 0),
        },
    )


@signed_in
def import_run_errors(request, pk: int):
    """Every problem an import found, as a CSV to open in a spreadsheet."""
    run = _run_for(request, pk)
    if not run.all_errors:
        raise Http404("This import has no list of errors to download.")
    response = FileResponse(run.all_errors.open("rb"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{Path(run.all_errors.name).name}"'
    return response
