"""Money typed as finance people type it, in every form that takes money: 83000, 83,000,
£83,000, 83k, 1.5m, -83,000 where a negative makes sense. Anything else is refused with a
message that names the field and shows an example, and nothing is ever cut off or guessed.
Brackets, which the pages use for savings, are refused where a negative is allowed: they
could mean either (tests/governance/test_money_rules.py)."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.forms import SchemeForm
from governance.forms_delivery import AssureForm, ReturnForm
from governance.models import PLAN_FIELDS, RECURRENT_FIELDS, FinancialYear, SchemeState
from tests.pages import text

pytestmark = pytest.mark.django_db

INVALID = "Enter an amount in pounds, like 83,000 or 83k."
TYPED = [
    ("83000", Decimal("83000")),
    ("83,000", Decimal("83000")),
    ("£83,000", Decimal("83000")),
    ("83k", Decimal("83000")),
    ("83K", Decimal("83000")),
    ("1.5k", Decimal("1500")),
    ("1.5m", Decimal("1500000")),
    ("£ 2,500.50", Decimal("2500.50")),
    ("0.5", Decimal("0.5")),
]
NEGATIVE = [("-£83,000", Decimal("-83000")), ("-1.5k", -1500)]
BRACKETS = (
    "Brackets could mean a saving or a cost here: type a saving as 83,000 and a cost rising "
    "as -83,000."
)
REFUSED = ["one thousand", "83,00", "1.2.3", "--5", "(83", "83)", "k", "£", "1e3", "NaN", "83kk"]


def money_fields(llr, people) -> dict:
    """Every money field of the product, by where it is, as its form makes it."""
    year = FinancialYear.objects.get()
    plan = SchemeForm(user=people["elr-project-lead"]).fields
    returns = ReturnForm(financial_year=year, fixed_month=None).fields
    return {
        **{f"PID {name}": plan[name] for name in PLAN_FIELDS},
        **{f"PID {name}": plan[name] for name in RECURRENT_FIELDS},
        "PID one-off investment": plan["investment_one_off"],
        "PID recurring investment": plan["investment_recurring"],
        "return actual": returns["actual"],
        "return forecast outturn": returns["forecast_outturn"],
        "PMO assured value": AssureForm().fields["pmo_assured"],
    }


# the fields where a negative makes sense (costs rose, a forecast below nothing)
NEGATIVES_ALLOWED = {"return actual", "return forecast outturn", "PMO assured value"}


def test_every_money_field_takes_what_people_type(llr, people):
    for where, field in money_fields(llr, people).items():
        for typed, amount in TYPED:
            assert field.clean(typed) == amount, (where, typed)
        for typed, amount in NEGATIVE:
            if where in NEGATIVES_ALLOWED:
                assert field.clean(typed) == amount, (where, typed)
            else:
                with pytest.raises(ValidationError, match="positive amount"):
                    field.clean(typed)
        with pytest.raises(ValidationError) as bracketed:
            field.clean("(83,000)")
        expected = BRACKETS if where in NEGATIVES_ALLOWED else "as a positive amount."
        assert len(bracketed.value.messages) == 1, where
        assert expected in bracketed.value.messages[0], where
        for typed in REFUSED:
            with pytest.raises(ValidationError) as refused:
                field.clean(typed)
            assert refused.value.messages == [INVALID], (where, typed)


def test_more_than_pence_is_refused_not_rounded(llr, people):
    for where, field in money_fields(llr, people).items():
        with pytest.raises(ValidationError, match="at most 2 figures after the point"):
            field.clean("83.456")
        assert field.clean("1.23456k") == Decimal("1234.56"), where


def amounts():
    """Whole pounds or pounds and pence, up to £999,999,999.99."""
    return st.decimals(
        min_value=Decimal("-999999999.99"),
        max_value=Decimal("999999999.99"),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )


def written(amount: Decimal, style: str) -> str:
    """`amount` as a person might write it."""
    body = abs(amount)
    if style == "k" and body % 10 == 0:
        text_ = f"{body / 1000:f}k"
    elif style == "m" and body % 10000 == 0:
        text_ = f"{body / 1_000_000:f}m"
    elif style == "commas":
        text_ = f"£{body:,}"
    else:
        text_ = f"{body}"
    return f"-{text_}" if amount < 0 else text_


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(amount=amounts(), style=st.sampled_from(["plain", "commas", "k", "m"]))
def test_an_amount_written_any_way_is_read_exactly(amount, style):
    field = AssureForm().fields["pmo_assured"]
    assert field.clean(written(amount, style)) == amount


# what a reading of the typed text must give, worked out independently of the product
def reading(typed: str) -> Decimal | None:
    bare = "".join(typed.split())
    if not re.fullmatch(r"\(?-?£?-?[0-9.,]+[kKmM]?\)?", bare):
        return None
    negative = bare.startswith("(") or "-" in bare
    core = bare.strip("()").replace("£", "").replace("-", "")
    factor = {"k": 1000, "m": 1_000_000}.get(core[-1].lower(), 1)
    core = core.rstrip("kKmM").replace(",", "")
    try:
        value = Decimal(core) * factor
    except ArithmeticError:
        return None
    return -value if negative else value


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    typed=st.one_of(
        st.text(max_size=20),
        st.from_regex(r"\A\(?-?£?[0-9]{0,7}(,[0-9]{3}){0,2}(\.[0-9]{0,3})?[kKmM]?\)?\Z"),
    )
)
def test_whatever_is_typed_is_read_exactly_or_refused_with_the_example(typed):
    field = ReturnForm(financial_year=FinancialYear(start_year=2019), fixed_month=None).fields[
        "actual"
    ]
    try:
        value = field.clean(typed)
    except ValidationError as refused:
        assert refused.messages[0] in {
            INVALID,
            "This field is required.",
            "Pounds and pence only: at most 2 figures after the point.",
            "That is more than £1bn a month: check it.",
            "That amount is too large: check it.",
        } or refused.messages[0].startswith("Brackets could mean a saving or a cost"), (
            typed,
            refused.messages,
        )
        assert len(refused.messages) == 1, refused.messages  # one message for one amount
        return
    assert value == reading(typed), typed  # never a silent truncation


def test_a_saved_plan_is_shown_back_in_pounds_in_text_boxes(client, people, make_scheme):
    scheme = make_scheme(SchemeState.DRAFT, monthly="83000")
    client.force_login(people["elr-project-lead"])
    page = text(client.get(reverse("scheme_edit", args=[scheme.pk])))
    month = re.search(r'<input[^>]*name="plan_m01"[^>]*>', page).group(0)
    assert 'type="text"' in month and 'inputmode="decimal"' in month
    assert 'value="£83,000"' in month


def test_a_pid_saved_with_83k_saves_83000(client, people, make_scheme):
    scheme = make_scheme(SchemeState.DRAFT)
    client.force_login(people["elr-project-lead"])
    url = reverse("scheme_edit", args=[scheme.pk])
    form = client.get(url).context["form"]
    data = {
        name: form[name].value() if form[name].value() is not None else "" for name in form.fields
    }
    data = {k: getattr(v, "pk", v) for k, v in data.items()}
    data.update({name: "£1,000" for name in PLAN_FIELDS})
    data["plan_m01"] = "83k"
    data["start_date"] = "2019-04-01"
    response = client.post(url, data)
    assert response.status_code == 302, text(response)
    scheme.refresh_from_db()
    assert scheme.plan[0] == Decimal("83000") and scheme.plan[1] == Decimal("1000")


def test_the_pid_page_warns_of_a_plan_that_cannot_be_right(client, people, make_scheme):
    client.force_login(people["elr-pmo"])
    fine = make_scheme(SchemeState.DRAFT, monthly="1000")
    assert "Check the savings plan" not in text(client.get(fine.get_absolute_url()))

    late = make_scheme(SchemeState.DRAFT, monthly="1000", start_date=date(2019, 7, 1))
    page = text(client.get(late.get_absolute_url()))
    assert "Check the savings plan" in page
    early = "£3,000 of the plan falls in Apr, May, Jun, before the scheme starts on 1 July 2019."
    assert early in page

    far = make_scheme(SchemeState.DRAFT, monthly="1000", start_date=date(2016, 4, 1))
    page = text(client.get(far.get_absolute_url()))
    assert "The start date, 1 April 2016, is more than a year before 2019/20 begins." in page

    after = make_scheme(SchemeState.DRAFT, monthly="1000", start_date=date(2020, 5, 1))
    assert "is after 2019/20 ends" in text(client.get(after.get_absolute_url()))

    nothing = make_scheme(SchemeState.DRAFT, monthly="0")
    assert "The savings plan is £0 in every month." in text(client.get(nothing.get_absolute_url()))
