"""Routes by value and approval with conditions in a real browser, on the demo: LC's rule
sends schemes of £3.5m or more to QAG after both sign-offs (demo/routes.py), and its "Acute
length of stay programme" waits there. A QAG member finds it in My tasks, reads the rule that
chose the route, and approves it with a condition owned by LC's SRO, typed in the page; the SRO
finds the condition in their tasks and marks it met with evidence. Every page checked with
axe-core."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from governance.models import Scheme, SchemeState, User
from qia.models import Condition

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONDITION = "Report the beds taken out to the quality committee each quarter."


def test_qag_approves_a_large_scheme_on_a_condition_its_owner_meets(demo, visit):
    page = visit.page
    main = page.get_by_role("main")
    scheme = Scheme.objects.get(title="Acute length of stay programme")
    sro = User.objects.get(username="lc-sro")
    due = timezone.localdate() + timedelta(days=60)

    visit.sign_in("elr-qag-member")
    visit.nav("My tasks").click()
    row = page.get_by_role("row").filter(has_text=scheme.reference)
    row.get_by_role("link", name="Record QAG's approval").click()
    expect(main).to_contain_text('Rule "Large schemes go to QAG" of LC')
    visit.step("QAG's approval, the rule that chose the route")
    page.get_by_label("Proceed with conditions").check()
    first = page.get_by_role("group", name="Condition 1")
    first.get_by_label("Condition").fill(CONDITION)
    first.get_by_label("Owner").select_option(value=str(sro.pk))
    first.get_by_label("Due by").fill(due.isoformat())
    page.get_by_label("QAG's reasons, as minuted").fill("Minute 9: proceed, reporting quarterly.")
    page.get_by_role("button", name="Record QAG's decision").click()
    expect(page.get_by_role("alert").first).to_contain_text("is now approved")
    expect(main).to_contain_text(CONDITION)
    visit.step("approved on a condition")
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.APPROVED
    visit.sign_out()

    visit.sign_in("lc-sro")
    visit.nav("My tasks").click()
    page.get_by_role("link", name="Meet the condition").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mark a condition met")
    page.get_by_label("Evidence that the condition is met").fill(
        "The first quarterly report went to the committee of 3 March."
    )
    page.get_by_role("button", name="Mark it met").click()
    visit.step("the condition met")
    condition = Condition.objects.get(scheme=scheme)
    assert condition.met_by == sro and condition.met_at is not None
    visit.assert_accessible()
    visit.assert_no_browser_errors()
