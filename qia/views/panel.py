"""The panel: each member's blind scores, the panel page, the agreed QIA and closing the
panel."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from governance import policy
from governance.models import Scheme, User
from governance.pages import (
    Refused,
    act,
    check,
    holds_step,
    leave_with,
    posted,
    signed_in,
    typed_text,
)
from governance.services import ActionRefused, Conflict, record_refusal
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
    moved_on,
    newest,
    not_at_panel,
    past_panel,
    scheme_for,
    step_on,
    to_the_qia,
    where_now,
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
    if request.method == "GET" and holds_step(request.user, scheme, "qia_score", _scorer):
        # a link followed after the QIA left the panel, or after scoring it: nothing to refuse
        if not _open(scheme, version):
            return moved_on(
                request, scheme, version, step="at the panel", behind=past_panel(version)
            )
        if rules.has_scored(request.user, version):
            return to_the_qia(request, scheme, _scored_and_waiting(request.user, scheme, version))
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


def _scored_and_waiting(user, scheme: Scheme, version: QiaVersion) -> str:
    """What the version waits for once the user has scored it: the panel's agreement, which
    the quality lead records."""
    if policy.refusal("panel_agree", user, scheme, version=version) is None:
        waits = "you, as quality lead, to record what the panel agreed"
    else:
        waits = "the quality lead to record what the panel agreed"
    return (
        f"You have recorded your scores for QIA version {version.number} of "
        f"{scheme.reference}: it waits for {waits}."
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
    data = posted(request)
    try:
        scheme, version = step_on(request, pk, "panel_decide")
        if not _open(scheme, version):
            return not_at_panel(request, scheme, version, action="panel_agree")
    except Refused as exc:
        if data is not None:
            # the QIA left the panel since the page was drawn (agreed or closed in another
            # tab): the refusal page shows what was typed, to copy
            exc.typed = _typed(*_agree_forms(request, None, data))
        raise
    if not rules.has_scored(request.user, version):
        return _score_first(request, scheme, version)
    sheet, form, mitigations = _agree_forms(request, version, data)
    if data is not None and _agreement_valid(sheet, form, mitigations):
        try:
            services.panel_agree(
                version_id=version.pk,
                by=request.user,
                headings=sheet.service_data(),
                mitigations=mitigations.rows(),
                **form.service_arguments(),
            )
        except Conflict:
            # changed meanwhile (a member's scores came in, say): what was typed comes back
            # against the version as it now is, with its revision, saying what arrived
            scheme.refresh_from_db()
            now = newest(scheme)
            if not _open(scheme, now):
                return _agreement_closed(request, scheme, now, (sheet, form, mitigations))
            said = _changed_meanwhile(now, form.cleaned_data["scorers"])
            version = now
            sheet, form, mitigations = _agree_forms(request, version, _drawn_from(data, version))
            _agreement_valid(sheet, form, mitigations)
            form.add_error(None, said)
        except ActionRefused as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
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


def _agree_forms(request, version: QiaVersion | None, data):
    """The agreed scores (starting from the chair's own), the overall score and justification,
    and the mitigating actions: each heading agreed as negative needs one. The page carries
    the version's revision and who had scored, to tell what changed if it changes meanwhile.
    Without a version, only what was posted (to show it back)."""
    own, initial = {}, {}
    if version is not None:
        own = {s.heading: s for s in version.panel_scores.filter(member=request.user)}
        initial = {"revision": version.revision, "scorers": _scorers(version)}
    sheet = ScoreSheet(data, strict=True, initial=initial_from(own))
    form = AgreeForm(data, initial=initial)
    negative = ()
    if data is not None:
        sheet.is_valid()  # cleans each heading, so the negative ones are known
        negative = sheet.negative_headings()
    mitigations = MitigationFormSet(
        data,
        initial=mitigation_initial(version) if version is not None else [],
        prefix="mitigation",
        must_mitigate=negative,
    )
    return sheet, form, mitigations


def _scorers(version: QiaVersion) -> str:
    """Who has scored the version, as the agree page carries it: their ids."""
    ids = version.panel_scores.values_list("member_id", flat=True).distinct()
    return ",".join(str(pk) for pk in sorted(set(ids)))


def _drawn_from(data, version: QiaVersion):
    """What was posted, as if drawn from the version as it now is: sent again, it is saved."""
    data = data.copy()
    data["revision"] = version.revision
    data["scorers"] = _scorers(version)
    return data


def _changed_meanwhile(version: QiaVersion, seen: frozenset[int] | None) -> str:
    """The top of the agree page sent again after a conflict: who scored meanwhile, if anyone
    did (the page carried who had scored when it was drawn), and what to do."""
    first_scored = {}
    if seen is not None:
        for member_id in version.panel_scores.exclude(member_id__in=seen).values_list(
            "member_id", flat=True
        ):
            first_scored.setdefault(member_id, len(first_scored))
    if not first_scored:
        return (
            "Nothing was saved: this QIA changed while you were looking at it (someone else's "
            "change, or yours in another tab). What you typed is below, against the QIA as it "
            "now is: check it, then save again."
        )
    people = sorted(User.objects.filter(pk__in=first_scored), key=lambda u: first_scored[u.pk])
    names = [str(person) for person in people]
    who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return (
        f"Nothing was saved. {who} recorded their scores meanwhile: the panel's scores below "
        "include theirs. Check your agreed scores, then save again."
    )


def _agreement_closed(request, scheme: Scheme, version: QiaVersion | None, forms_sent):
    """The agreement sent after the QIA left the panel meanwhile (agreed in another tab,
    returned or dismissed): a form would be refused, so the page shows what was typed, to
    copy, and where the QIA is."""
    reason = (
        f"The QIA of {scheme.reference} changed while you were looking at it, so nothing was "
        f"saved: {where_now(scheme, version)}."
    )
    visible = policy.can_view_scheme(request.user, scheme)
    return render(
        request,
        "governance/not_saved.html",
        {"reason": reason, "typed": _typed(*forms_sent), "scheme": scheme if visible else None},
        status=409,
    )


def _typed(sheet, form, mitigations) -> list:
    """What the quality lead typed in the agreement, heading by heading, to show back."""
    return typed_text(
        *((heading.label, heading) for heading in sheet),
        ("Agreed overall risk", form),
        *(
            (f"Mitigating action {number}", row)
            for number, row in enumerate(mitigations.forms, start=1)
            if (row["description"].value() or "").strip()
        ),
    )


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
            said = (
                "Returned to the project lead for more detail."
                if decision == "return"
                else "Dismissed on quality grounds."
            )
            scheme.refresh_from_db()
            return leave_with(request, scheme, said, "qia_detail", scheme.pk)
        return redirect("qia_detail", pk=scheme.pk)
    return render(
        request, "qia/panel_close.html", {"scheme": scheme, "version": version, "form": form}
    )
