"""RAG per DESIGN.md: amber behind year-to-date plan by more than 5%; red by more than 10%, or
forecast outturn short of the annual plan by more than 10%. Thresholds are settings."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.template import Context, Template

from governance.delivery import rating
from governance.models import Scheme, SchemeState
from tests.world import add_return

pytestmark = pytest.mark.django_db


def rated(make_scheme, actuals: dict, *, forecast: dict | None = None, as_at=4, **fields):
    """A scheme planning £1,000 a month, with these returns, rated as at a month."""
    scheme = make_scheme(**fields)
    for month, actual in actuals.items():
        add_return(scheme, month, actual, (forecast or {}).get(month))
    return rating.rag(scheme, as_at)


# Year-to-date plan as at month 4 is £4,000: 5% is £200, 10% is £400.
@pytest.mark.parametrize(
    "ytd_actual, status",
    [
        ("4500", "green"),  # ahead of plan
        ("4000", "green"),  # on plan
        ("3800", "green"),  # behind by exactly 5%
        ("3799.99", "amber"),  # just over 5%
        ("3600", "amber"),  # behind by exactly 10%
        ("3599.99", "red"),  # just over 10%
    ],
)
def test_the_year_to_date_thresholds_at_their_edges(people, make_scheme, ytd_actual, status):
    outcome = rated(make_scheme, {1: "1000", 2: "1000", 3: "1000", 4: Decimal(ytd_actual) - 3000})

    assert outcome.status == status
    assert (outcome.ytd_plan, outcome.ytd_actual) == (Decimal("4000"), Decimal(ytd_actual))


# Annual plan £12,000: the forecast may fall short by up to 10%, £1,200, and stay green.
@pytest.mark.parametrize(
    "forecast, status", [("12500", "green"), ("10800", "green"), ("10799.99", "red")]
)
def test_a_forecast_short_of_the_annual_plan_by_more_than_10_percent_is_red(
    people, make_scheme, forecast, status
):
    on_plan = {m: "1000" for m in range(1, 5)}

    outcome = rated(make_scheme, on_plan, forecast={4: forecast})

    assert outcome.status == status
    assert outcome.forecast_outturn == Decimal(forecast)


def test_the_reason_is_given_in_words_and_figures(people, make_scheme):
    outcome = rated(make_scheme, {1: "1000", 2: "1000", 3: "1000", 4: "500"}, forecast={4: "9000"})

    assert outcome.label == "Red"
    assert outcome.summary == (
        "Behind year-to-date plan by £500 (12.5%). "
        "Forecast outturn is short of the annual plan by £3,000 (25.0%)."
    )


def test_without_a_forecast_the_outturn_is_the_actual_so_far_plus_the_plan_to_come(
    people, make_scheme
):
    # £3,500 so far + 8 months x £1,000 = £11,500: 4.2% short, so only the YTD test counts
    outcome = rated(make_scheme, {1: "1000", 2: "1000", 3: "1000", 4: "500"})

    assert outcome.forecast_outturn == Decimal("11500")
    assert outcome.status == "red"  # behind year to date by 12.5%
    assert "Forecast" not in outcome.summary


def test_the_forecast_is_the_latest_one_at_or_before_the_month(people, make_scheme):
    forecasts = {2: "6000", 3: "11000", 5: "1"}
    actuals = {m: "1000" for m in range(1, 6)}

    outcome = rated(make_scheme, actuals, forecast=forecasts, as_at=4)

    assert outcome.forecast_outturn == Decimal("11000")  # month 5's is after the month
    assert outcome.status == "green"


def test_returns_after_the_month_do_not_count(people, make_scheme):
    outcome = rated(make_scheme, {1: "1000", 2: "1000", 3: "5000"}, as_at=2)

    assert (outcome.ytd_plan, outcome.ytd_actual, outcome.status) == (
        Decimal("2000"),
        Decimal("2000"),
        "green",
    )


def test_a_missing_return_counts_as_no_saving(people, make_scheme):
    assert rated(make_scheme, {1: "1000", 2: "1000", 3: "1000"}).status == "red"


def test_costs_rising_against_a_plan_of_nothing_is_red(people, make_scheme):
    plan = [Decimal("0")] * 6 + [Decimal("2000")] * 6

    outcome = rated(make_scheme, {1: "0", 2: "-100"}, as_at=2, plan=plan)

    assert outcome.status == "red"
    assert outcome.summary == "Behind year-to-date plan by £100."


def test_thresholds_are_settings(people, make_scheme, settings):
    settings.QIPP_RAG_AMBER_PERCENT = 1
    settings.QIPP_RAG_RED_PERCENT = 3
    settings.QIPP_RAG_FORECAST_RED_PERCENT = 20
    # behind by 2.5%: amber under these settings (green under the defaults)
    assert rated(make_scheme, {1: "1000", 2: "1000", 3: "1000", 4: "900"}).status == "amber"
    # forecast 15% short: green under these settings (red under the defaults)
    assert (
        rated(make_scheme, {m: "1000" for m in range(1, 5)}, forecast={4: "10200"}).status
        == "green"
    )


def test_nothing_is_rated_before_the_first_month_or_before_delivery(people, make_scheme):
    assert rating.rag(make_scheme(), 0).status is None
    assert rating.rag(make_scheme(), 0).label == "Not rated"
    assert rating.rag(make_scheme(SchemeState.APPROVED), 4) is None
    assert rating.rag(make_scheme(SchemeState.STOPPED), 4).status == "red"  # keeps its plan


def test_recovery_schemes_are_rated_like_any_other(people, make_scheme):
    outcome = rated(make_scheme, {m: "1000" for m in range(1, 5)}, is_recovery=True)

    assert outcome.status == "green"


@time_machine.travel(date(2019, 8, 11), tick=False)
def test_lists_rate_many_schemes_as_at_the_latest_returns_due_in_two_queries(
    people, make_scheme, django_assert_num_queries
):
    # on 11 August the July return (month 4) is due, so schemes are rated as at month 4
    green = make_scheme()
    red = make_scheme()
    draft = make_scheme(SchemeState.DRAFT)
    for month in range(1, 5):
        add_return(green, month, "1000")
        add_return(red, month, "500")
    schemes = list(Scheme.objects.order_by("pk"))

    with django_assert_num_queries(2):  # the years, then the returns
        ratings = rating.rag_for(schemes)

    assert {pk: r and r.status for pk, r in ratings.items()} == {
        green.pk: "green",
        red.pk: "red",
        draft.pk: None,
    }
    assert ratings[green.pk].as_at_month == 4
    for _ in range(5):
        make_scheme()
    schemes = list(Scheme.objects.all())
    with django_assert_num_queries(2):  # however many schemes
        rating.rag_for(schemes)


@time_machine.travel(date(2019, 8, 11), tick=False)
def test_a_page_loaded_with_its_years_is_rated_in_one_query(
    people, make_scheme, django_assert_num_queries
):
    green = make_scheme()
    for month in range(1, 5):
        add_return(green, month, "1000")
    schemes = list(Scheme.objects.select_related("financial_year"))

    with django_assert_num_queries(1):  # the returns
        ratings = rating.rag_for(schemes)

    assert ratings[green.pk].status == "green"
    assert ratings[green.pk].as_at_month == 4


def test_a_queryset_is_rated_through_a_subquery(people, make_scheme, django_assert_num_queries):
    for _ in range(3):
        add_return(make_scheme(), 1, "100")

    with django_assert_num_queries(2):  # the schemes, then their returns
        ratings = rating.rag_for(Scheme.objects.all(), as_at_month=1)

    assert [r.status for r in ratings.values()] == ["red", "red", "red"]


@time_machine.travel(date(2019, 8, 11), tick=False)
def test_the_list_template_tags_show_a_badge_per_scheme(people, make_scheme):
    red = make_scheme()
    add_return(red, 1, "10")
    make_scheme(SchemeState.DRAFT)
    template = Template(
        "{% load rag %}{% rag_map schemes as rags %}"
        "{% for scheme in schemes %}[{{ scheme.reference }}:{% rag_badge scheme rags %}]"
        "{% endfor %}|{% rag_badge single %}"
    )

    rendered = template.render(Context({"schemes": Scheme.objects.order_by("pk"), "single": red}))

    assert "[ELR-1920-001:<span" in rendered
    assert '>Red<span class="visually-hidden">: Behind year-to-date plan' in rendered
    assert "[ELR-1920-002:]" in rendered  # a draft has no RAG
    assert rendered.endswith("</span></span>")  # the single scheme, rated on its own
