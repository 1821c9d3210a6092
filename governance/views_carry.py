"""Carrying recurrent savings into next year: the PMO's page that carries them, and the project
lead's page that confirms a carried plan. Thin: check access, validate, call the service
(governance.delivery.carry), redirect with a message."""

import re
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from governance import policy
from governance.delivery import carry, schedule
from governance.forms_delivery import CarriedPlanForm, CarryForm
from governance.models import PLAN_FIELDS, FinancialYear, Organisation
from governance.pages import (
    Refused,
    add_errors,
    check,
    organisation_asked,
    posted,
    signed_in,
    visible_scheme,
)
from governance.services import ActionRefused, Conflict

# --- carrying recurrent savings into next year ---


@signed_in
def scheme_carry(request):
    """The PMO carries the recurrent savings of an organisation's year into the next: the
    schemes that have a full-year effect, each with a tick (?organisation=id&year=2026/27; by
    default the user's first organisation and this year). The organisation and year go back
    with the form, so a POST reads them from the form."""
    asked = request.POST if request.method == "POST" else request.GET
    organisation, missing = organisation_asked(request.user, asked.get("organisation"))
    if reason := policy.refusal("carry", request.user, organisation=organisation):
        target = f"carry {organisation.code}" if organisation else "carry"
        raise Refused(reason, action="carry", target=target)
    year = _carry_year(asked.get("year"))
    if year is NO_SUCH_YEAR:
        # a mistyped address: this year's page, saying so; a form sent with it carries nothing
        messages.error(request, f"There is no financial year {asked['year'][:20]!r}.")
        return redirect(carry.page_url(organisation.pk, None))
    if missing and request.method == "POST":
        # the same for a form sent with an organisation that does not exist
        messages.error(request, f"{missing}: nothing was carried.")
        return redirect(carry.page_url(organisation.pk, year))
    if missing:
        messages.info(request, f"{missing}: showing {organisation.code}.")
    following = carry.following_year(year) if year else None
    following_label = carry.following_label(year) if year else ""
    form = CarryForm(posted(request), following=following_label)
    if request.method == "POST" and form.is_valid():
        _carry_ticked(request, organisation, year, form.cleaned_data["scheme"])
        return redirect(carry.page_url(organisation.pk, year))
    offered = list(carry.carriable(organisation, year)) if year else []
    return render(
        request,
        "delivery/carry.html",
        {
            "form": form,
            "organisation": organisation,
            "organisations": Organisation.objects.filter(
                pk__in=request.user.organisation_ids
            ).order_by("code"),
            "year": year,
            "years": FinancialYear.objects.all(),
            "following": following,
            "following_label": following_label,
            "offered": offered,
            "ticked": {str(pk) for pk in request.POST.getlist("scheme")},
            "total": sum((s.full_year_effect for s in offered), Decimal(0)),
            "carried": list(carry.carried_already(organisation, year)) if year else [],
        },
    )


NO_SUCH_YEAR = FinancialYear(start_year=0)


def _carry_year(asked: str | None) -> FinancialYear | None:
    """The year asked for, as the reports write it (2026/27) or by its first year (2026), or
    NO_SUCH_YEAR; by default this year (None when there is no year at all)."""
    if asked is None or asked == "":
        return schedule.current_year(timezone.localdate())
    start = FinancialYear.parse_label(asked)
    if start is None and re.fullmatch(r"[0-9]{4}", asked.strip()):
        start = int(asked)
    found = FinancialYear.objects.filter(start_year=start).first() if start else None
    return NO_SUCH_YEAR if found is None else found


def _carry_ticked(
    request, organisation: Organisation, year: FinancialYear | None, ids: list[int]
) -> None:
    """Carry the ticked schemes; say what was carried, or why nothing was."""
    if year is None:
        messages.error(request, "There is no financial year yet: an administrator adds it.")
        return
    try:
        carried = carry.carry_forward(
            organisation=organisation, financial_year=year, scheme_ids=ids, by=request.user
        )
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return
    except ValidationError as exc:  # a scheme whose copy the model refuses: none is carried
        messages.error(request, " ".join(exc.messages))
        return
    references = ", ".join(scheme.reference for scheme in carried)
    messages.success(
        request,
        f"Carried into {carried[0].financial_year.label}: {references}. Each waits for its "
        "project lead to confirm its plan, and for the PMO to start its delivery.",
    )


@signed_in
def carried_plan_confirm(request, pk: int):
    """The project lead of a scheme carried on from last year confirms its plan, as carried or
    with months changed."""
    scheme = visible_scheme(request, pk, action="confirm_carry")
    check(request, "confirm_carry", scheme)
    initial = {"version": scheme.version, **{name: getattr(scheme, name) for name in PLAN_FIELDS}}
    form = CarriedPlanForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            carry.carried_plan_confirm(scheme_id=pk, by=request.user, **form.service_arguments())
        except Conflict as exc:
            # changed meanwhile: the page again, drawn from the plan as it now stands
            messages.warning(request, exc.message)
            return redirect("carried_plan_confirm", pk)
        except ActionRefused as exc:
            messages.error(request, exc.message)
            return redirect(scheme)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"The plan of {scheme.reference} is confirmed.")
            return redirect(scheme)
    return render(
        request,
        "delivery/carried_plan.html",
        {"form": form, "scheme": scheme, "original": scheme.carried_from},
    )
