"""The signatories' decisions on an agreed QIA, and opening a re-assessment."""

from django.contrib import messages
from django.shortcuts import redirect, render

from governance.pages import act, check, leave_to, posted, signed_in
from qia import policy as rules
from qia import selectors, services
from qia.case import case_for
from qia.forms import ReassessForm, SignOffForm
from qia.forms_conditions import condition_formset
from qia.models import Capacity
from qia.views.access import scheme_for


@signed_in
def sign_off(request, pk: int):
    scheme = scheme_for(request, pk, action="sign_off")
    version = rules.awaiting_version(scheme)
    check(request, "sign_off", scheme, version=version)
    capacities = [(c, Capacity(c).label) for c in rules.open_capacities(request.user, version)]
    form = SignOffForm(
        posted(request),
        capacities=capacities,
        extreme=version.is_extreme,
        initial={"revision": version.revision},
    )
    conditions = condition_formset(posted(request), scheme=scheme, wanted=form.with_conditions)
    # both checked, so that every problem shows at once
    if request.method == "POST" and all([form.is_valid(), conditions.fit_the_decision()]):
        arguments = form.service_arguments(conditions=conditions.rows())
        if act(
            request,
            lambda: services.sign_off_record(version_id=version.pk, by=request.user, **arguments),
        ):
            messages.success(request, "Your decision is recorded.")
            scheme.refresh_from_db()
            return leave_to(request, scheme, "qia_detail", scheme.pk)
        return redirect("qia_detail", pk=scheme.pk)
    version.qia.scheme = scheme
    page = selectors.version_page(request.user, scheme, version)
    context = {
        **page,
        "form": form,
        "conditions": conditions,
        "case": case_for(request.user, scheme),
    }
    return render(request, "qia/sign_off.html", context)


@signed_in
def reassess(request, pk: int):
    scheme = scheme_for(request, pk, action="qia_reassess")
    check(request, "qia_reassess", scheme)
    signed, due = services.reassessment_due(scheme)
    form = ReassessForm(posted(request), due=bool(due))
    if request.method == "POST" and form.is_valid():
        if act(
            request,
            lambda: services.reassessment_open(
                scheme_id=scheme.pk, by=request.user, reason=form.cleaned_data["reason"]
            ),
        ):
            messages.success(
                request,
                "A new QIA version is open, pre-filled from the last: the project lead revises "
                "it and sends it to the panel.",
            )
        return redirect("qia_detail", pk=scheme.pk)
    return render(
        request,
        "qia/reassess.html",
        {"scheme": scheme, "form": form, "due": due, "signed": signed},
    )
