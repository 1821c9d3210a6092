"""The Pipeline in a real browser, checked with axe-core: a project lead adds an idea (a saving
typed in words is refused with an example), writes it up as a PID in one step from its
confirmation page, and lands on the draft, whose history starts with the idea; a second idea
counts in the requirement table, as it is and risk-weighted; a viewer reads the pipeline."""

import re

import pytest
from playwright.sync_api import expect

from demo.data import NEXT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Social prescribing for frequent attenders"


def test_a_project_lead_takes_an_idea_from_the_pipeline_to_a_draft_pid(demo_people, visit):
    page = visit.page
    heading = page.get_by_role("heading", level=1)
    visit.sign_in("elr-project-lead")
    visit.nav("Pipeline").click()
    expect(heading).to_have_text("Pipeline")
    visit.step("the pipeline, empty")

    page.get_by_role("link", name="Add an opportunity").click()
    expect(heading).to_have_text("Add an opportunity")
    visit.step("a new opportunity")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Description").fill(
        "Link workers in each primary care network see the patients who visit their practice "
        "most often, and connect them to community support."
    )
    page.get_by_label("Financial year").select_option(label=demo_people["years"][NEXT].label)
    page.get_by_label("Programme area").select_option(label="Primary Care")
    saving = page.get_by_label("Estimated saving in the year")
    saving.fill("one thousand")
    page.get_by_role("button", name="Add to the pipeline").click()
    expect(page.get_by_role("main")).to_contain_text(
        "Estimated saving in the year: Enter an amount in pounds, like 83,000 or 83k."
    )
    visit.step("a saving in words, refused with an example")
    saving.fill("83k")
    page.get_by_role("button", name="Add to the pipeline").click()
    expect(heading).to_contain_text(f"OPP-ELR-{demo_people['years'][NEXT].code}-001 {TITLE}")
    expect(page.get_by_role("main")).to_contain_text("(£83,000)")
    visit.step("the opportunity")

    page.get_by_role("link", name="Write it up as a PID").click()
    expect(heading).to_contain_text("as a PID")
    visit.step("writing it up: the confirmation page")
    page.get_by_label("Transformational").check()
    page.get_by_label("Area of spend").select_option(label="Primary Care")  # it had none
    page.get_by_role("button", name="Write it up as a PID").click()  # ELR's SRO is chosen

    expect(heading).to_contain_text(f"ELR-{demo_people['years'][NEXT].code}-")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Written up from opportunity OPP-ELR-")
    expect(main).to_contain_text("created, estimated saving (£83,000)")
    visit.step("the draft PID it became")

    visit.nav("Pipeline").click()
    expect(main).to_contain_text("Written up as a PID")
    visit.step("the pipeline, with the idea written up")

    # a second idea stays an idea: the requirement table counts it at its stage's weight
    page.get_by_role("link", name="Add an opportunity").click()
    page.get_by_label("Title").fill("Repeat prescriptions by app")
    page.get_by_label("Financial year").select_option(label=demo_people["years"][NEXT].label)
    page.get_by_label("Programme area").select_option(label="Primary Care")
    page.get_by_label("Estimated saving in the year").fill("200k")
    page.get_by_role("button", name="Add to the pipeline").click()
    expect(heading).to_contain_text("Repeat prescriptions by app")
    visit.nav("Reports").click()
    page.get_by_role("main").get_by_role("link", name="Net QIPP requirement").click()
    page.get_by_label("Financial year").select_option(label=demo_people["years"][NEXT].label)
    page.get_by_label("Counting").select_option("pipeline")
    page.get_by_role("button", name="Show").click()
    table = page.get_by_role("table").first
    # unweighted, then weighted: an opportunity counts at 10% until it is written up
    expect(table.get_by_role("row", name=re.compile(r"^Identified: Opportunity"))).to_contain_text(
        "(200)"
    )
    expect(
        table.get_by_role("row", name=re.compile(r"^Risk-weighted: Opportunity"))
    ).to_contain_text("(20)")
    expect(table.get_by_role("row", name=re.compile(r"^Risk-weighted identified"))).to_be_visible()
    expect(
        table.get_by_role("row", name=re.compile(r"^Unidentified after risk weighting"))
    ).to_be_visible()
    visit.step("the requirement table, as it is and risk-weighted")
    visit.sign_out()

    visit.sign_in("elr-viewer")
    visit.nav("Pipeline").click()
    expect(main).to_contain_text(TITLE)
    expect(page.get_by_role("link", name="Add an opportunity")).to_have_count(0)
    page.get_by_role("link", name="OPP-ELR-").first.click()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    visit.step("an opportunity, as a viewer")

    visit.assert_accessible()
    visit.assert_no_browser_errors()
