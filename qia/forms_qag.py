"""The form of QAG's approval, on the route that asks for it after the two sign-offs."""

from django import forms

from governance.forms import VersionedForm

QAG_DECISIONS = [
    ("approve", "Proceed: approve the scheme"),
    ("approve_with_conditions", "Proceed with conditions: approve, on the conditions below"),
    ("reject", "Do not proceed: reject the scheme"),
]


class QagApprovalForm(VersionedForm):
    decision = forms.ChoiceField(
        label="QAG's decision", choices=QAG_DECISIONS, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label="QAG's reasons, as minuted",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
    )

    def service_arguments(self) -> dict:
        arguments = super().service_arguments()
        if arguments["decision"] == "approve_with_conditions":
            arguments["decision"] = "approve"
        return arguments

    @property
    def with_conditions(self) -> bool:
        """Whether the choice posted is "with conditions", valid or not: the condition rows
        typed are checked (and kept) whatever else is wrong with the form."""
        return self.is_bound and self.data.get("decision") == "approve_with_conditions"
