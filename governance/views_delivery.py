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
from django.utils.text import Truncator

from governance import money, policy, roles
from governance.delivery import lifecycle, monthly_returns, progress, rating, schedule
from governance.forms import id_in_range
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
    existing = _return_of(scheme, month) if month else None
    form = _return_form(
        request.POST or None, scheme, month, initial=_return_initial(request, existing)
    )
    if month is None and request.method == "GET" and not form.fields["month"].choices:
        messages.info(request, _no_month_to_enter(scheme))
        return redirect(_delivery_url(scheme))
    meanwhile = ""
    if request.method == "POST" and form.is_valid():
        chosen = month or form.cleaned_data["month"]
        try:
            if (answer := _save_return(request, scheme, form, chosen)) is not None:
                return answer
        except Conflict:
            # saved meanwhile (the PMO's assurance, an import, another tab): what was typed
            # comes back, drawn from the return as it now is and with it stated above, so
            # that saving again replaces it knowingly
            there = _return_of(scheme, chosen)
            meanwhile = _changed_meanwhile(request, scheme, chosen, there, new=month is None)
            form = _return_form(_drawn_from(request.POST, there), scheme, month)
            form.is_valid()
            existing = there if month else None
    return render(
        request,
        "delivery/return_form.html",
        {
            "scheme": scheme,
            "form": form,
            "meanwhile": meanwhile,
            "month": month,
            "label": schedule.month_label(scheme.financial_year, month) if month else "",
            "plan": scheme.plan[month - 1] if month else None,
            "existing": existing,
            "history": monthly_returns.return_history(scheme, month) if month else [],
        },
    )


def _return_of(scheme: Scheme, month: int) -> MonthlyReturn | None:
    """The scheme's return for the month as it now stands, with who entered and assured it."""
    return (
        MonthlyReturn.objects.filter(scheme=scheme, month=month)
        .select_related("entered_by", "assured_by", "assured_document")
        .first()
    )


def _return_form(data, scheme: Scheme, month: int | None, **kwargs) -> ReturnForm:
    return ReturnForm(
        data,
        financial_year=scheme.financial_year,
        fixed_month=month,
        returned=set(scheme.returns.values_list("month", flat=True)),
        **kwargs,
    )


def _drawn_from(data, monthly_return: MonthlyReturn | None):
    """What was posted, as if drawn from the return as it now is: sent again, it is saved."""
    data = data.copy()
    data["token"] = monthly_returns.return_token(monthly_return)
    return data


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


def _save_return(request, scheme: Scheme, form, month: int):
    """Save the return; where the page goes next, or None to show the form with its errors.
    A return saved meanwhile is the caller's to show (Conflict)."""
    data = form.cleaned_data
    label = schedule.month_label(scheme.financial_year, month)
    try:
        saved = monthly_returns.return_save(
            scheme_id=scheme.pk,
            month=month,
            by=request.user,
            actual=data["actual"],
            forecast_outturn=data["forecast_outturn"],
            commentary=data["commentary"],
            expected_token=data["token"],
        )
    except Conflict:
        raise  # saved meanwhile: the caller shows the form again, with the return as it is
    except (ActionRefused, ValidationError) as exc:
        form.add_error(None, _why(exc))
        return None
    _say_saved(request, saved, label, month)
    return redirect(_delivery_url(scheme))


def _changed_meanwhile(
    request, scheme: Scheme, month: int, there: MonthlyReturn | None, *, new: bool
) -> str:
    """The top of a return's form sent again after a conflict: the return as it now stands,
    who saved it and when, and what saving again does."""
    label = schedule.month_label(scheme.financial_year, month)
    if there is None:
        # removed meanwhile (an administrator's correction): nothing to state
        return (
            f"The {label} return changed while you were looking at it, so nothing was saved. "
            "What you typed is below: save it again if it still stands."
        )
    said = [
        f"The {label} return is already in, so nothing was saved."
        if new
        else f"The {label} return was changed while you were looking at it, so nothing was saved.",
        _as_saved(request, there),
    ]
    if there.assured_at:
        said.append("Saving other figures clears that assurance.")
    said.append("What you typed is below: save again to replace the saved return with it.")
    return " ".join(said)


def _as_saved(request, ret: MonthlyReturn) -> str:
    """A return as it now stands, with who last saved it and when: "Saved meanwhile by Sam
    Khan at 10:02: actual £114,410, commentary 'On plan.'"."""
    by, assured = _last_saved(request, ret)
    figures = [f"actual {money.pounds(ret.actual)}"]
    if ret.forecast_outturn is not None:
        figures.append(f"forecast outturn {money.pounds(ret.forecast_outturn)}")
    commentary = Truncator(" ".join(ret.commentary.split())).chars(200)
    figures.append(f"commentary '{commentary}'" if commentary else "no commentary")
    said = f"{'Assured' if assured else 'Saved'} meanwhile {by}: {', '.join(figures)}."
    if ret.assured_at:
        by = _who(request, ret.assured_by)
        said += f" It is assured at {money.pounds(ret.pmo_assured)}, by {by}."
    return said


def _last_saved(request, ret: MonthlyReturn) -> tuple[str, bool]:
    """Who last saved the return and when, in words ("by Sam Khan at 10:02"), from its
    history; and whether that was its assurance (else its figures)."""
    newest = monthly_returns.return_history(ret.scheme, ret.month).first()
    if newest is None or newest.changed_at < ret.updated_at:
        # saved by a write that left no history entry: who is not known
        return _when(ret.updated_at), False
    assurance = {
        monthly_returns.assured_field(ret.month),
        monthly_returns.reason_field(ret.month),
        monthly_returns.evidence_field(ret.month),
    }
    # a correction that cleared the assurance records that last: it is still a correction
    assured = newest.field in assurance and newest.new_value != monthly_returns.CLEARED
    return f"by {_who(request, newest.changed_by)} {_when(newest.changed_at)}", assured


def _who(request, user) -> str:
    if user is None:
        return "an import"
    return "you" if user == request.user else str(user)


def _when(moment) -> str:
    """A time in words for a message: "at 10:02" today, else "on 3 August 2019 at 10:02"."""
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return f"at {local:%H:%M}"
    return f"on {schedule.day_text(local.date())} at {local:%H:%M}"


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
    monthly_return = _return_of(scheme, month)
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
    meanwhile = ""
    if request.method == "POST" and form.is_valid():
        try:
            if (answer := _assure(request, scheme, month, form, label)) is not None:
                return answer
        except Conflict:
            # the return changed meanwhile (corrected by the finance lead, assured by another
            # member of the PMO): what was typed comes back, drawn from the return as it now
            # is (shown above the form), so that recording it again is a decision taken
            # knowingly. Not checked against the new actual yet: the change is what to say.
            monthly_return = _return_of(scheme, month)
            if monthly_return is None:
                messages.warning(request, f"The {label} return was removed meanwhile.")
                return redirect(_delivery_url(scheme))
            meanwhile = _assure_meanwhile(request, monthly_return, label)
            form = AssureForm(
                initial=_typed_assurance(form, monthly_return), monthly_return=monthly_return
            )
    return render(
        request,
        "delivery/return_assure.html",
        {
            "scheme": scheme,
            "form": form,
            "meanwhile": meanwhile,
            "label": label,
            "plan": scheme.plan[month - 1],
            "ret": monthly_return,
            "history": monthly_returns.return_history(scheme, month),
            "case": case_for(request.user, scheme, as_at_month=month),
        },
    )


def _assure_meanwhile(request, monthly_return: MonthlyReturn, label: str) -> str:
    """The top of the assure form sent again after a conflict: the return as it now stands,
    and what to do."""
    said = (
        f"The {label} return was changed while you were looking at it, so nothing was saved. "
        f"{_as_saved(request, monthly_return)} What you typed is below: check the return, "
        "then record the assured value again."
    )
    if request.FILES:
        said += " Choose the evidence document to upload again: it was not kept."
    return said


def _typed_assurance(form, monthly_return: MonthlyReturn) -> dict:
    """The assured value, reason and evidence as typed, for the form drawn again from the
    return as it now is (its token)."""
    data = form.cleaned_data
    document = data["assured_document"]
    return {
        "token": monthly_returns.return_token(monthly_return),
        "pmo_assured": data["pmo_assured"],
        "assured_reason": data["assured_reason"],
        "assured_link": data["assured_link"],
        "assured_document": document.pk if document else None,
    }


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
    """Record the assured value; where the page goes next, or None to show the form again.
    A return changed meanwhile is the caller's to show (Conflict)."""
    try:
        monthly_returns.return_assure(
            scheme_id=scheme.pk, month=month, by=request.user, **form.service_arguments()
        )
    except Conflict:
        raise  # changed meanwhile: the caller shows the form again, with the return as it is
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
    if request.method == "POST":
        # the month the page was drawn for (it says so in the form), even when its returns
        # were all assured meanwhile (in another tab): each row is then named with what became
        # of it, and the page goes on to the next month saying so
        chosen = _month_key_of(request.POST.get("month") or request.GET.get("month")) or chosen
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
        left = _months_waiting(list(monthly_returns.waiting_assurance(organisation.pk)))
        query = {"organisation": organisation.pk}
        if chosen in left:
            query["month"] = chosen  # some of the month still waits: back to it
        elif left and chosen:
            # the month is done: on to the next with returns waiting, said here so that the
            # page does not read as if the month had been empty when asked for
            following = next(iter(left))
            query["month"] = following
            messages.info(
                request,
                f"Every return of {_month_words(chosen)} is assured: "
                f"{left[following][0]} has returns waiting.",
            )
        # else nothing is left at all: the page says so (no month, so no word about one)
        return redirect(f"{reverse('returns_assure_all')}?{urlencode(query)}")
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
        "rows": [(by_id.get(id_in_range(form["ret"].value())), form) for form in formset.forms],
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


def _month_key_of(asked: str | None) -> str | None:
    """The month a form names ("2026-7"), if it names one, whether or not it has returns
    waiting."""
    found = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", (asked or "").strip())
    if found and 2000 <= int(found[1]) <= 2100 and int(found[2]) in MONTHS:
        return f"{int(found[1])}-{int(found[2])}"
    return None


def _month_words(key: str) -> str:
    """A month's key ("2026-7") in words: "Oct 2026"."""
    start_year, month = (int(part) for part in key.split("-"))
    return schedule.month_label(FinancialYear(start_year=start_year), month)


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
            not_assured.append(_not_offered(request, data.get("ret")))
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
            now = _return_of(ret.scheme, ret.month) or ret
            by, assured_meanwhile = _last_saved(request, now)
            if assured_meanwhile:
                what = f"assured meanwhile {by} ({money.pounds(now.pmo_assured)})"
            else:
                what = f"changed meanwhile {by}: check it again"
            not_assured.append(f"{ret.scheme.reference} {ret.label}: {what}")
        except (ActionRefused, ValidationError) as exc:
            not_assured.append(f"{ret.scheme.reference} {ret.label}: {_why(exc)}")
        else:
            assured += 1
    if assured:
        messages.success(request, f"{assured} return{'s' if assured != 1 else ''} assured.")
    if not_assured:
        messages.warning(request, "Not assured: " + "; ".join(not_assured) + ".")


def _not_offered(request, return_id) -> str:
    """Why a ticked return the page did not offer was not assured, naming it: assured
    meanwhile (in another tab, or by another member of the PMO), or no longer open to them.
    One a form made up or kept from another page slips in that is not the user's to assure is
    a refusal, and goes on the refusal log with its reason; another organisation's is not
    named."""
    user = request.user
    found = (
        MonthlyReturn.objects.select_related("scheme__financial_year", "assured_by")
        .filter(pk=return_id or 0)
        .first()
    )
    if found is None:
        return "a return that no longer exists"
    label = schedule.month_label(found.scheme.financial_year, found.month)
    named = f"{found.scheme.reference} {label}"
    reason = policy.refusal(
        "assure_return",
        user,
        found.scheme,
        monthly_return=found,
        touched=bool(monthly_returns.touched_among([found], user)),
    )
    if reason:
        record_refusal(
            user=user, action="assure_return", target=found.scheme.reference, reason=reason
        )
        if not policy.in_organisation(user, found.scheme):
            return "a return that is not yours to assure"
        return f"{named}: {reason}"
    if found.assured_at:
        by = _who(request, found.assured_by)
        return f"{named}: assured meanwhile by {by} ({money.pounds(found.pmo_assured)})"
    return f"{named}: not a return of the month shown, so assure it from its own month"


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
