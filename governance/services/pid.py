"""The PID: creating a scheme, editing it (each change in its history), and its documents."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from governance import money, policy
from governance.models import (
    MONTH_NAMES,
    PLAN_FIELDS,
    RECURRENT_FIELDS,
    Organisation,
    Recurrence,
    Scheme,
    SchemeChange,
    SchemeDocument,
    User,
)
from governance.services import transitions
from governance.services.transitions import ActionRefused

# --- the PID ---

TRACKED_FIELDS = [
    "title",
    "description",
    "programme_area",
    "area_of_spend",
    "scheme_type",
    "is_recovery",
    "project_lead",
    "sro",
    "clinical_lead",
    "finance_lead",
    "start_date",
    *PLAN_FIELDS,
    "recurrence",
    *RECURRENT_FIELDS,
    "cash_releasing",
    "investment_one_off",
    "investment_recurring",
]
# What the scheme costs: shown as pounds, not in the papers' sign for a saving
INVESTMENT_FIELDS = ("investment_one_off", "investment_recurring")


def display_value(scheme: Scheme, field: str) -> str:
    """A field's value as the scheme's history shows it: a saving in the papers' sign, an
    investment in pounds, a choice by its label."""
    value = getattr(scheme, field)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if field in INVESTMENT_FIELDS:
        return money.pounds(value)
    if isinstance(value, Decimal):  # a month of the savings plan, or its recurrent part
        return money.saving(value)
    if field == "scheme_type":
        return scheme.get_scheme_type_display()
    if field == "recurrence":
        return scheme.get_recurrence_display()
    return str(value)


def recurrent_part_problems(
    plan: list[Decimal | None], parts: list[Decimal | None]
) -> dict[str, str]:
    """{recurrent field: why} for each month whose recurrent part is more than its plan (a
    month not given, None, is not judged)."""
    problems = {}
    for field, month, planned, part in zip(RECURRENT_FIELDS, MONTH_NAMES, plan, parts, strict=True):
        if planned is not None and part is not None and part > planned:
            limit = money.pounds(planned)
            problems[field] = (
                f"The recurrent part of {month} cannot be more than its plan ({limit})."
            )
    return problems


def shown_values(scheme: Scheme, fields) -> dict[str, str]:
    """The fields' values as the history shows them: what field_changes compares with."""
    return {field: display_value(scheme, field) for field in fields}


def field_changes(scheme: Scheme, by: User, before: dict[str, str]) -> list[SchemeChange]:
    """The history rows (not yet saved) of each field of `before` whose shown value changed."""
    return [
        SchemeChange(
            scheme=scheme,
            changed_by=by,
            field=Scheme._meta.get_field(field).verbose_name,
            old_value=old,
            new_value=display_value(scheme, field),
        )
        for field, old in before.items()
        if display_value(scheme, field) != old
    ]


def _settle_recurrent_parts(scheme: Scheme) -> None:
    """The recurrent part of each month counts only for a mixed saving: kept (a month left
    blank is £0) when mixed, cleared otherwise. ValidationError for a part above its plan."""
    mixed = scheme.recurrence == Recurrence.MIXED
    for field in RECURRENT_FIELDS:
        part = getattr(scheme, field)
        setattr(scheme, field, (part or Decimal(0)) if mixed else None)
    parts = [getattr(scheme, field) for field in RECURRENT_FIELDS]
    problems = recurrent_part_problems(scheme.plan, parts)
    if problems:
        raise ValidationError(problems)


def next_sequence(organisation: Organisation, financial_year) -> int:
    top = Scheme.objects.filter(organisation=organisation, financial_year=financial_year).aggregate(
        top=Max("sequence")
    )["top"]
    return (top or 0) + 1


def make_reference(organisation: Organisation, financial_year, sequence: int) -> str:
    return f"{organisation.code}-{financial_year.code}-{sequence:03d}"


def _now_on_its_team(scheme: Scheme) -> None:
    # the people in hand read their teams again (User.on_a_team) when next asked
    for field in ("project_lead", "sro", "clinical_lead", "finance_lead"):
        if Scheme._meta.get_field(field).is_cached(scheme) and getattr(scheme, field):
            getattr(scheme, field).forget_access()


def scheme_create(*, by: User, data: dict) -> Scheme:
    """A project lead writes a new PID, in draft. `data` holds the PID's fields."""
    reason = policy.refusal("create", by, organisation=data["organisation"])
    if reason:
        transitions.record_refusal(user=by, action="create", target="new scheme", reason=reason)
        raise ActionRefused(reason)
    # Two PIDs created at once may pick the same number: the unique constraint refuses the
    # second, which simply tries the next number.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                Organisation.objects.select_for_update().get(pk=data["organisation"].pk)
                sequence = next_sequence(data["organisation"], data["financial_year"])
                scheme = Scheme(
                    **data,
                    sequence=sequence,
                    reference=make_reference(
                        data["organisation"], data["financial_year"], sequence
                    ),
                    created_by=by,
                )
                scheme.full_clean(exclude=["state"])  # protected: the workflow sets it
                _settle_recurrent_parts(scheme)
                scheme.save()
                _now_on_its_team(scheme)
                return scheme
        except IntegrityError:
            continue
    raise ActionRefused("Could not number the new scheme: please try again.")


def scheme_update(
    *, scheme_id: int, by: User, data: dict, expected_version: int | None
) -> tuple[Scheme, list[SchemeChange]]:
    """The project lead edits the PID while it is a draft; each changed field is recorded."""

    def attempt():
        with transaction.atomic():
            scheme = transitions.lock_scheme(scheme_id, expected_version)
            reason = policy.refusal("edit", by, scheme)
            if reason:
                raise ActionRefused(reason)
            before = shown_values(scheme, TRACKED_FIELDS)
            for field, value in data.items():
                if field in TRACKED_FIELDS:
                    setattr(scheme, field, value)
            scheme.full_clean(exclude=["state"])  # protected: the workflow sets it
            _settle_recurrent_parts(scheme)
            changes = field_changes(scheme, by, before)
            if not changes:
                return scheme, []
            transitions.save_scheme(scheme, state_before=scheme.state)
            SchemeChange.objects.bulk_create(changes)
            _now_on_its_team(scheme)
            return scheme, changes

    return transitions.refuse_logged(by, "edit", scheme_id, attempt)


def document_add(
    *, scheme_id: int, by: User, kind: str, upload, content_type: str, description: str = ""
) -> SchemeDocument:
    """Attach a PID, business case or supporting paper (already type-checked by the form)."""

    def attempt():
        with transaction.atomic():
            scheme = transitions.lock_scheme(scheme_id, None)
            reason = policy.refusal("edit", by, scheme)
            if reason:
                raise ActionRefused(reason)
            document = SchemeDocument.objects.create(
                scheme=scheme,
                kind=kind,
                file=upload,
                original_name=upload.name[:255],
                content_type=content_type,
                size=upload.size,
                description=description,
                uploaded_by=by,
            )
            SchemeChange.objects.create(
                scheme=scheme,
                changed_by=by,
                field="documents",
                old_value="",
                new_value=f"added {document.get_kind_display()}: {document.original_name}",
            )
            return document

    return transitions.refuse_logged(by, "edit", scheme_id, attempt)


def document_remove(*, document_id: int, by: User) -> None:
    document = SchemeDocument.objects.select_related("scheme").get(pk=document_id)

    def attempt():
        with transaction.atomic():
            scheme = transitions.lock_scheme(document.scheme_id, None)
            reason = policy.refusal("edit", by, scheme)
            if reason:
                raise ActionRefused(reason)
            SchemeChange.objects.create(
                scheme=scheme,
                changed_by=by,
                field="documents",
                old_value=f"{document.get_kind_display()}: {document.original_name}",
                new_value="removed",
            )
            document.delete()
            transaction.on_commit(lambda: document.file.delete(save=False))

    transitions.refuse_logged(by, "edit", document.scheme_id, attempt)
