"""QAG's approval of a signed-off scheme whose route asks for it (qia.routes)."""

from django.contrib import messages
from django.shortcuts import redirect, render

from governance.models import SchemeState
from governance.pages import act, check, leave_to, posted, signed_in
from qia import policy as rules
from qia import services
from qia.case import case_for
from qia.forms_conditions import condition_formset
from qia.forms_qag import QagApprovalForm
from qia.models import Route
from qia.views.access import scheme_for


@signed_in
def qag_approval(request, pk: int):
    scheme = scheme_for(request, pk, action="qag_approve")
    check(request, "qag_approve", scheme)
    if scheme.state != SchemeState.AWAITING_QAG:
        messages.warning(
            request, f"{scheme.reference} is {scheme.state_words}: it is not waiting for QAG."
        )
        return redirect(scheme)
    form = QagApprovalForm(posted(request), initial={"version": scheme.version})
    conditions = condition_formset(posted(request), scheme=scheme, wanted=form.with_conditions)
    if request.method == "POST" and all([form.is_valid(), conditions.fit_the_decision()]):
        arguments = {**form.service_arguments(), "conditions": conditions.rows()}
        if act(
            request,
            lambda: services.qag_approval_record(scheme_id=scheme.pk, by=request.user, **arguments),
        ):
            scheme.refresh_from_db()
            messages.success(request, f"{scheme.reference} is now {scheme.state_words}.")
            return leave_to(request, scheme)
        return redirect(scheme)
    version = rules.newest_version(scheme)
    return render(
        request,
        "qia/qag_approval.html",
        {
            "scheme": scheme,
            "version": version,
            "form": form,
            "conditions": conditions,
            "route": Route(version.qia.route).label if version else "",
            "case": case_for(request.user, scheme),
        },
    )
