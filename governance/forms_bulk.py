"""The form of acting on several schemes at once from the inbox: starting their delivery."""

import re

from django import forms

from governance.forms_delivery import TickedField

# More than a PMO ever has waiting: a post naming more is refused whole.
MOST_AT_ONCE = 200


class BulkStartForm(forms.Form):
    """The approved schemes ticked, each with the version the page showed it at (a hidden
    field `version-<id>`), and one note for the history of each."""

    scheme = TickedField(
        label="Schemes to start",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Tick the schemes whose delivery you are starting.",
            "invalid_choice": "“%(value)s” is not a scheme of this list: tick the schemes shown.",
        },
    )
    comment = forms.CharField(
        label="Note for each scheme's history (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The same note goes in the history of every scheme started.",
    )

    def clean_scheme(self):
        ids = list(dict.fromkeys(self.cleaned_data["scheme"]))  # each once, in the page's order
        if len(ids) > MOST_AT_ONCE:
            raise forms.ValidationError(f"Start at most {MOST_AT_ONCE} schemes at once.")
        return ids

    def chosen(self) -> list[tuple[int, int | None]]:
        """(scheme id, the version the page showed, or None when the page sent none)."""
        return [
            (pk, _version(self.data.get(f"version-{pk}"))) for pk in self.cleaned_data["scheme"]
        ]


def _version(value) -> int | None:
    return int(value) if re.fullmatch(r"[0-9]{1,9}", str(value or "")) else None
