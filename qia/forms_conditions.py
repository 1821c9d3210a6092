"""The forms of conditions of approval: the rows of conditions a sign-off or a QAG approval
sets (templates/qia/_conditions_formset.html draws them), and marking one met.

A page that approves with conditions builds the formset beside its own form:

    conditions = condition_formset(posted(request), scheme=scheme, wanted=form.with_conditions)
    if request.method == "POST" and all([form.is_valid(), conditions.fit_the_decision()]):
        ... service(..., conditions=conditions.rows())

`wanted`: the user chose to approve with conditions, so at least one is needed; otherwise
none may be typed (a condition typed beside a plain approval or a decline is a slip, not
something to drop silently).
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from governance.forms import people, person_label
from governance.models import Scheme
from qia.conditions import EVIDENCE_LENGTH, LINK_LENGTH, MAX_CONDITIONS, TEXT_LENGTH

# Rows shown at first; the rest, up to MAX_CONDITIONS, behind "More conditions".
ROWS_SHOWN = 3
PREFIX = "condition"


class ConditionForm(forms.Form):
    text = forms.CharField(
        label="Condition",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=TEXT_LENGTH,
        error_messages={"required": "Write what the condition is."},
    )
    owner = forms.TypedChoiceField(
        label="Owner",
        coerce=int,
        help_text="Who meets it and marks it met, with the evidence.",
        error_messages={"required": "Choose who owns it."},
    )
    due_on = forms.DateField(
        label="Due by",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={
            "required": "Give the date it is due by.",
            "invalid": "Enter the due date as day/month/year.",
        },
    )

    def __init__(self, *args, owners: dict, number: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owners, self.number = owners, number  # its row, counted from 1
        self.fields["owner"].choices = [
            ("", "Choose the owner"),
            *((pk, person_label(user)) for pk, user in owners.items()),
        ]

    def clean_owner(self):
        return self.owners[self.cleaned_data["owner"]]

    def clean_due_on(self):
        due = self.cleaned_data["due_on"]
        if due < timezone.localdate():
            raise ValidationError(
                f"The due date, {due:%-d %B %Y}, has passed: give today or a later date."
            )
        return due


class BaseConditionFormSet(forms.BaseFormSet):
    default_error_messages = {
        **forms.BaseFormSet.default_error_messages,
        "too_many_forms": f"At most {MAX_CONDITIONS} conditions.",
    }

    def __init__(self, *args, owners: dict, wanted: bool, **kwargs):
        super().__init__(*args, form_kwargs={"owners": owners}, **kwargs)
        self.wanted = wanted

    def get_form_kwargs(self, index):
        number = None if index is None else index + 1
        return {**super().get_form_kwargs(index), "number": number}

    def clean(self):
        if not self.wanted and self.typed():
            raise ValidationError(
                'You wrote conditions: choose "Approve with conditions", or clear them.'
            )
        if any(self.errors):
            return
        if self.wanted and not self.rows():
            raise ValidationError(
                "Give at least one condition, with its owner and due date, or choose to "
                "approve without conditions."
            )

    def typed(self) -> bool:
        """Whether any row has something in it (a page posted without the rows has none)."""
        return any(form.has_changed() for form in self.forms)

    def fit_the_decision(self) -> bool:
        """Valid for the decision taken: some valid conditions when it approves with
        conditions; none typed when it does not (then the rows need not be posted at all)."""
        if not self.wanted and not self.typed():
            return True
        return self.is_valid()

    def rows(self) -> list[dict]:
        """The conditions as add_conditions takes them, blank rows left out (after
        fit_the_decision); none when the decision does not want them."""
        if not self.wanted:
            return []
        return [
            {name: form.cleaned_data[name] for name in ("text", "owner", "due_on")}
            for form in self.forms
            if form.cleaned_data
        ]

    @property
    def first_rows(self) -> list:
        return self.forms[:ROWS_SHOWN]

    @property
    def more_rows(self) -> list:
        return self.forms[ROWS_SHOWN:]

    @property
    def more_open(self) -> bool:
        """Show the further rows open when one of them holds something (or an error)."""
        return any(form.has_changed() for form in self.more_rows)


ConditionFormSet = forms.formset_factory(
    ConditionForm,
    formset=BaseConditionFormSet,
    extra=MAX_CONDITIONS,
    max_num=MAX_CONDITIONS,
    validate_max=True,
    absolute_max=MAX_CONDITIONS,
)


def condition_formset(data, *, scheme: Scheme, wanted: bool) -> BaseConditionFormSet:
    """The rows of conditions for a decision on `scheme`: its owners are the active members
    of the scheme's organisation (one query for every row's picker)."""
    owners = {user.pk: user for user in people(None, [scheme.organisation_id])}
    return ConditionFormSet(data, owners=owners, wanted=wanted, prefix=PREFIX)


class MeetForm(forms.Form):
    """Marking a condition met: the evidence, and a link to it if there is one."""

    evidence = forms.CharField(
        label="Evidence that the condition is met",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=EVIDENCE_LENGTH,
        help_text="What was done, and where the proof is kept.",
        error_messages={"required": "Describe the evidence that the condition is met."},
    )
    evidence_link = forms.URLField(
        label="Link to the evidence (optional)",
        max_length=LINK_LENGTH,
        required=False,
        assume_scheme="https",
        help_text="A web address starting https://, such as a document on the intranet.",
        error_messages={"invalid": "Enter a web address starting http:// or https://."},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def clean_evidence_link(self):
        link = self.cleaned_data["evidence_link"]
        if link and not link.lower().startswith(("http://", "https://")):
            raise ValidationError("Enter a web address starting http:// or https://.")
        return link

    def service_arguments(self) -> dict:
        """What qia.conditions.condition_meet takes from the form (after is_valid)."""
        data = self.cleaned_data
        return {
            "evidence": data["evidence"],
            "evidence_link": data["evidence_link"],
            "expected_version": data["version"],
        }
