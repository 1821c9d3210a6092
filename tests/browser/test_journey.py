"""The whole journey of a new scheme in a real browser, as the demo users of ELR drive it:
the PID (its plan typed as "83k" and "5k") and its QIA, confirm and challenge, the blind panel,
the agreed QIA, both sign-offs with the case beside the form, the PMO assuring a month's returns
of other schemes at once, delivery and its returns imported by the PMO, the daily escalation
sweep, the SRO's remedial action from the e-mail's link, and the QAG pack. Every page is
screenshotted and checked with axe-core; a serious or critical violation anywhere fails the
test."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from demo.builder import Builder
from demo.data import SCHEMES, THIS
from governance.delivery import schedule
from governance.forms import person_label
from governance.models import FinancialYear, MonthlyReturn, Scheme, SchemeState, User
from governance.views_reports import default_selection
from notifications.models import Escalation, OutboxEmail, Rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Direct access to community physiotherapy"
MONTHLY_PLAN = 5000
# The panel's view of each heading: (impact, consequence, likelihood, rationale).
SCORES = {
    "patient_safety": ("negative", "3", "2", "A missed red flag in self-referral triage."),
    "clinical_effectiveness": ("positive", "", "", "Earlier physiotherapy, better outcomes."),
    "patient_experience": ("positive", "", "", "No GP appointment needed to be seen."),
    "organisational_reputation": ("none", "", "", ""),
    "evidence_base": ("positive", "", "", "Published self-referral pilots."),
    "resources": ("negative", "2", "3", "Physiotherapy capacity is tight in winter."),
}


def reporting_year() -> tuple[FinancialYear, int]:
    """The year and month the reports open on: the latest month whose returns are due, in a
    year still open (in April and early May, last year's), so its returns are imported and
    the escalation sweep rates them."""
    label, month = default_selection()
    return FinancialYear.objects.get(start_year=FinancialYear.parse_label(label)), month


def field(scope, label: str):
    """The field labelled exactly `label` (a required field's label ends in an asterisk)."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}\*?\s*$"))


def open_task(visit, reference: str, task: str) -> None:
    """From My tasks, the task named `task` on the scheme `reference`."""
    page = visit.page
    visit.nav("My tasks").click()
    row = page.get_by_role("row").filter(has_text=reference)
    row.get_by_role("link", name=task).click()


def open_scheme(visit, reference: str) -> None:
    """The scheme's page, found with the search box of the scheme list."""
    page = visit.page
    visit.nav("Schemes").click()
    page.get_by_label("Search").fill(reference)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)


def fill_sheet(page, scores=SCORES) -> None:
    for heading, (impact, consequence, likelihood, rationale) in scores.items():
        box = page.locator(f"fieldset[data-qia-heading={heading}]")
        box.get_by_label(impact.capitalize(), exact=True).check()
        if consequence:
            box.get_by_label("Consequence").select_option(consequence)
            box.get_by_label("Likelihood").select_option(likelihood)
        box.get_by_label("Rationale").fill(rationale)


def write_pid(visit) -> str:
    page = visit.page
    visit.sign_in("elr-project-lead", shot=True)
    visit.step("project lead home")
    page.get_by_role("link", name="Write a new PID").click()
    visit.step("new PID form")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Description").fill(
        "Patients with a musculoskeletal problem refer themselves to community physiotherapy "
        "instead of seeing their GP first; saves GP time and orthopaedic outpatient referrals."
    )
    page.get_by_label("Organisation").select_option(
        label="ELR - East Leicestershire and Rutland CCG"
    )
    year, due = reporting_year()
    page.get_by_label("Financial year").select_option(label=year.label)
    page.get_by_label("Programme area").select_option(label="Planned Care")
    page.get_by_label("Area of spend").select_option(label="Elective Care")
    field(page, "Type").select_option("transformational")
    page.get_by_label("Start date").fill(year.start_date.isoformat())
    # a person is shown with their roles and organisations: "Richard Moss (SRO; ELR)"
    sro = User.objects.get(username="elr-sro")
    page.get_by_label("SRO").select_option(label=person_label(sro))
    # the finance lead enters the returns; nobody on the team may review or score the scheme
    finance = User.objects.get(username="elr-finance-lead")
    page.get_by_label("Finance lead").select_option(label=person_label(finance))
    for month in ("Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb"):
        field(page, month).fill(str(MONTHLY_PLAN))
    # typed as finance people type it; the annual total follows as they type
    field(page, "Mar").fill("83k")
    expect(page.locator("[data-plan-total]")).to_have_text("Annual total: £138,000")
    field(page, "Mar").fill("5k")
    expect(page.locator("[data-plan-total]")).to_have_text("Annual total: £60,000")
    field(page, "Mar").fill("5 grand")
    expect(page.locator("[data-plan-total]")).to_contain_text("check Mar")
    # what the server refuses is left out of the total, as it would be: a negative, a part
    # of a penny; pence show as the server shows them
    field(page, "Mar").fill("(500)")
    expect(page.locator("[data-plan-total]")).to_contain_text("£55,000 so far; check Mar")
    field(page, "Mar").fill("0.001")
    expect(page.locator("[data-plan-total]")).to_contain_text("check Mar")
    field(page, "Mar").fill("100.40")
    expect(page.locator("[data-plan-total]")).to_have_text("Annual total: £55,100.40")
    field(page, "Mar").fill("5k")
    visit.step("PID filled in")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("alert")).to_contain_text("saved as a draft")
    heading = page.get_by_role("heading", level=1).inner_text()
    reference = heading.removesuffix(f" {TITLE}")
    visit.step("PID saved as a draft")

    page.get_by_role("link", name="Start the QIA self-assessment").first.click()
    visit.step("QIA self-assessment form")
    fill_sheet(page)
    equality = page.get_by_role("group", name="Equality impact screening")
    equality.get_by_label("No", exact=True).check()
    equality.get_by_label("Rationale").fill("Open to every adult registered with an ELR practice.")
    mitigation = page.locator("#id_mitigation-0-heading")
    mitigation.select_option("patient_safety")
    page.locator("#id_mitigation-0-description").fill("Red-flag screening questions at booking.")
    page.locator("#id_mitigation-0-owner").fill("Physiotherapy service lead")
    due = (date.today() + timedelta(days=60)).isoformat()
    page.locator("#id_mitigation-0-due_date").fill(due)
    # every negative heading needs its action (resources is negative too)
    page.locator("#id_mitigation-1-heading").select_option("resources")
    page.locator("#id_mitigation-1-description").fill("Winter cover agreed with the provider.")
    page.locator("#id_mitigation-1-owner").fill("Contracts manager")
    page.locator("#id_mitigation-1-due_date").fill(due)
    visit.step("QIA self-assessment filled in")
    page.get_by_role("button", name="Save the self-assessment").click()
    expect(page.get_by_role("alert")).to_contain_text("it is complete")
    visit.step("QIA self-assessment saved")

    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name=reference).click()
    page.get_by_role("link", name="Submit for confirm and challenge").first.click()
    visit.step("submit the PID")
    page.get_by_role("button", name="Submit for confirm and challenge").click()
    expect(page.get_by_role("alert")).to_contain_text("confirm and challenge")
    visit.step("PID submitted")
    visit.sign_out()
    return reference


def review(visit, reference: str, username: str, kind: str) -> None:
    page = visit.page
    visit.sign_in(username)
    open_task(visit, reference, f"Record the {kind} review")
    visit.step(f"{kind} review form")
    page.get_by_label("Supported", exact=True).check()
    page.get_by_label("Comment").fill(f"The {kind} case is sound and the plan is evidenced.")
    page.get_by_role("button", name="Record review").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    visit.step(f"{kind} review recorded")
    visit.sign_out()


def score(visit, reference: str, username: str, *, earlier=(), sign_out: bool = True) -> None:
    """Score blind: the members who scored `earlier` stay hidden until this one has scored."""
    page = visit.page
    names = [str(User.objects.get(username=name)) for name in earlier]
    visit.sign_in(username)
    open_scheme(visit, reference)
    visit.step(f"scheme page for {username}")
    page.get_by_role("link", name="Score the QIA").first.click()
    visit.step(f"blind scoring form for {username}")
    for name in names:
        expect(page.get_by_role("main")).not_to_contain_text(name)
    fill_sheet(page)
    page.get_by_role("button", name="Record my scores").click()
    expect(page.get_by_role("alert")).to_contain_text("Your scores are recorded")
    for name in [*names, str(User.objects.get(username=username))]:
        expect(page.get_by_role("rowheader", name=name).first).to_be_visible()
    visit.step(f"panel scores seen by {username}")
    if sign_out:
        visit.sign_out()


def sign_off(visit, reference: str, username: str) -> None:
    page = visit.page
    visit.sign_in(username)
    open_scheme(visit, reference)
    page.get_by_role("link", name="Sign off the QIA").first.click()
    visit.step(f"sign-off form for {username}")
    # the case beside the form: the plan and its total, both reviews, whether the panel agreed
    case = page.get_by_role("region", name="The case")
    expect(case).to_contain_text("(£60,000)")
    expect(case).to_contain_text("The financial case is sound and the plan is evidenced.")
    expect(case).to_contain_text("The clinical case is sound and the plan is evidenced.")
    expect(case).to_contain_text("The panel members gave the same score on every heading.")
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Comment").fill("Risks are understood and mitigated.")
    page.get_by_role("button", name="Record my decision").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    visit.step(f"signed off by {username}")
    visit.sign_out()


def test_a_new_scheme_goes_from_pid_to_the_qag_pack_in_the_browser(
    demo_people, visit, tmp_path, settings, mailoutbox
):
    settings.SITE_URL = visit.base_url  # the links in the e-mails lead to this server
    page = visit.page

    demo_schemes_in_delivery(demo_people)
    reference = write_pid(visit)
    scheme = Scheme.objects.get(reference=reference)
    assert scheme.title == TITLE
    assert scheme.annual_plan == Decimal(MONTHLY_PLAN * 12)
    assert scheme.state == SchemeState.CONFIRM_AND_CHALLENGE

    review(visit, reference, "elr-finance-reviewer", "financial")
    review(visit, reference, "elr-clinical-reviewer", "clinical")
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.QIA_PANEL

    panel = ["elr-panel-member", "elr-panel-member-2"]
    score(visit, reference, panel[0])
    score(visit, reference, panel[1], earlier=panel[:1])
    score(visit, reference, "elr-quality-lead", earlier=panel, sign_out=False)
    open_scheme(visit, reference)
    page.get_by_role("link", name="Agree the QIA").first.click()
    visit.step("agree the QIA")
    page.get_by_role("button", name="Record the agreed QIA").click()
    expect(page.get_by_role("alert")).to_contain_text("it goes to sign-off")
    visit.step("QIA agreed")
    visit.sign_out()

    sign_off(visit, reference, "elr-chief-nurse")
    sign_off(visit, reference, "elr-clinical-chair")
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.APPROVED

    visit.sign_in("elr-pmo")
    assure_the_waiting_returns_a_month_at_a_time(visit)
    open_scheme(visit, reference)
    page.get_by_role("link", name="Start delivery").first.click()
    visit.step("start delivery")
    page.get_by_role("button", name="Start delivery").click()
    expect(page.get_by_role("alert").first).to_contain_text("in delivery")
    visit.step("in delivery")
    # a tenth of the plan each month, and a forecast of a tenth of the year: RAG red
    returns = tmp_path / "returns.csv"
    year, due = reporting_year()
    rows = [
        f"{reference},{month},500.00,6000.00,Referrals slow to start" for month in range(1, due + 1)
    ]
    returns.write_text("reference,month,actual,forecast_outturn,commentary\n" + "\n".join(rows))
    visit.nav("Reports").click()
    visit.step("reports")
    page.get_by_role("link", name="Import targets, plans or returns").click()
    visit.step("import page")
    page.get_by_label("What the file holds").select_option(label="Monthly returns")
    field(page, "File").set_input_files(returns)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert").first).to_contain_text("returns.csv")
    visit.step("returns imported")
    assert MonthlyReturn.objects.filter(scheme=scheme).count() == due
    open_scheme(visit, reference)
    expect(page.get_by_text(f"RAG as at {schedule.month_label(year, due)}")).to_contain_text(
        "Red: Behind year-to-date plan"
    )
    visit.step("scheme off track")
    visit.sign_out()

    # the import raised the escalation once it committed; the daily sweep adds nothing to it
    escalation = Escalation.objects.get(scheme=scheme, rule=Rule.OFF_TRACK)
    call_command("run_escalations")
    assert Escalation.objects.filter(scheme=scheme).count() == 1
    sro = User.objects.get(username="elr-sro")
    mail = OutboxEmail.objects.filter(recipient=sro.email, subject__contains=reference).get(
        text_body__contains=escalation.get_absolute_url()
    )
    link = re.search(r"https?://\S+" + re.escape(escalation.get_absolute_url()), mail.text_body)
    assert link, mail.text_body
    delivered = [m for m in mailoutbox if m.to == [sro.email] and m.subject == mail.subject]
    assert len(delivered) == 1 and link.group(0) in delivered[0].body

    page.goto(link.group(0))  # the SRO follows the link from the e-mail, and signs in
    visit.step("sign in to follow the e-mail's link")
    page.get_by_label("Username").fill("elr-sro")
    page.get_by_label("Password").fill("qipp-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    visit.step("escalation as the SRO sees it")
    page.get_by_role("link", name="Record a remedial action").first.click()
    visit.step("remedial action form")
    page.get_by_label("Remedial action").fill(
        "Extra physiotherapy sessions from January; GP practices promote self-referral."
    )
    page.get_by_label("To be done by").fill(f"{timezone.localdate() + timedelta(days=60):%Y-%m-%d}")
    page.get_by_role("button", name="Record the remedial action").click()
    # shown as the agreed action, and kept word for word in the escalation's history
    recorded = page.get_by_text("Extra physiotherapy sessions from January")
    expect(recorded).to_have_count(2)
    expect(recorded.first).to_be_visible()
    visit.step("remedial action recorded")
    visit.sign_out()
    escalation.refresh_from_db()
    assert escalation.remedial_action.startswith("Extra physiotherapy sessions")

    visit.sign_in("elr-qag-member")
    visit.nav("QAG pack").click()
    escalated = page.get_by_role("row").filter(has_text=reference).filter(has_text="Off-track")
    expect(escalated.first).to_contain_text("Extra physiotherapy sessions from January")
    visit.step("QAG pack")
    visit.sign_out()

    stop_by_qag_decision(visit, scheme, escalation)

    visit.assert_accessible()
    visit.assert_no_browser_errors()


def demo_schemes_in_delivery(demo_people) -> None:
    """The demo's three ELR schemes in delivery this year, built as seed_demo builds them: the
    finance lead's returns up to last month, the latest two months not yet assured."""
    for index, spec in enumerate(SCHEMES):
        if spec.org == "ELR" and spec.year == THIS and spec.state == SchemeState.IN_DELIVERY:
            Builder(spec, index, demo_people, demo_people["users"]).build()


def assure_the_waiting_returns_a_month_at_a_time(visit) -> None:
    """The PMO assures each month's waiting returns at once, one of them below its actual with
    the reason that needs: six returns, three in each of two months (three in May, when only
    April's are in)."""
    page = visit.page
    waiting = MonthlyReturn.objects.filter(
        scheme__organisation__code="ELR", scheme__state=SchemeState.IN_DELIVERY, assured_at=None
    )
    months = sorted(set(waiting.values_list("month", flat=True)))
    assert waiting.count() == 3 * len(months) and len(months) in (1, 2)
    below = waiting.order_by("month", "scheme__reference").first()
    visit.nav("My tasks").click()
    page.get_by_role("link", name="Assure a month's returns at once").click()
    for number in range(len(months)):
        if number:
            page.get_by_role("navigation", name="Months with returns waiting").get_by_role(
                "link"
            ).first.click()
        expect(page.locator("form tbody tr")).to_have_count(3)
        visit.step(f"a month's returns to assure at once ({number + 1})")
        if number == 0:
            # typed as the PMO would; the default is the actual
            page.get_by_label(f"PMO assured value for {below.scheme.reference}").fill("1k")
            page.get_by_label(f"Reason for the assured value for {below.scheme.reference}").fill(
                "Only £1,000 of it is invoiced so far; the rest is checked next month."
            )
        page.get_by_role("button", name="Assure the ticked returns").click()
        expect(page.get_by_role("alert").first).to_contain_text("3 returns assured.")
    expect(page.get_by_text("Every return is assured: nothing is waiting for you.")).to_be_visible()
    visit.step("every return assured")
    assert waiting.count() == 0
    below.refresh_from_db()
    assert below.pmo_assured == Decimal("1000")


def stop_by_qag_decision(visit, scheme, escalation) -> None:
    """The PMO raises the escalation to QAG; the SRO cannot stop the scheme; a QAG member
    records QAG's decision to stop it, confirming what that does."""
    page = visit.page
    reference = scheme.reference
    visit.sign_in("elr-pmo")
    page.goto(visit.url(escalation.get_absolute_url()))
    page.get_by_label("Why QAG should decide now").fill("No recovery in sight this year.")
    page.get_by_role("button", name="Raise to QAG").click()
    expect(page.get_by_role("alert").first).to_contain_text(f"Raised to QAG: {reference}")
    visit.step("raised to QAG")
    visit.sign_out()

    visit.sign_in("elr-sro")  # on the scheme's team, and no QAG member: refused, and told why
    visit.refused_at(f"/schemes/{scheme.pk}/stop/")
    expect(page.get_by_role("main")).to_contain_text("Only a member of the QIPP Assurance Group")
    visit.step("stop refused to the SRO")
    visit.sign_out()

    visit.sign_in("elr-qag-member")
    open_scheme(visit, reference)
    page.get_by_role("link", name="Stop scheme (QAG decision)").click()
    visit.step("QAG decision to stop")
    expect(page.get_by_text("cannot be undone").first).to_be_visible()
    expect(page.get_by_label("Stop the scheme")).to_be_checked()
    page.get_by_label("Date of the QAG meeting").fill(f"{timezone.localdate():%Y-%m-%d}")
    page.get_by_label("Reasons, as minuted").fill("Minute 7: no route to the savings this year.")
    page.get_by_role("button", name="Record QAG's decision").click()
    expect(
        page.get_by_text("Tick to confirm that QAG decided to stop the scheme").first
    ).to_be_visible()
    visit.step("stop needs confirming")
    page.get_by_label(re.compile("I confirm QAG decided to stop this scheme")).check()
    page.get_by_role("button", name="Record QAG's decision").click()
    expect(page.get_by_role("alert").first).to_contain_text("Recorded")
    open_scheme(visit, reference)
    expect(page.get_by_text("QAG decision: stop the scheme").first).to_be_visible()
    visit.step("scheme stopped by QAG")
    visit.sign_out()
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.STOPPED
    assert "Minute 7: no route to the savings this year." in scheme.stop_decision
