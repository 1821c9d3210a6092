"""QAG's approval of a signed-off scheme whose route asks for it (qia.routes)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django_fsm_log.models import StateLog

from governance import policy
from governance.forms import id_in_range
from governance.models import Scheme, SchemeState
from governance.pages import (
    Typed,
    check,
    leave_to,
    posted,
    signed_in,
    typed_text,
)
from governance.services import ActionRefused, Conflict, just_taken
from qia import policy as rules
from qia import services
from qia.case import case_for
from qia.forms_conditions import condition_formset
from qia.forms_qag import QagApprovalForm
from qia.models import Route
from qia.views.access import scheme_for


@signed_in
def qag_approval(request, pk: int):
    scheme = scheme_for(request, pk, action="qag_approve")
    check(request, "qag_approve", scheme)
    if scheme.state != SchemeState.AWAITING_QAG:
        return _not_waiting(request, scheme)
    form = QagApprovalForm(posted(request), initial={"version": scheme.version})
    conditions = condition_formset(posted(request), scheme=scheme, wanted=form.with_conditions)
    if request.method == "POST" and all([form.is_valid(), conditions.fit_the_decision()]):
        arguments = {**form.service_arguments(), "conditions": conditions.rows()}
        try:
            services.qag_approval_record(scheme_id=scheme.pk, by=request.user, **arguments)
        except ActionRefused as exc:  # a Conflict too
            scheme.refresh_from_db()
            if scheme.state != SchemeState.AWAITING_QAG:
                # decided meanwhile by another member of QAG (or withdrawn)
                return _not_waiting(request, scheme)
            # still waiting (the scheme was changed otherwise, or a condition refused): the
            # form again, with what was typed, drawn from the scheme as it now is
            form, conditions = _forms_again(request, scheme)
            said = (
                f"{scheme.reference} changed while you were looking at it, so nothing was saved."
                if isinstance(exc, Conflict)
                else f"{exc.message} Nothing was saved."
            )
            form.add_error(None, f"{said} What you typed is below: check it, then send it again.")
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            scheme.refresh_from_db()
            messages.success(request, f"{scheme.reference} is now {scheme.state_words}.")
            return leave_to(request, scheme)
    version = rules.newest_version(scheme)
    return render(
        request,
        "qia/qag_approval.html",
        {
            "scheme": scheme,
            "version": version,
            "form": form,
            "conditions": conditions,
            "route": Route(version.qia.route).label if version else "",
            "case": case_for(request.user, scheme),
        },
    )


def _not_waiting(request, scheme: Scheme):
    """The page asked for once the scheme no longer waits for QAG (decided by a member of QAG,
    or withdrawn), saying who did that and when. A link followed goes to the scheme; a decision
    sent is not saved, and the page shows what was typed, to copy. The user's own decision
    sent twice (a double click) is no conflict: it was recorded."""
    left = _left_qag(scheme)
    said = f"{scheme.reference} is {scheme.state_words}: it is not waiting for QAG."
    if left is not None:
        said += f" {_left_words(request, left)}"
    if request.method != "POST":
        messages.warning(request, said)
        return redirect(scheme)
    if just_taken(left, request.user, "qag_approve"):  # the same decision sent twice
        messages.info(
            request,
            f"You recorded QAG's decision a moment ago: {scheme.reference} is "
            f"{scheme.state_words}.",
        )
        return leave_to(request, scheme)
    form = QagApprovalForm(request.POST)
    conditions = condition_formset(request.POST, scheme=scheme, wanted=form.with_conditions)
    visible = policy.can_view_scheme(request.user, scheme)
    return render(
        request,
        "governance/not_saved.html",
        {
            "reason": f"{said} Nothing was saved.",
            "typed": _typed(form, conditions),
            "scheme": scheme if visible else None,
        },
        status=409,
    )


def _typed(form, conditions) -> list[Typed]:
    """The decision as typed, each condition with its owner and due date, to show back."""
    typed = typed_text(form)
    for number, row in enumerate(conditions.forms, start=1):
        text = str(row["text"].value() or "").strip()
        if not text:
            continue
        owner = row.owners.get(id_in_range(row["owner"].value()))
        due = str(row["due_on"].value() or "").strip()
        lines = [text]
        if owner:
            lines.append(f"Owner: {owner}")
        if due:
            lines.append(f"Due by: {due}")
        typed.append(Typed(f"Condition {number}", "\n".join(lines)))
    return typed


def _left_qag(scheme: Scheme) -> StateLog | None:
    """The step that took the scheme out of waiting for QAG: QAG's decision, or a withdrawal."""
    logs = StateLog.objects.for_(scheme).filter(source_state=SchemeState.AWAITING_QAG)
    return logs.select_related("by").order_by("-timestamp", "-pk").first()


def _left_words(request, log: StateLog) -> str:
    """That step in words: "Approved by ELR QAG Member at 10:04." (with its day, if not today)."""
    who = "you" if log.by_id == request.user.pk else (log.by or "the system")
    when = timezone.localtime(log.timestamp)
    at = f"at {when:%H:%M}"
    if when.date() != timezone.localdate():
        at = f"on {when.day} {when:%B %Y} {at}"
    return f"{SchemeState(log.state).label} by {who} {at}."


def _forms_again(request, scheme: Scheme):
    """The decision as posted, drawn from the scheme's current version: sent again, it is
    taken as a decision on the scheme as it now is."""
    data = request.POST.copy()
    data["version"] = scheme.version
    form = QagApprovalForm(data)
    conditions = condition_formset(data, scheme=scheme, wanted=form.with_conditions)
    form.is_valid()
    conditions.fit_the_decision()
    return form, conditions
