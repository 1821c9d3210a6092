"""The project lead's self-assessment: the scores and mitigations, the equality impact
assessment, and sending it to the panel."""

from django.contrib import messages
from django.shortcuts import redirect, render

from governance.pages import act, posted, signed_in
from qia import services
from qia.forms import (
    EqiaForm,
    EqualityForm,
    MitigationFormSet,
    RevisionForm,
    ScoreSheet,
    initial_from,
    mitigation_initial,
)
from qia.models import AssessmentKind, QiaVersion
from qia.views.access import newest, revision_of, step_on


@signed_in
def self_assessment(request, pk: int):
    scheme, version = step_on(request, pk, "qia_edit")
    data = posted(request)
    sheet, equality, mitigations = _self_assessment_forms(request, version, data)
    if data is not None and all([sheet.is_valid(), equality.is_valid(), mitigations.is_valid()]):
        if act(
            request,
            lambda: services.self_assessment_save(
                scheme_id=scheme.pk,
                by=request.user,
                headings=sheet.service_data(),
                mitigations=mitigations.rows(),
                **equality.service_arguments(),
            ),
        ):
            _say_how_complete(request, newest(scheme))
        return redirect("qia_detail", pk=scheme.pk)
    return render(
        request,
        "qia/self_assessment.html",
        {
            "scheme": scheme,
            "version": version,
            "sheet": sheet,
            "equality": equality,
            "mitigations": mitigations,
            "problems": services.self_assessment_problems(version) if version else [],
        },
    )


def _self_assessment_forms(request, version: QiaVersion | None, data):
    """The score sheet, the equality form and the mitigating actions, as saved so far."""
    saved = services.assessments(version, AssessmentKind.SELF) if version else {}
    sheet = ScoreSheet(data, strict=False, initial=initial_from(saved))
    equality = EqualityForm(
        data,
        request.FILES if data is not None else None,
        initial={
            "revision": version.revision if version else None,
            "equality_impact": version.equality_impact if version else "",
            "equality_rationale": version.equality_rationale if version else "",
            "eqia_link": version.eqia_link if version else "",
        },
    )
    mitigations = MitigationFormSet(data, initial=mitigation_initial(version), prefix="mitigation")
    return sheet, equality, mitigations


def _say_how_complete(request, version: QiaVersion) -> None:
    problems = services.self_assessment_problems(version)
    if problems:
        messages.info(
            request,
            f"Self-assessment saved. Still to complete before it can go to the "
            f"panel: {len(problems)} item{'s' if len(problems) != 1 else ''}.",
        )
    else:
        messages.success(request, "Self-assessment saved: it is complete.")


@signed_in
def send_to_panel(request, pk: int):
    scheme, version = step_on(request, pk, "qia_send_to_panel")
    form = RevisionForm(posted(request), initial={"revision": version.revision})
    if request.method == "POST" and form.is_valid():
        if act(
            request,
            lambda: services.reassessment_send_to_panel(
                version_id=version.pk, by=request.user, expected_revision=revision_of(form)
            ),
        ):
            messages.success(request, f"QIA version {version.number} is now with the panel.")
        return redirect("qia_detail", pk=scheme.pk)
    return render(
        request,
        "qia/send_to_panel.html",
        {
            "scheme": scheme,
            "version": version,
            "form": form,
            "problems": services.self_assessment_problems(version),
        },
    )


@signed_in
def attach_eqia(request, pk: int):
    scheme, version = step_on(request, pk, "qia_attach_eqia")
    form = EqiaForm(posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if act(
            request,
            lambda: services.eqia_attach(
                version_id=version.pk,
                by=request.user,
                upload=form.cleaned_data.get("eqia_file"),
                content_type=form.content_type,
                link=form.cleaned_data.get("eqia_link") or "",
            ),
        ):
            messages.success(request, "Equality impact assessment attached.")
        return redirect("qia_detail", pk=scheme.pk)
    return render(request, "qia/eqia.html", {"scheme": scheme, "version": version, "form": form})
