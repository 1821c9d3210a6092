"""What the pages of every app share: the 403 page with the refusal on record, the scheme a
user may see, running one service call, a workflow step's page, and where to go afterwards.

A view decorated with `signed_in` checks access by calling `visible_scheme` and `check`, which
raise Refused; the decorator turns that into the 403 page. So a view reads top to bottom as
"who may", then "what happens", with no refusal plumbing in between.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django_fsm import can_proceed

from governance import policy, services
from governance.models import Scheme, SchemeState

# What a scheme's pages show of it, read with the scheme in one query.
SCHEME_RELATED = (
    "organisation__system",
    "financial_year",
    "programme_area",
    "area_of_spend",
    "project_lead",
    "sro",
    "clinical_lead",
    "finance_lead",
    "created_by",
)


class Refused(Exception):
    """Raised in a view: the page answers 403 with `reason`, and the refusal is recorded."""

    def __init__(self, reason: str, *, action: str, target: str = ""):
        super().__init__(reason)
        self.reason, self.action, self.target = reason, action, target


def refuse(request, reason: str, *, action: str, target: str = ""):
    """A 403 page that says why, and the refusal on record."""
    services.record_refusal(user=request.user, action=action, target=target, reason=reason)
    return render(request, "403.html", {"reason": reason}, status=403)


def signed_in(view):
    """A page for signed-in users only; a Refused raised by the view becomes the 403 page."""

    @wraps(view)
    def page(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Refused as exc:
            return refuse(request, exc.reason, action=exc.action, target=exc.target)

    return login_required(page)


def visible_scheme(request, pk: int, *, action: str = "view") -> Scheme:
    """The scheme, if the user may see it (404 when there is none, Refused when hidden)."""
    scheme = get_object_or_404(Scheme.objects.select_related(*SCHEME_RELATED), pk=pk)
    if not policy.can_view_scheme(request.user, scheme):
        raise Refused(_hidden_because(request.user, scheme), action=action, target=f"scheme {pk}")
    return scheme


def _hidden_because(user, scheme: Scheme) -> str:
    """Why the user may not see the scheme. Only its team and PMO see a draft, so a scheme
    sent back for revision is out of the rest of its system's sight for a while (a reviewer
    following a link to it, say): they are told so. Anyone else learns nothing of it."""
    sent_back = scheme.state == SchemeState.DRAFT and scheme.submission_round > 0
    if sent_back and user.is_active and policy.in_system(user, scheme):
        return (
            f"{scheme.reference} is back with its project team for revision: you will see it "
            "again when it is resubmitted."
        )
    return "You do not have access to this scheme."


def check(request, action: str, scheme: Scheme | None = None, **context) -> None:
    """Raise Refused, with the policy's reason, when the user may not do `action`."""
    reason = policy.refusal(action, request.user, scheme, **context)
    if reason:
        target = scheme.reference if scheme is not None else ""
        raise Refused(reason, action=action, target=target)


def act(request, call) -> bool:
    """Run a service call; a refusal or a conflict becomes a message. True when it went through."""
    try:
        call()
    except services.Conflict as exc:
        messages.warning(request, exc.message)
        return False
    except services.ActionRefused as exc:
        messages.error(request, exc.message)
        return False
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    return True


def posted(request):
    """The posted data; None for a GET (an empty POST is still a POST)."""
    return request.POST if request.method == "POST" else None


def leave_to(request, scheme: Scheme, *to):
    """Where a user goes after acting on a scheme: `to` (the scheme page by default), or their
    task list when the action took the scheme out of their sight (sent back to a draft, which
    only its team and the PMO see), with a word on where it went."""
    if policy.can_view_scheme(request.user, scheme):
        return redirect(*(to or (scheme,)))
    messages.info(
        request,
        f"{scheme.reference} is back with its project team as a draft: you will see it again "
        "when it is resubmitted.",
    )
    return redirect("my_tasks")


def form_version(form) -> int | None:
    """The scheme version the form was drawn from: the service refuses a write over a newer one."""
    return form.cleaned_data.get("version")


def transition_page(
    request,
    pk: int,
    *,
    action: str,
    form_class,
    template: str,
    service,
    arguments=None,
    still=None,
    done=None,
    **extra,
):
    """A workflow step's page (in a `signed_in` view): GET shows the form if the user may act;
    POST validates and calls `service(scheme_id=, by=, **form.service_arguments(), **arguments)`.

    `still(scheme)` is the message when the action went through but left the scheme in its
    state (the first of two reviews); otherwise the message names the new state. `done(scheme)`
    says why the form is not offered although the step is open (that review is already in).
    A service that finds the user's own step already recorded (AlreadyDone) is told so quietly.
    """
    scheme = visible_scheme(request, pk, action=action)
    check(request, action, scheme)
    step = getattr(scheme, action, None)
    if request.method == "GET" and callable(step) and not can_proceed(step):
        # a POST goes on to the service, which refuses it with the reason and records that
        messages.warning(
            request,
            f"{scheme.reference} is {scheme.state_words}: that step does not apply now.",
        )
        return redirect(scheme)
    if request.method == "GET" and done is not None and (why := done(scheme)):
        messages.info(request, why)
        return redirect(scheme)
    form_kwargs = extra.pop("form_kwargs", {})
    initial = {"version": scheme.version, "round": scheme.submission_round}
    form = form_class(request.POST or None, initial=initial, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        before = scheme.state
        try:
            went_through = act(
                request,
                lambda: service(
                    scheme_id=scheme.pk,
                    by=request.user,
                    **form.service_arguments(),
                    **(arguments or {}),
                ),
            )
        except services.AlreadyDone as exc:
            # the same form sent twice: the first submit counted, the second is no refusal
            messages.info(request, exc.message)
            scheme.refresh_from_db()
            return leave_to(request, scheme)
        if went_through:
            scheme.refresh_from_db()
            if scheme.state == before and still is not None:
                messages.success(request, still(scheme))
            else:
                messages.success(request, f"{scheme.reference} is now {scheme.state_words}.")
            return leave_to(request, scheme)
        return redirect(scheme)
    return render(request, template, {"form": form, "scheme": scheme, **extra})


def add_errors(form, exc: ValidationError) -> None:
    """A service's objections beside the fields they are about, the rest at the top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def whole_number(value) -> int | None:
    """A number from an address or a form's hidden field; None for anything else."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
