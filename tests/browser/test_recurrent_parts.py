"""The PID form shows the recurrent part of each month only while "mixed" is chosen
(static/js/plan.js; without the script they are all shown, tested in
tests/governance/test_recurrent_savings.py), and the scheme page shows what a mixed saving is
worth."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from demo.data import THIS
from governance.models import PLAN_FIELDS, Recurrence, Scheme

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_recurrent_months_show_only_for_a_mixed_saving(demo_people, visit):
    year = demo_people["years"][THIS]
    page = visit.page
    visit.sign_in("elr-project-lead")
    page.goto(visit.url("/schemes/new/"))
    october = page.get_by_label("Oct (recurrent)")
    expect(october).to_be_hidden()  # a new PID is recurrent

    page.get_by_label("Mixed (the recurrent part given month by month)").check()
    expect(october).to_be_visible()
    visit.step("mixed chosen: the recurrent part of each month")
    page.get_by_label("Non-recurrent (one-off)").check()
    expect(october).to_be_hidden()
    page.get_by_label("Mixed (the recurrent part given month by month)").check()

    page.get_by_label("Title").fill("Care home medicines reviews")
    page.get_by_label("Description").fill("Pharmacists review every resident's medicines.")
    page.get_by_label("Financial year").select_option(label=year.label)
    page.get_by_label("Programme area").select_option(label="Medicines Management")
    page.get_by_label("Area of spend").select_option(label="Optimising the Use of Medicines")
    page.get_by_label("Type").select_option(label="Transactional")
    page.get_by_label("Start date").fill(year.start_date.isoformat())
    page.get_by_label("SRO").select_option(index=1)
    for name in PLAN_FIELDS:
        page.locator(f"#id_{name}").fill("10k")
    october.fill("4k")
    page.get_by_label("Not cash-releasing").check()
    page.get_by_label("One-off investment").fill("£20,000")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("alert")).to_contain_text("saved as a draft")
    scheme = Scheme.objects.get(title="Care home medicines reviews")
    assert scheme.recurrence == Recurrence.MIXED and not scheme.cash_releasing
    assert scheme.recurrent_m07 == Decimal("4000") and scheme.recurrent_m06 == 0
    expect(page.locator("#plan-table")).to_contain_text("Recurrent")
    expect(page.get_by_text("Net saving")).to_be_visible()
    visit.step("the scheme page of a mixed saving")
    visit.assert_accessible()
    visit.assert_no_browser_errors()
