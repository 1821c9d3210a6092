"""The Pipeline: opportunities (ideas for a saving before their PID), listed, added, changed,
closed and written up as a PID. Thin: check access, validate, call one service, redirect."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from governance import policy
from governance.forms import form_after_conflict
from governance.forms_pipeline import CloseForm, OpportunityForm, PipelineFilterForm, WriteUpForm
from governance.models import Opportunity, OpportunityStatus
from governance.pages import Refused, add_errors, form_version, signed_in
from governance.pipeline import LONG_TEXTS, visible_opportunities
from governance.reports import lists
from governance.selectors import opportunity_last_changed_by
from governance.services import ActionRefused, Conflict
from governance.services import opportunities as services

OPPORTUNITIES_PER_PAGE = 25

# What an opportunity's pages show of it, read with it in one query.
RELATED = (
    "organisation__system",
    "financial_year",
    "programme_area",
    "area_of_spend",
    "owner",
    "created_by",
    "scheme",
)


def visible_opportunity(request, pk: int, *, action: str = "view") -> Opportunity:
    """The opportunity, if the user may see it (404 when there is none, Refused when hidden)."""
    opportunity = get_object_or_404(Opportunity.objects.select_related(*RELATED), pk=pk)
    if not policy.can_view_opportunity(request.user, opportunity):
        raise Refused(
            "You do not have access to this opportunity.",
            action=action,
            target=f"opportunity {pk}",
        )
    return opportunity


def check(request, action: str, opportunity: Opportunity) -> None:
    """Raise Refused, with the policy's reason, when the user may not do `action`."""
    reason = policy.opportunity_refusal(action, request.user, opportunity)
    if reason:
        raise Refused(reason, action=action, target=opportunity.reference)


@signed_in
def pipeline(request):
    """The opportunities the user sees, filtered; ?format=csv or xlsx downloads all of them."""
    form = PipelineFilterForm(request.GET or None, user=request.user)
    found = visible_opportunities(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            found = found.filter(
                Q(reference__icontains=data["q"])
                | Q(title__icontains=data["q"])
                | Q(description__icontains=data["q"])
            )
        for field in ("organisation", "financial_year", "status"):
            if data[field]:
                found = found.filter(**{field: data[field]})
    found = (
        found.select_related(
            "organisation", "financial_year", "programme_area", "area_of_spend", "owner"
        )
        .annotate(scheme_reference=F("scheme__reference"))
        .defer(*LONG_TEXTS)
        .order_by("-financial_year__start_year", "organisation__code", "sequence")
    )
    listing = lists.listing(request, form)
    if listing.wants_file:
        return lists.response(_download(found), listing.output)
    return render(
        request,
        "pipeline/list.html",
        {
            "form": form,
            "page": Paginator(found, OPPORTUNITIES_PER_PAGE).get_page(request.GET.get("page")),
            **listing.context(),
            "may_add": policy.opportunity_refusal("opportunity_create", request.user) is None,
        },
        status=listing.status,
    )


def status_words(opportunity: Opportunity) -> str:
    """Its status as the list shows it: "Written up as a PID (ELR-2728-006)"."""
    if opportunity.status == OpportunityStatus.CONVERTED:
        return f"{opportunity.get_status_display()} ({opportunity.scheme_reference})"
    return opportunity.get_status_display()


def _download(found) -> lists.Download:
    """The Pipeline's columns as its page shows them, for every opportunity it lists."""
    columns = [
        lists.Column("Reference", lambda o: o.reference),
        lists.Column("Title", lambda o: o.title),
        lists.Column("Organisation", lambda o: o.organisation.code),
        lists.Column("Year", lambda o: o.financial_year.label),
        lists.Column("Programme area", lambda o: o.programme_area),
        lists.Column("Area of spend", lambda o: o.area_of_spend),
        lists.Column("Owner", lambda o: o.owner),
        lists.Column("Status", status_words),
        lists.Column("Estimated saving", lambda o: o.estimated_saving, saving=True),
    ]
    return lists.Download(f"pipeline_{timezone.localdate():%Y-%m-%d}", columns, found)


@signed_in
def opportunity_detail(request, pk: int):
    opportunity = visible_opportunity(request, pk)
    user = request.user

    may_edit = policy.opportunity_refusal("opportunity_edit", user, opportunity) is None
    no_write_up = policy.opportunity_refusal("opportunity_write_up", user, opportunity)
    return render(
        request,
        "pipeline/detail.html",
        {
            "opportunity": opportunity,
            "events": opportunity.events.select_related("by").order_by("-at", "-pk"),
            "may_edit": may_edit,
            "may_close": policy.opportunity_refusal("opportunity_close", user, opportunity) is None,
            "may_write_up": no_write_up is None,
            # to those who look after it, why there is no button: its owner writes the PID
            "write_up_note": no_write_up if may_edit else None,
            "scheme_visible": opportunity.scheme is not None
            and policy.can_view_scheme(user, opportunity.scheme),
        },
    )


@signed_in
def opportunity_create(request):
    reason = policy.opportunity_refusal("opportunity_create", request.user)
    if reason:
        raise Refused(reason, action="opportunity_create", target="new opportunity")
    form = OpportunityForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.opportunity_create(by=request.user, data=form.opportunity_data())
        except services.AlreadyAdded as exc:
            # the same form sent twice: the first submit added it, the second is no refusal
            messages.info(request, exc.message)
            return redirect("opportunity_detail", exc.opportunity.pk)
        except ActionRefused as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"{opportunity.reference} added to the pipeline.")
            return redirect("opportunity_detail", opportunity.pk)
    return render(request, "pipeline/form.html", {"form": form, "opportunity": None})


@signed_in
def opportunity_edit(request, pk: int):
    opportunity = visible_opportunity(request, pk, action="opportunity_edit")
    check(request, "opportunity_edit", opportunity)
    form = OpportunityForm(request.POST or None, instance=opportunity, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            _, changes = services.opportunity_update(
                opportunity_id=pk,
                by=request.user,
                data=form.opportunity_data(),
                expected_version=form_version(form),
            )
        except Conflict:
            # saved meanwhile: keep what was typed, drawn against the version now saved
            form = _edit_conflict(request, pk, form)
        except ActionRefused as exc:
            messages.warning(request, exc.message)
            return redirect("opportunity_detail", pk)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            n = len(changes)
            messages.success(
                request, f"Saved {n} change{'s' if n != 1 else ''}." if n else "Nothing changed."
            )
            return redirect("opportunity_detail", pk)
    return render(request, "pipeline/form.html", {"form": form, "opportunity": opportunity})


def _edit_conflict(request, pk: int, typed: OpportunityForm) -> OpportunityForm:
    """The edit form again after someone else saved the opportunity, merged field by field:
    their changes where the user left a field as drawn, the user's own where they changed it,
    and under a field both changed, theirs. Nothing is saved until the user saves again."""
    return form_after_conflict(
        request,
        typed,
        Opportunity.objects.select_related(*RELATED).get(pk=pk),
        said="This opportunity was changed meanwhile by someone else, so nothing was saved. ",
        undrawn=(
            "What you typed is below: check the opportunity's page for their change, then "
            "save again to keep yours."
        ),
        changed_by=opportunity_last_changed_by,
    )


@signed_in
def opportunity_close(request, pk: int):
    opportunity = visible_opportunity(request, pk, action="opportunity_close")
    check(request, "opportunity_close", opportunity)
    form = CloseForm(request.POST or None, initial={"version": opportunity.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_close(
                opportunity_id=pk, by=request.user, **form.service_arguments()
            )
        except ActionRefused as exc:  # a Conflict too: someone else changed it meanwhile
            messages.warning(request, exc.message)
        else:
            messages.success(request, f"{opportunity.reference} is closed.")
        return redirect("opportunity_detail", pk)
    return render(request, "pipeline/close.html", {"form": form, "opportunity": opportunity})


@signed_in
def opportunity_write_up(request, pk: int):
    """The confirmation page, then one POST: a draft PID from the opportunity."""
    opportunity = visible_opportunity(request, pk, action="opportunity_write_up")
    check(request, "opportunity_write_up", opportunity)
    form = WriteUpForm(
        request.POST or None, initial={"version": opportunity.version}, opportunity=opportunity
    )
    if request.method == "POST" and form.is_valid():
        try:
            scheme = services.opportunity_write_up(
                opportunity_id=pk, by=request.user, **form.service_arguments()
            )
        except ActionRefused as exc:  # a Conflict too: someone else changed it meanwhile
            messages.warning(request, exc.message)
            return redirect("opportunity_detail", pk)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                f"{scheme.reference} saved as a draft PID from {opportunity.reference}: add its "
                "savings plan month by month, then submit it.",
            )
            return redirect(scheme)
    return render(
        request,
        "pipeline/write_up.html",
        {
            "form": form,
            "opportunity": opportunity,
            "start_date": services.pid_start_date(opportunity.financial_year, timezone.localdate()),
        },
    )
