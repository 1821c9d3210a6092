"""Notifications, escalations and the QAG pack. Thin: check access, validate, call one service,
redirect with a message; a refusal is a message or a 403 page that says why, never a 500."""

from datetime import date, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from governance import policy
from governance.delivery import schedule
from governance.models import System
from governance.pages import Refused, check, signed_in, typed_text, visible_scheme
from governance.pdf import pdf_response
from governance.services import ActionRefused, AlreadyDone, Conflict
from notifications import escalations as services
from notifications import qag
from notifications.forms import (
    DecisionForm,
    EscalationFilterForm,
    RaiseToQagForm,
    RemedialActionForm,
)
from notifications.models import ACTIVE, Escalation, Level
from qia.case import case_for

# --- in-app notifications ---


@signed_in
def notification_list(request):
    page = Paginator(request.user.notifications.select_related("scheme"), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/list.html", {"page": page})


@signed_in
@require_POST
def mark_all_read(request):
    n = request.user.notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
    messages.success(request, f"Marked {n} notification{'s' if n != 1 else ''} as read.")
    return redirect("notification_list")


@signed_in
@require_POST
def notification_open(request, pk: int):
    """Mark one notification read and go where it points."""
    notice = get_object_or_404(request.user.notifications, pk=pk)
    if notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
    safe = url_has_allowed_host_and_scheme(notice.url, allowed_hosts={request.get_host()})
    return redirect(notice.url if notice.url and safe else "notification_list")


# --- escalations ---


def _escalation_for(request, pk: int, *, action: str):
    """The escalation if the user may see it, else Refused."""
    escalation = get_object_or_404(
        Escalation.objects.select_related(
            "scheme__organisation__system",
            "scheme__financial_year",
            "scheme__sro",
            "scheme__project_lead",
            "owner",
            "remedial_by",
            "raised_to_qag_by",
            "decided_by",
            "decided_for",
        ),
        pk=pk,
    )
    _check(request, "escalation_view", escalation, logged_as=action)
    return escalation


def _check(request, action: str, escalation: Escalation, *, logged_as: str = "") -> None:
    """Refused, with the policy's reason, when the user may not do `action` to the escalation."""
    reason = policy.refusal(action, request.user, escalation.scheme)
    if reason:
        raise Refused(reason, action=logged_as or action, target=f"escalation {escalation.pk}")


def _may(user, action: str, escalation: Escalation) -> bool:
    return escalation.is_active and policy.refusal(action, user, escalation.scheme) is None


@signed_in
def escalation_list(request):
    form = EscalationFilterForm(request.GET or None)
    found = services.visible_escalations(request.user).select_related(
        "scheme__organisation", "owner"
    )
    status = "live"
    if form.is_valid():
        status = form.cleaned_data["status"]
        for name in ("level", "rule"):
            if form.cleaned_data[name]:
                found = found.filter(**{name: form.cleaned_data[name]})
    if status == "live":
        found = found.filter(status__in=ACTIVE)
    elif status:
        found = found.filter(status=status)
    page = Paginator(found.order_by("-raised_at", "-id"), 25).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for escalation in page.object_list:
        escalation.age_days = (today - timezone.localdate(escalation.raised_at)).days
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "notifications/escalation_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "may_see_pack": services.may_see_escalations(request.user),
        },
    )


@signed_in
def escalation_detail(request, pk: int):
    escalation = _escalation_for(request, pk, action="view escalation")
    return _detail_page(request, escalation, RaiseToQagForm())


def _detail_page(request, escalation: Escalation, raise_form: RaiseToQagForm):
    """The escalation's page, with the raise-to-QAG form as given (as typed, when it failed)."""
    user = request.user
    return render(
        request,
        "notifications/escalation_detail.html",
        {
            "escalation": escalation,
            "scheme": escalation.scheme,
            "events": escalation.events.select_related("by"),
            "may_remedial": _may(user, "escalation_remedial", escalation),
            "may_raise": _may(user, "escalation_raise", escalation)
            and escalation.level == Level.PMO,
            "may_decide": _may(user, "escalation_decide", escalation)
            and escalation.level == Level.QAG,
            "raise_form": raise_form,
            "typed": typed_text(raise_form) if raise_form.is_bound else [],
        },
    )


def _meeting_held_since(escalation: Escalation) -> date | None:
    """The system's last QAG meeting, offered as the decision's when it was held after the
    escalation was raised; else the field is left for the user to fill."""
    held = qag.last_meeting(escalation.scheme.organisation.system, timezone.localdate())
    if held is None or held < timezone.localdate(escalation.raised_at):
        return None
    return held


def _next(request, escalation: Escalation) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return escalation.get_absolute_url()


def _action_page(
    request, pk, *, action, form_class, template, call, initial=None, ready=None, beside=None
):
    """GET shows the form; POST records it. A refusal (a due date in the past, the escalation
    resolved meanwhile) shows the form again with the reason and what was typed, never
    losing it. `ready(escalation)` says why the form is not offered yet, if it is not;
    `beside(escalation)` gives the page more to show beside the form."""
    escalation = _escalation_for(request, pk, action=action)
    _check(request, action, escalation)
    if request.method == "GET" and ready is not None and (why := ready(escalation)):
        messages.info(request, why)
        return redirect(escalation)
    start = {"version": escalation.version, **(initial(escalation) if initial else {})}
    form = form_class(request.POST or None, initial=start)
    if request.method == "POST" and form.is_valid():
        try:
            recorded, escalation, form = _record(request, escalation, form, call)
        except AlreadyDone as exc:
            # the same form sent twice: the first submit counted, the second is no refusal
            messages.info(request, exc.message)
            return redirect(_next(request, escalation))
        if recorded:
            messages.success(request, "Recorded.")
            return redirect(_next(request, escalation))
    return render(
        request,
        template,
        {
            "form": form,
            "escalation": escalation,
            "scheme": escalation.scheme,
            "next": request.GET.get("next", ""),
            **(beside(escalation) if beside else {}),
        },
    )


def _record(request, escalation: Escalation, form, call):
    """Record the form: (recorded?, the escalation as it now stands, the form to show)."""
    try:
        call(escalation, form.cleaned_data)
    except AlreadyDone:
        raise  # nothing refused: the page says the user's own action is on record
    except Conflict as exc:
        # what was typed stays; the page shows the escalation as it now stands, and the
        # form its new version, so sending it again is a decision taken knowingly
        escalation = Escalation.objects.get(pk=escalation.pk)
        form = type(form)({**request.POST.dict(), "version": escalation.version})
        form.is_valid()
        form.add_error(None, exc.message)
        return False, escalation, form
    except ActionRefused as exc:
        form.add_error(None, exc.message)
        return False, escalation, form
    return True, escalation, form


@signed_in
def escalation_remedial(request, pk: int):
    """The SRO records (or revises) the remedial action and its due date."""
    return _action_page(
        request,
        pk,
        action="escalation_remedial",
        form_class=RemedialActionForm,
        template="notifications/escalation_remedial.html",
        initial=lambda e: {"action": e.remedial_action, "due": e.remedial_due},
        call=lambda e, data: services.escalation_record_remedial(
            escalation_id=e.pk,
            by=request.user,
            action=data["action"],
            due=data["due"],
            expected_version=data["version"],
        ),
    )


@signed_in
@require_POST
def escalation_raise(request, pk: int):
    """The PMO raises an escalation to QAG (a form on the escalation page)."""
    escalation = _escalation_for(request, pk, action="escalation_raise")
    _check(request, "escalation_raise", escalation)
    form = RaiseToQagForm(request.POST)
    if form.is_valid():
        try:
            services.escalation_raise_to_qag(
                escalation_id=pk, by=request.user, note=form.cleaned_data["note"]
            )
        except ActionRefused as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Raised to QAG: {escalation.scheme.reference}.")
            return redirect(escalation)
    # the escalation's page again, the note as typed beside what is wrong with it; when it went
    # to QAG meanwhile, the page no longer offers the form, so the note shows read-only
    escalation = _escalation_for(request, pk, action="escalation_raise")
    return _detail_page(request, escalation, form)


@signed_in
def escalation_decide(request, pk: int):
    """A QAG member records QAG's decision (from the escalation page or the QAG pack)."""
    return _action_page(
        request,
        pk,
        action="escalation_decide",
        form_class=DecisionForm,
        template="notifications/escalation_decide.html",
        initial=lambda e: {
            "meeting": _meeting_held_since(e),
            "decision": request.GET.get("decision", ""),
        },
        ready=lambda e: (
            None
            if e.level == Level.QAG
            else "This escalation is still with the PMO: QAG records a decision once the PMO "
            "raises it to QAG."
        ),
        call=lambda e, data: services.escalation_decide(
            escalation_id=e.pk,
            by=request.user,
            decision=data["decision"],
            note=data["note"],
            meeting=data["meeting"],
            due=data["due"],
            expected_version=data["version"],
        ),
        beside=lambda e: {"case": case_for(request.user, e.scheme)},
    )


@signed_in
def scheme_stop(request, pk: int):
    """The scheme page's "Stop scheme" button. A scheme is stopped only by a QAG decision
    recorded on one of its escalations at QAG level, so this leads to that decision's page,
    with "stop" chosen; nothing is stopped here."""
    scheme = visible_scheme(request, pk, action="stop")
    check(request, "stop", scheme)  # a QAG member of its system, an escalation at QAG level
    escalation = (
        scheme.escalations.filter(status__in=ACTIVE, level=Level.QAG).order_by("raised_at").first()
    )
    return redirect(f"{reverse('escalation_decide', args=[escalation.pk])}?decision=stop")


# --- the QAG pack ---


@signed_in
def qag_pack(request):
    """The pack for the next meeting (or ?meeting=YYYY-MM-DD) of a system (?system=id)."""
    pack, systems, as_at_months, notice = _pack_for(request)
    user = request.user
    for escalation in pack.escalations:
        escalation.may_decide = escalation.level == Level.QAG and _may(
            user, "escalation_decide", escalation
        )
    return render(
        request,
        "notifications/qag_pack.html",
        {
            "pack": pack,
            "systems": systems,
            "meetings": qag.meetings(pack.system, timezone.localdate()),
            "as_at_months": as_at_months,
            "notice": notice,
            "here": f"{reverse('qag_pack')}?{request.GET.urlencode()}",
        },
    )


@signed_in
def qag_pack_pdf(request):
    """The same pack (same choices in the query) as a PDF for the meeting's papers: its own
    address rather than ?format=pdf, so it has its own row in the access table and a link
    that says what it gives."""
    pack, _, _, notice = _pack_for(request)
    if notice:
        # a paper is never for another meeting, or as at another month, than the one asked for
        raise Http404(notice)
    meeting = pack.meeting_date.isoformat() if pack.meeting_date else pack.today.isoformat()
    return pdf_response(
        request,
        "notifications/qag_pack_pdf.html",
        {"pack": pack},
        filename=f"QAG-pack-{pack.system.code}-{meeting}.pdf",
    )


def _pack_for(request):
    """The pack the query asks for, if the user may see it (else Refused): the pack, the
    user's systems, the months its figures may be as at (newest first) and the notice when
    the system, the meeting or the month asked for is not one of those offered."""
    if not services.may_see_escalations(request.user):
        raise Refused(
            "The QAG pack is for the PMO and the members of the QIPP Assurance Group.",
            action="view QAG pack",
        )
    systems = System.objects.filter(pk__in=request.user.system_ids).order_by("name")
    if not systems:
        raise Refused("You are not a member of any organisation yet.", action="pack")
    system, system_notice = _chosen_system(request, systems)
    latest = schedule.latest_month_due(timezone.localdate())
    as_at_months = _months_back_from(latest, 12)
    as_at, as_at_notice = _chosen_as_at(request, as_at_months)
    meeting, meeting_notice = _chosen_meeting(request, qag.meetings(system, timezone.localdate()))
    pack = qag.assemble(system, meeting_date=meeting, as_at=as_at)
    notices = [system_notice, meeting_notice, as_at_notice]
    return pack, systems, as_at_months, " ".join(filter(None, notices))


def _chosen_system(request, systems) -> tuple[System, str]:
    """The system asked for (?system=id), one of the user's own, else their first; and, when
    another was asked for, the notice that says the pack is their first system's instead."""
    asked = request.GET.get("system", "").strip()
    for system in systems:
        if asked in ("", str(system.pk)):
            return system, ""
    return systems[0], (
        f"\u201c{asked[:20]}\u201d is not a system of yours: the pack is {systems[0].name}'s."
    )


def _months_back_from(month: date, count: int) -> list[date]:
    """`month` and the count - 1 calendar months before it, newest first."""
    months = [month]
    while len(months) < count:
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months


def _chosen_as_at(request, months: list[date]) -> tuple[date | None, str]:
    """The month the figures are as at (?as_at=YYYY-MM), one of `months`, or None for the
    latest month whose returns are due; and, when another month or no month was typed, the
    notice that says the figures are as at the latest instead (empty when nothing is amiss)."""
    asked = request.GET.get("as_at", "").strip()
    if not asked:
        return None, ""
    try:
        chosen = date.fromisoformat(f"{asked}-01")
    except ValueError:
        chosen = None
    if chosen in months:
        return chosen, ""
    oldest, newest = months[-1], months[0]
    return None, (
        f"The figures can be as at a month from {oldest:%B %Y} to {newest:%B %Y} (written like "
        f"{newest:%Y-%m}), not \u201c{asked[:20]}\u201d: they are as at the latest month."
    )


def _chosen_meeting(request, meetings: list[date]) -> tuple[date | None, str]:
    """The meeting asked for (?meeting=YYYY-MM-DD), one of the `meetings` the page offers, or
    None for the next one; and, when another date or no date was typed, the notice that says
    the pack is for the next meeting instead (empty when nothing is amiss)."""
    asked = request.GET.get("meeting", "").strip()
    if not asked:
        return None, ""
    try:
        chosen = date.fromisoformat(asked)
    except ValueError:
        chosen = None
    if chosen in meetings:
        return chosen, ""
    offered = ", ".join(f"{day:%-d %B %Y}" for day in meetings) or "none"
    return None, (
        f"\u201c{asked[:20]}\u201d is not a QAG meeting date the pack can be for "
        f"({offered}): it is for the next meeting."
    )
