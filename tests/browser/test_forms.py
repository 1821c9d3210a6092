"""Forms work with the keyboard alone, and an invalid form says what is wrong at the top.

Each keyboard test reaches the form's fields with Tab, as someone without a mouse would, from
the skip link; it types, picks options by typing or with the arrow keys and Space, and submits
with Enter. Nothing is clicked or filled by Playwright."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from demo.data import THIS
from governance.models import PLAN_FIELDS, Review, Scheme, SchemeState, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = """() => {
  const e = document.activeElement;
  return {tag: e.tagName.toLowerCase(), name: e.name || "", type: e.type || "", id: e.id,
          text: (e.innerText || e.value || "").trim()};
}"""


def tab_through(page, answers: dict, submit: str, *, limit: int = 120) -> list[str]:
    """From the top of the page, Tab to each field and answer it with answers[name](keyboard),
    until the button labelled `submit` has the focus; press Enter there. The fields answered."""
    keyboard = page.keyboard
    keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["text"] == "Skip to main content"
    keyboard.press("Enter")  # past the navigation, straight to the form
    answered = []
    for _ in range(limit):
        keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["type"] == "submit" and focused["text"] == submit:
            keyboard.press("Enter")
            return answered
        answer = answers.get(focused["name"])
        if answer and focused["name"] not in answered:
            answer(keyboard)
            answered.append(focused["name"])
    raise AssertionError(f"{limit} presses of Tab never reached the {submit!r} button")


def typing(text: str):
    return lambda keyboard: keyboard.type(text)


@pytest.fixture
def submitted(demo_people):
    """An ELR scheme of this year waiting for its confirm and challenge."""
    from tests.factories import SchemeFactory

    users = demo_people["users"]
    return SchemeFactory(
        title="MSK pathway redesign",
        organisation=demo_people["orgs"]["ELR"],
        financial_year=demo_people["years"][THIS],
        programme_area=demo_people["areas"]["Planned Care"],
        area_of_spend=demo_people["spend"]["Elective Care"],
        project_lead=users["elr-project-lead"],
        sro=users["elr-sro"],
        state=SchemeState.CONFIRM_AND_CHALLENGE,
    )


def a_date(page, day: int, month: int, year: int):
    """Type a date into a date field, day first as in Britain; the browser may read its
    segments month first, as its own locale says: then go back to the first and retype."""

    def answer(keyboard):
        keyboard.type(f"{day:02d}{month:02d}{year}")
        if page.evaluate("document.activeElement.value") != f"{year}-{month:02d}-{day:02d}":
            keyboard.press("Shift+Tab")
            keyboard.press("Shift+Tab")
            keyboard.type(f"{month:02d}{day:02d}{year}")

    return answer


def test_a_project_lead_writes_a_pid_with_the_keyboard_alone(demo_people, visit):
    year = demo_people["years"][THIS]
    page = visit.page
    visit.sign_in("elr-project-lead")
    page.goto(visit.url("/schemes/new/"))
    clinical = str(User.objects.get(username="elr-clinical-reviewer"))
    answers = {
        "title": typing("Care home medicines reviews"),
        "description": typing("Pharmacists review every care home resident's medicines."),
        "organisation": typing("ELR"),  # a closed list picks the option its typing matches
        "financial_year": typing(year.label),
        "programme_area": typing("Medicines Management"),
        "area_of_spend": typing("Optimising"),
        "scheme_type": typing("Transactional"),
        "start_date": a_date(page, 1, 4, year.start_year),
        "sro": lambda keyboard: keyboard.press("ArrowDown"),  # the only SRO of ELR
        "clinical_lead": typing(clinical),
        "is_recovery": lambda keyboard: keyboard.press("Space"),
        **{name: typing("2500") for name in PLAN_FIELDS},
    }
    answered = tab_through(page, answers, "Save draft")

    expect(page.get_by_role("alert")).to_contain_text("saved as a draft")
    visit.step("PID saved from the keyboard")
    assert sorted(answered) == sorted(answers)
    scheme = Scheme.objects.get(title="Care home medicines reviews")
    assert scheme.state == SchemeState.DRAFT
    assert scheme.organisation.code == "ELR"
    assert scheme.financial_year == year
    assert scheme.programme_area.name == "Medicines Management"
    assert scheme.scheme_type == "transactional"
    assert scheme.is_recovery
    assert scheme.start_date == year.start_date
    assert scheme.sro.username == "elr-sro"
    assert scheme.clinical_lead.username == "elr-clinical-reviewer"
    assert scheme.annual_plan == Decimal("30000")
    visit.assert_accessible()
    visit.assert_no_browser_errors()


def test_a_finance_reviewer_records_a_review_with_the_keyboard_alone(submitted, visit):
    scheme = submitted
    page = visit.page
    visit.sign_in("elr-finance-reviewer")
    page.goto(visit.url(f"/schemes/{scheme.pk}/review/finance/"))
    visit.step("review form")
    answers = {
        # Tab enters the radio group on its first option; Space chooses it
        "decision": lambda keyboard: keyboard.press("Space"),
        "comment": typing("The baseline now matches the activity data: supported."),
    }
    answered = tab_through(page, answers, "Record review")

    expect(page.get_by_role("alert").first).to_contain_text(scheme.reference)
    visit.step("review recorded from the keyboard")
    assert answered == ["decision", "comment"]
    review = Review.objects.get(scheme=scheme, round=scheme.submission_round, kind="finance")
    assert review.decision == "supported"
    assert review.reviewer.username == "elr-finance-reviewer"
    assert review.comment == "The baseline now matches the activity data: supported."
    visit.assert_accessible()
    visit.assert_no_browser_errors()


def test_an_invalid_pid_shows_the_error_summary_focused_with_links_to_the_fields(
    demo_people, visit
):
    page = visit.page
    visit.sign_in("elr-project-lead")
    page.goto(visit.url("/schemes/new/"))
    page.get_by_label("Title").fill("Only a title")
    page.get_by_role("button", name="Save draft").click()

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(summary.get_by_role("link", name="Description: This field is required.")).to_be_visible()
    expect(summary.get_by_role("link", name="SRO: This field is required.")).to_be_visible()
    expect(summary).to_contain_text("The savings plan must add up to more than £0 for the year.")
    assert not summary.get_by_text("Title:").count()  # the title was given
    visit.step("PID error summary")
    assert not Scheme.objects.filter(title="Only a title").exists()

    page.keyboard.press("Tab")  # from the summary to its first link
    expect(summary.get_by_role("link").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Description")).to_be_focused()
    summary.get_by_role("link", name="SRO: This field is required.").click()
    expect(page.get_by_label("SRO")).to_be_focused()
    visit.assert_accessible()
    visit.assert_no_browser_errors()


def test_an_invalid_review_links_its_error_to_the_first_choice(submitted, visit):
    scheme = submitted
    page = visit.page
    visit.sign_in("elr-finance-reviewer")
    page.goto(visit.url(f"/schemes/{scheme.pk}/review/finance/"))
    page.get_by_role("button", name="Record review").click()

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    visit.step("review error summary")
    summary.get_by_role("link", name="Decision: This field is required.").click()
    expect(page.get_by_label("Supported", exact=True)).to_be_focused()
    assert not Review.objects.filter(scheme=scheme, round=scheme.submission_round).exists()
    visit.assert_accessible()
    visit.assert_no_browser_errors()
