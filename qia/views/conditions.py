"""Marking a condition of approval met (qia.conditions): its owner or the scheme's SRO."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from governance.pages import Refused, posted, signed_in, visible_scheme
from governance.services import ActionRefused, Conflict
from qia import conditions as service
from qia.forms_conditions import MeetForm
from qia.models import Condition

ACTION = "condition_meet"


@signed_in
def condition_meet(request, pk: int):
    """GET shows the condition and the form to those who may mark it met; POST marks it. A
    refusal is the 403 page with the reason (the service has recorded it); someone else's
    change meanwhile sends the user to the scheme page to see it."""
    condition = get_object_or_404(Condition.objects.select_related("owner", "set_by"), pk=pk)
    condition.scheme = visible_scheme(request, condition.scheme_id, action=ACTION)
    target = f"condition {pk}"
    reason = service.meet_refusal(request.user, condition)
    if reason:
        raise Refused(reason, action=ACTION, target=target)
    if request.method == "GET" and condition.is_met:
        messages.info(
            request,
            f"This condition was marked met by {condition.met_by} on "
            f"{timezone.localdate(condition.met_at):%-d %B %Y}.",
        )
        return redirect(_on_scheme_page(condition))
    form = MeetForm(posted(request), initial={"version": condition.version})
    if request.method == "POST" and form.is_valid():
        try:
            service.condition_meet(
                condition_id=condition.pk, by=request.user, **form.service_arguments()
            )
        except Conflict as exc:
            messages.warning(request, exc.message)
            return redirect(_on_scheme_page(condition))
        except ActionRefused as exc:
            return render(request, "403.html", {"reason": exc.message}, status=403)
        messages.success(request, "The condition is marked met.")
        return redirect(_on_scheme_page(condition))
    overdue = not condition.is_met and condition.due_on < timezone.localdate()
    return render(
        request,
        "qia/condition_meet.html",
        {"condition": condition, "scheme": condition.scheme, "form": form, "overdue": overdue},
    )


def _on_scheme_page(condition: Condition) -> str:
    return f"{condition.scheme.get_absolute_url()}#conditions"
