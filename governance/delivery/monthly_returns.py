"""Monthly returns: who may enter, correct and assure them (ACCESS.md), saving a return with its
audit trail, assuring it, and its history."""

from collections.abc import Callable
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from governance import money, policy, roles, services
from governance.delivery.schedule import (
    DELIVERY_STATES,
    day_text,
    earliest_open_year,
    month_label,
    today_or,
    year_closed,
)
from governance.models import (
    MONTHS,
    DocumentKind,
    FinancialYear,
    MonthlyReturn,
    Scheme,
    SchemeChange,
    SchemeDocument,
    SchemeState,
    User,
    state_words,
)
from governance.selectors import LONG_TEXTS
from governance.services import ActionRefused, Conflict
from governance.services.transitions import SENT_AGAIN_WITHIN

# --- when a return may be written ---

# A completed or stopped scheme may still have a past month put right while its year is open
# (a scheme closed in January whose December figure was wrong). Once the year has closed
# (schedule.closes_on) its figures are what its committee reported: the returns are closed to
# the form, the import and assurance alike. A closed year's scheme still in delivery (a past
# year loaded as it stood with qipp_import --historical) stays open: that is how its returns
# are loaded.
FINISHED = (SchemeState.COMPLETED, SchemeState.STOPPED)


def returns_closed(
    *, reference: str, state: str, financial_year: FinancialYear, today: date | None = None
) -> str | None:
    """Why no return of this scheme may be entered, corrected or assured any more; None while
    they may."""
    if state in FINISHED and year_closed(financial_year, today_or(today)):
        return (
            f"{reference} is {state_words(state)} and {financial_year.label} has closed: its "
            "returns are closed."
        )
    return None


def not_started(financial_year: FinancialYear, month: int, today: date | None = None) -> str | None:
    """Why a month's return cannot be entered yet (the month has not begun); None once it can.
    The return form and the import both ask this."""
    start = financial_year.month_start(month)
    if today_or(today) < start:
        return (
            f"{month_label(financial_year, month)} has not started yet: its return can be "
            f"entered from {day_text(start)}."
        )
    return None


# --- who may do what (ACCESS.md) ---


def _closed(scheme: Scheme) -> str | None:
    return returns_closed(
        reference=scheme.reference, state=scheme.state, financial_year=scheme.financial_year
    )


def _enter_return(user, scheme: Scheme) -> str | None:
    # ACCESS.md names the scheme's finance lead or project lead; the "finance reviewer"
    # is read as the scheme's finance lead: another finance reviewer of the organisation has
    # no part in this scheme's figures.
    if user.pk not in (scheme.finance_lead_id, scheme.project_lead_id):
        return "Only the scheme's finance lead or project lead can enter or correct its returns."
    if scheme.state not in DELIVERY_STATES:
        return f"Monthly returns start once the scheme is in delivery; it is {scheme.state_words}."
    return _closed(scheme)


def touched_by(monthly_return: MonthlyReturn, user) -> bool:
    """Whether `user` entered or corrected this return's figures."""
    if monthly_return.entered_by_id == user.pk:
        return True
    return SchemeChange.objects.filter(
        scheme_id=monthly_return.scheme_id,
        changed_by=user,
        field__in=return_fields(monthly_return.month).values(),
    ).exists()


def touched_among(returns: list[MonthlyReturn], user) -> set[int]:
    """The ids of the returns among `returns` that `user` entered or corrected: touched_by()
    for a page of them, in one query."""
    fields = {ret.pk: set(return_fields(ret.month).values()) for ret in returns}
    corrected = set(
        SchemeChange.objects.filter(
            scheme_id__in={ret.scheme_id for ret in returns},
            changed_by=user,
            field__startswith="Month ",
        ).values_list("scheme_id", "field")
    )
    return {
        ret.pk
        for ret in returns
        if ret.entered_by_id == user.pk
        or any((ret.scheme_id, field) in corrected for field in fields[ret.pk])
    }


def _assure_return(
    user,
    scheme: Scheme,
    monthly_return: MonthlyReturn | None = None,
    touched: bool | None = None,
) -> str | None:
    """`touched`: whether the user entered or corrected the return, when already known (a page
    of returns asks touched_among() once); else it is looked up."""
    if not (user.has_role(roles.PMO) and policy.in_organisation(user, scheme)):
        return "Only the PMO of the scheme's organisation can assure its returns."
    if scheme.state not in DELIVERY_STATES:
        return "Returns are assured once the scheme is in delivery."
    if reason := _closed(scheme):
        return reason
    if reason := policy.judging_own_scheme(user, scheme):
        return reason
    if touched is None and monthly_return is not None:
        touched = touched_by(monthly_return, user)
    if touched:
        return (
            "You entered or corrected this return, so another member of the PMO must assure it "
            "(segregation of duties)."
        )
    return None


# The rules of the delivery pages, which GovernanceConfig.ready() gives governance.policy.
POLICY_RULES = {"enter_return": _enter_return, "assure_return": _assure_return}


# --- monthly returns ---

RETURN_CONFLICT = (
    "Someone else saved this return while you were looking at it, so nothing was saved. "
    "The page now shows it as it is: check it and try again if still needed."
)

# Called inside the transaction that saves a return, after it is saved, as
# hook(monthly_return=..., by=..., created=...). A hook only queues its work for after the
# commit (transaction.on_commit): the escalation rules run once the return is stored, and
# nothing they do can undo it.
RETURN_SAVED_HOOKS: list[Callable] = []


def return_fields(month: int) -> dict[str, str]:
    """The history label of each figure of a month's return, e.g. 'Month 3 actual'."""
    return {
        "actual": f"Month {month} actual",
        "forecast_outturn": f"Month {month} forecast outturn",
        "commentary": f"Month {month} commentary",
    }


def assured_field(month: int) -> str:
    return f"Month {month} PMO assured value"


def reason_field(month: int) -> str:
    return f"Month {month} assurance reason"


def evidence_field(month: int) -> str:
    return f"Month {month} evidence"


CLEARED = "cleared: the figures were corrected"

# An evidence link is a web address: a javascript:, data: or file: link must never become a
# link on a page.
validate_evidence_link = URLValidator(
    schemes=["http", "https"], message="Enter a web address starting http:// or https://."
)


def reason_missing(*, actual: Decimal, value: Decimal, reason: str) -> str | None:
    """What to say when a value other than the actual is assured without a reason; None when
    the value is the actual or a reason is given."""
    if value == actual or reason.strip():
        return None
    return f"Say why the assured value differs from the actual ({as_typed(actual)})."


def as_typed(amount: Decimal) -> str:
    """An amount of a form where a saving is typed positive, in words that need no sign
    convention: "a saving of £134,400", "a cost of £500" (costs rose), "£0"."""
    if amount > 0:
        return f"a saving of {money.pounds(amount)}"
    if amount < 0:
        return f"a cost of {money.pounds(-amount)}"
    return money.pounds(amount)


def evidence_words(link: str, document: SchemeDocument | None) -> str:
    """What backs an assured value, as its history and the audit list say it: the link, the
    document's name, or both."""
    return "; ".join(part for part in (link, document.original_name if document else "") if part)


def assurance_cleared(monthly_return: MonthlyReturn, *, by) -> list[SchemeChange]:
    """Clear the assurance of a return whose figures were corrected (the PMO assured the figures
    as they were): its value, reason and evidence. The history rows that say so; the evidence
    document stays among the scheme's documents."""
    ret, month = monthly_return, monthly_return.month
    before = {
        assured_field(month): money.saving(ret.pmo_assured),
        reason_field(month): ret.assured_reason,
        evidence_field(month): evidence_words(ret.assured_link, ret.assured_document),
    }
    ret.pmo_assured = ret.assured_by = ret.assured_at = ret.assured_document = None
    ret.assured_reason = ret.assured_link = ""
    return [
        SchemeChange(
            scheme_id=ret.scheme_id, changed_by=by, field=field, old_value=old, new_value=CLEARED
        )
        for field, old in before.items()
        if old or field == assured_field(month)
    ]


def return_token(monthly_return: MonthlyReturn | None) -> str:
    """What a form carries to spot a change made since it was drawn ('' for a new return)."""
    return monthly_return.updated_at.isoformat() if monthly_return else ""


def _show(name: str, value) -> str:
    return value if name == "commentary" else money.saving(value)


def entered_changes(monthly_return: MonthlyReturn, *, by) -> list[SchemeChange]:
    """The history rows of a return just entered (in the browser or by an import): each
    figure given, from empty."""
    labels = return_fields(monthly_return.month)
    return [
        SchemeChange(
            scheme_id=monthly_return.scheme_id,
            changed_by=by,
            field=labels[name],
            old_value="",
            new_value=shown,
        )
        for name in labels
        if (shown := _show(name, getattr(monthly_return, name)))
    ]


class SavedReturn(NamedTuple):
    monthly_return: MonthlyReturn
    created: bool
    changes: list[SchemeChange]


def _lock_scheme(scheme_id: int) -> Scheme:
    return services.lock_scheme(scheme_id, None)


def return_save(
    *,
    scheme_id: int,
    month: int,
    by: User,
    actual: Decimal,
    forecast_outturn: Decimal | None = None,
    commentary: str = "",
    expected_token: str | None = None,
    today: date | None = None,
) -> SavedReturn:
    """Enter a month's return, or correct it; every figure entered or changed goes on record.

    `expected_token` is return_token() of the return the user saw ('' if none); None skips
    the check. Correcting the actual or the forecast of an assured return clears its
    assurance: the PMO assured the figures as they were.
    """
    if month not in MONTHS:
        raise ActionRefused("Choose a month from 1 (April) to 12 (March).")
    values = {
        "actual": actual,
        "forecast_outturn": forecast_outturn,
        "commentary": (commentary or "").strip(),
    }

    def attempt():
        with transaction.atomic():
            # the scheme row is the lock: two saves of one scheme's returns queue up
            scheme = _lock_scheme(scheme_id)
            reason = policy.refusal("enter_return", by, scheme)
            if reason:
                raise ActionRefused(reason)
            if early := not_started(scheme.financial_year, month, today):
                raise ActionRefused(early)
            existing = MonthlyReturn.objects.filter(scheme=scheme, month=month).first()
            if expected_token is not None and return_token(existing) != expected_token:
                raise Conflict(RETURN_CONFLICT)
            created = existing is None
            ret = existing or MonthlyReturn(scheme=scheme, month=month, entered_by=by)
            labels = return_fields(month)
            before = {name: _show(name, getattr(ret, name)) for name in values}
            for name, value in values.items():
                setattr(ret, name, value)
            changes = (
                entered_changes(ret, by=by)
                if created
                else [
                    SchemeChange(
                        scheme=scheme,
                        changed_by=by,
                        field=labels[name],
                        old_value=before[name],
                        new_value=_show(name, value),
                    )
                    for name, value in values.items()
                    if before[name] != _show(name, value)
                ]
            )
            if not created and not changes:
                return SavedReturn(ret, False, [])
            figures_changed = any(c.field != labels["commentary"] for c in changes)
            if not created and figures_changed and ret.assured_at:
                changes += assurance_cleared(ret, by=by)
            ret.full_clean(validate_unique=False, validate_constraints=False)
            try:
                ret.save()
            except IntegrityError:
                # an import wrote this month's return after we looked (imports do not lock)
                raise Conflict(RETURN_CONFLICT) from None
            SchemeChange.objects.bulk_create(changes)
            for hook in RETURN_SAVED_HOOKS:
                hook(monthly_return=ret, by=by, created=created)
            return SavedReturn(ret, created, changes)

    return services.refuse_logged(by, "enter_return", scheme_id, attempt)


def return_assure(
    *,
    scheme_id: int,
    month: int,
    by: User,
    value: Decimal,
    reason: str = "",
    link: str = "",
    document_id: int | None = None,
    upload=None,
    content_type: str = "",
    expected_token: str | None = None,
) -> MonthlyReturn:
    """The PMO records the assured value of a month's return, with what backs it.

    A value other than the actual needs a reason. A link (http or https) and a document may
    back any value: one of the scheme's documents (`document_id`), or a new one uploaded with
    it (`upload`, already type-checked by the form, and its `content_type`), which joins the
    scheme's documents as evidence. The reason and evidence given replace those recorded: a
    page sends back those it showed. ValidationError, keyed by the return's field, for a
    missing reason, a bad link or a document not of this scheme.
    """
    reason, link = (reason or "").strip(), (link or "").strip()

    def attempt():
        with transaction.atomic():
            scheme = _lock_scheme(scheme_id)
            ret = (
                MonthlyReturn.objects.filter(scheme=scheme, month=month)
                .select_related("assured_document")
                .first()
            )
            if ret is None:
                raise ActionRefused("There is no return for that month to assure yet.")
            if expected_token is not None and return_token(ret) != expected_token:
                sent = {"value": value, "reason": reason, "link": link}
                if _assured_just_now(ret, by, sent, document_id=document_id, upload=upload):
                    # the user's own assurance, just recorded (the first submit of a double
                    # click, which the row lock waited for): done, not someone else's change
                    return ret
                raise Conflict(RETURN_CONFLICT)
            refused = policy.refusal("assure_return", by, scheme, monthly_return=ret)
            if refused:
                raise ActionRefused(refused)
            _check_evidence(ret, value=value, reason=reason, link=link)
            document = None
            if document_id is not None:
                if upload is not None:
                    raise ValidationError(
                        "Choose one of the scheme's documents or upload one, not both."
                    )
                document = scheme.documents.filter(pk=document_id).first()
                if document is None:
                    raise ValidationError(
                        {"assured_document": "That document is not one of this scheme's."}
                    )
            changes = []
            if upload is not None:
                document = _evidence_added(scheme, month, by, upload, content_type)
                changes.append(_document_added(document, by))
            assured = (ret.pmo_assured, ret.assured_reason, ret.assured_link, ret.assured_document)
            if ret.assured_at and assured == (value, reason, link, document):
                return ret  # already assured so: nothing to record
            before = {
                assured_field(month): money.saving(ret.pmo_assured if ret.assured_at else None),
                reason_field(month): ret.assured_reason,
                evidence_field(month): evidence_words(ret.assured_link, ret.assured_document),
            }
            ret.pmo_assured = value
            ret.assured_reason, ret.assured_link, ret.assured_document = reason, link, document
            ret.assured_by = by
            ret.assured_at = timezone.now()
            ret.full_clean()
            ret.save()
            after = {
                assured_field(month): money.saving(value),
                reason_field(month): reason,
                evidence_field(month): evidence_words(link, document),
            }
            changes += [
                SchemeChange(
                    scheme=scheme, changed_by=by, field=field, old_value=old, new_value=after[field]
                )
                for field, old in before.items()
                if old != after[field]
            ]
            SchemeChange.objects.bulk_create(changes)
            return ret

    return services.refuse_logged(by, "assure_return", scheme_id, attempt)


def _assured_just_now(
    ret: MonthlyReturn, by: User, sent: dict, *, document_id: int | None, upload
) -> bool:
    """Whether `by` assured the return a moment ago with just what is sent now: the value, the
    reason, the link, and the same document (one of the scheme's, or a file of the same name
    and size uploaded then)."""
    if ret.assured_by_id != by.pk or ret.assured_at is None:
        return False
    if ret.assured_at < timezone.now() - SENT_AGAIN_WITHIN:
        return False
    recorded = {"value": ret.pmo_assured, "reason": ret.assured_reason, "link": ret.assured_link}
    if recorded != sent:
        return False
    document = ret.assured_document
    if upload is None:
        return ret.assured_document_id == document_id
    return (
        document is not None
        and document.original_name == upload.name[:255]
        and document.size == upload.size
    )


def _check_evidence(ret: MonthlyReturn, *, value: Decimal, reason: str, link: str) -> None:
    if missing := reason_missing(actual=ret.actual, value=value, reason=reason):
        raise ValidationError({"assured_reason": missing})
    if link:
        try:
            validate_evidence_link(link)
        except ValidationError as exc:
            raise ValidationError({"assured_link": exc.messages}) from None


def _evidence_added(scheme: Scheme, month: int, by: User, upload, content_type: str):
    return SchemeDocument.objects.create(
        scheme=scheme,
        kind=DocumentKind.EVIDENCE,
        file=upload,
        original_name=upload.name[:255],
        content_type=content_type,
        size=upload.size,
        description=f"Evidence for the {month_label(scheme.financial_year, month)} return",
        uploaded_by=by,
    )


def _document_added(document: SchemeDocument, by: User) -> SchemeChange:
    """The history row of a document added, as the scheme's document list records it."""
    return SchemeChange(
        scheme_id=document.scheme_id,
        changed_by=by,
        field="documents",
        old_value="",
        new_value=f"added {document.get_kind_display()}: {document.original_name}",
    )


def open_years_only(today: date | None = None) -> Q:
    """Returns of schemes whose year has not closed: only those are offered for assurance.

    A closed year's returns were reported to its committee at the time; a past year loaded
    with qipp_import --historical has no evidence here for a PMO to assure them on, and
    whoever imported them could not assure them anyway (segregation of duties). So the PMO's
    task and the page that assures many leave them out; one may still be assured on its own
    page while its scheme is in delivery.
    """
    return Q(scheme__financial_year__start_year__gte=earliest_open_year(today_or(today)))


def waiting_assurance(organisation_id: int) -> QuerySet[MonthlyReturn]:
    """The returns of an organisation's schemes in delivery that no one has assured yet,
    oldest month first: what its PMO assures, many at once."""
    return (
        MonthlyReturn.objects.filter(
            scheme__organisation_id=organisation_id,
            scheme__state__in=DELIVERY_STATES,
            assured_at__isnull=True,
        )
        .filter(open_years_only())
        .select_related("scheme__financial_year", "scheme__organisation", "entered_by")
        .order_by("scheme__financial_year__start_year", "month", "scheme__reference")
    )


def assured_returns(
    organisation_ids,
    *,
    organisation=None,
    financial_year=None,
    assured_from: date | None = None,
    assured_to: date | None = None,
) -> QuerySet[MonthlyReturn]:
    """The assured returns of the organisations' schemes, with their reasons and evidence, for
    audit: by organisation, year, scheme and month. Filtered by one of the organisations, a
    year, and the days they were assured between (both included)."""
    returns = MonthlyReturn.objects.filter(
        scheme__organisation_id__in=organisation_ids, assured_at__isnull=False
    )
    if organisation is not None:
        returns = returns.filter(scheme__organisation=organisation)
    if financial_year is not None:
        returns = returns.filter(scheme__financial_year=financial_year)
    if assured_from is not None:
        returns = returns.filter(assured_at__date__gte=assured_from)
    if assured_to is not None:
        returns = returns.filter(assured_at__date__lte=assured_to)
    return (
        returns.select_related(
            "scheme__organisation", "scheme__financial_year", "assured_by", "assured_document"
        )
        .defer(*(f"scheme__{name}" for name in LONG_TEXTS))
        .order_by(
            "scheme__organisation__code",
            "scheme__financial_year__start_year",
            "scheme__reference",
            "month",
        )
    )


def return_history(scheme: Scheme, month: int | None = None) -> QuerySet[SchemeChange]:
    """The recorded figures of a scheme's returns (one month's, or all), newest first."""
    changes = scheme.changes.select_related("changed_by")
    if month is not None:
        assurance = [assured_field(month), reason_field(month), evidence_field(month)]
        return changes.filter(Q(field__in=return_fields(month).values()) | Q(field__in=assurance))
    return changes.filter(field__startswith="Month ")


@contextmanager
def hooks_paused():
    """Hold back RETURN_SAVED_HOOKS (the rules that react to a saved return) while loading past
    returns, yielding them to be called once at the end.

    Entered one by one today, a year of past returns would look, after each, as if the later
    months were overdue: every scheme would be escalated and at once resolved.
    """
    hooks = list(RETURN_SAVED_HOOKS)
    RETURN_SAVED_HOOKS.clear()
    try:
        yield hooks
    finally:
        RETURN_SAVED_HOOKS[:] = hooks
