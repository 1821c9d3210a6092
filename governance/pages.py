"""What the pages of every app share: the 403 page with the refusal on record, the scheme a
user may see, running one service call, a workflow step's page, and where to go afterwards.

A view decorated with `signed_in` checks access by calling `visible_scheme` and `check`, which
raise Refused; the decorator turns that into the 403 page. So a view reads top to bottom as
"who may", then "what happens", with no refusal plumbing in between.
"""

import re
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import Truncator
from django_fsm import can_proceed
from django_fsm_log.models import StateLog

from governance import deputies, policy, services
from governance.models import Organisation, Scheme, SchemeState
from governance.text import Typed

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
        # what the user had typed in the form refused (see typed_text): shown with the reason
        self.typed: list[Typed] = []


def refuse(request, reason: str, *, action: str, target: str = "", typed=()):
    """A 403 page that says why (with what the user typed, if anything), and the refusal on
    record."""
    services.record_refusal(user=request.user, action=action, target=target, reason=reason)
    return render(request, "403.html", {"reason": reason, "typed": typed}, status=403)


def typed_text(*forms_typed_in) -> list[Typed]:
    """What the user typed or chose in these bound forms, as labelled text: shown back,
    read-only, on a page that cannot take the form any more, so nothing typed is lost. A form
    may come as (title, form): its fields' labels then start with the title, so that the
    rationales of six headings, say, are told apart."""
    typed = []
    for entry in forms_typed_in:
        title, form = entry if isinstance(entry, tuple) else ("", entry)
        for field in form:
            if field.is_hidden or isinstance(field.field, (forms.FileField, forms.BooleanField)):
                continue
            value = field.value()
            choices = getattr(field.field, "choices", None)
            if choices is not None:
                value = dict(choices).get(value, value)
            text = str(value or "").strip()
            if text:
                label = f"{title}: {field.label}" if title else str(field.label)
                typed.append(Typed(label, text))
    return typed


def signed_in(view):
    """A page for signed-in users only; a Refused raised by the view becomes the 403 page."""

    @wraps(view)
    def page(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Refused as exc:
            return refuse(
                request, exc.reason, action=exc.action, target=exc.target, typed=exc.typed
            )

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


def holds_step(user, scheme: Scheme, action: str, rule) -> bool:
    """Whether the user could take this step on the scheme while it is open: `rule` (the
    step's role, organisation and scheme-team checks) lets them, or, for a deputy acting on
    one of their delegation's decisions, lets their principal, with the delegation covering
    the scheme and the deputy off its team. A step's old link followed by such a user, once
    the step has closed, is answered with where the scheme is, not refused."""
    acting = deputies.deputising(user)
    if acting is None or action not in policy.DELEGATED:
        return rule(policy.in_own_right(user), scheme) is None
    return (
        action in acting.actions
        and acting.covers(scheme)
        and policy.judging_own_scheme(user, scheme) is None
        and rule(acting.principal, scheme) is None
    )


def leave_with(request, scheme: Scheme, said: str, *to):
    """leave_to, after a step done, saying `said` (a success) if the user still sees the
    scheme: one the step took out of their sight has leave_to's word on where it went, which
    says more, and one alert is enough."""
    if policy.can_view_scheme(request.user, scheme):
        messages.success(request, said)
    return leave_to(request, scheme, *to)


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
    A refusal or a conflict loses nothing typed (see _not_saved).
    """
    form_kwargs = extra.pop("form_kwargs", {})
    try:
        scheme = visible_scheme(request, pk, action=action)
        check(request, action, scheme)
    except Refused as exc:
        if request.method == "POST":
            # refused at the door, as the scheme moved on meanwhile (sent back to its team,
            # out of a reviewer's sight): the refusal page shows what was typed, to copy
            exc.typed = typed_text(form_class(request.POST, **form_kwargs))
        raise
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
    initial = {"version": scheme.version, "round": scheme.submission_round}
    form = form_class(request.POST or None, initial=initial, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        before = scheme.state
        try:
            service(
                scheme_id=scheme.pk,
                by=request.user,
                **form.service_arguments(),
                **(arguments or {}),
            )
        except services.AlreadyDone as exc:
            # the same form sent twice: the first submit counted, the second is no refusal
            messages.info(request, exc.message)
            scheme.refresh_from_db()
            return leave_to(request, scheme)
        except services.ActionRefused as exc:  # a Conflict too
            page = {"form_class": form_class, "form_kwargs": form_kwargs, "template": template}
            return _not_saved(request, scheme, exc, form, action=action, done=done, **page, **extra)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            scheme.refresh_from_db()
            if scheme.state == before and still is not None:
                said = still(scheme)
            else:
                said = f"{scheme.reference} is now {scheme.state_words}."
            return leave_with(request, scheme, said)
    return render(request, template, {"form": form, "scheme": scheme, **extra})


def _not_saved(
    request, scheme: Scheme, exc, sent, *, action, done, form_class, form_kwargs, template, **extra
):
    """A workflow step's page after its service refused the form or found the scheme changed
    since the page was drawn: nothing was saved, and nothing typed is lost.

    Where the step still applies to the scheme as it now is, the form comes back with what was
    typed, drawn from the scheme's current version, with what changed at the top: sending it
    again is then a decision taken knowingly. Where it no longer applies (the scheme moved on:
    reviewed by someone else, withdrawn, sent back to its team), a form could only be refused
    again, so the page shows what was typed read-only, to copy, and why.
    """
    scheme.refresh_from_db()
    conflict = isinstance(exc, services.Conflict)
    closed = _why_closed(request, scheme, action, done)
    if closed is None:
        data = request.POST.copy()
        data["version"] = scheme.version
        data["round"] = scheme.submission_round
        form = form_class(data, **form_kwargs)
        form.is_valid()
        form.add_error(
            None,
            _changed_meanwhile(request, scheme, sent)
            if conflict
            else f"{exc.message} Nothing was saved: what you typed is below.",
        )
        return render(request, template, {"form": form, "scheme": scheme, **extra})
    if conflict:
        closed = (
            f"{scheme.reference} changed while you were looking at it, so nothing was saved. "
            f"{closed}"
        )
    else:
        closed = f"{exc.message} Nothing was saved."
    visible = policy.can_view_scheme(request.user, scheme)
    return render(
        request,
        "governance/not_saved.html",
        {"reason": closed, "typed": typed_text(sent), "scheme": scheme if visible else None},
        status=409 if conflict else 403,
    )


def _why_closed(request, scheme: Scheme, action: str, done) -> str | None:
    """Why the step no longer applies to the scheme as it now is, or None if it does."""
    if not policy.can_view_scheme(request.user, scheme):
        return _hidden_because(request.user, scheme)
    reason = policy.refusal(action, request.user, scheme)
    if reason:
        return reason
    step = getattr(scheme, action, None)
    if callable(step) and not can_proceed(step):
        return f"It is now {scheme.state_words}: that step no longer applies."
    return done(scheme) if done is not None else None


def _changed_meanwhile(request, scheme: Scheme, sent) -> str:
    """The top of a step's form sent again after a conflict: what changed, as far as the
    scheme's records tell, and what to do."""
    said = [
        f"{scheme.reference} changed while you were looking at it (someone else's change, or "
        "yours in another tab), so nothing was saved."
    ]
    drawn_round = sent.cleaned_data.get("round")
    if drawn_round is not None and drawn_round != scheme.submission_round:
        said.append(f"It has been resubmitted since: this is submission {scheme.submission_round}.")
    else:
        said += [f"It is {scheme.state_words}.", _latest_change(request, scheme)]
    said.append("What you typed is below: check the scheme, then send it again if it still stands.")
    return " ".join(part for part in said if part)


def _latest_change(request, scheme: Scheme) -> str:
    """The scheme's newest history entry, a step of its workflow or a field saved, in words."""
    log = StateLog.objects.for_(scheme).select_related("by").order_by("-timestamp", "-pk").first()
    change = scheme.changes.select_related("changed_by").first()  # newest first
    if log is None and change is None:
        return ""
    if change is None or (log is not None and log.timestamp >= change.changed_at):
        states = dict(SchemeState.choices)
        if log.source_state != log.state:
            what = f"{states.get(log.source_state, log.source_state)} → {states.get(log.state)}"
        else:  # a step that kept the state (the first of the two reviews): its own words
            what = Truncator(log.description or states.get(log.state)).chars(100)
        who = log.by
    else:
        what, who = f"{change.field} changed", change.changed_by
    if who is None:
        return f"The latest change: {what}."
    return f"The latest change: {what}, by {'you' if who == request.user else who}."


def add_errors(form, exc: ValidationError) -> None:
    """A service's objections beside the fields they are about, the rest at the top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def organisation_asked(user, asked: str | None) -> tuple[Organisation | None, str | None]:
    """The organisation an address or a form asks for (`asked`: its id, or its code), else
    the user's first (None when they belong to none); and, when it asks for one that does not
    exist (a typing slip, an empty choice), that in words for the page: "There is no
    organisation 'abc'". A mistyped address is no attempt at anyone else's figures, so it is
    told, not refused. An organisation that exists comes back whoever's it is: the page's
    rule then refuses someone else's, and that refusal is logged."""
    mine = Organisation.objects.filter(pk__in=user.organisation_ids).order_by("code")
    if asked is None:
        return mine.first(), None
    named = asked.strip()
    if re.fullmatch(r"[0-9]{1,9}", named):
        found = Organisation.objects.filter(pk=int(named)).first()
    else:
        found = Organisation.objects.filter(code__iexact=named).first() if named else None
    if found is not None:
        return found, None
    if not named:
        return mine.first(), "No organisation was chosen"
    return mine.first(), f"There is no organisation {named[:20]!r}"
