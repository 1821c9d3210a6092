"""The deputies page: who acts for the user while they are away, for whom they act, and
naming, re-dating or ending a delegation (governance.deputies does the work)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from governance import deputies, services
from governance.forms_deputies import DatesForm, DeputyForm
from governance.models import Delegation
from governance.pages import refuse, signed_in


def _delegations(user):
    found = Delegation.objects.select_related(
        "principal", "deputy", "organisation", "named_by", "ended_by"
    ).prefetch_related("events__by")
    return (
        found.filter(principal=user).order_by("-starts_on", "-id")[:50],
        found.filter(deputy=user).order_by("-starts_on", "-id")[:50],
    )


@signed_in
def deputy_list(request):
    user = request.user
    form = DeputyForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            delegation = deputies.name_deputy(
                by=user,
                principal=data.get("principal") or user,
                deputy=data["deputy"],
                role=data["role"],
                organisation=data["organisation"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                admin=form.admin,
            )
        except deputies.DelegationRefused as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{delegation} from {delegation.starts_on:%-d %B %Y}.")
            return redirect("deputy_list")
    given, held = _delegations(user)
    others = None
    if user.is_staff:
        others = Delegation.objects.select_related("principal", "deputy", "organisation").filter(
            ended_at__isnull=True
        )[:100]
    return render(
        request,
        "governance/deputies.html",
        {
            "form": form,
            "given": given,
            "held": held,
            "others": others,
            "may_name": form.admin or bool(form.fields["role"].choices),
        },
    )


def _change(request, pk: int, work):
    """Back to the deputies page with what became of the change; a 403 page when the
    delegation is not the user's to change."""
    try:
        work()
    except Delegation.DoesNotExist:
        messages.error(request, "There is no such delegation.")
    except deputies.DelegationNotYours as exc:
        return refuse(request, exc.message, action="change delegation", target=f"delegation {pk}")
    except deputies.DelegationRefused as exc:
        services.record_refusal(
            user=request.user,
            action="change delegation",
            target=f"delegation {pk}",
            reason=exc.message,
        )
        messages.error(request, exc.message)
    return redirect("deputy_list")


@signed_in
@require_POST
def deputy_end(request, pk: int):
    def work():
        delegation = deputies.end(by=request.user, delegation_id=pk, admin=request.user.is_staff)
        messages.success(request, f"Ended: {delegation}.")

    return _change(request, pk, work)


@signed_in
@require_POST
def deputy_dates(request, pk: int):
    form = DatesForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"Dates not changed: {error}")
        return redirect("deputy_list")

    def work():
        delegation = deputies.change_dates(
            by=request.user,
            delegation_id=pk,
            starts_on=form.cleaned_data["starts_on"],
            ends_on=form.cleaned_data["ends_on"],
            admin=request.user.is_staff,
        )
        messages.success(
            request,
            f"{delegation}: now {delegation.starts_on:%-d %B} to {delegation.ends_on:%-d %B %Y}.",
        )

    return _change(request, pk, work)
