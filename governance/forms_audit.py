"""The audit export's choices: organisations, dates, what to include, the format."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone

from governance import audit
from governance.forms import IdsChoiceField
from governance.models import Organisation

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_ERRORS = {"invalid": "Enter a date as year-month-day, for example 2024-04-01."}


# The trail starts with the product, and nothing is logged ahead of time: a date beyond these
# is a slip of the keyboard (0001-01-01 would overflow the day after it), told as such.
EARLIEST = date(2000, 1, 1)
AHEAD = timedelta(days=366)


def _year_start(today: date) -> date:
    """1 April of the financial year `today` falls in."""
    return date(today.year if today.month >= 4 else today.year - 1, 4, 1)


class AuditExportForm(forms.Form):
    organisations = IdsChoiceField(
        queryset=Organisation.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Tick at least one organisation.",
            "invalid_choice": "There is no organisation %(value)s: choose from the list.",
            "invalid_pk_value": "“%(pk)s” is not an organisation: choose from the list.",
        },
    )
    date_from = forms.DateField(label="From", widget=DATE, error_messages=DATE_ERRORS)
    date_to = forms.DateField(
        label="To", widget=DATE, error_messages=DATE_ERRORS, help_text="Both days included."
    )
    kinds = forms.MultipleChoiceField(
        label="Include",
        choices=list(audit.KINDS.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Tick at least one kind of record to include.",
            "invalid_choice": "%(value)s is not a kind of record this export knows.",
        },
        help_text="Scores are the panel's agreed scores: each member's own scores stay blind.",
    )
    format = forms.ChoiceField(
        choices=list(audit.FORMATS.items()),
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose CSV or XLSX."},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = list(audit.organisations_for(user))
        # the boxes offered are the user's own; any organisation still validates, so that
        # asking for another one is refused (and logged) by the view, not hidden as a typo
        self.fields["organisations"].widget.choices = [(o.pk, str(o)) for o in allowed]
        kinds = self.fields["kinds"]
        if user.is_staff:
            kinds.help_text += " Admin site changes: the whole system's, whatever is ticked."
        else:
            kinds.choices = [
                (kind, label)
                for kind, label in audit.KINDS.items()
                if kind not in audit.STAFF_KINDS
            ]
        today = timezone.localdate()
        self.initial.setdefault("organisations", [o.pk for o in allowed])
        self.initial.setdefault("date_from", _year_start(today))
        self.initial.setdefault("date_to", today)
        self.initial.setdefault("kinds", [kind for kind, _label in kinds.choices])
        self.initial.setdefault("format", "csv")

    def clean_date_from(self):
        return _sane(self.cleaned_data["date_from"])

    def clean_date_to(self):
        return _sane(self.cleaned_data["date_to"])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error(
                "date_to",
                f"The end date ({end:%-d %B %Y}) is before the start date ({start:%-d %B %Y}): "
                "choose an end on or after the start.",
            )
        return cleaned

    def choice(self) -> audit.Choice:
        data = self.cleaned_data
        # in the order of the file's sheets, whatever order the boxes came in
        kinds = [kind for kind in audit.KINDS if kind in data["kinds"]]
        return audit.Choice(
            organisations=list(data["organisations"]),
            date_from=data["date_from"],
            date_to=data["date_to"],
            kinds=kinds,
            format=data["format"],
        )


def _sane(day: date) -> date:
    latest = timezone.localdate() + AHEAD
    if not EARLIEST <= day <= latest:
        raise forms.ValidationError(
            f"Choose a date from {EARLIEST:%-d %B %Y} to {latest:%-d %B %Y}: "
            f"{day:%-d %B %Y} is outside the audit trail."
        )
    return day
