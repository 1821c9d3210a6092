"""Money on the returns and assurance pages read one way only: brackets, which the pages use
for savings, are refused where a cost is typed negative; an amount out of bounds gets one
message; the assurance page names the actual in words; and a return changed while the PMO was
looking is reported as that, whatever else the form lacks."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from governance.delivery import monthly_returns
from governance.forms import SchemeForm
from governance.forms_delivery import AssureForm, AssureRowForm, ReturnForm
from governance.forms_pipeline import OpportunityForm
from governance.models import PLAN_FIELDS, FinancialYear, MonthlyReturn
from tests.governance import delivery_fixtures
from tests.pages import text, visible
from tests.world import add_return

people = delivery_fixtures.people  # the world with the delivery tests' extra people

pytestmark = pytest.mark.django_db

AUGUST = date(2019, 8, 15)


@time_machine.travel(AUGUST, tick=False)
def test_a_saving_typed_in_brackets_is_refused_with_an_example_keeping_what_was_typed(
    client, people, make_scheme
):
    scheme = make_scheme(monthly="134400")
    client.force_login(people["elr-finance-reviewer"])

    response = client.post(
        reverse("return_new", args=[scheme.pk]),
        {"month": "1", "actual": "(134,400)", "forecast_outturn": "(£1.2m)", "token": ""},
    )

    assert response.status_code == 200
    page = visible(response)
    assert (
        "Brackets could mean a saving or a cost here: type a saving as 134,400 and a cost "
        "rising as -134,400." in page
    )
    assert "type a saving as 1.2m and a cost rising as -1.2m." in page
    assert 'value="(134,400)"' in text(response)
    assert not MonthlyReturn.objects.exists()


@time_machine.travel(AUGUST, tick=False)
def test_a_cost_typed_with_a_minus_is_still_saved_as_a_cost(client, people, make_scheme):
    scheme = make_scheme()
    client.force_login(people["elr-finance-reviewer"])

    client.post(reverse("return_new", args=[scheme.pk]), {"month": "1", "actual": "-500"})

    assert MonthlyReturn.objects.get().actual == Decimal("-500")


def every_money_field(people) -> dict:
    year = FinancialYear.objects.get()
    pid = SchemeForm(user=people["elr-project-lead"]).fields
    returns = ReturnForm(financial_year=year, fixed_month=None).fields
    return {
        "PID month": pid[PLAN_FIELDS[0]],
        "PID investment": pid["investment_one_off"],
        "estimated saving": OpportunityForm(user=people["elr-pmo"]).fields["estimated_saving"],
        "return actual": returns["actual"],
        "return forecast": returns["forecast_outturn"],
        "assured value": AssureForm().fields["pmo_assured"],
        "assured value of many": AssureRowForm().fields["pmo_assured"],
    }


@pytest.mark.parametrize("typed", ["999999999999999999999", "-999999999999999999999"])
def test_an_amount_far_too_large_gets_one_message_on_every_money_field(people, typed):
    for where, field in every_money_field(people).items():
        with pytest.raises(ValidationError) as refused:
            field.clean(typed)
        assert len(refused.value.messages) == 1, (where, refused.value.messages)
        assert "too large" not in refused.value.messages[0], where


def test_the_assurance_message_says_the_actual_in_words():
    def missing(actual: str) -> str:
        return monthly_returns.reason_missing(actual=Decimal(actual), value=Decimal("1"), reason="")

    assert missing("134400") == (
        "Say why the assured value differs from the actual (a saving of £134,400)."
    )
    assert missing("-500") == "Say why the assured value differs from the actual (a cost of £500)."


@time_machine.travel(AUGUST, tick=False)
def test_a_stale_assurance_without_a_reason_is_told_of_the_change_not_asked_for_one(
    client, people, make_scheme
):
    scheme = make_scheme()
    add_return(scheme, 3, "50000", by=people["elr-finance-reviewer"])
    url = reverse("return_assure", args=[scheme.pk, 3])
    client.force_login(people["elr-pmo"])
    drawn = client.get(url).context["form"]
    token = drawn["token"].value()
    # the finance lead corrects the return while the PMO looks at it, a minute later
    with time_machine.travel(datetime(2019, 8, 15, 0, 1, tzinfo=UTC), tick=False):
        monthly_returns.return_save(
            scheme_id=scheme.pk, month=3, by=people["elr-finance-reviewer"], actual=Decimal(60000)
        )

    response = client.post(
        url, {"token": token, "pmo_assured": "50,000", "assured_reason": ""}, follow=True
    )

    page = visible(response)
    assert "The Jun 2019 return was changed while you were looking at it" in page
    assert "Say why" not in page
    assert MonthlyReturn.objects.get().assured_at is None
