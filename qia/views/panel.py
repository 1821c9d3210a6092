"""The panel: each member's blind scores, the panel page, the agreed QIA and closing the
panel."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from governance import policy
from governance.models import Scheme
from governance.pages import Refused, act, check, leave_to, posted, signed_in
from governance.services import record_refusal
from qia import policy as rules
from qia import selectors, services
from qia.case import case_for
from qia.forms import (
    AgreeForm,
    MitigationFormSet,
    PanelCloseForm,
    ScoreSheet,
    initial_from,
    mitigation_initial,
)
from qia.models import QiaVersion
from qia.views.access import (
    holds_step,
    moved_on,
    newest,
    not_at_panel,
    past_panel,
    scheme_for,
    step_on,
)


def _scorer(user, scheme: Scheme) -> str | None:
    """The part of the scoring rule that is about the person: a panel member or the quality
    lead of the scheme's organisation, off its team."""
    if not rules.is_scorer(user, scheme):
        return "Only QIA panel members and the quality lead of its organisation score a QIA."
    return policy.judging_own_scheme(user, scheme)


def _open(scheme: Scheme, version: QiaVersion | None) -> bool:
    return version is not None and rules.at_panel(version, scheme)


@signed_in
def score(request, pk: int):
    scheme = scheme_for(request, pk, action="qia_score")
    version = newest(scheme)
    if (
        request.method == "GET"
        and not _open(scheme, version)
        and holds_step(request.user, scheme, "qia_score", _scorer)
    ):
        # a link followed after the QIA left the panel: nothing to refuse
        return moved_on(request, scheme, version, step="at the panel", behind=past_panel(version))
    check(request, "qia_score", scheme, version=version)
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
            "case": case_for(request.user, scheme),
        },
    )


def _check_may_see_panel(request, scheme: Scheme, version: QiaVersion | None) -> None:
    if version is None:
        raise Http404("This scheme has no QIA yet.")
    reason = rules.panel_scores_refusal(request.user, version, scheme)
    if reason:
        raise Refused(reason, action="view panel scores", target=scheme.reference)


@signed_in
def panel(request, pk: int, number: int | None = None):
    scheme = scheme_for(request, pk)
    if number is None:
        version = newest(scheme)
    else:
        version = get_object_or_404(QiaVersion, qia__scheme=scheme, number=number)
    _check_may_see_panel(request, scheme, version)
    return render(
        request,
        "qia/panel.html",
        {
            "scheme": scheme,
            "version": version,
            **selectors.panel_scores_for(request.user, scheme, version),
            "at_panel": rules.at_panel(version, scheme),
            "may_decide": rules.at_panel(version, scheme)
            and policy.refusal("panel_decide", request.user, scheme, version=version) is None,
            "spread": selectors.SPREAD_BANDS,
        },
    )


# The quality lead scores as a member of the panel, blind like the others.
SCORE_FIRST = (
    "Record your own scores first: blind scoring holds for the quality lead too, so the "
    "other members' scores stay hidden until you have recorded yours for this version."
)


@signed_in
def agree(request, pk: int):
    scheme, version = step_on(request, pk, "panel_decide")
    if not _open(scheme, version):
        return not_at_panel(request, scheme, version, action="panel_agree")
    if not rules.has_scored(request.user, version):
        return _score_first(request, scheme, version)
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
                **form.service_arguments(),
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
            **selectors.panel_scores_for(request.user, scheme, version),
            "composition_problem": services.composition_problem(version, request.user),
            "case": case_for(request.user, scheme),
        },
    )


def _score_first(request, scheme: Scheme, version: QiaVersion):
    """The quality lead has not scored this version: the page says so and shows no scores; a
    posted agreement is refused (and logged) and she is sent to score."""
    if request.method == "POST":
        record_refusal(
            user=request.user, action="panel_agree", target=scheme.reference, reason=SCORE_FIRST
        )
        messages.error(request, SCORE_FIRST)
        return redirect("qia_score", pk=scheme.pk)
    context = {
        "scheme": scheme,
        "version": version,
        "score_first": SCORE_FIRST,
        "case": case_for(request.user, scheme),
    }
    return render(request, "qia/agree.html", context)


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
    scheme, version = step_on(request, pk, "panel_decide")
    if not _open(scheme, version):
        return not_at_panel(request, scheme, version, action="panel_decide")
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
