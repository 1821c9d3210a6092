"""Financial years and money: the facts every report and reference rests on."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from governance.models import FinancialYear, Organisation, QippTarget, Scheme
from tests.factories import REALISTIC_PLAN, SchemeFactory


@pytest.mark.parametrize(
    ("start_year", "label", "code"),
    [(2019, "2019/20", "1920"), (2020, "2020/21", "2021"), (2099, "2099/00", "9900")],
)
def test_a_financial_year_reads_as_its_label_and_code(start_year, label, code):
    year = FinancialYear(start_year=start_year)
    assert (year.label, str(year), year.code) == (label, label, code)


def test_a_financial_year_runs_from_april_to_march():
    year = FinancialYear(start_year=2019)
    assert (year.start_date, year.end_date) == (date(2019, 4, 1), date(2020, 3, 31))


def test_financial_month_one_is_april_and_twelve_is_march():
    year = FinancialYear(start_year=2019)
    assert [year.month_start(month) for month in range(1, 13)] == [
        date(2019, 4, 1),
        date(2019, 5, 1),
        date(2019, 6, 1),
        date(2019, 7, 1),
        date(2019, 8, 1),
        date(2019, 9, 1),
        date(2019, 10, 1),
        date(2019, 11, 1),
        date(2019, 12, 1),
        date(2020, 1, 1),
        date(2020, 2, 1),
        date(2020, 3, 1),
    ]


@pytest.mark.parametrize(
    ("label", "start_year"),
    [
        ("2019/20", 2019),
        (" 2019/20 ", 2019),
        ("2099/00", 2099),
        ("2019/21", None),
        ("2019/2020", None),
        ("19/20", None),
        ("2019-20", None),
        ("2019/", None),
        ("abcd/ef", None),
        ("", None),
    ],
)
def test_a_label_is_read_back_only_when_it_names_one_year(label, start_year):
    assert FinancialYear.parse_label(label) == start_year


@pytest.mark.django_db
def test_the_plan_comes_back_to_the_penny():
    # As floats these would not add up: 0.1 + 0.2 != 0.3.
    amounts = ["0.10", "0.20", "0.30", "1234567.89", "999999999.99", "0.01"] + ["33.33"] * 6
    scheme = SchemeFactory(monthly_plan=[Decimal(a) for a in amounts])
    stored = Scheme.objects.get(pk=scheme.pk)
    assert stored.plan == [Decimal(a) for a in amounts]
    assert all(isinstance(amount, Decimal) for amount in stored.plan)
    assert stored.plan[0] + stored.plan[1] == stored.plan[2]
    assert stored.annual_plan == Decimal("1001234768.47")


@pytest.mark.django_db
def test_the_annual_plan_is_the_sum_of_the_twelve_months():
    scheme = Scheme.objects.get(pk=SchemeFactory().pk)
    assert scheme.annual_plan == Decimal("180000.00") == sum(REALISTIC_PLAN)
    assert SchemeFactory(monthly_plan=[Decimal("0")] * 12).annual_plan == Decimal("0")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "amount",
    [Decimal("-0.01"), Decimal("1000000000.00"), Decimal("0.001")],
    ids=["negative", "over a billion", "a fraction of a penny"],
)
def test_an_impossible_monthly_amount_fails_validation(amount):
    scheme = SchemeFactory()
    scheme.plan_m05 = amount
    with pytest.raises(ValidationError) as invalid:
        scheme.full_clean(exclude=["state"])
    assert list(invalid.value.message_dict) == ["plan_m05"]


def test_the_qipp_target_shows_its_share_of_the_allocation():
    target = QippTarget(
        organisation=Organisation(code="ELR"),
        financial_year=FinancialYear(start_year=2019),
        requirement=Decimal("19647000"),
        allocation=Decimal("327450000"),
    )
    assert target.target_percent == Decimal("6.0")
    target.allocation = None
    assert target.target_percent is None
