"""The committee paper page: choose a year and month, download the paper as a Word document to
edit, or as a PDF to read and circulate.

Like the report pages, any signed-in user may have it, with the figures of the organisations
of their own system(s) only (ACCESS.md).
"""

from django import forms
from django.http import HttpResponse
from django.shortcuts import render

from governance import reports
from governance.models import MONTH_NAMES, FinancialYear
from governance.pages import signed_in
from governance.pdf import pdf_response

# the report pages' default, so the paper opens on the same year and month as the tables
from governance.views_reports import default_selection

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class PaperForm(forms.Form):
    """What the page offers; the choices are checked by reports.parse_selection, whose
    messages are the report pages' own."""

    year = forms.ChoiceField(label="Financial year")
    month = forms.ChoiceField(
        label="As at month",
        choices=[(n, f"{n} ({name})") for n, name in enumerate(MONTH_NAMES, start=1)],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = [y.label for y in FinancialYear.objects.order_by("-start_year")]
        self.fields["year"].choices = [(label, label) for label in labels]


@signed_in
def report_paper(request):
    default_year, default_month = default_selection()
    chosen = {
        "year": request.GET.get("year") or default_year,
        "month": request.GET.get("month") or default_month,
    }
    context = {
        "form": PaperForm(initial=chosen),
        "contents": reports.PAPER_CONTENTS,
        "no_organisation": not request.user.system_ids,
    }
    output = request.GET.get("format")
    if output is None:
        return render(request, "reports/paper.html", context)
    try:
        if output not in ("docx", "pdf"):
            raise reports.ReportError(f"Choose the paper as docx or pdf, not {output!r}.")
        year, month, _by = reports.parse_selection("summary", by="organisation", **chosen)
    except reports.ReportError as exc:
        context["error"] = exc.message
        return render(request, "reports/paper.html", context, status=400)
    paper = reports.committee_paper(year=year, month=month, system_ids=request.user.system_ids)
    if output == "pdf":
        filename = paper.filename.removesuffix(".docx") + ".pdf"
        return pdf_response(request, "reports/paper_pdf.html", {"paper": paper}, filename=filename)
    response = HttpResponse(reports.to_docx(paper), content_type=DOCX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{paper.filename}"'
    return response
