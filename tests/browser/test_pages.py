"""The pages off the journey's path, with the whole demo loaded, checked with axe-core too:
every page of the main navigation and the pages one click from them, as the PMO and as the
SRO of ELR."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAVIGATION = [  # (what the page is called, the name of its link)
    ("Home", "Home"),
    ("My tasks", "My tasks"),
    ("Schemes", "Schemes"),
    ("Pipeline", "Pipeline"),
    ("Dashboard", "Dashboard"),
    ("Reports", "Reports"),
    ("Risk heatmap", ("Quality risk", "Risk heatmap")),  # (menu, its link)
    ("Risk register", ("Quality risk", "Risk register")),
    ("Flags for QAG", ("Quality risk", "Flags for QAG")),
    ("Escalations", "Escalations"),
    ("QAG pack", "QAG pack"),
    ("Notifications", re.compile(r"^Notifications")),  # with the number unread
    ("Your account", "Account"),
]


def test_every_page_of_the_navigation_passes_the_accessibility_checks(demo, visit):
    call_command("run_escalations", stdout=io.StringIO())  # so that there are escalations
    page = visit.page
    visit.sign_in("elr-pmo")
    # the PMO's menu, the longest, on one line at a laptop's 1280 px, the brand still named
    tops = (
        page.get_by_role("navigation", name="Main")
        .locator(".nav-link")
        .evaluate_all("links => links.map(link => Math.round(link.getBoundingClientRect().top))")
    )
    assert len(tops) > 10 and len(set(tops)) == 1
    expect(page.get_by_role("link", name="QIPP governance")).to_be_visible()
    for title, link in NAVIGATION:
        if isinstance(link, tuple):
            menu, link = link
            page.get_by_role("navigation", name="Main").get_by_role("button", name=menu).click()
        visit.nav(link).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        visit.step(f"{title} as the PMO")

    visit.nav("My tasks").click()
    page.get_by_role("link", name="Assure a month's returns at once").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Returns to assure")
    visit.step("a month's returns to assure")
    rows = page.get_by_role("main").get_by_role("row").count() - 1  # less the heading
    assert rows > 0
    page.get_by_role("button", name="Assure the ticked returns").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        f"{rows} return{'s' if rows != 1 else ''} assured."
    )
    visit.step("a month's returns assured at once")

    visit.nav("Reports").click()
    page.get_by_role("main").get_by_role("link").filter(has_text="summary").first.click()
    expect(page.get_by_role("table").first).to_be_visible()
    visit.step("a committee report")
    visit.nav("Reports").click()
    page.get_by_role("main").get_by_role("link", name="Schemes by area of spend").click()
    page.get_by_role("table").first.get_by_role("link").first.click()  # drills down
    expect(page.locator("details[open]").first).to_be_visible()
    visit.step("the schemes behind a figure of the area-of-spend table")

    visit.nav("Escalations").click()
    page.get_by_role("table").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="What was found")).to_be_visible()
    visit.step("an escalation as the PMO")

    visit.nav("Schemes").click()
    page.get_by_label("State").select_option(label="In delivery")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("table").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Delivery")).to_be_visible()
    visit.step("a scheme in delivery")
    page.get_by_role("link", name="QIA", exact=False).first.click()
    visit.step("its QIA")
    visit.sign_out()

    visit.sign_in("elr-sro")
    visit.nav("Escalations").click()
    page.get_by_role("table").get_by_role("link").first.click()
    page.get_by_role("link", name="Record a remedial action").click()
    visit.step("remedial action form")
    page.get_by_role("button", name="Record the remedial action").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    visit.step("remedial action form with errors")

    visit.nav("Account").click()
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Old password").fill("not my password")
    page.get_by_label(re.compile(r"New password\W*$")).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    visit.step("password change with errors")

    visit.assert_accessible()
    visit.assert_no_browser_errors()


def test_a_warning_comes_before_the_idle_sign_out(demo_people, visit):
    """30 minutes idle signs out; the page warns 3 minutes before, counted from its loading
    (the server notes the last request to the minute, so at least 2 minutes before)."""
    page = visit.page
    page.clock.install()
    visit.sign_in("elr-project-lead")
    warning = page.get_by_role("alert").filter(has_text="You will be signed out in 2 minutes")
    page.clock.fast_forward("26:59")
    expect(warning).to_have_count(0)
    page.clock.fast_forward("00:02")
    expect(warning).to_have_text(
        "You will be signed out in 2 minutes if you do nothing: save what you are typing."
    )
    visit.step("the warning before the idle sign-out")
    visit.assert_accessible()
    visit.assert_no_browser_errors()
