"""The signatories' decisions on an agreed QIA, and opening a re-assessment."""

from django.contrib import messages
from django.shortcuts import redirect, render

from governance import policy
from governance.forms import id_in_range
from governance.pages import (
    Refused,
    act,
    check,
    holds_step,
    leave_to,
    leave_with,
    posted,
    signed_in,
    typed_text,
)
from governance.services import ActionRefused, AlreadyDone
from qia import policy as rules
from qia import routes, selectors, services
from qia.case import case_for
from qia.forms import ReassessForm, SignOffForm
from qia.forms_conditions import condition_formset
from qia.models import Capacity, QiaVersion
from qia.views.access import moved_on, newest, past_sign_off, scheme_for, to_the_qia


@signed_in
def sign_off(request, pk: int):
    if request.method == "POST" and (mine := _signed_already(request, pk)):
        # the same form sent twice (a double click, a second tab): asked before the page checks
        # access, as the first submit may have moved the QIA (and the scheme) on
        messages.info(request, services.yours_signed(mine))
        return leave_to(request, mine.version.qia.scheme, "qia_detail", pk)
    try:
        scheme = scheme_for(request, pk, action="sign_off")
        version = rules.awaiting_version(scheme)
        if request.method == "GET" and holds_step(
            request.user, scheme, "sign_off", policy.scheme_sign_off_rule
        ):
            # a link followed after the QIA moved on (an old notification), or after signing
            # it while it waits for the other signature: nothing to refuse
            if version is None:
                newest_version = newest(scheme)
                return moved_on(
                    request,
                    scheme,
                    newest_version,
                    step="awaiting sign-off",
                    behind=past_sign_off(newest_version),
                )
            if said := _signed_and_waiting(request.user, scheme, version):
                return to_the_qia(request, scheme, said)
        check(request, "sign_off", scheme, version=version)
    except Refused as exc:
        if request.method == "POST":
            # the QIA moved on since the page was drawn (the other signatory sent it back):
            # the refusal page shows what was typed, to copy
            typed = SignOffForm(
                request.POST, capacities=[], extreme="justification" in request.POST
            )
            exc.typed = typed_text(typed)
        raise
    capacities = [(c, Capacity(c).label) for c in rules.open_capacities(request.user, version)]
    form = SignOffForm(
        posted(request),
        capacities=capacities,
        extreme=version.is_extreme,
        initial={"revision": version.revision, "qia_version": version.pk},
    )
    conditions = condition_formset(posted(request), scheme=scheme, wanted=form.with_conditions)
    # both checked, so that every problem shows at once
    if request.method == "POST" and all([form.is_valid(), conditions.fit_the_decision()]):
        arguments = form.service_arguments(conditions=conditions.rows())
        try:
            services.sign_off_record(version_id=version.pk, by=request.user, **arguments)
        except AlreadyDone as exc:
            # sent twice so close together that both got past the check above
            messages.info(request, exc.message)
            scheme.refresh_from_db()
            return leave_to(request, scheme, "qia_detail", scheme.pk)
        except ActionRefused as exc:  # a Conflict too
            scheme.refresh_from_db()
            if rules.awaiting_version(scheme) != version or policy.refusal(
                "sign_off", request.user, scheme, version=version
            ):
                # the QIA moved on (declined, or signed in this capacity by someone else): a
                # form would be refused again, so the page shows what was typed, to copy
                return render(
                    request,
                    "governance/not_saved.html",
                    {
                        "reason": f"{exc.message} Nothing was saved.",
                        "typed": typed_text(form, *conditions.forms),
                        "scheme": scheme if policy.can_view_scheme(request.user, scheme) else None,
                    },
                    status=403,
                )
            # still to sign (an equality impact assessment still to attach, say): the form
            # again, with what was typed
            form.add_error(None, f"{exc.message} Nothing was saved: what you typed is below.")
        else:
            scheme.refresh_from_db()
            return leave_with(
                request, scheme, "Your decision is recorded.", "qia_detail", scheme.pk
            )
    version.qia.scheme = scheme
    page = selectors.version_page(request.user, scheme, version)
    context = {
        **page,
        "form": form,
        "conditions": conditions,
        "case": case_for(request.user, scheme),
    }
    return render(request, "qia/sign_off.html", context)


def _signed_and_waiting(user, scheme, version: QiaVersion) -> str | None:
    """What the user's signature on the version awaiting sign-off leaves it waiting for, if
    there is one (given by them, or for them by a deputy)."""
    signatures = list(version.sign_offs.select_related("by"))
    mine = next((s for s in signatures if user.pk in (s.by_id, s.on_behalf_of_id)), None)
    signed = {s.capacity for s in signatures}
    waiting = [c for c in routes.required_capacities(version) if c not in signed]
    if mine is None or not waiting:
        return None
    what = f"QIA version {version.number} of {scheme.reference}"
    capacity = mine.get_capacity_display()
    if mine.by_id == user.pk:
        said = f"You have signed {what} as {capacity}"
    else:
        said = f"{mine.by} has signed {what} for you, as {capacity}"
    said += f": it waits for the {' and the '.join(Capacity(c).label for c in waiting)}."
    if set(waiting) & set(rules.capacities_held(user)):
        # holding the other role too: the two signatures are two people's
        said += " The other signature must be by someone else."
    return said


def _signed_already(request, pk: int):
    """The user's own decision on the QIA version a posted sign-off form was drawn from."""
    return services.own_sign_off(
        scheme_id=pk,
        version_id=id_in_range(request.POST.get("qia_version")),
        by=request.user,
        capacity=request.POST.get("capacity") or None,
    )


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
