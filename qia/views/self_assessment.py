"""The project lead's self-assessment: the scores and mitigations, the equality impact
assessment, and sending it to the panel."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.text import Truncator

from governance import policy
from governance.forms import (
    CLASH_SHOWN,
    clash_note,
    merge_fields,
    plain,
    put_value,
    read_drawn,
    shown_value,
    sign_drawn,
)
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
from qia.models import HEADINGS, AssessmentKind, QiaVersion, SignOffDecision, VersionStatus
from qia.services.contents import unchanged_since_sent_back
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
            # saved meanwhile (another tab, another person): the page comes back merged field
            # by field with the version now saved, to be saved again knowingly
            version = newest(scheme)
            drawn, now = _drawn(equality), _values(version)
            data = _drawn_from(data, version, now)
            merged = None
            if drawn is not None:
                merged = _merge((sheet, equality, mitigations), drawn, now, data)
            sheet, equality, mitigations = _self_assessment_forms(request, version, data)
            all([sheet.is_valid(), equality.is_valid(), mitigations.is_valid()])
            if merged is not None:
                _note_clashes(merged[1], sheet, equality, mitigations)
            equality.add_error(None, _saved_meanwhile(request, version, arguments, merged))
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
            "sent_back": _sent_back(version),
            "unchanged": version is not None and unchanged_since_sent_back(version),
        },
    )


def _sent_back(version: QiaVersion | None) -> str:
    """What the panel or a signatory asked for when they sent the version before back for
    revision, in their words: the project lead revises this one to answer it."""
    before = (
        version.qia.versions.filter(number__lt=version.number).order_by("-number").first()
        if version is not None
        else None
    )
    if before is None or before.status != VersionStatus.RETURNED:
        return ""
    declined = before.sign_offs.filter(decision=SignOffDecision.DECLINED).first()
    if declined is not None:
        return (
            f"The {declined.get_capacity_display()} declined QIA version {before.number} for "
            f"revision: {before.closed_reason}"
        )
    return f"The panel returned QIA version {before.number}: {before.closed_reason}"


# An unanswered heading, as its page shows it
UNANSWERED = {"impact": "", "consequence": None, "likelihood": None, "rationale": ""}
EQUALITY_FIELDS = ("equality_impact", "equality_rationale", "eqia_link")


def _values(version: QiaVersion | None) -> dict:
    """The self-assessment as its page shows it: each heading's answers, the equality
    screening and the mitigating actions (all unanswered before the first version)."""
    saved = initial_from(services.assessments(version, AssessmentKind.SELF)) if version else {}
    return {
        "headings": {heading: saved.get(heading, dict(UNANSWERED)) for heading in HEADINGS},
        "equality": {name: getattr(version, name) if version else "" for name in EQUALITY_FIELDS},
        "mitigations": mitigation_initial(version),
    }


def _self_assessment_forms(request, version: QiaVersion | None, data):
    """The score sheet, the equality form and the mitigating actions, as saved so far. The
    revision of a page drawn before the first version is 0, so that of two such pages the
    second to save is refused rather than overwriting the first."""
    values = _values(version)
    sheet = ScoreSheet(data, strict=False, initial=values["headings"])
    equality = EqualityForm(
        data,
        request.FILES if data is not None else None,
        initial={
            "revision": version.revision if version else 0,
            "drawn": sign_drawn(values),
            **values["equality"],
        },
    )
    # A posted page is read as it was sent: with the rows saved since as its initial rows,
    # its spare blank rows would read as those rows emptied, and be refused as incomplete.
    initial = values["mitigations"] if data is None else None
    mitigations = MitigationFormSet(data, initial=initial, prefix="mitigation")
    return sheet, equality, mitigations


def _drawn_from(data, version: QiaVersion, values: dict):
    """What was posted, as if drawn from `version` (whose _values are `values`): saving it
    again overwrites that version."""
    data = data.copy()
    data["revision"] = version.revision
    data["drawn"] = sign_drawn(values)
    return data


def _drawn(equality: EqualityForm) -> dict | None:
    """The self-assessment the posted page was drawn with (_values); None when it carried
    none (a page drawn before it was carried, or altered)."""
    drawn = read_drawn(equality.cleaned_data.get("drawn"))
    if isinstance(drawn, dict) and {"headings", "equality", "mitigations"} <= drawn.keys():
        return drawn
    return None


def _merge(typed, drawn: dict, now: dict, data) -> tuple[list[str], list[tuple]]:
    """Merge the posted self-assessment (`typed`: sheet, equality form, mitigating actions)
    with the one saved since its page was `drawn`, in `data` (as governance.forms
    .merge_fields does a form's fields; the mitigating actions as one list). Returns what
    changed meanwhile, as the user reads it, and the clashes: (heading, or "equality" or
    "mitigations"; the field; the saved value as shown)."""
    sheet, equality, mitigations = typed
    changed, clashes = [], []
    for form in sheet:
        saved = now["headings"][form.heading]
        meanwhile, both = merge_fields(
            form, drawn=drawn["headings"].get(form.heading, {}), saved=saved, data=data
        )
        if meanwhile:
            labels = ", ".join(str(form[name].label).lower() for name in meanwhile)
            changed.append(f"{form.label} ({labels})")
        clashes += [
            (form.heading, name, shown_value(form.fields[name], plain(saved[name])))
            for name in both
        ]
    meanwhile, both = merge_fields(
        equality, drawn=drawn["equality"], saved=now["equality"], data=data
    )
    if meanwhile:
        changed.append("Equality impact screening")
    clashes += [
        ("equality", name, shown_value(equality.fields[name], plain(now["equality"][name])))
        for name in both
    ]
    was, saved_rows = _rows(drawn["mitigations"]), _rows(now["mitigations"])
    if saved_rows != was:
        changed.append("Mitigating actions")
        typed_rows = _rows(mitigations.rows())
        if typed_rows == was:
            _put_rows(data, now["mitigations"])
        elif typed_rows != saved_rows:
            described = "; ".join(row["description"] for row in saved_rows) or "none"
            shown = Truncator(" ".join(described.split())).chars(CLASH_SHOWN)
            clashes.append(("mitigations", None, shown))
    return changed, clashes


def _rows(rows) -> list[dict]:
    """Mitigating actions, to compare: plain values, each text as a page sends it back."""
    return [
        {
            key: value.replace("\r\n", "\n").strip() if isinstance(value, str) else value
            for key, value in plain(row).items()
        }
        for row in rows
    ]


def _put_rows(data, rows: list[dict]) -> None:
    """Put the mitigating actions `rows` in the posted `data`, as a page drawn with them
    posts them (two spare rows too)."""
    for key in [key for key in data if key.startswith("mitigation-")]:
        del data[key]
    drawn = MitigationFormSet(initial=rows, prefix="mitigation")
    for form in [drawn.management_form, *drawn.forms]:
        for bound in form:
            put_value(data, bound, bound.value())


def _note_clashes(clashes, sheet, equality, mitigations) -> None:
    """Under each field both the user and the save made meanwhile changed, the saved value
    (the user's own is what the field holds)."""
    forms = {form.heading: form for form in sheet} | {"equality": equality}
    for where, name, shown in clashes:
        if where == "mitigations":
            mitigations.non_form_errors().append(clash_note(shown))
        else:
            forms[where].add_error(name, clash_note(shown))


def _saved_meanwhile(request, version: QiaVersion, arguments: dict, merged) -> str:
    said = (
        "Someone else saved this QIA self-assessment while you were editing it (or you did, in "
        "another tab), so nothing was saved. "
    )
    if merged is None:
        # a page drawn without its values (from before they were carried): all it typed
        said += "What you typed is below. " + _differences(version, arguments)
    else:
        changed, clashes = merged
        if not changed:
            said += "None of what this page shows changed: save again to keep your version."
        else:
            said += f"Changed meanwhile: {', '.join(changed)}. The form below holds those "
            said += "changes and yours"
            if clashes:
                said += "; where you both changed something, yours is kept and the saved one "
                said += "is shown under it"
            said += ". Check it, then save again to keep it."
    if request.FILES:
        said += " Attach the equality impact assessment document again: it was not kept."
    return said


def _differences(version: QiaVersion, arguments: dict) -> str:
    differ = services.self_assessment_differences(version, **arguments)
    if differ:
        return (
            f"The saved self-assessment now differs from it in: {', '.join(differ)}. Check "
            "those on the QIA page, then save again to keep your version."
        )
    return "The saved self-assessment is the same as what you typed."


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
