"""Acting on several similar tasks of the inbox in one go, where the decision is the same:
the PMO starts delivery of several approved schemes. Thin: check access, validate, call the
service (governance.delivery.starting), redirect with what became of each scheme."""

from django.contrib import messages
from django.shortcuts import redirect, render

from governance import roles
from governance.delivery import starting
from governance.delivery.starting import Outcome
from governance.forms_bulk import BulkStartForm
from governance.pages import Refused, posted, signed_in


@signed_in
def bulk_start(request):
    """The approved schemes of the PMO's organisations waiting for delivery to start, each
    with a tick; each ticked is started on its own, checked and logged as from its own page."""
    if not request.user.has_role(roles.PMO) or not request.user.organisation_ids:
        raise Refused(
            "Only the PMO of an organisation starts delivery of its approved schemes.",
            action="start_delivery",
            target="several schemes",
        )
    form = BulkStartForm(posted(request))
    if request.method == "POST" and form.is_valid():
        outcomes = starting.schemes_start_delivery(
            by=request.user, schemes=form.chosen(), comment=form.cleaned_data["comment"]
        )
        _report(request, outcomes)
        return redirect("bulk_start")
    waiting = starting.waiting_to_start(request.user).select_related("organisation", "sro")
    return render(
        request,
        "governance/bulk_start.html",
        {"form": form, "waiting": list(waiting), "ticked": set(request.POST.getlist("scheme"))},
    )


def _report(request, outcomes: list[Outcome]) -> None:
    """One message for the schemes started, then one for each scheme that was not."""
    started = [outcome.name for outcome in outcomes if outcome.started]
    if started:
        messages.success(request, f"Delivery started of {len(started)}: {'; '.join(started)}.")
    for outcome in outcomes:
        if outcome.started:
            continue
        say = messages.warning if outcome.changed else messages.error
        say(request, f"{outcome.name} was not started. {outcome.reason}")
