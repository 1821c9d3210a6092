from django import forms

from governance.forms import IdsChoiceField
from governance.models import Organisation


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, so you know it again: e.g. Power BI."
    )
    organisations = IdsChoiceField(
        queryset=Organisation.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The token reads these organisations only.",
        # one plain message for none ticked, a blank, a word or another's organisation
        error_messages=dict.fromkeys(
            ["required", "invalid_list", "invalid_choice", "invalid_pk_value"],
            "Choose one or more of your organisations.",
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # only the user's own organisations: a token never sees more than its owner
        self.fields["organisations"].queryset = Organisation.objects.filter(
            pk__in=user.organisation_ids
        )
