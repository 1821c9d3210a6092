"""Forms of the delivery pages: the delivery transitions, monthly returns, the dashboard, and
carrying a recurrent saving into next year."""

import re
from collections.abc import Collection
from decimal import Decimal

from crispy_forms.layout import HTML, Column, Fieldset, Row
from django import forms
from django.core.exceptions import ValidationError

from governance.delivery import monthly_returns
from governance.forms import (
    ACCEPTED,
    DocumentForm,
    MoneyField,
    VersionedForm,
    action_helper,
    filter_helper,
    plan_month_field,
)
from governance.models import (
    MAX_MONTHLY_AMOUNT,
    MONTH_NAMES,
    MONTHS,
    PLAN_FIELDS,
    DocumentKind,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    SchemeDocument,
)

# A forecast outturn is a year's saving: up to twelve of the largest months.
MAX_FORECAST = MAX_MONTHLY_AMOUNT * 12


def _money_field(label: str, *, limit, required: bool = True, help_text: str = ""):
    """Pounds and pence; negative allowed (costs rose), bounded against typing errors."""
    field = MoneyField(
        label=label, required=required, min_value=-limit, max_value=limit, help_text=help_text
    )
    field.error_messages["max_value"] = "That is more than £1bn a month: check it."
    field.error_messages["min_value"] = "That is more than £1bn a month: check it."
    return field


class StartDeliveryForm(VersionedForm):
    comment = forms.CharField(
        label="Note for the scheme's history (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = action_helper("version", "comment", button="Start delivery")


class CompleteForm(VersionedForm):
    delivered = forms.CharField(
        label="What was delivered",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The savings and changes the scheme achieved.",
    )
    lessons = forms.CharField(
        label="Lessons learned",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the next scheme should do the same, or differently.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = action_helper("version", "delivered", "lessons", button="Close scheme")


class ReturnForm(forms.Form):
    """A month's return; the month is chosen here for a new return, else fixed by the page."""

    month = forms.TypedChoiceField(coerce=int, choices=())
    actual = _money_field(
        "Actual saving in the month (£)",
        limit=MAX_MONTHLY_AMOUNT,
        help_text="The saving, e.g. 83,000 or 83k; negative if costs rose instead.",
    )
    forecast_outturn = _money_field(
        "Forecast outturn for the year (£)",
        limit=MAX_FORECAST,
        required=False,
        help_text="The full-year saving now expected. Leave empty to keep to the plan.",
    )
    commentary = forms.CharField(
        max_length=10000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What happened this month, and what is being done about any shortfall.",
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args,
        financial_year: FinancialYear,
        fixed_month: int | None,
        returned: Collection[int] = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["forecast_outturn"].error_messages["max_value"] = (
            "That is more than £12bn for the year: check it."
        )
        self.fields["forecast_outturn"].error_messages["min_value"] = (
            "That is more than £12bn for the year: check it."
        )
        offered = self._months_offered(financial_year, returned)
        self.fields["month"].choices = [
            (m, f"{MONTH_NAMES[m - 1]} {financial_year.month_start(m).year} (month {m})")
            for m in offered
        ]
        if offered:
            # the first month still to return (unless the page asked for another)
            self.fields["month"].initial = offered[0]
        if fixed_month is not None:
            del self.fields["month"]
        self.helper = action_helper(
            "token",
            *(["month"] if fixed_month is None else []),
            Row(Column("actual"), Column("forecast_outturn")),
            "commentary",
            button="Save return",
        )

    def _months_offered(self, financial_year: FinancialYear, returned: Collection[int]):
        """The months a new return may be for: begun, and without a return yet. A month
        posted that is not one of them (its return saved meanwhile in another tab, say) is
        kept, so that the form answers with the reason it cannot be saved, and keeps what was
        typed."""
        offered = [
            m
            for m in MONTHS
            if m not in returned and monthly_returns.not_started(financial_year, m) is None
        ]
        posted = str(self.data.get(self.add_prefix("month"), "")) if self.is_bound else ""
        kept = [m for m in MONTHS if str(m) == posted and m not in offered]
        return sorted([*offered, *kept])


class EvidenceLinkField(forms.URLField):
    """A web address backing an assured value: http or https only, never javascript: or file:."""

    default_validators = [monthly_returns.validate_evidence_link]
    default_error_messages = {"invalid": monthly_returns.validate_evidence_link.message}

    def __init__(self, **kwargs):
        super().__init__(max_length=500, assume_scheme="https", **kwargs)


def _reason_field():
    return forms.CharField(
        label="Reason for the assured value",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the assured value differs from the actual: what the PMO found.",
    )


class DocumentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.original_name} ({obj.get_kind_display()}, {obj.uploaded_at:%-d %b %Y})"


class AssureForm(forms.Form):
    """The assured value of one return and what backs it. Given the return, the form asks for
    a reason when the value differs from its actual, and offers its scheme's documents."""

    pmo_assured = _money_field(
        "PMO assured value (£)",
        limit=MAX_MONTHLY_AMOUNT,
        help_text="The saving the PMO accepts for the month; it may differ from the actual.",
    )
    assured_reason = _reason_field()
    assured_link = EvidenceLinkField(
        label="Evidence link",
        required=False,
        help_text="A web address, e.g. the ledger report or the signed contract variation.",
    )
    assured_document = DocumentChoiceField(
        SchemeDocument.objects.none(),
        label="Evidence document",
        required=False,
        empty_label="None",
        help_text="One of the scheme's documents.",
    )
    evidence_file = forms.FileField(
        label="…or upload a new evidence document",
        required=False,
        help_text=(
            f"{ACCEPTED}; up to 20 MB. It backs the value in place of any document chosen, "
            "and joins the scheme's documents."
        ),
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, monthly_return: MonthlyReturn | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.monthly_return = monthly_return
        self.content_type = ""
        if monthly_return is not None:
            self.fields["assured_document"].queryset = monthly_return.scheme.documents.all()
        self.fields["evidence_file"].widget.attrs["accept"] = ACCEPTED.replace(" ", "")
        self.helper = action_helper(
            "token",
            "pmo_assured",
            "assured_reason",
            Fieldset(
                "Evidence (optional)",
                "assured_link",
                Row(Column("assured_document"), Column("evidence_file")),
            ),
            button="Record assured value",
        )

    def clean_evidence_file(self):
        upload = self.cleaned_data["evidence_file"]
        if not upload:
            return None
        # checked as every scheme document is (size, and its type judged by its content)
        checked = DocumentForm({"kind": DocumentKind.EVIDENCE}, {"file": upload})
        if not checked.is_valid():
            raise ValidationError(list(checked.errors["file"]))
        self.content_type = checked.content_type
        return upload

    def clean(self):
        data = super().clean()
        ret = self.monthly_return
        # A return changed since the page was drawn is the service's to report ("changed
        # while you were looking"): asking for a reason against an actual the PMO never saw
        # would hide that.
        if ret is not None and data.get("token") == monthly_returns.return_token(ret):
            _ask_for_a_reason(self, ret.actual)
        return data

    def service_arguments(self) -> dict:
        """What monthly_returns.return_assure takes from this form (after is_valid)."""
        data = self.cleaned_data
        # a document uploaded takes the place of the one chosen (the list starts at the
        # document backing the value now, so an upload would otherwise need it unset first)
        document = None if data["evidence_file"] else data["assured_document"]
        return {
            "value": data["pmo_assured"],
            "reason": data["assured_reason"],
            "link": data["assured_link"],
            "document_id": document.pk if document else None,
            "upload": data["evidence_file"],
            "content_type": self.content_type,
            "expected_token": data["token"],
        }


def _ask_for_a_reason(form, actual: Decimal | None) -> None:
    """The service's rule, checked with the form: a value other than the actual needs a reason
    (on the page of many returns, no return is assured while one row lacks it)."""
    data = form.cleaned_data
    value = data.get("pmo_assured")
    if actual is None or value is None or "assured_reason" in form.errors:
        return
    missing = monthly_returns.reason_missing(
        actual=actual, value=value, reason=data.get("assured_reason", "")
    )
    if missing:
        form.add_error("assured_reason", missing)


class AssureRowForm(forms.Form):
    """One return on the page that assures many: ticked to assure it, at the value given
    (the actual to start with), with a reason when that is not the actual, and a link."""

    ret = forms.IntegerField(widget=forms.HiddenInput)
    token = forms.CharField(widget=forms.HiddenInput, required=False)
    assure = forms.BooleanField(label="Assure", required=False, initial=True)
    pmo_assured = _money_field("PMO assured value (£)", limit=MAX_MONTHLY_AMOUNT, required=False)
    assured_reason = _reason_field()
    assured_link = EvidenceLinkField(label="Evidence link", required=False)

    def __init__(self, *args, actuals: dict[tuple, Decimal] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # the actual of each return on the page, by its id and token as the page drew it
        self.actuals = actuals or {}

    def clean(self):
        data = super().clean()
        if not data.get("assure"):
            return data
        if data.get("pmo_assured") is None and not self.errors:
            self.add_error("pmo_assured", "Enter the assured value, or untick the return.")
        _ask_for_a_reason(self, self.actuals.get((data.get("ret"), data.get("token"))))
        return data


AssureRowFormSet = forms.formset_factory(AssureRowForm, extra=0)


class DashboardForm(forms.Form):
    year = forms.ModelChoiceField(
        FinancialYear.objects.all(), required=False, empty_label=None, to_field_name="start_year"
    )
    month = forms.TypedChoiceField(
        label="As at",
        coerce=int,
        required=False,
        empty_value=None,
        choices=[
            ("", "Latest returns"),
            *((m, f"{MONTH_NAMES[m - 1]} (month {m})") for m in MONTHS),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = filter_helper(
            ("year", "col-6 col-md-3"),
            ("month", "col-6 col-md-3"),
            button=("show", "Show"),
        )


class AssuredFilterForm(forms.Form):
    """The filters of the list of assured values: the user's own organisations only."""

    organisation = forms.ModelChoiceField(
        Organisation.objects.none(), required=False, empty_label="All my organisations"
    )
    financial_year = forms.ModelChoiceField(
        FinancialYear.objects.all(), required=False, label="Year", empty_label="All years"
    )
    assured_from = forms.DateField(
        label="Assured from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    assured_to = forms.DateField(
        label="Assured to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(
            pk__in=user.organisation_ids
        ).order_by("code")

    def clean(self):
        data = super().clean()
        start, end = data.get("assured_from"), data.get("assured_to")
        if start and end and start > end:
            self.add_error("assured_to", "This date is before the date assured from.")
        return data


# --- carrying a recurrent saving into next year ---


class TickedField(forms.TypedMultipleChoiceField):
    """The ids of the rows ticked on a page. Any id is taken: which of them may be acted on is
    the service's to judge, and a refusal it gives is logged, where a form error would not be."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, **kwargs)

    def valid_value(self, value) -> bool:
        # a database id: digits only (never "²" or "1e3"), and not more than a row can have
        return re.fullmatch(r"[0-9]{1,9}", str(value)) is not None


class CarryForm(forms.Form):
    """The schemes the PMO ticks on the carry page. The organisation and year the page was
    drawn for go back with it as hidden fields, which the view reads before this form."""

    scheme = TickedField(label="Schemes to carry", widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, following: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheme"].error_messages["required"] = (
            f"Tick the schemes to carry into {following}."
        )


class CarriedPlanForm(VersionedForm):
    """The plan carried into a scheme's year, month by month, as its project lead confirms it:
    prefilled with the carried plan, any month changed first."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, month in zip(PLAN_FIELDS, MONTH_NAMES, strict=True):
            field = plan_month_field(month)
            field.widget.attrs["data-plan-month"] = ""  # summed as typed (static/js/plan.js)
            self.fields[name] = field
        months = "col-6 col-md-3 col-lg-2"
        self.helper = action_helper(
            "version",
            Fieldset(
                "Monthly savings plan (pounds saved in each month)",
                Row(*[Column(name, css_class=months) for name in PLAN_FIELDS]),
                HTML('{% include "governance/_plan_total.html" %}'),
            ),
            button="Confirm this plan",
        )

    def plan_total(self) -> Decimal | None:
        """The year's plan: as typed once every month is valid, else as drawn (None if unread)."""
        if not self.is_bound:
            amounts = [self.initial.get(name) for name in PLAN_FIELDS]
        else:
            amounts = [getattr(self, "cleaned_data", {}).get(name) for name in PLAN_FIELDS]
        if any(amount is None for amount in amounts):
            return None
        return sum(amounts, Decimal(0))

    def clean(self):
        data = super().clean()
        total = self.plan_total()
        if total is not None and total <= 0:
            # on the first month, so the error summary links to the plan (as the PID form's)
            self.add_error(
                PLAN_FIELDS[0], "The savings plan must add up to more than £0 for the year."
            )
        return data

    def service_arguments(self) -> dict:
        return {
            "expected_version": self.cleaned_data["version"],
            "plan": [self.cleaned_data[name] for name in PLAN_FIELDS],
        }
