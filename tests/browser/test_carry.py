"""A recurrent saving carried into next year, in a real browser on the demo: the PMO of ELR
ticks a scheme of this year that starts in October and carries its full-year effect (twice
what falls in this year) into next; the project lead of last year's scheme
carried into this year (demo/carried.py) changes a month of its plan, sees the annual total
follow as it is typed, and confirms it. Every page checked with axe-core."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from governance.models import FinancialYear, Scheme

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_pmo_carries_a_scheme_and_the_project_lead_confirms_a_carried_plan(demo, visit):
    page = visit.page
    original = Scheme.objects.get(organisation__code="ELR", title="Outpatient follow-up reduction")
    following = FinancialYear.objects.get(start_year=original.financial_year.start_year + 1).label
    # a mid-year scheme: nothing planned before October, so its full-year effect is twice what
    # falls in this year
    Scheme.objects.filter(pk=original.pk).update(
        start_date=original.financial_year.month_start(7),
        **{f"plan_m{month:02d}": Decimal("10000") for month in range(7, 13)},
        **{f"plan_m{month:02d}": Decimal("0") for month in range(1, 7)},
    )
    original.refresh_from_db()
    assert original.annual_plan == Decimal("60000")
    assert original.full_year_effect == Decimal("120000")

    visit.sign_in("elr-pmo")
    visit.nav("My tasks").click()
    page.get_by_role("link", name="Carry recurrent savings into next year").click()
    page.get_by_label("Carry from").select_option(label=original.financial_year.label)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"into {following}")
    visit.step("the carry page of this year")
    row = page.get_by_role("row").filter(has_text=original.reference)
    expect(row).to_contain_text("(£120,000)")
    page.get_by_label(f"Carry {original.reference}").check()
    page.get_by_role("button", name=f"Carry into {following}").click()
    expect(page.get_by_role("alert").first).to_contain_text(f"Carried into {following}")
    visit.step("carried into next year")
    carried = Scheme.objects.get(carried_from=original)
    assert carried.annual_plan == original.full_year_effect == Decimal("120000")
    assert carried.plan == [Decimal("10000")] * 12
    visit.sign_out()

    demo_carried = Scheme.objects.get(
        carried_from__isnull=False, carried_from__title="Running cost reduction"
    )
    visit.sign_in("elr-project-lead")
    visit.nav("My tasks").click()
    page.get_by_role(
        "link", name=f"Confirm the plan carried from {demo_carried.carried_from.reference}"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Confirm the plan of {demo_carried.reference}"
    )
    page.get_by_label("Apr").fill("100k")
    total = demo_carried.annual_plan - demo_carried.plan_m01 + 100_000
    expect(page.locator("[data-plan-total]")).to_contain_text(f"Annual total: £{total:,.0f}")
    visit.step("the carried plan, April changed")
    page.get_by_role("button", name="Confirm this plan").click()
    expect(page.get_by_role("alert").first).to_contain_text("is confirmed")
    expect(page.locator("#years-table")).to_contain_text(demo_carried.carried_from.reference)
    expect(page.get_by_text(re.compile(r"^Plan confirmed by Priya Patel"))).to_be_visible()
    visit.step("the carried scheme's page, its plan confirmed")
    demo_carried.refresh_from_db()
    assert demo_carried.carry_confirmed_at is not None
    visit.assert_accessible()
    visit.assert_no_browser_errors()
