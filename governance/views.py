"""Pages of the PID workflow. Thin: check access, validate, call one service, redirect."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_POST

from governance import deputies, policy, services
from governance.delivery import schedule
from governance.delivery.rating import rag_for
from governance.forms import (
    DocumentForm,
    ReviewForm,
    SchemeFilterForm,
    SchemeForm,
    SubmitForm,
    WithdrawForm,
    form_after_conflict,
)
from governance.models import (
    MONTH_NAMES,
    Recurrence,
    Review,
    ReviewKind,
    Scheme,
    SchemeDocument,
    SchemeState,
)
from governance.pages import (
    Refused,
    act,
    check,
    form_version,
    holds_step,
    leave_to,
    refuse,
    signed_in,
    transition_page,
    visible_scheme,
)
from governance.reports import lists
from governance.selectors import (
    LONG_TEXTS,
    actions_for,
    deputy_tasks,
    history,
    judged_by_own_team,
    last_changed_by,
    sections_for,
    tasks_for,
    visible_schemes,
    with_schemes,
)
from qia.case import case_for

HOME_TASKS = 10


@signed_in
def home(request):
    visible = visible_schemes(request.user)
    # no order: the scheme's default one joined its organisation and year to the count
    counted = visible.order_by().values_list("state").annotate(n=Count("*"))
    counts = dict(counted.values_list("state", "n"))
    states = [(value, label, counts.get(value, 0)) for value, label in SchemeState.choices]
    tasks = tasks_for(request.user, HOME_TASKS)
    return render(
        request,
        "governance/home.html",
        {
            "states": states,
            "total": sum(counts.values()),
            "tasks": with_schemes(tasks.items),
            "more_tasks": tasks.total - len(tasks.items),
            "recent": request.user.notifications.all()[:5],
        },
    )


TASKS_PER_PAGE = 50
SCHEMES_PER_PAGE = 25


class _FoundTasks:
    """The tasks of the pages up to the one asked for, as the Paginator reads a list: their
    count is all of them."""

    def __init__(self, tasks):
        self.tasks = tasks

    def count(self) -> int:
        return self.tasks.total

    def __getitem__(self, index):
        return self.tasks.items[index]


@signed_in
def my_tasks(request):
    try:
        number = min(max(int(request.GET.get("page", 1)), 1), 10_000)
    except ValueError:
        number = 1
    # the tasks of this page and those before it: a page past the last shows the last
    found = _FoundTasks(tasks_for(request.user, number * TASKS_PER_PAGE))
    page = Paginator(found, TASKS_PER_PAGE).get_page(number)
    page.object_list = with_schemes(list(page.object_list))
    return render(
        request,
        "governance/my_tasks.html",
        {
            "page": page,
            "tasks": page.object_list,
            # the tasks of people away whose deputy the user is, and what deputies did for them
            "deputy_tasks": deputy_tasks(request.user),
            "done_for_you": deputies.done_for(request.user),
        },
    )


@signed_in
def scheme_list(request):
    """The schemes the user may see, filtered; ?format=csv or xlsx downloads all of them."""
    form = SchemeFilterForm(request.GET or None, user=request.user)
    schemes = visible_schemes(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            schemes = schemes.filter(
                Q(reference__icontains=data["q"])
                | Q(title__icontains=data["q"])
                | Q(description__icontains=data["q"])
            )
        for field in ("organisation", "financial_year", "programme_area", "state"):
            if data[field]:
                schemes = schemes.filter(**{field: data[field]})
    schemes = schemes.select_related(
        "organisation", "financial_year", "programme_area", "sro"
    ).defer(*LONG_TEXTS)
    listing = lists.listing(request, form)
    if listing.wants_file:
        return lists.response(_scheme_download(schemes), listing.output)
    return render(
        request,
        "governance/scheme_list.html",
        {
            "form": form,
            "page": Paginator(schemes, SCHEMES_PER_PAGE).get_page(request.GET.get("page")),
            **listing.context(),
        },
        status=listing.status,
    )


def _scheme_download(schemes) -> lists.Download:
    """The scheme list's columns as its page shows them, for every scheme it lists."""
    rags = rag_for(schemes)
    columns = [
        lists.Column("Reference", lambda s: s.reference),
        lists.Column("Title", lambda s: f"{s.title} (Recovery)" if s.is_recovery else s.title),
        lists.Column("Organisation", lambda s: s.organisation.code),
        lists.Column("Year", lambda s: s.financial_year.label),
        lists.Column("Programme area", lambda s: s.programme_area),
        lists.Column("SRO", lambda s: s.sro),
        lists.Column("State", lambda s: s.get_state_display()),
        lists.Column("RAG", lambda s: rags[s.pk].label if rags[s.pk] else ""),
        lists.Column("Annual plan", lambda s: s.annual_plan, saving=True),
    ]
    return lists.Download(f"schemes_{timezone.localdate():%Y-%m-%d}", columns, schemes)


@signed_in
def scheme_detail(request, pk: int):
    scheme = visible_scheme(request, pk)
    # each month: its name, its saving and the part of it that recurs; in rows of six months,
    # or of four for a mixed saving, whose recurrent part takes a row and its label a column
    mixed = scheme.recurrence == Recurrence.MIXED
    plan = list(zip(MONTH_NAMES, scheme.plan, scheme.recurrent_plan, strict=True))
    size = 4 if mixed else 6
    may_edit = policy.refusal("edit", request.user, scheme) is None
    as_at_month = _as_at_month(request, scheme)
    return render(
        request,
        "governance/scheme_detail.html",
        {
            "scheme": scheme,
            "plan_rows": [plan[start : start + size] for start in range(0, 12, size)],
            "mixed": mixed,
            "reviews": scheme.reviews.select_related("reviewer", "on_behalf_of"),
            "documents": scheme.documents.select_related("uploaded_by"),
            "history": history(scheme),
            "actions": actions_for(request.user, scheme),
            "may_edit": may_edit,
            "document_form": DocumentForm() if may_edit else None,
            "sections": sections_for(request.user, scheme, as_at_month),
            "judged_by_own_team": judged_by_own_team(scheme),
        },
    )


def _as_at_month(request, scheme) -> int:
    """The month of the scheme's year the page's figures are as at: ?month=N (1-12), else the
    latest month whose returns are due. A month that is not 1-12 is ignored, not an error."""
    chosen = request.GET.get("month", "")
    if chosen.isascii() and chosen.isdigit() and 1 <= int(chosen) <= 12:
        return int(chosen)
    return schedule.reporting_month(scheme.financial_year, schedule.today_or(None))


@signed_in
def scheme_create(request):
    reason = policy.refusal("create", request.user)
    if reason:
        return refuse(request, reason, action="create", target="new scheme")
    form = SchemeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            data = {**form.scheme_data(), "project_lead": request.user}
            scheme = services.scheme_create(by=request.user, data=data)
        except services.ActionRefused as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            form.add_error(None, "; ".join(exc.messages))
        else:
            messages.success(request, f"{scheme.reference} saved as a draft.")
            return redirect(scheme)
    return render(request, "governance/scheme_form.html", {"form": form, "scheme": None})


@signed_in
def scheme_edit(request, pk: int):
    scheme = visible_scheme(request, pk, action="edit")
    check(request, "edit", scheme)
    form = SchemeForm(request.POST or None, instance=scheme, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            _, changes = services.scheme_update(
                scheme_id=scheme.pk,
                by=request.user,
                data=form.scheme_data(),
                expected_version=form_version(form),
            )
        except services.Conflict:
            # saved meanwhile (another tab, another person): keep what was typed, say where
            # the saved PID now differs, and let the user save again knowingly
            form = _edit_conflict(request, scheme.pk, form)
        except services.ActionRefused as exc:
            # a refusal: show the scheme as it now is
            messages.warning(request, exc.message)
            return redirect(scheme)
        except ValidationError as exc:
            form.add_error(None, "; ".join(exc.messages))
        else:
            n = len(changes)
            messages.success(
                request, f"Saved {n} change{'s' if n != 1 else ''}." if n else "Nothing changed."
            )
            return redirect(scheme)
    return render(request, "governance/scheme_form.html", {"form": form, "scheme": scheme})


def _edit_conflict(request, pk: int, typed: SchemeForm) -> SchemeForm:
    """The edit form again after someone else saved the PID, merged field by field: their
    changes where the user left a field as drawn, the user's own where they changed it, and
    under a field both changed, theirs. Nothing is saved until the user saves again."""
    return form_after_conflict(
        request,
        typed,
        Scheme.objects.get(pk=pk),
        said="Someone else saved this PID while you were editing it, so nothing was saved. ",
        undrawn=(
            "What you typed is below: check the PID on the scheme page, then save again to "
            "keep your version."
        ),
        changed_by=last_changed_by,
    )


@signed_in
def scheme_submit(request, pk: int):
    scheme = get_object_or_404(Scheme, pk=pk)
    reviews = services.reviews_awaiting_response(scheme)
    return transition_page(
        request,
        pk,
        action="submit",
        form_class=SubmitForm,
        template="governance/scheme_submit.html",
        form_kwargs={"reviews": reviews},
        reviews=reviews,
        service=services.scheme_submit,
    )


def _review_recorded(scheme: Scheme, kind: str, user) -> str | None:
    review = services.recorded_review(scheme, kind)
    if review is None:
        return None
    if review.reviewer_id == user.pk:
        return services.yours_recorded(review)
    return (
        f"The {review.get_kind_display().lower()} review of this submission is already "
        f"recorded, by {review.reviewer}: {review.get_decision_display().lower()}."
    )


def _review_sent_again(request, pk: int, kind: str) -> Review | None:
    """The user's own review of the submission a posted review form was drawn from."""
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return None
    return services.own_review(
        scheme_id=pk, by=request.user, kind=kind, submission=form.cleaned_data["round"]
    )


@signed_in
def scheme_review(request, pk: int, kind: str):
    if kind not in ReviewKind.values:
        raise Http404("No such review.")
    if request.method == "POST" and (review := _review_sent_again(request, pk, kind)):
        # the same form sent twice (a double click): asked before the page checks access, as
        # the first submit may have sent the scheme back to draft, out of the reviewer's sight
        messages.info(request, services.yours_recorded(review))
        return leave_to(request, review.scheme)
    other = next(k for k in ReviewKind if k != kind)
    # the case beside the form, assembled only when the page is drawn (access checked by then)
    case = SimpleLazyObject(lambda: case_for(request.user, visible_scheme(request, pk)))
    try:
        return transition_page(
            request,
            pk,
            action=f"{kind}_review",
            form_class=ReviewForm,
            template="governance/scheme_review.html",
            kind_label=ReviewKind(kind).label,
            case=case,
            done=lambda scheme: _review_recorded(scheme, kind, request.user),
            still=lambda scheme: (
                f"Your {ReviewKind(kind).label.lower()} review of {scheme.reference} is recorded. "
                f"It stays in confirm and challenge until the {other.label.lower()} review is in."
            ),
            service=services.scheme_review,
            arguments={"kind": kind},
        )
    except Refused as exc:
        if request.method == "GET" and _sent_back_meanwhile(request.user, pk, kind):
            # the reviewer's link (an old notification) to a scheme the other reviewer sent
            # back: out of their sight until resubmitted, and nothing to refuse. Their tasks,
            # not the scheme's page, which they may not see now
            messages.info(request, exc.reason)
            return redirect("my_tasks")
        raise


def _sent_back_meanwhile(user, pk: int, kind: str) -> bool:
    """Whether the scheme is back with its team for revision, out of the sight of this user,
    who reviews it when it is resubmitted: the refusal of their review's page then says so."""
    scheme = get_object_or_404(Scheme.objects.select_related("organisation"), pk=pk)
    action = f"{kind}_review"
    return (
        scheme.state == SchemeState.DRAFT
        and scheme.submission_round > 0
        and not policy.can_view_scheme(user, scheme)
        and holds_step(user, scheme, action, policy.RULES[action])
    )


@signed_in
def scheme_withdraw(request, pk: int):
    return transition_page(
        request,
        pk,
        action="withdraw",
        form_class=WithdrawForm,
        template="governance/scheme_withdraw.html",
        service=services.scheme_withdraw,
    )


@signed_in
@require_POST
def document_upload(request, pk: int):
    scheme = visible_scheme(request, pk, action="edit")
    reason = policy.refusal("edit", request.user, scheme)
    if reason:
        return refuse(request, reason, action="upload document", target=scheme.reference)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"Document not added: {error}")
        return redirect(scheme)
    if act(
        request,
        lambda: services.document_add(
            scheme_id=scheme.pk,
            by=request.user,
            kind=form.cleaned_data["kind"],
            upload=form.cleaned_data["file"],
            content_type=form.content_type,
            description=form.cleaned_data["description"],
        ),
    ):
        messages.success(request, f"Added {form.cleaned_data['file'].name}.")
    return redirect(scheme)


@signed_in
def document_download(request, pk: int):
    document = get_object_or_404(SchemeDocument.objects.select_related("scheme"), pk=pk)
    visible_scheme(request, document.scheme_id, action="download document")  # or Refused
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file of this document is missing.") from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )


@signed_in
@require_POST
def document_delete(request, pk: int):
    document = get_object_or_404(SchemeDocument.objects.select_related("scheme"), pk=pk)
    scheme = visible_scheme(request, document.scheme_id, action="delete document")
    if act(
        request,
        lambda: services.document_remove(document_id=document.pk, by=request.user),
    ):
        messages.success(request, f"Removed {document.original_name}.")
    return redirect(scheme)
