"""The pipeline's forms: an opportunity (added or changed), closing it, writing it up as a PID,
and the filters of the Pipeline page."""

from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms

from governance import roles
from governance.forms import (
    MoneyField,
    PersonChoiceField,
    VersionedForm,
    action_helper,
    drawn_instance,
    people,
)
from governance.models import (
    MAX_MONTHLY_AMOUNT,
    AreaOfSpend,
    FinancialYear,
    Opportunity,
    OpportunityStatus,
    Organisation,
    ProgrammeArea,
    SchemeType,
    User,
)
from governance.text import one_line


class OpportunityForm(forms.ModelForm):
    """An idea for a saving. Organisation and year fix the reference, so only a new one
    chooses them; its owner is one of its organisation's people."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    # the opportunity as its edit page was drawn (governance.forms.drawn_instance): after
    # someone else's save, the form comes back merged field by field
    drawn = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)
    estimated_saving = MoneyField(
        label="Estimated saving in the year",
        min_value=Decimal(0),
        max_value=MAX_MONTHLY_AMOUNT,
        help_text="A first estimate in pounds, like 83,000 or 83k: the PID plans it by month.",
    )
    owner = PersonChoiceField(
        User.objects.none(), help_text="Who takes the idea forward, and writes its PID."
    )

    class Meta:
        model = Opportunity
        fields = [
            "title",
            "description",
            "organisation",
            "financial_year",
            "programme_area",
            "area_of_spend",
            "estimated_saving",
            "owner",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        saving = self.fields["estimated_saving"]
        saving.error_messages["min_value"] = "Enter the saving as a positive amount."
        saving.error_messages["max_value"] = "That is more than £1bn: check it."
        self.fields["area_of_spend"].help_text = "If known: writing it up as a PID asks for it."
        if self.instance.pk:
            del self.fields["organisation"]
            del self.fields["financial_year"]
            organisation_ids = {self.instance.organisation_id}
            self.fields["version"].initial = self.instance.version
            self.fields["drawn"].initial = drawn_instance(self.instance, self._meta.fields)
        else:
            organisation_ids = user.organisation_ids
            self.fields["organisation"].queryset = Organisation.objects.filter(
                id__in=organisation_ids
            )
            if len(organisation_ids) == 1:
                self.fields["organisation"].initial = next(iter(organisation_ids))
            self.fields["financial_year"].queryset = FinancialYear.objects.all()
            self.fields["owner"].initial = user.pk
        # people of the organisations it may belong to; clean() holds it to its own
        self.fields["owner"].queryset = people(None, organisation_ids)
        self.fields["programme_area"].queryset = ProgrammeArea.objects.all()
        self.fields["area_of_spend"].queryset = AreaOfSpend.objects.all()
        self.helper = FormHelper()
        self.helper.form_tag = False
        head = ["title", "description"]
        if not self.instance.pk:
            head.append(Row(Column("organisation"), Column("financial_year")))
        self.helper.layout = Layout(
            "version",
            "drawn",
            Fieldset("The idea", *head),
            Fieldset(
                "Where and how much",
                Row(Column("programme_area"), Column("area_of_spend")),
                Row(Column("estimated_saving"), Column("owner")),
            ),
        )

    def clean_title(self):
        return one_line(self.cleaned_data["title"])

    def clean(self):
        data = super().clean()
        owner = data.get("owner")
        organisation = data.get("organisation") or getattr(self.instance, "organisation", None)
        if owner and organisation and organisation.pk not in owner.organisation_ids:
            self.add_error("owner", f"{owner} is not a member of {organisation.code}.")
        return data

    def opportunity_data(self) -> dict:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("version", "drawn")
        }


class CloseForm(VersionedForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Why the idea goes no further. Kept in its history.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = action_helper("version", "reason", button="Close opportunity", danger=True)


class WriteUpForm(VersionedForm):
    """What a draft PID needs that an opportunity does not say: its type and SRO, and its
    description and area of spend when the opportunity has none. Everything else comes from
    the opportunity."""

    scheme_type = forms.ChoiceField(
        label="Type", choices=SchemeType.choices, widget=forms.RadioSelect
    )
    sro = PersonChoiceField(
        User.objects.none(),
        label="SRO",
        help_text="The executive who owns the scheme.",
    )

    def __init__(self, *args, opportunity: Opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        sros = people(roles.SRO, {opportunity.organisation_id})
        self.fields["sro"].queryset = sros
        # the owner, when an SRO; the organisation's only SRO; else the user chooses: the
        # product does not put a scheme on one of several executives' desks by guessing
        chosen = [u.pk for u in sros if u.pk == opportunity.owner_id] or [u.pk for u in sros]
        if len(chosen) == 1:
            self.fields["sro"].initial = chosen[0]
        asked = ["version", "scheme_type", "sro"]
        if not opportunity.description:
            self.fields["description"] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 5}),
                max_length=20000,
                help_text="What the scheme changes, for whom, and how it saves money.",
            )
            asked.append("description")
        if opportunity.area_of_spend_id is None:
            self.fields["area_of_spend"] = forms.ModelChoiceField(AreaOfSpend.objects.all())
            asked.append("area_of_spend")
        self.helper = action_helper(*asked, button="Write it up as a PID")


class PipelineFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    organisation = forms.ModelChoiceField(
        Organisation.objects.none(), required=False, empty_label="All organisations"
    )
    financial_year = forms.ModelChoiceField(
        FinancialYear.objects.all(), required=False, label="Year", empty_label="All years"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *OpportunityStatus.choices], required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # only the organisations of the user's own systems: those are the ones they see
        self.fields["organisation"].queryset = Organisation.objects.filter(
            system_id__in=user.system_ids
        )
