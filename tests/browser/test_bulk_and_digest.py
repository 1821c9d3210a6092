"""Work in one go and the daily digest, in a real browser on the demo: ELR's PMO starts the
delivery of both of ELR's approved schemes from My tasks in one go, each recorded as from its
own page; then chooses to hear of tasks in a daily digest on the Account page. Every page
checked with axe-core."""

import pytest
from playwright.sync_api import expect

from governance.models import Scheme, SchemeState, User
from notifications.models import NoticePreference

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_pmo_starts_two_schemes_at_once_and_chooses_a_daily_digest(demo, visit):
    page = visit.page
    waiting = list(Scheme.objects.filter(organisation__code="ELR", state=SchemeState.APPROVED))
    assert len(waiting) == 2

    visit.sign_in("elr-pmo")
    visit.nav("My tasks").click()
    page.get_by_role("link", name="Start delivery of several schemes (2 waiting)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start delivery of several schemes")
    for scheme in waiting:
        page.get_by_label(f"Start delivery of {scheme.reference}").check()
    page.get_by_label("Note for each scheme's history (optional)").fill("Mobilised this week.")
    visit.step("two schemes ticked")
    page.get_by_role("button", name="Start delivery of the schemes ticked").click()
    expect(page.get_by_role("alert").first).to_contain_text("Delivery started of 2")
    visit.step("both started")
    for scheme in waiting:
        scheme.refresh_from_db()
        assert scheme.state == SchemeState.IN_DELIVERY

    visit.nav("Account").click()
    tasks = page.get_by_role("group", name="Tasks waiting for you")
    tasks.get_by_label("In a daily digest").check()
    page.get_by_role("button", name="Save how you hear of notices").click()
    expect(page.get_by_role("alert").first).to_contain_text("are saved")
    visit.step("tasks in a daily digest")
    pmo = User.objects.get(username="elr-pmo")
    assert NoticePreference.objects.get(user=pmo, kind="tasks").timing == "daily"
    visit.assert_accessible()
    visit.assert_no_browser_errors()
