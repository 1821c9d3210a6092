import json
import zipfile
from datetime import date
from decimal import Decimal

from crispy_forms.bootstrap import FormActions
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Div, Fieldset, Layout, Row, Submit
from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.forms.models import model_to_dict
from django.utils.text import Truncator

from governance import archives, money, roles, services
from governance.models import (
    MAX_MONTHLY_AMOUNT,
    MONTH_NAMES,
    PLAN_FIELDS,
    RECURRENT_FIELDS,
    AreaOfSpend,
    DocumentKind,
    FinancialYear,
    Organisation,
    ProgrammeArea,
    Recurrence,
    ReviewDecision,
    Scheme,
    SchemeState,
    User,
)
from governance.text import one_line


def action_helper(*layout, button: str, danger: bool = False) -> FormHelper:
    """How a form that takes one step is drawn: its fields, then one button. The browser's own
    checks are off: errors come from the server, summarised at the top of the page."""
    helper = FormHelper()
    helper.attrs = {"novalidate": ""}
    submit = Submit("save", button, css_class="btn-danger") if danger else Submit("save", button)
    helper.layout = Layout(*layout, FormActions(submit))
    return helper


def filter_helper(*columns: tuple[str, str], button: tuple[str, str]) -> FormHelper:
    """How a filter bar above a list is drawn: (field, column classes) side by side, then the
    button (name, label); it sends a GET, so the filtered list has an address."""
    helper = FormHelper()
    helper.form_method = "get"
    helper.form_class = "row g-2 align-items-end"
    name, label = button
    helper.layout = Layout(
        *(Div(field, css_class=css) for field, css in columns),
        Div(Submit(name, label, css_class="btn-primary mb-3"), css_class="col-auto"),
    )
    return helper


def id_in_range(value) -> int | None:
    """A row's id as sent in a form or an address, or None when it cannot be one: not a whole
    number, or beyond what an id column holds. Asked for, such a number fails the query (an
    OverflowError on SQLite, a DataError on PostgreSQL) rather than finding nothing."""
    try:
        number = int(value)
    except (TypeError, ValueError):  # a ValueError too for a number of over 4,300 digits
        return None
    # every table's id is a BigAutoField (settings.DEFAULT_AUTO_FIELD)
    lowest, highest = connection.ops.integer_field_range("BigAutoField")
    return number if lowest <= number <= highest else None


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Django's field, but a value that cannot be an id (a huge number, say) is refused as not
    a valid value before the query, which it would fail; the value is cut to a line in the
    message. Django looks each id up with `pk__in`, where an out-of-range number is not caught
    as it is in a plain `pk=` lookup."""

    def clean(self, value):
        value = self.prepare_value(value)  # rows (a disabled field's initial) to their ids
        if self.to_field_name is None and isinstance(value, (list, tuple)):
            ids = []
            for pk in value:
                found = id_in_range(pk)
                if found is None:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": Truncator(str(pk)).chars(40)},
                    )
                # " 7 " is 7, as the query reads it: found by its id, not refused as no choice
                ids.append(str(found))
            value = ids
        return super().clean(value)


class MoneyField(forms.DecimalField):
    """An amount in pounds, typed as people type it: 83000, 83,000, £83,000, 83k, 1.5m, and a
    negative as -83,000 where `min_value` allows one (governance.money.parse_pounds).
    Anything else is refused, naming the field, never guessed or cut off. A text box, not a
    number box (which drops letters silently); a saved amount is shown back as £83,000.

    Brackets are refused where a negative is allowed: a saving is typed positive and a cost
    negative, but the pages beside the form show savings in brackets, so "(134,400)" copied
    from them would be read as the opposite of what was meant. Where no negative is allowed
    they read as a negative and are refused as one. An amount out of bounds gets one message:
    the bound's, not also "too large"."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        # the error summary names the field: "Apr: Enter an amount in pounds, like 83,000 or 83k."
        self.error_messages.update(
            {
                "invalid": "Enter an amount in pounds, like 83,000 or 83k.",
                "max_decimal_places": "Pounds and pence only: at most 2 figures after the point.",
                "max_digits": "That amount is too large: check it.",
                "max_whole_digits": "That amount is too large: check it.",
            }
        )

    def to_python(self, value):
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, Decimal):
            return value
        try:
            amount = money.parse_pounds(str(value))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if str(value).strip().startswith("(") and self._negative_allowed:
            typed = str(value).strip()[1:-1].strip().lstrip("£").strip()
            raise ValidationError(
                "Brackets could mean a saving or a cost here: type a saving as %(typed)s and "
                "a cost rising as -%(typed)s.",
                code="brackets",
                params={"typed": typed},
            )
        return amount

    @property
    def _negative_allowed(self) -> bool:
        return self.min_value is None or self.min_value < 0

    def run_validators(self, value):
        # one message for one amount: past the field's bound it is "more than £1bn", not also
        # "too large" for its digits (the validators run in order, the bounds first)
        if value in self.empty_values:
            return
        for validator in self.validators:
            try:
                validator(value)
            except ValidationError as refused:
                if getattr(refused, "code", None) in self.error_messages:
                    refused.message = self.error_messages[refused.code]
                raise refused from None

    def prepare_value(self, value):
        # a saved amount as people read it; what was typed is shown back as typed
        if isinstance(value, Decimal):
            return money.pounds(value)
        return value


class VersionedForm(forms.Form):
    """Carries the scheme version the page was drawn from, to spot someone else's change."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def service_arguments(self) -> dict:
        """What the workflow step's service takes from the form (after is_valid): the version
        it was drawn from (the service refuses a write over a newer one) and each field."""
        data = dict(self.cleaned_data)
        return {"expected_version": data.pop("version"), **data}


def people(role: str | None, organisation_ids):
    """The active members of the organisations (holding `role`, if given), for a people
    picker: sorted by name, with what person_label() shows of each loaded."""
    users = User.objects.filter(is_active=True, organisations__in=organisation_ids)
    if role:
        users = users.filter(groups__name=role)
    found = users.distinct().order_by("last_name", "first_name", "username")
    return found.prefetch_related("groups", "organisations")


def person_label(user: User) -> str:
    """A person as a picker shows them: "Richard Moss (SRO; ELR)", their roles and
    organisations, so that the right one is chosen among people of the same name."""
    held = ", ".join(sorted(group.name for group in user.groups.all())) or "no role"
    organisations = ", ".join(sorted(org.code for org in user.organisations.all()))
    return f"{user} ({held}; {organisations})"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return person_label(obj)


# Whether a saving is cash-releasing, as the PID form asks it: both answers said in full.
CASH_RELEASING_CHOICES = [
    (True, "Cash-releasing: the money leaves the budget"),
    (False, "Not cash-releasing: staff time, beds or capacity freed for other work"),
]
INVESTMENT_FIELDS = ["investment_one_off", "investment_recurring"]


def plan_month_field(label: str, *, required: bool = True) -> MoneyField:
    """A month of the PID's savings plan, or its recurrent part: pounds, from £0 to £1bn."""
    field = MoneyField(
        label=label,
        required=required,
        min_value=Decimal(0),
        max_value=MAX_MONTHLY_AMOUNT,
        max_digits=12,
    )
    field.error_messages["max_value"] = "That is more than £1bn in a month: check it."
    field.error_messages["min_value"] = "Enter the saving as a positive amount."
    return field


# A start date this many years or more before its financial year begins is a typing slip
# (1900 for 2026): the plan's months would all fall years after the scheme started.
EARLIEST_START_YEARS = 5


def start_date_problem(start, year: FinancialYear) -> str | None:
    """Why a PID of `year` may not start on `start`: after the year ends its plan would save
    nothing; years before it begins, the date is a slip. Nearer misfits are only warned of
    (governance.selectors.plan_warnings)."""
    if start > year.end_date:
        return (
            f"The start date, {start:%-d %B %Y}, is after {year.label} ends on "
            f"{year.end_date:%-d %B %Y}: the plan's months would save nothing. Give a date "
            "within the year, or choose the year the scheme starts in."
        )
    earliest = year.start_date.replace(year=year.start_year - EARLIEST_START_YEARS)
    if start < earliest:
        return (
            f"The start date, {start:%-d %B %Y}, is more than {EARLIEST_START_YEARS} years "
            f"before {year.label} begins: check the year you typed."
        )
    return None


# --- A save that met someone else's: the form again, merged field by field ---
#
# An edit page carries, in one signed hidden field, the values its fields were drawn with.
# When its save meets a save made meanwhile (a Conflict), each field is compared three ways,
# as in a shared document: a field the user left as drawn takes the value saved meanwhile;
# one they changed keeps theirs; one both changed keeps theirs, with the saved value noted
# under it. Nothing is saved until they save again. (The history cannot tell the drawn
# values: it keeps no version numbers, and shows a person by name and an amount as text.)

DRAWN_SALT = "governance.forms.drawn"
# How much of a value saved meanwhile the note under a clashing field shows
CLASH_SHOWN = 120


class _DrawnJSON:
    """JSON for django.core.signing that also takes amounts and dates (as text)."""

    def dumps(self, obj) -> bytes:
        return json.dumps(obj, cls=DjangoJSONEncoder, separators=(",", ":")).encode("latin-1")

    def loads(self, data: bytes):
        return json.loads(data.decode("latin-1"))


def plain(values):
    """Values as the signed field carries them back: an amount or a date as text."""
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def sign_drawn(values) -> str:
    """`values` (field name -> value) signed, for the hidden field of the page drawn with them."""
    return signing.dumps(values, salt=DRAWN_SALT, serializer=_DrawnJSON, compress=True)


def drawn_instance(instance, fields) -> str:
    """The model form's `fields` of `instance`, signed: what its edit page is drawn with."""
    return sign_drawn(model_to_dict(instance, fields=fields))


def read_drawn(signed: str | None):
    """What sign_drawn signed; None for a page that carried nothing usable (drawn before the
    field was added, or altered): the merge then keeps all that was posted."""
    if not signed:
        return None
    try:
        return signing.loads(signed, salt=DRAWN_SALT, serializer=_DrawnJSON)
    except signing.BadSignature:
        return None


def _python(field: forms.Field, value):
    # a person or a list's row stays its id: has_changed and the widget take it as it is
    if isinstance(field, forms.ModelChoiceField):
        return value
    return field.to_python(value)


def _one_line_break(value):
    # a browser sends a line break as CR LF: the same text however it was saved
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _differs(bound: forms.BoundField, value) -> bool:
    """Whether the field as posted differs from `value` (a plain one), as Django judges a
    change: 83k is £83,000 (and a value that does not read at all differs)."""
    try:
        initial = _python(bound.field, value)
    except ValidationError:
        return True
    return bound.field.has_changed(_one_line_break(initial), _one_line_break(bound.data))


def put_value(data, bound: forms.BoundField, value) -> None:
    """Put `value` in the posted `data` (a QueryDict copy) as the browser posts the field
    showing it."""
    widget = bound.field.widget
    if isinstance(widget, forms.CheckboxInput):
        if value:
            data[bound.html_name] = "on"
        else:
            data.pop(bound.html_name, None)  # an unticked box posts nothing
        return
    shown = widget.format_value(bound.field.prepare_value(value))
    if isinstance(shown, list):  # a list or radio buttons
        data.setlist(bound.html_name, shown)
    else:
        data[bound.html_name] = shown or ""


def merge_fields(typed: forms.BaseForm, *, drawn: dict, saved: dict, data) -> tuple[list, list]:
    """Merge the posted form `typed` with a save made since its page was drawn: each field
    the user left as `drawn` takes its `saved` value, written into `data` (a copy of what was
    posted, which the form is drawn again from). Returns the names of the fields changed
    meanwhile, and of those the ones the user changed too, to something else: theirs stands."""
    meanwhile, clashes = [], []
    for name, was in drawn.items():
        if name not in typed.fields:
            continue
        now = plain(saved.get(name))
        if _one_line_break(now) == _one_line_break(was):
            continue
        meanwhile.append(name)
        bound = typed[name]
        if not _differs(bound, was):
            put_value(data, bound, _python(bound.field, now))
        elif _differs(bound, now):
            clashes.append(name)
    return meanwhile, clashes


def shown_value(field: forms.Field, value) -> str:
    """A value saved meanwhile (a plain one) as a person reads it, cut short: a person or a
    list's row by name, a choice by its label, an amount in pounds, a date in words."""
    value = _python(field, value)
    if value is None or value == "":
        return "(empty)"
    if isinstance(field, forms.ModelChoiceField):
        found = field.queryset.model._default_manager.filter(pk=value).first()
        words = str(found) if found else str(value)
    elif isinstance(field, forms.ChoiceField):
        labels = {str(key): label for key, label in field.choices}
        words = str(labels.get(str(value), value))
    elif isinstance(value, bool):
        words = "Yes" if value else "No"
    elif isinstance(value, date):
        words = f"{value:%-d %B %Y}"
    else:
        words = str(field.prepare_value(value))
    return Truncator(" ".join(words.split())).chars(CLASH_SHOWN)


def clash_note(shown: str, who: str | None = None) -> str:
    """The note under a field both the user and a save made meanwhile changed."""
    by = f" by {who}" if who else ""
    stop = "" if shown.endswith((".", "!", "?", "…")) else "."
    return f"Also changed meanwhile{by}: {shown}{stop} Yours is kept here."


def who_words(person, user) -> str | None:
    """Who made a change, as the user reads it (None when the history does not say)."""
    if person is None:
        return None
    return "you (in another tab)" if person.pk == user.pk else str(person)


def changed_meanwhile_words(labels_by_who: dict[str | None, list[str]]) -> str:
    """ "Pat Smith changed: Title, Jun." for each person, in the order first met."""
    said = []
    for who, labels in labels_by_who.items():
        if who is None:
            said.append(f"Changed meanwhile: {', '.join(labels)}.")
        else:
            said.append(f"{who[0].upper()}{who[1:]} changed: {', '.join(labels)}.")
    return " ".join(said)


def merge_with_saved(typed: forms.ModelForm, saved, data) -> tuple[list, dict] | None:
    """merge_fields for a model form with a `drawn` field: `saved` is its row as saved now,
    and `data` carries it as drawn anew. Returns the fields changed meanwhile, and the
    clashes with the value saved in each; None when the page carried no drawn values."""
    fields = typed._meta.fields
    data["drawn"] = drawn_instance(saved, fields)
    drawn = read_drawn(typed.cleaned_data.get("drawn"))
    if not isinstance(drawn, dict):
        return None
    values = model_to_dict(saved, fields=fields)
    meanwhile, clashes = merge_fields(typed, drawn=drawn, saved=values, data=data)
    return meanwhile, {name: plain(values[name]) for name in clashes}


def form_after_conflict(
    request, typed: forms.ModelForm, current, *, said: str, undrawn: str, changed_by
):
    """The model form again after someone else saved `current` while the user edited it:
    merged with the saved row (merge_with_saved), drawn at its current version, with `said`
    (that nothing was saved) and what the merge did at its top; `undrawn` instead for a page
    that carried no drawn values. `changed_by(current, fields)` says who changed which."""
    data = request.POST.copy()
    data["version"] = current.version
    merged = merge_with_saved(typed, current, data)
    form = type(typed)(data, instance=current, user=request.user)
    form.is_valid()
    if merged is None:
        # a page drawn without its values (from before they were carried): all it typed
        said += undrawn
    else:
        meanwhile, clashes = merged
        said += explain_merge(
            form,
            meanwhile=meanwhile,
            clashes=clashes,
            changed_by=changed_by(current, meanwhile),
            user=request.user,
        )
    form.add_error(None, said)
    return form


def explain_merge(form: forms.ModelForm, *, meanwhile, clashes, changed_by: dict, user) -> str:
    """After merge_with_saved, on the model form drawn again from the merged data: a note
    under each field both changed, and what the message above the form says of the merge.
    `changed_by`: field name -> who last changed it, where the history says."""
    if not meanwhile:
        return "None of the fields below changed: save again to keep your version."
    for name, saved in clashes.items():
        shown = shown_value(form.fields[name], saved)
        form.add_error(name, clash_note(shown, who_words(changed_by.get(name), user)))
    by_who = {}
    for name in meanwhile:
        who = who_words(changed_by.get(name), user)
        by_who.setdefault(who, []).append(str(form[name].label))
    said = f"{changed_meanwhile_words(by_who)} The form below holds those changes and yours"
    if clashes:
        said += "; where you both changed a field, yours is kept and theirs is shown under it"
    return f"{said}. Check it, then save again to keep it."


class SchemeForm(forms.ModelForm):
    """The PID. Organisation and year fix the reference, so only a new PID chooses them."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # the PID as the page was drawn (drawn_instance): after someone else's save, the form
    # comes back merged field by field (merge_fields). No length limit: it holds the whole
    # description, and what is not signed here is ignored.
    drawn = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)

    class Meta:
        model = Scheme
        fields = [
            "title",
            "description",
            "organisation",
            "financial_year",
            "programme_area",
            "area_of_spend",
            "scheme_type",
            "is_recovery",
            "sro",
            "clinical_lead",
            "finance_lead",
            "start_date",
            *PLAN_FIELDS,
            "recurrence",
            *RECURRENT_FIELDS,
            "cash_releasing",
            *INVESTMENT_FIELDS,
        ]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 6}),
            "recurrence": forms.RadioSelect,
        }
        labels = {"recurrence": "Does the saving recur in later years?"}
        help_texts = {
            "recurrence": (
                "Recurrent: it goes on saving every year (a contract re-priced, a service "
                "redesigned). Non-recurrent: this year only (a one-off rebate, a provision "
                "released, a post held vacant). Mixed: part of each month's saving recurs; "
                "give that part month by month."
            ),
        }
        field_classes = dict.fromkeys(["sro", "clinical_lead", "finance_lead"], PersonChoiceField)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        org_ids = user.organisation_ids
        if self.instance.pk:
            del self.fields["organisation"]
            del self.fields["financial_year"]
            org_ids = {self.instance.organisation_id}
            self.fields["version"].initial = self.instance.version
            self.fields["drawn"].initial = drawn_instance(self.instance, self._meta.fields)
        else:
            self.fields["organisation"].queryset = Organisation.objects.filter(id__in=org_ids)
            if len(org_ids) == 1:
                self.fields["organisation"].initial = next(iter(org_ids))
            self.fields["financial_year"].queryset = FinancialYear.objects.all()
        self.fields["sro"].queryset = people(roles.SRO, org_ids)
        self.fields["clinical_lead"].queryset = people(None, org_ids)
        self.fields["finance_lead"].queryset = people(None, org_ids)
        self.fields["programme_area"].queryset = ProgrammeArea.objects.all()
        self.fields["area_of_spend"].queryset = AreaOfSpend.objects.all()
        self.fields["start_date"].input_formats = ["%Y-%m-%d", "%d/%m/%Y"]
        for name, month in zip(PLAN_FIELDS, MONTH_NAMES, strict=True):
            field = plan_month_field(month)
            field.initial = self.fields[name].initial  # the model's £0
            field.widget.attrs["data-plan-month"] = ""  # summed as typed (static/js/plan.js)
            self.fields[name] = field
        for name, month in zip(RECURRENT_FIELDS, MONTH_NAMES, strict=True):
            # blank is £0; read only for a mixed saving (clean)
            self.fields[name] = plan_month_field(f"{month} (recurrent)", required=False)
        self.fields["cash_releasing"] = forms.TypedChoiceField(
            label="Is the saving cash-releasing?",
            choices=CASH_RELEASING_CHOICES,
            coerce=lambda value: value == "True",
            widget=forms.RadioSelect,
            initial=self.fields["cash_releasing"].initial,  # the model's: cash-releasing
            help_text=(
                "Cash-releasing when the budget pays out less: a lower price, a package or "
                "prescription no longer paid for. Not when what is saved is time or capacity "
                "that is used for other patients (HM Treasury's efficiency framework)."
            ),
        )
        for name in INVESTMENT_FIELDS:
            field = MoneyField(
                label=Scheme._meta.get_field(name).verbose_name.capitalize(),
                required=False,  # blank is none
                min_value=Decimal(0),
                max_value=MAX_MONTHLY_AMOUNT,
                max_digits=12,
                initial=self.fields[name].initial,  # the model's £0
            )
            field.error_messages["max_value"] = "That is more than £1bn: check it."
            field.error_messages["min_value"] = "Enter the cost as a positive amount."
            self.fields[name] = field
        self.fields["investment_one_off"].help_text = (
            "What the scheme costs once to set it up (project staff, IT, training), in pounds. "
            "£0 if nothing."
        )
        self.fields["investment_recurring"].help_text = (
            "What the scheme costs to run each year (new posts, licences, a service contract), "
            "in pounds. £0 if nothing. The net saving is the saving less both investments."
        )
        self.helper = FormHelper()
        self.helper.form_tag = False
        head = ["title", "description"]
        if not self.instance.pk:
            head.append(Row(Column("organisation"), Column("financial_year")))
        months = "col-6 col-md-3 col-lg-2"
        self.helper.layout = Layout(
            "version",
            "drawn",
            Fieldset("About the scheme", *head),
            Fieldset(
                "Classification",
                Row(Column("programme_area"), Column("area_of_spend")),
                Row(Column("scheme_type"), Column("start_date")),
                "is_recovery",
            ),
            Fieldset(
                "People",
                Row(Column("sro"), Column("clinical_lead"), Column("finance_lead")),
            ),
            Fieldset(
                "Monthly savings plan (pounds saved in each month)",
                Row(*[Column(name, css_class=months) for name in PLAN_FIELDS]),
                HTML('{% include "governance/_plan_total.html" %}'),
            ),
            Fieldset(
                "What kind of saving",
                "recurrence",
                # shown only when "mixed" is chosen (static/js/plan.js); all shown without it
                Fieldset(
                    "The recurrent part of each month (only for a mixed saving)",
                    HTML('{% include "governance/_recurrent_help.html" %}'),
                    Row(*[Column(name, css_class=months) for name in RECURRENT_FIELDS]),
                    css_class="border-start border-3 ps-3 mb-3",
                    data_recurrent_parts="",
                ),
                "cash_releasing",
            ),
            Fieldset(
                "What the scheme costs",
                Row(Column("investment_one_off"), Column("investment_recurring")),
            ),
        )

    def clean_title(self):
        return one_line(self.cleaned_data["title"])

    def clean_investment_one_off(self):
        return self.cleaned_data["investment_one_off"] or Decimal(0)

    def clean_investment_recurring(self):
        return self.cleaned_data["investment_recurring"] or Decimal(0)

    def plan_total(self) -> Decimal | None:
        """The year's plan as the server reads it: the months as typed once they are all
        valid, else the saved plan (None for a new PID)."""
        if self.is_bound:
            data = getattr(self, "cleaned_data", {})
            if all(data.get(name) is not None for name in PLAN_FIELDS):
                return sum((data[name] for name in PLAN_FIELDS), Decimal(0))
        if self.instance.pk:
            return self.instance.annual_plan
        return None

    def clean_start_date(self):
        start = self.cleaned_data["start_date"]
        year = self.instance.financial_year if self.instance.pk else None
        if year is None:
            # a new PID: the year chosen on the form (cleaned before the start date)
            year = self.cleaned_data.get("financial_year")
        if start is None or year is None:
            return start
        problem = start_date_problem(start, year)
        if problem:
            raise ValidationError(problem)
        return start

    def clean(self):
        data = super().clean()
        if all(name in data for name in PLAN_FIELDS):
            if sum(data[name] for name in PLAN_FIELDS) <= 0:
                # on the plan's first month, so the error summary links to the plan
                self.add_error(
                    PLAN_FIELDS[0], "The savings plan must add up to more than £0 for the year."
                )
        if data.get("recurrence") == Recurrence.MIXED:
            for name in RECURRENT_FIELDS:
                if name in data and data[name] is None:
                    data[name] = Decimal(0)
            plan = [data.get(name) for name in PLAN_FIELDS]
            parts = [data.get(name) for name in RECURRENT_FIELDS]
            for name, problem in services.recurrent_part_problems(plan, parts).items():
                self.add_error(name, problem)
        else:
            # the recurrent parts count only for a mixed saving: whatever they hold is ignored
            for name in RECURRENT_FIELDS:
                self.errors.pop(name, None)
                data[name] = None
        return data

    def scheme_data(self) -> dict:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("version", "drawn")
        }


class SchemeFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    organisation = forms.ModelChoiceField(
        Organisation.objects.none(), required=False, empty_label="All organisations"
    )
    financial_year = forms.ModelChoiceField(
        FinancialYear.objects.all(), required=False, label="Year", empty_label="All years"
    )
    programme_area = forms.ModelChoiceField(
        ProgrammeArea.objects.all(), required=False, empty_label="All programme areas"
    )
    state = forms.ChoiceField(choices=[("", "Any state"), *SchemeState.choices], required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # only the organisations of the user's own systems: those are the schemes they see
        self.fields["organisation"].queryset = Organisation.objects.filter(
            system_id__in=user.system_ids
        )
        # drawn by templates/governance/scheme_list.html: filters that wrap, never cut off


class ReviewForm(VersionedForm):
    # The two reviews are independent: the other one being recorded meanwhile is no conflict,
    # so the form carries the submission it reviews as well as the version it was drawn from.
    round = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    decision = forms.ChoiceField(choices=ReviewDecision.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=10000,
        help_text="Your challenge or support, in words the project lead can act on.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = action_helper(
            "version", "round", "decision", "comment", button="Record review"
        )

    def service_arguments(self) -> dict:
        arguments = super().service_arguments()
        arguments["expected_round"] = arguments.pop("round")
        return arguments


class SubmitForm(VersionedForm):
    """Submission; on a resubmission, one answer per comment of the last review round."""

    comment = forms.CharField(
        label="Note for the reviewers (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, reviews=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.reviews = list(reviews)
        for review in self.reviews:
            review.response_field = f"response_{review.pk}"
            self.fields[review.response_field] = forms.CharField(
                label=f"Your answer to the {review.get_kind_display().lower()} review",
                widget=forms.Textarea(attrs={"rows": 3}),
                max_length=10000,
            )

    def service_arguments(self) -> dict:
        """The note for the reviewers and the answers, by the review they answer."""
        return {
            "expected_version": self.cleaned_data["version"],
            "comment": self.cleaned_data["comment"],
            "responses": {
                review.pk: self.cleaned_data[review.response_field] for review in self.reviews
            },
        }


class WithdrawForm(VersionedForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Recorded in the scheme's history.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = action_helper("version", "reason", button="Withdraw scheme", danger=True)


# What we accept as a document, checked by content as well as by name.
OPEN_DOCUMENT_TYPES = {
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
OFFICE_TYPES = {
    ".docx": ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".xlsx": ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
ACCEPTED = ".pdf, .docx, .xlsx, .odt, .ods"


def sniff_document(upload) -> str:
    """The content type of an accepted document, judged by its bytes; ValidationError if not."""
    name = upload.name.lower()
    extension = name[name.rfind(".") :] if "." in name else ""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if extension == ".pdf":
        if head.startswith(b"%PDF-"):
            return "application/pdf"
        raise ValidationError("This file is named .pdf but is not a PDF document.")
    if extension in OFFICE_TYPES or extension in OPEN_DOCUMENT_TYPES:
        if not head.startswith(b"PK\x03\x04"):
            raise ValidationError(f"This file is named {extension} but its content is not.")
        try:
            with zipfile.ZipFile(upload) as archive:
                names = archive.namelist()
                if extension in OPEN_DOCUMENT_TYPES:
                    expected = OPEN_DOCUMENT_TYPES[extension]
                    # the mimetype entry is one short line: never inflate more than that
                    if "mimetype" in names and (
                        archives.read_member(archive, "mimetype", limit=200)
                        .decode("ascii", "replace")
                        .strip()
                        == expected
                    ):
                        return expected
                else:
                    folder, content_type = OFFICE_TYPES[extension]
                    if "[Content_Types].xml" in names and any(n.startswith(folder) for n in names):
                        return content_type
        except archives.UnsafeArchive as exc:
            raise ValidationError(exc.message) from None
        except zipfile.BadZipFile:
            pass
        finally:
            upload.seek(0)
        raise ValidationError(f"This file is named {extension} but its content is not.")
    raise ValidationError(f"Only these types of document are accepted: {ACCEPTED}.")


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(choices=DocumentKind.choices, label="Document")
    file = forms.FileField(help_text=f"{ACCEPTED}; up to 20 MB.")
    description = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ACCEPTED.replace(" ", "")
        self.helper = FormHelper()
        self.helper.form_tag = False  # the scheme page draws the form around it
        self.helper.layout = Layout(
            Row(Column("kind"), Column("file"), Column("description")),
            FormActions(Submit("upload", "Upload")),
        )

    def clean_description(self):
        return one_line(self.cleaned_data["description"])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.QIPP_DOCUMENT_MAX_BYTES:
            raise ValidationError("This file is larger than 20 MB.")
        if upload.size == 0:
            raise ValidationError("This file is empty.")
        self.content_type = sniff_document(upload)
        return upload


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form, with what the password rules say of the new password shown under the new
    password, where it was typed, rather than under its confirmation."""

    def clean(self):
        self.validate_passwords("new_password1", "new_password2")
        if "new_password2" in self.cleaned_data:  # the two matched: now judge the password
            self.validate_password_for_user(self.user, "new_password1")
        return self.cleaned_data
