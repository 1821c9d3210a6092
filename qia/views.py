"""The QIA pages. Thin: check access, validate the forms, call one service, redirect."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from governance import policy, roles
from governance.models import Scheme
from governance.pages import (
    Refused,
    act,
    check,
    leave_to,
    posted,
    signed_in,
    visible_scheme,
)
from governance.selectors import visible_schemes
from qia import policy as rules
from qia import selectors, services
from qia.forms import (
    AgreeForm,
    EqiaForm,
    EqualityForm,
    MitigationFormSet,
    PanelCloseForm,
    ReassessForm,
    RevisionForm,
    RiskFilterForm,
    ScoreSheet,
    SignOffForm,
    initial_from,
    mitigation_initial,
)
from qia.models import AssessmentKind, Capacity, QagFlag, QiaVersion


def _scheme(request, pk: int, *, action: str = "view QIA") -> Scheme:
    return visible_scheme(request, pk, action=action)


def _newest(scheme: Scheme) -> QiaVersion | None:
    return rules.newest_version(scheme)


def _step(request, pk: int, action: str) -> tuple[Scheme, QiaVersion | None]:
    """The scheme and its newest QIA version, if the user may take this step on them."""
    scheme = _scheme(request, pk, action=action)
    version = _newest(scheme)
    check(request, action, scheme, version=version)
    return scheme, version


def _at_panel(request, pk: int, action: str) -> tuple[Scheme, QiaVersion]:
    """As _step, for a decision of the panel: the newest version must be at the panel."""
    scheme, version = _step(request, pk, "panel_decide")
    if version is None or not rules.at_panel(version, scheme):
        raise Refused("This QIA is not at the panel now.", action=action, target=str(pk))
    return scheme, version


def _revision(form) -> int | None:
    return form.cleaned_data.get("revision") if form.is_valid() else None


# --- reading ---


@signed_in
def qia_detail(request, pk: int, number: int | None = None):
    scheme = _scheme(request, pk)
    if number is None:
        version = _newest(scheme)
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
    scheme = _scheme(request, pk)
    version = get_object_or_404(QiaVersion, qia__scheme=scheme, number=number)
    version.qia.scheme = scheme
    return render(request, "qia/print.html", selectors.version_page(request.user, scheme, version))


@signed_in
def qia_history(request, pk: int):
    scheme = _scheme(request, pk)
    versions = list(
        QiaVersion.objects.filter(qia__scheme=scheme)
        .select_related("created_by", "agreed_by")
        .prefetch_related("sign_offs__by")
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
    _scheme(request, version.qia.scheme_id, action="download EqIA")  # or Refused
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


# --- the self-assessment ---


@signed_in
def self_assessment(request, pk: int):
    scheme, version = _step(request, pk, "qia_edit")
    data = posted(request)
    sheet, equality, mitigations = _self_assessment_forms(request, version, data)
    if data is not None and all([sheet.is_valid(), equality.is_valid(), mitigations.is_valid()]):
        form = equality.cleaned_data
        if act(
            request,
            lambda: services.self_assessment_save(
                scheme_id=scheme.pk,
                by=request.user,
                headings=sheet.service_data(),
                equality_impact=form["equality_impact"],
                equality_rationale=form["equality_rationale"],
                eqia_link=form["eqia_link"],
                eqia_upload=form["eqia_file"],
                eqia_content_type=equality.content_type,
                mitigations=mitigations.rows(),
                expected_revision=form["revision"],
            ),
        ):
            _say_how_complete(request, _newest(scheme))
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
    scheme, version = _step(request, pk, "qia_send_to_panel")
    form = RevisionForm(posted(request), initial={"revision": version.revision})
    if request.method == "POST" and form.is_valid():
        if act(
            request,
            lambda: services.reassessment_send_to_panel(
                version_id=version.pk, by=request.user, expected_revision=_revision(form)
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
    scheme, version = _step(request, pk, "qia_attach_eqia")
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


# --- the panel ---


@signed_in
def score(request, pk: int):
    scheme, version = _step(request, pk, "qia_score")
    sheet = ScoreSheet(posted(request), strict=True)
    if request.method == "POST" and sheet.is_valid():
        if act(
            request,
            lambda: services.panel_score_record(
                version_id=version.pk, by=request.user, headings=sheet.service_data()
            ),
        ):
            messages.success(
                request, "Your scores are recorded. You can now see the other members' scores."
            )
            return redirect("qia_panel", pk=scheme.pk)
        return redirect("qia_detail", pk=scheme.pk)
    return render(
        request,
        "qia/score.html",
        {
            "scheme": scheme,
            "version": version,
            "sheet": sheet,
            "rows": selectors.heading_rows(version, with_scores=False),
        },
    )


def _check_may_see_panel(request, scheme: Scheme, version: QiaVersion | None) -> None:
    if version is None:
        raise Http404("This scheme has no QIA yet.")
    if not rules.can_see_panel_scores(request.user, version, scheme):
        reason = (
            "Panel scores stay hidden until you have recorded your own for this version "
            "(blind scoring): nobody anchors on the first opinion."
        )
        raise Refused(reason, action="view panel scores", target=scheme.reference)


@signed_in
def panel(request, pk: int, number: int | None = None):
    scheme = _scheme(request, pk)
    if number is None:
        version = _newest(scheme)
    else:
        version = get_object_or_404(QiaVersion, qia__scheme=scheme, number=number)
    _check_may_see_panel(request, scheme, version)
    return render(
        request,
        "qia/panel.html",
        {
            "scheme": scheme,
            "version": version,
            "rows": selectors.heading_rows(version, with_scores=True),
            "members": selectors.panel_members(version),
            "at_panel": rules.at_panel(version, scheme),
            "may_decide": rules.at_panel(version, scheme)
            and policy.refusal("panel_decide", request.user, scheme, version=version) is None,
            "spread": selectors.SPREAD_BANDS,
        },
    )


@signed_in
def agree(request, pk: int):
    scheme, version = _at_panel(request, pk, "panel_agree")
    data = posted(request)
    sheet, form, mitigations = _agree_forms(request, version, data)
    if data is not None and _agreement_valid(sheet, form, mitigations):
        if act(
            request,
            lambda: services.panel_agree(
                version_id=version.pk,
                by=request.user,
                headings=sheet.service_data(),
                mitigations=mitigations.rows(),
                overall_score=form.cleaned_data["overall_score"],
                justification=form.cleaned_data["justification"],
                expected_revision=form.cleaned_data["revision"],
            ),
        ):
            messages.success(request, "The agreed QIA is recorded: it goes to sign-off.")
            return redirect("qia_detail", pk=scheme.pk)
    return render(
        request,
        "qia/agree.html",
        {
            "scheme": scheme,
            "version": version,
            "sheet": sheet,
            "form": form,
            "mitigations": mitigations,
            "rows": selectors.heading_rows(version, with_scores=True),
            "members": selectors.panel_members(version),
            "composition_problem": services.composition_problem(version, request.user),
        },
    )


def _agree_forms(request, version: QiaVersion, data):
    """The agreed scores (starting from the chair's own), the overall score and justification,
    and the mitigating actions: each heading agreed as negative needs one."""
    own = {s.heading: s for s in version.panel_scores.filter(member=request.user)}
    sheet = ScoreSheet(data, strict=True, initial=initial_from(own))
    form = AgreeForm(data, initial={"revision": version.revision})
    negative = ()
    if data is not None:
        sheet.is_valid()  # cleans each heading, so the negative ones are known
        negative = sheet.negative_headings()
    mitigations = MitigationFormSet(
        data, initial=mitigation_initial(version), prefix="mitigation", must_mitigate=negative
    )
    return sheet, form, mitigations


def _agreement_valid(sheet, form, mitigations) -> bool:
    """Every part valid (all checked, so every error shows), and the overall score the one the
    headings give unless justified."""
    if not all([sheet.is_valid(), form.is_valid(), mitigations.is_valid()]):
        return False
    return form.check_against(services.default_overall(sheet.service_data()))


@signed_in
def panel_close(request, pk: int):
    scheme, version = _at_panel(request, pk, "panel_decide")
    form = PanelCloseForm(posted(request))
    if request.method == "POST" and form.is_valid():
        decision = form.cleaned_data["decision"]
        if act(
            request,
            lambda: services.panel_close(
                version_id=version.pk,
                by=request.user,
                decision=decision,
                reason=form.cleaned_data["reason"],
            ),
        ):
            messages.success(
                request,
                "Returned to the project lead for more detail."
                if decision == "return"
                else "Dismissed on quality grounds.",
            )
            scheme.refresh_from_db()
            return leave_to(request, scheme, "qia_detail", scheme.pk)
        return redirect("qia_detail", pk=scheme.pk)
    return render(
        request, "qia/panel_close.html", {"scheme": scheme, "version": version, "form": form}
    )


# --- sign-off ---


@signed_in
def sign_off(request, pk: int):
    scheme = _scheme(request, pk, action="sign_off")
    version = rules.awaiting_version(scheme)
    check(request, "sign_off", scheme, version=version)
    capacities = [(c, Capacity(c).label) for c in rules.open_capacities(request.user, version)]
    form = SignOffForm(
        posted(request),
        capacities=capacities,
        extreme=version.is_extreme,
        initial={"revision": version.revision},
    )
    if request.method == "POST" and form.is_valid():
        if act(
            request,
            lambda: services.sign_off_record(
                version_id=version.pk, by=request.user, **form.service_arguments()
            ),
        ):
            messages.success(request, "Your decision is recorded.")
            scheme.refresh_from_db()
            return leave_to(request, scheme, "qia_detail", scheme.pk)
        return redirect("qia_detail", pk=scheme.pk)
    version.qia.scheme = scheme
    page = selectors.version_page(request.user, scheme, version)
    return render(request, "qia/sign_off.html", {**page, "form": form})


# --- re-assessment ---


@signed_in
def reassess(request, pk: int):
    scheme = _scheme(request, pk, action="qia_reassess")
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


# --- across schemes ---


@signed_in
def heatmap(request):
    form = RiskFilterForm(request.GET or None, user=request.user)
    versions = selectors.current_risks(request.user, **form.filters())
    return render(
        request,
        "qia/heatmap.html",
        {
            "form": form,
            "query": urlencode({k: v for k, v in form.query().items() if v}),
            **selectors.heatmap(versions, form.query()),
        },
    )


@signed_in
def register(request):
    form = RiskFilterForm(request.GET or None, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    sort = data.get("sort") or "score"
    versions = _register_versions(request.user, form, data, sort)
    page = Paginator(versions, getattr(settings, "QIPP_PAGE_SIZE", 25)).get_page(
        request.GET.get("page")
    )
    selectors.mark_due(page)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "qia/register.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "sorts": _sort_links(query),
            "sort": sort,
            "heatmap_url": reverse("qia_heatmap"),
        },
    )


def _register_versions(user, form, data: dict, sort: str):
    """The current risks the user may see, filtered as asked (a heatmap cell: its
    consequence and likelihood), in the order asked."""
    versions = selectors.current_risks(user, **form.filters())
    if data.get("consequence"):
        versions = versions.filter(top_consequence=data["consequence"])
    if data.get("likelihood"):
        versions = versions.filter(top_likelihood=data["likelihood"])
    return selectors.register_rows(versions, sort).prefetch_related("flags")


def _sort_links(query) -> dict[str, str]:
    """The query of each column heading's link: the same filters, sorted by that column."""
    sorts = {}
    for key in selectors.REGISTER_SORTS:
        link = query.copy()
        link["sort"] = key
        sorts[key] = link.urlencode()
    return sorts


FLAG_ROLES = [
    roles.QAG_MEMBER,
    roles.PMO,
    roles.QUALITY_LEAD,
    roles.CHIEF_NURSE,
    roles.CLINICAL_CHAIR,
]


@signed_in
def flags(request):
    if not any(request.user.has_role(role) for role in FLAG_ROLES):
        raise Refused(
            "The QIA flags for QAG are for QAG members, the PMO, quality leads and signatories.",
            action="view QIA flags",
        )
    found = (
        QagFlag.objects.filter(scheme__in=visible_schemes(request.user).values("pk"))
        .select_related("scheme__organisation", "version")
        .order_by("-raised_at")
    )
    page = Paginator(found, getattr(settings, "QIPP_PAGE_SIZE", 25)).get_page(
        request.GET.get("page")
    )
    return render(request, "qia/flags.html", {"page": page})
