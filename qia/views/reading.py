"""The QIA as read: the newest or a given version, its print view, its history and the
equality impact assessment attached to it."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from governance import policy
from governance.pages import signed_in
from governance.pdf import pdf_response
from qia import selectors
from qia.models import QiaVersion
from qia.views.access import newest, scheme_for


@signed_in
def qia_detail(request, pk: int, number: int | None = None):
    scheme = scheme_for(request, pk)
    if number is None:
        version = newest(scheme)
    else:
        version = get_object_or_404(QiaVersion, qia__scheme=scheme, number=number)
    if version is None:
        return render(
            request,
            "qia/empty.html",
            {
                "scheme": scheme,
                "may_edit": policy.refusal("qia_edit", request.user, scheme) is None,
            },
        )
    version.qia.scheme = scheme
    return render(request, "qia/detail.html", selectors.version_page(request.user, scheme, version))


@signed_in
def qia_print(request, pk: int, number: int):
    return render(request, "qia/print.html", _print_page(request, pk, number))


@signed_in
def qia_pdf(request, pk: int, number: int):
    """The print view as a PDF: the same checks and the same content, blind scoring kept."""
    page = _print_page(request, pk, number)
    name = f"QIA-{page['scheme'].reference}-v{page['version'].number}.pdf"
    return pdf_response(request, "qia/pdf.html", page, filename=name)


def _print_page(request, pk: int, number: int) -> dict:
    """What the print view shows of one version, as this user may see it (or Refused)."""
    scheme = scheme_for(request, pk)
    version = get_object_or_404(QiaVersion, qia__scheme=scheme, number=number)
    version.qia.scheme = scheme
    return selectors.version_page(request.user, scheme, version)


@signed_in
def qia_history(request, pk: int):
    scheme = scheme_for(request, pk)
    versions = list(
        QiaVersion.objects.filter(qia__scheme=scheme)
        .select_related("created_by", "agreed_by")
        .prefetch_related("sign_offs__by", "sign_offs__on_behalf_of")
        .order_by("-number")
    )
    rows = [
        {"version": v, "stage": selectors.stage(v, scheme)[1], "log": selectors.version_log(v)}
        for v in versions
    ]
    return render(request, "qia/history.html", {"scheme": scheme, "rows": rows})


@signed_in
def eqia_download(request, version_id: int):
    version = get_object_or_404(QiaVersion.objects.select_related("qia"), pk=version_id)
    scheme_for(request, version.qia.scheme_id, action="download EqIA")  # or Refused
    if not version.eqia_document:
        raise Http404("No equality impact assessment is attached to this version.")
    try:
        handle = version.eqia_document.open("rb")
    except FileNotFoundError:
        raise Http404("The file of this document is missing.") from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=version.eqia_document_name or "equality-impact-assessment",
        content_type=version.eqia_content_type or "application/octet-stream",
    )
