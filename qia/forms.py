"""The QIA's forms. A scoring sheet is six small forms, one per heading, each with a prefix."""

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from governance.forms import ACCEPTED, sniff_document
from governance.models import FinancialYear, Organisation
from qia.models import (
    CONSEQUENCES,
    HEADINGS,
    LIKELIHOODS,
    SCORES,
    Band,
    Heading,
    Impact,
    MitigationStatus,
    Screening,
    band_of,
    risk_score,
)
from qia.selectors import REGISTER_SORTS
from qia.services import unmitigated, unmitigated_message


class RevisionForm(forms.Form):
    """Carries the QIA version's revision the page was drawn from, to spot another's change."""

    revision = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)


def _score_choices(choices):
    return [("", "—"), *choices]


@dataclass(frozen=True)
class Level:
    """A level of consequence or likelihood, as the score sheet explains it beside the choice."""

    value: int
    label: str  # "3 Moderate"
    descriptor: str


# What each level means: the NPSA's descriptors ("A risk matrix for risk managers", 2008), in
# short. The score sheet shows them beside the consequence and likelihood of every heading.
CONSEQUENCE_DESCRIPTORS = {
    1: "Minimal injury requiring no/minimal intervention or treatment; no impact on services",
    2: "Minor injury or illness requiring minor intervention; short-term reduction in service "
    "quality",
    3: "Moderate injury requiring professional intervention; sustained reduction in service "
    "quality",
    4: "Major injury leading to long-term incapacity; non-compliance with national standards "
    "with significant risk to patients",
    5: "Incident leading to death; totally unacceptable level or quality of treatment/service",
}
LIKELIHOOD_DESCRIPTORS = {
    1: "This will probably never happen/recur",
    2: "Do not expect it to happen/recur but it is possible it may do so",
    3: "Might happen or recur occasionally",
    4: "Will probably happen/recur but it is not a persisting issue",
    5: "Will undoubtedly happen/recur, possibly frequently",
}
CONSEQUENCE_LEVELS = [Level(v, label, CONSEQUENCE_DESCRIPTORS[v]) for v, label in CONSEQUENCES]
LIKELIHOOD_LEVELS = [Level(v, label, LIKELIHOOD_DESCRIPTORS[v]) for v, label in LIKELIHOODS]

# What a heading's score badge and the sheet's summary say of an impact that is not scored.
UNSCORED_WORDS = {
    Impact.POSITIVE: "Positive impact: not scored",
    Impact.NONE: "No impact: not scored",
}


def _level(value) -> int | None:
    """A level as chosen in a form (posted text, or a saved number); None if none is."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class HeadingForm(forms.Form):
    """Impact on one heading; consequence and likelihood when it is negative."""

    consequence_levels = CONSEQUENCE_LEVELS
    likelihood_levels = LIKELIHOOD_LEVELS

    impact = forms.ChoiceField(choices=Impact.choices, widget=forms.RadioSelect, required=False)
    consequence = forms.TypedChoiceField(
        choices=_score_choices(CONSEQUENCES), coerce=int, empty_value=None, required=False
    )
    likelihood = forms.TypedChoiceField(
        choices=_score_choices(LIKELIHOODS), coerce=int, empty_value=None, required=False
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )

    def __init__(self, *args, heading: str, strict: bool, **kwargs):
        super().__init__(*args, prefix=heading, **kwargs)
        self.heading = heading
        self.label = Heading(heading).label
        self.strict = strict
        for name in ("consequence", "likelihood"):
            # the levels' descriptors beside the list (qia/_levels.html) describe it
            self.fields[name].widget.attrs["data-qia"] = name
            self.fields[name].widget.attrs["aria-describedby"] = self.levels_ids[name]
        self.fields[
            "rationale"
        ].help_text = (
            "Why: the evidence behind your answer, and for a negative impact what could happen."
        )

    def clean(self):
        data = super().clean()
        impact = data.get("impact")
        if self.strict and not impact and "impact" not in self.errors:
            self.add_error("impact", "Choose the impact on this heading.")
        if impact == Impact.NEGATIVE:
            for name in ("consequence", "likelihood"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, f"Score the {name} of a negative impact.")
            if self.strict and not (data.get("rationale") or "").strip():
                self.add_error("rationale", "Give the rationale for a negative impact.")
        else:
            # scores belong to a negative impact only
            data["consequence"] = data["likelihood"] = None
        return data

    def service_data(self) -> dict:
        return {
            name: self.cleaned_data.get(name)
            for name in ("impact", "consequence", "likelihood", "rationale")
        }

    @property
    def shown_score(self) -> int | None:
        """The score to show beside the fields: what was entered, else what was saved."""
        if self.is_bound:
            data = getattr(self, "cleaned_data", None) or {}
            if data.get("impact") == Impact.NEGATIVE and data.get("consequence"):
                if data.get("likelihood"):
                    return risk_score(data["consequence"], data["likelihood"])
            return None
        initial = self.initial
        if initial.get("impact") == Impact.NEGATIVE and initial.get("consequence"):
            if initial.get("likelihood"):
                return risk_score(initial["consequence"], initial["likelihood"])
        return None

    @property
    def shown_band(self) -> str | None:
        return band_of(self.shown_score)

    @property
    def levels_ids(self) -> dict[str, str]:
        """The ids of the lists of levels beside the consequence and likelihood: they describe
        the choices."""
        return {name: f"{self.heading}-{name}-levels" for name in ("consequence", "likelihood")}

    @property
    def chosen_impact(self) -> str:
        """The impact as chosen on the page: what was sent, else what was saved."""
        return self["impact"].value() or ""

    @property
    def chosen_consequence(self) -> int | None:
        return _level(self["consequence"].value())

    @property
    def chosen_likelihood(self) -> int | None:
        return _level(self["likelihood"].value())

    @property
    def score_words(self) -> str:
        """What the heading's score badge and the sheet's summary say: nothing before an impact
        is chosen (qia/static/qia/sheet.js says the same as the choices change)."""
        impact = self.chosen_impact
        if impact in UNSCORED_WORDS:
            return UNSCORED_WORDS[impact]
        if impact != Impact.NEGATIVE:
            return ""
        if self.shown_score is None:
            return "Negative: pick the consequence and likelihood"
        return f"Score {self.shown_score} · {Band(self.shown_band).label}"


class ScoreSheet:
    """The six headings, each its own form (prefixed with the heading)."""

    def __init__(self, data=None, *, strict: bool, initial: dict | None = None):
        initial = initial or {}
        self.forms = [
            HeadingForm(data, heading=heading, strict=strict, initial=initial.get(heading))
            for heading in HEADINGS
        ]

    def __iter__(self):
        return iter(self.forms)

    def is_valid(self) -> bool:
        return all([form.is_valid() for form in self.forms])  # every form, for every error

    def service_data(self) -> dict[str, dict]:
        return {form.heading: form.service_data() for form in self.forms}

    def negative_headings(self) -> list[str]:
        """The headings answered as negative impact (after is_valid): each needs mitigating."""
        return [
            form.heading
            for form in self.forms
            if getattr(form, "cleaned_data", {}).get("impact") == Impact.NEGATIVE
        ]


def initial_from(rows: dict) -> dict[str, dict]:
    return {
        heading: {
            "impact": row.impact,
            "consequence": row.consequence,
            "likelihood": row.likelihood,
            "rationale": row.rationale,
        }
        for heading, row in rows.items()
    }


class EqualityForm(RevisionForm):
    # the whole self-assessment as its page was drawn (governance.forms.sign_drawn): after
    # someone else's save, the page comes back merged field by field
    drawn = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)
    equality_impact = forms.ChoiceField(
        label="Does the scheme affect any group with a protected characteristic, or widen "
        "health inequalities?",
        choices=Screening.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    equality_rationale = forms.CharField(
        label="Rationale",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )
    eqia_file = forms.FileField(
        label="Full equality impact assessment (document)",
        required=False,
        help_text=f"Needed before sign-off when the answer is yes or not known. {ACCEPTED}.",
    )
    eqia_link = forms.URLField(
        label="…or a link to it", required=False, max_length=200, assume_scheme="https"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["eqia_file"].widget.attrs["accept"] = ACCEPTED.replace(" ", "")
        self.content_type = ""

    def clean_eqia_file(self):
        upload = self.cleaned_data.get("eqia_file")
        if not upload:
            return None
        if upload.size > settings.QIPP_DOCUMENT_MAX_BYTES:
            raise ValidationError("This file is larger than 20 MB.")
        if upload.size == 0:
            raise ValidationError("This file is empty.")
        self.content_type = sniff_document(upload)
        return upload

    def service_arguments(self) -> dict:
        """What services.self_assessment_save takes from this form (after is_valid)."""
        data = self.cleaned_data
        return {
            "equality_impact": data["equality_impact"],
            "equality_rationale": data["equality_rationale"],
            "eqia_link": data["eqia_link"],
            "eqia_upload": data["eqia_file"],
            "eqia_content_type": self.content_type,
            "expected_revision": data["revision"],
        }


class EqiaForm(forms.Form):
    eqia_file = EqualityForm.base_fields["eqia_file"]
    eqia_link = EqualityForm.base_fields["eqia_link"]

    clean_eqia_file = EqualityForm.clean_eqia_file

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.content_type = ""

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("eqia_file") and not data.get("eqia_link"):
            raise ValidationError("Attach the document or give its link.")
        return data


class MitigationForm(forms.Form):
    """One mitigating action: DESIGN.md gives each an owner and a due date."""

    heading = forms.ChoiceField(choices=[("", "—"), *Heading.choices])
    description = forms.CharField(
        label="Mitigating action", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    owner = forms.CharField(
        max_length=200,
        help_text="A name or a role.",
        error_messages={"required": "Say who owns this action: a name or a role."},
    )
    due_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={
            "required": "Give the date this action is due by.",
            "invalid": "Enter the due date as day/month/year.",
        },
    )
    status = forms.ChoiceField(choices=MitigationStatus.choices, initial=MitigationStatus.PLANNED)

    def clean(self):
        data = super().clean()
        due = data.get("due_date")
        # an action still to do cannot be due in the past; a done one keeps its real date
        if due and due < timezone.localdate() and data.get("status") != MitigationStatus.DONE:
            self.add_error(
                "due_date",
                f"The due date, {due:%-d %B %Y}, has passed: give today or a later date, "
                "or mark the action done.",
            )
        return data


class BaseMitigationFormSet(forms.BaseFormSet):
    """The mitigating actions; `must_mitigate` names the headings that each need one (the
    panel's negative agreed headings: a self-assessment may be saved without them)."""

    def __init__(self, *args, must_mitigate=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.must_mitigate = list(must_mitigate)

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        missing = unmitigated(self.must_mitigate, self.rows())
        if missing:
            raise ValidationError(unmitigated_message(missing))

    def rows(self) -> list[dict]:
        return [
            {key: form.cleaned_data[key] for key in MitigationForm.base_fields}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


MitigationFormSet = forms.formset_factory(
    MitigationForm,
    formset=BaseMitigationFormSet,
    extra=2,
    can_delete=True,
    max_num=60,
    validate_max=True,
    absolute_max=100,
)


def mitigation_initial(version) -> list[dict]:
    if version is None:
        return []
    return [
        {
            "heading": m.heading,
            "description": m.description,
            "owner": m.owner,
            "due_date": m.due_date,
            "status": m.status,
        }
        for m in version.mitigations.all()
    ]


OVERALL_CHOICES = [
    ("", "The highest agreed heading score (default)"),
    *[(score, f"{score} ({band_of(score).label.lower()})") for score in SCORES],
]


class AgreeForm(RevisionForm):
    overall_score = forms.TypedChoiceField(
        label="Agreed overall risk score",
        choices=OVERALL_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )
    justification = forms.CharField(
        label="Justification for a different overall score",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
        help_text="Needed when the overall score is not the highest agreed heading score.",
    )
    # who had scored when the page was drawn (their ids): a page sent after someone else
    # scored meanwhile can then say who, as the panel's scores it showed were not all there
    scorers = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_scorers(self) -> frozenset[int] | None:
        """The ids the page carried, None if it carried none (anything else in it is dropped:
        it only words the message after a conflict)."""
        parts = self.cleaned_data["scorers"][:2000].split(",")
        ids = {int(p) for p in parts if p.isascii() and p.isdigit() and len(p) <= 9}
        return frozenset(ids) or None

    def check_against(self, default: int | None) -> bool:
        """The overall score may differ from the default only with a written justification."""
        overall = self.cleaned_data.get("overall_score")
        justification = (self.cleaned_data.get("justification") or "").strip()
        if overall is not None and overall != default and not justification:
            self.add_error(
                "justification",
                f"The overall score differs from the highest agreed heading score "
                f"({default or 'none'}): write a justification.",
            )
            return False
        return True

    def service_arguments(self) -> dict:
        """What services.panel_agree takes from this form (after is_valid)."""
        data = self.cleaned_data
        return {
            "overall_score": data["overall_score"],
            "justification": data["justification"],
            "expected_revision": data["revision"],
        }


class PanelCloseForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("return", "Return to the project lead for more detail"),
            ("dismiss", "Dismiss on quality grounds (detrimental impact on patient care)"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)


APPROVE_WITH_CONDITIONS = "approve_with_conditions"
SIGN_OFF_DECISIONS = [
    ("approve", "Approve"),
    (APPROVE_WITH_CONDITIONS, "Approve with conditions (give them below)"),
    ("revise", "Decline: return to the project lead for revision"),
    ("reject", "Decline: reject"),
]


class SignOffForm(RevisionForm):
    # the version the signatory read: their own decision on it already recorded makes a
    # second submit of the form (a double click, a stale tab) "already recorded", not refused
    qia_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    capacity = forms.ChoiceField(label="Signing as", required=False)
    decision = forms.ChoiceField(choices=SIGN_OFF_DECISIONS, widget=forms.RadioSelect)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    justification = forms.CharField(
        label="Your justification for accepting an extreme risk",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )

    def __init__(self, *args, capacities: list, extreme: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.extreme = extreme
        self.fields["capacity"].choices = capacities
        if len(capacities) > 1:
            self.fields["capacity"].required = True
        else:
            self.fields["capacity"].widget = forms.HiddenInput()
            if capacities:
                self.fields["capacity"].initial = capacities[0][0]
        if not extreme:
            del self.fields["justification"]

    def clean(self):
        data = super().clean()
        if (
            self.extreme
            and data.get("decision") in ("approve", APPROVE_WITH_CONDITIONS)
            and not (data.get("justification") or "").strip()
        ):
            self.add_error("justification", "The agreed risk is extreme: write your justification.")
        return data

    @property
    def with_conditions(self) -> bool:
        """Whether the signatory chose to approve with conditions, as posted: the page checks
        the conditions (qia.forms_conditions) beside this form, not after it."""
        return self.is_bound and self.data.get("decision") == APPROVE_WITH_CONDITIONS

    def service_arguments(self, conditions: list[dict] | None = None) -> dict:
        """What services.sign_off_record takes, from the form (after is_valid): approve (with
        the `conditions`, the rows of the conditions formset, when approving with conditions),
        or decline and send back for revision, or decline and reject."""
        decision = self.cleaned_data["decision"]
        approving = decision in ("approve", APPROVE_WITH_CONDITIONS)
        arguments = {
            "capacity": self.cleaned_data["capacity"] or None,
            "decision": "approved" if approving else "declined",
            "decline_outcome": "reject" if decision == "reject" else "revise",
            "comment": self.cleaned_data["comment"],
            "justification": self.cleaned_data.get("justification") or "",
            "expected_revision": self.cleaned_data["revision"],
        }
        if decision == APPROVE_WITH_CONDITIONS:
            arguments["conditions"] = list(conditions or [])
        return arguments


class ReassessForm(forms.Form):
    reason = forms.CharField(
        label="What has changed",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=450,
        required=False,
        help_text="For example a change of scope. Not needed when the QIA is due.",
    )

    def __init__(self, *args, due: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = not due


class RiskFilterForm(forms.Form):
    organisation = forms.ModelChoiceField(
        Organisation.objects.none(), required=False, empty_label="All organisations"
    )
    financial_year = forms.ModelChoiceField(
        FinancialYear.objects.all(), required=False, label="Year", empty_label="All years"
    )
    band = forms.ChoiceField(
        choices=[("", "Any band"), *Band.choices], required=False, label="Overall band"
    )
    consequence = forms.TypedChoiceField(
        choices=[("", "Any consequence"), *CONSEQUENCES],
        coerce=int,
        empty_value=None,
        required=False,
    )
    likelihood = forms.TypedChoiceField(
        choices=[("", "Any likelihood"), *LIKELIHOODS],
        coerce=int,
        empty_value=None,
        required=False,
    )
    sort = forms.ChoiceField(
        choices=[(key, label) for key, (label, _order) in REGISTER_SORTS.items()],
        required=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(
            system_id__in=user.system_ids
        )

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "organisation": data.get("organisation"),
            "financial_year": data.get("financial_year"),
            "band": data.get("band") or None,
        }

    def query(self) -> dict:
        """The filters as they go in a link (ids, not objects)."""
        found = self.filters()
        return {
            "organisation": found["organisation"].pk if found["organisation"] else "",
            "financial_year": found["financial_year"].pk if found["financial_year"] else "",
            "band": found["band"] or "",
        }
