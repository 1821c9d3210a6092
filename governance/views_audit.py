"""The audit export page (issue 21): staff and the PMO choose, and download one file."""

from django.http import HttpResponse
from django.shortcuts import render

from governance import audit
from governance.forms_audit import AuditExportForm
from governance.pages import Refused, posted, signed_in


@signed_in
def audit_export(request):
    """GET: the choices. POST: the file, the export on record; a choice the user may not make
    is a 403 on the refusal log, a mistaken one the form again with what to put right (as
    every form of the product answers it)."""
    reason = audit.refusal(request.user)
    if reason:
        raise Refused(reason, action="audit_export", target="audit export")
    form = AuditExportForm(posted(request), user=request.user)
    if request.method != "POST":
        return render(request, "audit/export.html", {"form": form})
    valid = form.is_valid()
    # checked even when another field is wrong: asking for another organisation's trail is
    # a refusal to record, not a typo to correct
    other = audit.outside(request.user, form.cleaned_data.get("organisations") or [])
    if other:
        codes = ", ".join(organisation.code for organisation in other)
        raise Refused(
            f"You can export the audit trail of your own organisations only: {codes} is not "
            "one of them.",
            action="audit_export",
            target=f"audit export of {codes}",
        )
    if valid:
        try:
            made = audit.audit_export(by=request.user, choice=form.choice())
        except audit.TooLarge as exc:
            form.add_error(None, exc.message)
        else:
            response = HttpResponse(made.content, content_type=made.content_type)
            response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
            return response
    return render(request, "audit/export.html", {"form": form})
