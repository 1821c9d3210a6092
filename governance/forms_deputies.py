"""The forms of the deputies page: naming a deputy, and changing a delegation's dates."""

from crispy_forms.layout import Column, Row
from django import forms
from django.utils import timezone

from governance.forms import PersonChoiceField, action_helper, people
from governance.models import Organisation, User
from governance.policy import DELEGABLE_ACTIONS

DATE = forms.DateInput(attrs={"type": "date"})


class DatesForm(forms.Form):
    starts_on = forms.DateField(label="First day", widget=DATE)
    ends_on = forms.DateField(
        label="Last day", widget=DATE, help_text="The deputy acts up to and including this day."
    )

    def clean(self):
        data = super().clean()
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "The last day cannot be before the first.")
        if ends_on and ends_on < timezone.localdate():
            self.add_error("ends_on", "The last day has passed already.")
        return data


class DeputyForm(DatesForm):
    """Name a deputy for one of the principal's roles. The principal names someone of their
    organisation who holds that role; an administrator names anyone of it, for anyone."""

    principal = PersonChoiceField(
        queryset=User.objects.none(),
        label="Who is away",
        help_text="Administrators name deputies for others.",
    )
    role = forms.ChoiceField(
        label="Role to cover", help_text="The deputy takes this role's decisions only."
    )
    deputy = PersonChoiceField(
        queryset=User.objects.none(),
        label="Deputy",
        help_text="Someone of the same organisation who holds the same role.",
    )
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())

    field_order = ["principal", "role", "deputy", "organisation", "starts_on", "ends_on"]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.admin = user.is_staff
        # the roles the user holds that nobody else could cover, each in a sentence
        self.nobody: list[str] = []
        if self.admin:
            everyone = User.objects.filter(is_active=True).prefetch_related(
                "groups", "organisations"
            )
            self.fields["principal"].queryset = everyone.filter(
                groups__name__in=list(DELEGABLE_ACTIONS)
            ).distinct()
            self.fields["deputy"].queryset = everyone
            self.fields["deputy"].help_text = "Someone of the same organisation as who is away."
            self.fields["organisation"].queryset = Organisation.objects.all()
            self.fields["role"].choices = [(r, r) for r in DELEGABLE_ACTIONS]
        else:
            del self.fields["principal"]
            held = [r for r in DELEGABLE_ACTIONS if user.has_role(r)]
            # a deputy holds the role they cover (governance.deputies): only the roles someone
            # else holds are offered, and only those people
            colleagues = people(None, user.organisation_ids).exclude(pk=user.pk)
            covered = [r for r in held if colleagues.filter(groups__name=r).exists()]
            self.fields["role"].choices = [(r, r) for r in covered]
            self.fields["deputy"].queryset = colleagues.filter(groups__name__in=covered)
            where = " or ".join(
                Organisation.objects.filter(pk__in=user.organisation_ids)
                .order_by("code")
                .values_list("code", flat=True)
            )
            # an administrator may name a deputy who does not hold the role (ACCESS.md)
            self.nobody = [
                f"Nobody else in {where} holds the role {r}, so you cannot name a deputy for "
                "it here: ask an administrator to name one for you (they can name someone "
                "without the role)."
                for r in held
                if r not in covered
            ]
            self.fields["organisation"].queryset = Organisation.objects.filter(
                pk__in=user.organisation_ids
            )
            if len(user.organisation_ids) == 1:
                self.fields["organisation"].initial = next(iter(user.organisation_ids))
                self.fields["organisation"].widget = forms.HiddenInput()
        self.helper = action_helper(
            *[name for name in self.fields if name not in ("starts_on", "ends_on")],
            Row(Column("starts_on"), Column("ends_on")),
            button="Name the deputy",
        )

    def clean(self):
        data = super().clean()
        starts_on = data.get("starts_on")
        if starts_on and starts_on < timezone.localdate():
            # a deputy acts from the day they are named at the earliest: a first day gone by
            # would have the record say they covered days they did not. (Changing the dates
            # keeps a running delegation's first day, which is past: DatesForm allows it.)
            self.add_error(
                "starts_on",
                "The first day has passed already: a deputy starts today "
                f"({timezone.localdate():%-d %B %Y}) at the earliest.",
            )
        deputy, role = data.get("deputy"), data.get("role")
        if not self.admin and deputy and role and not deputy.has_role(role):
            # offered for another of the user's roles
            self.add_error(
                "deputy", f"{deputy} does not hold the role {role}: choose someone who does."
            )
        return data
