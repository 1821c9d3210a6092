from django import forms
from django.utils import timezone

from notifications.escalations import remedial_due_problem
from notifications.models import Decision, EscalationStatus, Level, NoticeKind, Rule, Timing

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RemedialActionForm(forms.Form):
    # the escalation's version this form was drawn from (Escalation.version)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    action = forms.CharField(
        label="Remedial action",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What will be done to bring the scheme back on track, and by whom.",
    )
    due = forms.DateField(label="To be done by", widget=DATE)

    def clean_due(self):
        # here, so the error sits on its field and the error summary links to it; the service
        # checks it again for callers without the form
        due = self.cleaned_data["due"]
        problem = remedial_due_problem(due, timezone.localdate())
        if problem:
            raise forms.ValidationError(problem)
        return due


class RaiseToQagForm(forms.Form):
    note = forms.CharField(
        label="Why QAG should decide now",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say why the escalation goes to QAG."},
    )


class DecisionForm(forms.Form):
    # the escalation's version this form was drawn from (Escalation.version)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    meeting = forms.DateField(
        label="Date of the QAG meeting",
        widget=DATE,
        help_text="The meeting that took the decision. A decision stands until QAG decides "
        "again at a later meeting.",
    )
    decision = forms.ChoiceField(
        label="QAG's decision", choices=Decision.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label="Reasons, as minuted",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    due = forms.DateField(
        label="New due date for the remedial action",
        required=False,
        widget=DATE,
        help_text="Only when the scheme continues: leave empty to keep the current date.",
    )
    confirm = forms.BooleanField(
        label="I confirm QAG decided to stop this scheme: its delivery ends for good.",
        required=False,
        help_text="Needed when the decision is to stop the scheme or replace it.",
    )

    def clean_due(self):
        # the remedial action's rule: not past, not years away (the service checks it again)
        due = self.cleaned_data["due"]
        if due and (problem := remedial_due_problem(due, timezone.localdate())):
            raise forms.ValidationError(problem)
        return due

    def clean_meeting(self):
        # here, so the error sits on its field; the service checks it again
        meeting = self.cleaned_data["meeting"]
        if meeting > timezone.localdate():
            raise forms.ValidationError("QAG's meeting cannot be in the future.")
        return meeting

    def clean(self):
        data = super().clean()
        if data.get("due") and data.get("decision") != Decision.CONTINUE:
            self.add_error("due", "A new due date goes with a decision to continue only.")
        stopping = data.get("decision") in (Decision.STOP, Decision.REPLACE)
        if stopping and not data.get("confirm"):
            self.add_error(
                "confirm",
                "Tick to confirm that QAG decided to stop the scheme: it cannot be undone.",
            )
        return data


class EscalationFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("live", "Open or remedial action agreed"), ("", "Any status")]
        + list(EscalationStatus.choices),
    )
    level = forms.ChoiceField(required=False, choices=[("", "Any level"), *Level.choices])
    rule = forms.ChoiceField(required=False, choices=[("", "Any rule"), *Rule.choices])


# What each kind of notice holds, under its choice on the account page.
NOTICE_HELP = {
    NoticeKind.TASKS: "A review, panel scoring, a sign-off, a return or a plan waiting for you.",
    NoticeKind.DECISIONS: "Your scheme approved, returned, not supported, withdrawn, started, "
    "closed or stopped.",
    NoticeKind.QIA: "Your scheme's quality impact assessment returned, dismissed or signed off.",
    NoticeKind.ESCALATIONS: "An escalation raised, decided or resolved. One put before QAG "
    "always goes at once.",
    NoticeKind.REMINDERS: "A step that has waited past its service level.",
}


class NoticePreferencesForm(forms.Form):
    """When the user hears of each kind of notice by mail: at once, or in the daily digest."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in NoticeKind:
            self.fields[kind.value] = forms.ChoiceField(
                label=kind.label,
                choices=Timing.choices,
                widget=forms.RadioSelect,
                help_text=NOTICE_HELP[kind],
                error_messages={
                    "required": f"Choose when to hear of {kind.label.lower()}.",
                    "invalid_choice": f"Choose at once or in a daily digest for "
                    f"{kind.label.lower()}.",
                },
            )
