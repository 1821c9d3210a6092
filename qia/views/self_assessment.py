"""The project lead's self-assessment: the scores and mitigations, the equality impact
assessment, and sending it to the panel."""

from django.contrib import messages
from django.shortcuts import redirect, render

from governance import policy
from governance.pages import Refused, act, posted, signed_in, typed_text
from governance.services import ActionRefused, Conflict
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
    data = posted(request)
    try:
        scheme, version = step_on(request, pk, "qia_edit")
    except Refused as exc:
        if data is not None:
            # the step closed since the page was drawn (the scheme submitted from another
            # tab): the refusal page shows what was typed, to copy
            exc.typed = _typed(*_self_assessment_forms(request, None, data))
        raise
    sheet, equality, mitigations = _self_assessment_forms(request, version, data)
    if data is not None and all([sheet.is_valid(), equality.is_valid(), mitigations.is_valid()]):
        arguments = {
            "headings": sheet.service_data(),
            "mitigations": mitigations.rows(),
            **equality.service_arguments(),
        }
        try:
            services.self_assessment_save(scheme_id=scheme.pk, by=request.user, **arguments)
        except Conflict:
            # saved meanwhile (another tab, another person): what was typed comes back against
            # the version now saved, with where the two differ, to be saved again knowingly
            version = newest(scheme)
            sheet, equality, mitigations = _self_assessment_forms(
                request, version, _drawn_from(data, version)
            )
            all([sheet.is_valid(), equality.is_valid(), mitigations.is_valid()])
            equality.add_error(None, _saved_meanwhile(request, version, arguments))
        except ActionRefused as exc:
            scheme.refresh_from_db()
            closed = _why_closed(request, scheme)
            if closed:
                # the step no longer applies: a form would be refused again, so the page shows
                # what was typed, to copy (the service has recorded the refusal)
                return render(
                    request,
                    "governance/not_saved.html",
                    {
                        "reason": f"{exc.message} Nothing was saved.",
                        "typed": _typed(sheet, equality, mitigations),
                        "scheme": scheme,
                    },
                    status=403,
                )
            equality.add_error(None, f"{exc.message} Nothing was saved: what you typed is below.")
        else:
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
    """The score sheet, the equality form and the mitigating actions, as saved so far. The
    revision of a page drawn before the first version is 0, so that of two such pages the
    second to save is refused rather than overwriting the first."""
    saved = services.assessments(version, AssessmentKind.SELF) if version else {}
    sheet = ScoreSheet(data, strict=False, initial=initial_from(saved))
    equality = EqualityForm(
        data,
        request.FILES if data is not None else None,
        initial={
            "revision": version.revision if version else 0,
            "equality_impact": version.equality_impact if version else "",
            "equality_rationale": version.equality_rationale if version else "",
            "eqia_link": version.eqia_link if version else "",
        },
    )
    mitigations = MitigationFormSet(data, initial=mitigation_initial(version), prefix="mitigation")
    return sheet, equality, mitigations


def _drawn_from(data, version: QiaVersion):
    """What was posted, as if drawn from `version`: saving it again overwrites that version."""
    data = data.copy()
    data["revision"] = version.revision
    return data


def _saved_meanwhile(request, version: QiaVersion, arguments: dict) -> str:
    differ = services.self_assessment_differences(version, **arguments)
    said = (
        "Someone else saved this QIA self-assessment while you were editing it (or you did, in "
        "another tab), so nothing was saved. What you typed is below. "
    )
    if differ:
        said += (
            f"The saved self-assessment now differs from it in: {', '.join(differ)}. Check "
            "those on the QIA page, then save again to keep your version."
        )
    else:
        said += "The saved self-assessment is the same as what you typed."
    if request.FILES:
        said += " Attach the equality impact assessment document again: it was not kept."
    return said


def _why_closed(request, scheme) -> str | None:
    """Why the user may no longer edit the scheme's self-assessment, if they may not."""
    return policy.refusal("qia_edit", request.user, scheme, version=newest(scheme))


def _typed(sheet, equality, mitigations) -> list:
    """What the user typed in the self-assessment, heading by heading, to show back."""
    return typed_text(
        *((form.label, form) for form in sheet),
        ("Equality impact screening", equality),
        *(
            (f"Mitigating action {number}", form)
            for number, form in enumerate(mitigations.forms, start=1)
            if (form["description"].value() or "").strip()
        ),
    )


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
