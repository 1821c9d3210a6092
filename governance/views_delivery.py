"""Delivery pages: start, close and stop a scheme; enter, correct and assure monthly returns;
the dashboard (carrying recurrent savings into next year: views_carry). Thin: check access,
validate, call one service, redirect with a message."""

import logging
import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from governance import policy, roles
from governance.delivery import lifecycle, monthly_returns, progress, rating, schedule
from governance.forms_delivery import (
    AssuredFilterForm,
    AssureForm,
    AssureRowFormSet,
    CompleteForm,
    DashboardForm,
    ReturnForm,
    StartDeliveryForm,
)
from governance.models import (
    MONTHS,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    Scheme,
)
from governance.pages import (
    Refused,
    add_errors,
    check,
    organisation_asked,
    posted,
    signed_in,
    transition_page,
    visible_scheme,
    whole_number,
)
from governance.reports import lists
from governance.services import ActionRefused, Conflict, record_refusal
from qia.case import case_for, cases_for

# who downloaded which records, for audit: a download takes them out of the product's sight
audit = logging.getLogger("qipp.audit")


def _delivery_url(scheme: Scheme) -> str:
    return f"{scheme.get_absolute_url()}#delivery"


@signed_in
def scheme_start_delivery(request, pk: int):
    return transition_page(
        request,
        pk,
        action="start_delivery",
        form_class=StartDeliveryForm,
        template="delivery/start.html",
        service=lifecycle.scheme_start_delivery,
    )


@signed_in
def scheme_complete(request, pk: int):
    return transition_page(
        request,
        pk,
        action="complete",
        form_class=CompleteForm,
        template="delivery/complete.html",
        service=lifecycle.scheme_complete,
    )


def _check_month(month: int | None) -> None:
    if month is not None and month not in MONTHS:
        raise Http404("There is no such month: months run from 1 (April) to 12 (March).")


@signed_in
def return_edit(request, pk: int, month: int | None = None):
    """Enter a return (month chosen on the page, or given) or correct the month's return."""
    _check_month(month)
    scheme = visible_scheme(request, pk, action="enter_return")
    check(request, "enter_return", scheme)
    if (chosen := _month_already_in(request, scheme, month)) is not None:
        return redirect("return_edit", scheme.pk, chosen)  # correct that month's return
    existing = scheme.returns.filter(month=month).first() if month else None
    form = ReturnForm(
        request.POST or None,
        initial=_return_initial(request, existing),
        financial_year=scheme.financial_year,
        fixed_month=month,
        returned=set(scheme.returns.values_list("month", flat=True)),
    )
    if month is None and request.method == "GET" and not form.fields["month"].choices:
        messages.info(request, _no_month_to_enter(scheme))
        return redirect(_delivery_url(scheme))
    if request.method == "POST" and form.is_valid():
        if (answer := _save_return(request, scheme, form, month)) is not None:
            return answer
    return render(
        request,
        "delivery/return_form.html",
        {
            "scheme": scheme,
            "form": form,
            "month": month,
            "label": schedule.month_label(scheme.financial_year, month) if month else "",
            "plan": scheme.plan[month - 1] if month else None,
            "existing": existing,
            "history": monthly_returns.return_history(scheme, month) if month else [],
        },
    )


def _month_already_in(request, scheme: Scheme, month: int | None) -> int | None:
    """The month asked for on the new-return page (?month=) when its return is already in."""
    asked = request.GET.get("month", "")
    if month is None and request.method == "GET" and re.fullmatch(r"[0-9]{1,2}", asked):
        chosen = int(asked)
        if chosen in MONTHS and scheme.returns.filter(month=chosen).exists():
            return chosen
    return None


def _no_month_to_enter(scheme: Scheme) -> str:
    """Why the new-return page has no month to offer: every month begun has its return, or
    none has begun."""
    year = scheme.financial_year
    if (not_begun := monthly_returns.not_started(year, MONTHS[0])) is not None:
        return not_begun
    return (
        f"Every month of {year.label} that has begun has its return in. To change one, "
        "choose Correct beside its month in the delivery section."
    )


def _return_initial(request, existing) -> dict:
    initial = {"token": monthly_returns.return_token(existing)}
    if request.GET.get("month"):
        # else the form starts at the first month still to return
        initial["month"] = request.GET["month"]
    if existing:
        initial.update(
            actual=existing.actual,
            forecast_outturn=existing.forecast_outturn,
            commentary=existing.commentary,
        )
    return initial


def _save_return(request, scheme: Scheme, form, month: int | None):
    """Save the return; where the page goes next, or None to show the form with its errors."""
    data = form.cleaned_data
    chosen = month or data["month"]
    label = schedule.month_label(scheme.financial_year, chosen)
    try:
        saved = monthly_returns.return_save(
            scheme_id=scheme.pk,
            month=chosen,
            by=request.user,
            actual=data["actual"],
            forecast_outturn=data["forecast_outturn"],
            commentary=data["commentary"],
            expected_token=data["token"],
        )
    except Conflict:
        return _saved_meanwhile(request, scheme, form, new=month is None, month=chosen)
    except (ActionRefused, ValidationError) as exc:
        form.add_error(None, _why(exc))
        return None
    _say_saved(request, saved, label, chosen)
    return redirect(_delivery_url(scheme))


def _saved_meanwhile(request, scheme: Scheme, form, *, new: bool, month: int):
    """Someone else saved this month's return first: nothing was saved. A new return keeps
    what was typed and says whose return is in; a correction shows the return as it now is."""
    there = scheme.returns.filter(month=month).select_related("entered_by").first()
    if new and there is not None:
        label = schedule.month_label(scheme.financial_year, month)
        form.add_error(
            "month",
            f"The {label} return is already in, entered by {there.entered_by}, so "
            "nothing was saved. To change its figures, correct that return (Correct, "
            "in the scheme's delivery section).",
        )
        return None
    messages.warning(
        request,
        "A return for that month was saved by someone else meanwhile, so nothing "
        "was saved. Here it is as it now stands: correct it if still needed.",
    )
    return redirect("return_edit", scheme.pk, month)


def _why(exc: ActionRefused | ValidationError) -> str:
    """The reason a save was refused, for the top of the form."""
    if isinstance(exc, ActionRefused):
        return exc.message
    return "; ".join(exc.messages)


def _say_saved(request, saved, label: str, month: int) -> None:
    if saved.created:
        messages.success(request, f"The {label} return is saved.")
    elif saved.changes:
        cleared = any(c.field == monthly_returns.assured_field(month) for c in saved.changes)
        messages.success(
            request,
            f"The {label} return is corrected; the change is in its history."
            + (" Its PMO assurance was cleared: the PMO will assure it again." if cleared else ""),
        )
    else:
        messages.info(request, f"Nothing changed in the {label} return.")


@signed_in
def return_assure(request, pk: int, month: int):
    _check_month(month)
    scheme = visible_scheme(request, pk, action="assure_return")
    monthly_return = (
        MonthlyReturn.objects.filter(scheme=scheme, month=month)
        .select_related("entered_by", "assured_by", "assured_document")
        .first()
    )
    check(request, "assure_return", scheme, monthly_return=monthly_return)
    label = schedule.month_label(scheme.financial_year, month)
    if monthly_return is None:
        messages.warning(request, f"There is no {label} return to assure yet.")
        return redirect(_delivery_url(scheme))
    form = AssureForm(
        request.POST or None,
        request.FILES or None,
        initial=_assure_initial(monthly_return),
        monthly_return=monthly_return,
    )
    if request.method == "POST" and form.is_valid():
        if (answer := _assure(request, scheme, month, form, label)) is not None:
            return answer
    return render(
        request,
        "delivery/return_assure.html",
        {
            "scheme": scheme,
            "form": form,
            "label": label,
            "plan": scheme.plan[month - 1],
            "ret": monthly_return,
            "history": monthly_returns.return_history(scheme, month),
            "case": case_for(request.user, scheme, as_at_month=month),
        },
    )


def _assure_initial(monthly_return: MonthlyReturn) -> dict:
    """The form as the return stands: what is assured already, with its reason and evidence
    (sent back unless changed), or else the actual to start with."""
    ret = monthly_return
    initial = {"token": monthly_returns.return_token(ret), "pmo_assured": ret.actual}
    if ret.assured_at:
        initial.update(
            pmo_assured=ret.pmo_assured,
            assured_reason=ret.assured_reason,
            assured_link=ret.assured_link,
            assured_document=ret.assured_document_id,
        )
    return initial


def _assure(request, scheme: Scheme, month: int, form, label: str):
    """Record the assured value; where the page goes next, or None to show the form again."""
    try:
        monthly_returns.return_assure(
            scheme_id=scheme.pk, month=month, by=request.user, **form.service_arguments()
        )
    except Conflict:
        messages.warning(
            request,
            f"The {label} return was changed while you were looking at it, so nothing was "
            "saved. Check the figures below and assure it again.",
        )
        return redirect("return_assure", scheme.pk, month)
    except ActionRefused as exc:
        form.add_error(None, exc.message)
        return None
    except ValidationError as exc:
        add_errors(form, exc)
        return None
    messages.success(request, f"The {label} return is assured.")
    return redirect(_delivery_url(scheme))


@signed_in
def returns_assure_all(request):
    """The PMO assures a month's returns of their organisation at once: each ticked return at
    the value given, the actual to start with. The rule of the one-return page holds for each
    (ACCESS.md: never a return they entered or corrected, never their own scheme's)."""
    organisation, missing = _pmo_organisation(request)
    waiting = list(monthly_returns.waiting_assurance(organisation.pk))
    months = _months_waiting(waiting)
    chosen, month_note = _month_chosen(request.GET.get("month"), months)
    if request.method == "GET":
        # said on the page drawn: a POST goes back to the page, which says it then
        if missing:
            messages.info(request, f"{missing}: showing {organisation.code}.")
        if month_note:
            messages.info(request, month_note)
    in_month = [r for r in waiting if _month_key(r) == chosen]
    mine, others = _assurable(request.user, in_month)
    formset = AssureRowFormSet(
        posted(request),
        initial=[
            {"ret": r.pk, "token": monthly_returns.return_token(r), "pmo_assured": r.actual}
            for r in mine
        ],
        # each row's actual as the page showed it (a return changed since is left to the
        # service, which says so)
        form_kwargs={"actuals": {(r.pk, monthly_returns.return_token(r)): r.actual for r in mine}},
    )
    if request.method == "POST" and formset.is_valid():
        _assure_rows(request, formset, {r.pk: r for r in mine})
        query = urlencode({"organisation": organisation.pk, "month": chosen})
        return redirect(f"{reverse('returns_assure_all')}?{query}")
    by_id = {r.pk: r for r in mine}
    # the case of each scheme beside the form, its delivery as at the month chosen
    month = in_month[0].month if in_month else None
    cases = cases_for(request.user, [r.scheme for r in mine], as_at_month=month)
    for ret in mine:
        ret.case = cases[ret.scheme_id]
    context = {
        "organisation": organisation,
        "organisations": Organisation.objects.filter(pk__in=request.user.organisation_ids),
        "months": months,
        "chosen": chosen,
        "formset": formset,
        "rows": [(by_id.get(whole_number(form["ret"].value())), form) for form in formset.forms],
        "others": others,
    }
    return render(request, "delivery/returns_assure_all.html", context)


def _pmo_organisation(request) -> tuple[Organisation, str | None]:
    """The organisation asked for (?organisation=), one the PMO user belongs to, with what
    was wrong with the address when it named no organisation (organisation_asked)."""
    if not request.user.has_role(roles.PMO) or not request.user.organisation_ids:
        raise Refused(
            "Returns are assured by the PMO of the scheme's organisation.",
            action="assure_return",
            target="returns to assure",
        )
    found, missing = organisation_asked(request.user, request.GET.get("organisation"))
    if found.pk not in request.user.organisation_ids:
        raise Refused(
            "You assure the returns of your own organisations only.",
            action="assure_return",
            target=f"organisation {found.code}",
        )
    return found, missing


def _month_key(monthly_return: MonthlyReturn) -> str:
    return f"{monthly_return.scheme.financial_year.start_year}-{monthly_return.month}"


def _month_chosen(asked: str | None, months: dict[str, tuple[str, int]]) -> tuple[str, str]:
    """The month the page shows (its key, "2026-7"): the one asked for while it has returns
    waiting, else the first month that has; with a word when the one asked for has none left
    (all assured, say) or is no month at all."""
    first = next(iter(months), "")
    if not asked:
        return first, ""
    found = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", asked.strip())
    start_year, month = (int(found[1]), int(found[2])) if found else (0, 0)
    if f"{start_year}-{month}" in months:
        return f"{start_year}-{month}", ""
    instead = f": showing {months[first][0]}, the first month with returns waiting" if first else ""
    if not (found and 2000 <= start_year <= 2100 and month in MONTHS):
        return first, f"{asked[:20]!r} is not a month{instead}."
    label = schedule.month_label(FinancialYear(start_year=start_year), month)
    return first, f"No returns of {label} are waiting for assurance{instead}."


def _months_waiting(waiting: list[MonthlyReturn]) -> dict[str, tuple[str, int]]:
    """Each month with returns waiting, oldest first: key -> (label, how many)."""
    months: dict[str, tuple[str, int]] = {}
    for ret in waiting:
        key = _month_key(ret)
        label = schedule.month_label(ret.scheme.financial_year, ret.month)
        months[key] = (label, months[key][1] + 1 if key in months else 1)
    return months


def _assurable(user, returns: list[MonthlyReturn]):
    """Those this user may assure, and the others with the reason they may not; each with
    its month in words and its plan, as the page shows them."""
    mine, others = [], []
    touched = monthly_returns.touched_among(returns, user)
    for ret in returns:
        ret.label = schedule.month_label(ret.scheme.financial_year, ret.month)
        ret.planned = ret.scheme.plan[ret.month - 1]
        reason = policy.refusal(
            "assure_return", user, ret.scheme, monthly_return=ret, touched=ret.pk in touched
        )
        if reason is None:
            mine.append(ret)
        else:
            others.append((ret, reason))
    return mine, others


def _assure_rows(request, formset, mine: dict[int, MonthlyReturn]) -> None:
    """Assure each ticked return, each on its own (locked, its token checked), and say what
    was assured and what was not, with the reason."""
    assured, not_assured = 0, []
    for form in formset.forms:
        data = form.cleaned_data
        ret = mine.get(data.get("ret"))
        if not data.get("assure"):
            continue
        if ret is None:
            not_assured.append(_not_offered(request.user, data.get("ret")))
            continue
        try:
            monthly_returns.return_assure(
                scheme_id=ret.scheme_id,
                month=ret.month,
                by=request.user,
                value=data["pmo_assured"],
                reason=data["assured_reason"],
                link=data["assured_link"],
                expected_token=data["token"],
            )
        except Conflict:
            not_assured.append(f"{ret.scheme.reference} (changed meanwhile: check it again)")
        except (ActionRefused, ValidationError) as exc:
            not_assured.append(f"{ret.scheme.reference} ({_why(exc)})")
        else:
            assured += 1
    if assured:
        messages.success(request, f"{assured} return{'s' if assured != 1 else ''} assured.")
    if not_assured:
        messages.warning(request, "Not assured: " + "; ".join(not_assured) + ".")


def _not_offered(user, return_id) -> str:
    """Why a ticked return the page did not offer was not assured: assured meanwhile, or (a
    form made up or kept from another page) not the user's to assure, which is a refusal and
    goes on the refusal log with its reason."""
    found = MonthlyReturn.objects.select_related("scheme").filter(pk=return_id or 0).first()
    reason = found and policy.refusal(
        "assure_return",
        user,
        found.scheme,
        monthly_return=found,
        touched=bool(monthly_returns.touched_among([found], user)),
    )
    if not reason:
        return "a return no longer waiting for you"
    record_refusal(user=user, action="assure_return", target=found.scheme.reference, reason=reason)
    return "a return that is not yours to assure"


@signed_in
def assured_values(request):
    """The assured values of the PMO's organisations with their reasons and evidence, for
    audit, filtered; ?format=csv or xlsx downloads all of them, and the download is logged."""
    if not request.user.has_role(roles.PMO) or not request.user.organisation_ids:
        raise Refused(
            "The assured values and their reasons are for the PMO of an organisation.",
            action="assured_values",
        )
    asked = request.GET.get("organisation")
    if asked:  # empty is the filter's "All my organisations"
        found, missing = organisation_asked(request.user, asked)
        if found.pk not in request.user.organisation_ids:
            raise Refused(
                "You see the assured values of your own organisations only.",
                action="assured_values",
                target=f"organisation {found.code}",
            )
        if asked != str(found.pk):
            # a code, or no organisation at all: the page of that organisation (or the user's
            # first), so that the filters, the pages and the downloads all read it alike
            if missing:
                messages.info(request, f"{missing}: showing {found.code}.")
            query = request.GET.copy()
            query["organisation"] = found.pk
            return redirect(f"{reverse('assured_values')}?{query.urlencode()}")
    form = AssuredFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    returns = monthly_returns.assured_returns(request.user.organisation_ids, **filters)
    listing = lists.listing(request, form)
    if listing.wants_file:
        download = _assured_download(list(returns))
        audit.info(
            "assured values downloaded: user=%s format=%s rows=%d filters=%s",
            request.user.username,
            listing.output,
            len(download.rows),
            listing.query.urlencode() or "none",
        )
        return lists.response(download, listing.output)
    page = Paginator(returns, settings.QIPP_PAGE_SIZE).get_page(request.GET.get("page"))
    for ret in page:
        ret.label = schedule.month_label(ret.scheme.financial_year, ret.month)
        ret.difference = ret.pmo_assured - ret.actual
    return render(
        request,
        "delivery/assured_values.html",
        {"form": form, "page": page, **listing.context()},
        status=listing.status,
    )


def _assured_download(returns: list[MonthlyReturn]) -> lists.Download:
    """The list of assured values as its page shows it, every row its filters find."""
    columns = [
        lists.Column("Scheme reference", lambda r: r.scheme.reference),
        lists.Column("Title", lambda r: r.scheme.title),
        lists.Column("Organisation", lambda r: r.scheme.organisation.code),
        lists.Column("Year", lambda r: r.scheme.financial_year.label),
        lists.Column("Month", lambda r: schedule.month_label(r.scheme.financial_year, r.month)),
        lists.Column("Actual", lambda r: r.actual, saving=True),
        lists.Column("PMO assured value", lambda r: r.pmo_assured, saving=True),
        lists.Column("Difference", lambda r: r.pmo_assured - r.actual, saving=True),
        lists.Column("Reason", lambda r: r.assured_reason),
        lists.Column(
            "Evidence",
            lambda r: monthly_returns.evidence_words(r.assured_link, r.assured_document),
        ),
        lists.Column("Assured by", lambda r: r.assured_by),
        lists.Column("Assured at", lambda r: f"{timezone.localtime(r.assured_at):%Y-%m-%d %H:%M}"),
    ]
    return lists.Download(f"assured_values_{timezone.localdate():%Y-%m-%d}", columns, returns)


@signed_in
def dashboard(request):
    """Every signed-in user of a system sees its dashboard (ACCESS.md)."""
    if not request.user.system_ids:
        raise Refused(
            "You are not a member of any organisation yet, so there is no dashboard to show: "
            "ask an administrator.",
            action="dashboard",
        )
    today = timezone.localdate()
    form, year, month = _dashboard_choice(request, today)
    if year is None:
        return render(request, "delivery/dashboard.html", {"form": form, "board": None})
    board = progress.dashboard(user=request.user, financial_year=year, month=month, today=today)
    return render(
        request,
        "delivery/dashboard.html",
        {"form": form, "board": board, "thresholds": rating.thresholds()},
    )


def _dashboard_choice(request, today):
    """The form, and the year and month the board is drawn for: those asked for, or this
    year as at the latest returns due (saying so when what was asked for is not there)."""
    asked = request.GET.copy()
    # the year as the reports write it (2019/20) is understood as well as its first year
    if (start := FinancialYear.parse_label(asked.get("year", ""))) is not None:
        asked["year"] = str(start)
    form = DashboardForm(asked or None)
    year, month = None, None
    if form.is_valid():
        year, month = form.cleaned_data["year"], form.cleaned_data["month"]
    year = year or schedule.current_year(today)
    if year is None:
        return form, None, None
    if form.is_bound and not form.is_valid():
        wrong = {"year": "financial year", "month": "month"}
        asked_for = " or ".join(
            f"{wrong[name]} {request.GET.get(name, '')!r}" for name in form.errors if name in wrong
        )
        messages.warning(
            request,
            f"There is no {asked_for} to show: the dashboard shows {year.label} as at the "
            "latest returns due. Choose a year and month below.",
        )
    if not (form.is_valid() and form.cleaned_data["year"]):
        # the form shows the year and month the board is drawn for, even when the address
        # named no year (or a bad one)
        form = DashboardForm(initial={"year": year.start_year, "month": month})
    return form, year, month
