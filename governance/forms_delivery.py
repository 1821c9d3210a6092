"""Forms of the delivery pages: the delivery transitions, monthly returns, the dashboard."""

from crispy_forms.layout import Column, Row
from django import forms

from governance.forms import MoneyField, VersionedForm, action_helper, filter_helper
from governance.models import MAX_MONTHLY_AMOUNT, MONTH_NAMES, MONTHS, FinancialYear

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

    def __init__(self, *args, financial_year: FinancialYear, fixed_month: int | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["forecast_outturn"].error_messages["max_value"] = (
            "That is more than £12bn for the year: check it."
        )
        self.fields["forecast_outturn"].error_messages["min_value"] = (
            "That is more than £12bn for the year: check it."
        )
        self.fields["month"].choices = [
            (m, f"{MONTH_NAMES[m - 1]} {financial_year.month_start(m).year} (month {m})")
            for m in MONTHS
        ]
        if fixed_month is not None:
            del self.fields["month"]
        self.helper = action_helper(
            "token",
            *(["month"] if fixed_month is None else []),
            Row(Column("actual"), Column("forecast_outturn")),
            "commentary",
            button="Save return",
        )


class AssureForm(forms.Form):
    pmo_assured = _money_field(
        "PMO assured value (£)",
        limit=MAX_MONTHLY_AMOUNT,
        help_text="The saving the PMO accepts for the month; it may differ from the actual.",
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = action_helper("token", "pmo_assured", button="Record assured value")


class AssureRowForm(forms.Form):
    """One return on the page that assures many: ticked to assure it, at the value given
    (the actual to start with)."""

    ret = forms.IntegerField(widget=forms.HiddenInput)
    token = forms.CharField(widget=forms.HiddenInput, required=False)
    assure = forms.BooleanField(label="Assure", required=False, initial=True)
    pmo_assured = _money_field("PMO assured value (£)", limit=MAX_MONTHLY_AMOUNT, required=False)

    def clean(self):
        data = super().clean()
        if data.get("assure") and data.get("pmo_assured") is None and not self.errors:
            self.add_error("pmo_assured", "Enter the assured value, or untick the return.")
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
