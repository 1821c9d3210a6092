"""A deputy in a real browser, on the demo: ELR's Clinical Chair is away and the administrator
has named ELR's clinical reviewer to sign QIAs off for them (demo/deputies.py). The deputy
finds the Chair's sign-off in their own My tasks, marked "for" the Chair, signs it with the
page saying whom they act for, and the QIA names both; back, the Chair reads what was done for
them and ends the delegation, which its history keeps. Every page checked with axe-core."""

import pytest
from playwright.sync_api import expect

from governance.models import Delegation, User
from qia.models import SignOff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_deputy_signs_off_for_the_clinical_chair_who_reads_it_when_back(demo, visit):
    page = visit.page
    chair = User.objects.get(username="elr-clinical-chair")
    deputy = User.objects.get(username="elr-clinical-reviewer")
    main = page.get_by_role("main")

    visit.sign_in("elr-clinical-reviewer")
    visit.nav("My tasks").click()
    expect(main).to_contain_text(f"For {chair}, as Clinical Chair (ELR)")
    visit.step("the deputy's tasks, the Chair's among them")
    page.get_by_role("link", name=f"Sign off the QIA as Clinical Chair for {chair}").first.click()
    expect(main).to_contain_text(f"You are acting for {chair}")
    visit.step("the sign-off page, acting for the Chair")
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Comment").fill("Signed for the Chair while on leave; risks acceptable.")
    page.get_by_role("button", name="Record my decision").click()
    expect(page.get_by_role("alert").first).to_contain_text("Your decision is recorded.")
    expect(main).to_contain_text(f"{deputy} for {chair}")
    visit.step("the QIA, signed by the deputy for the Chair")
    signature = SignOff.objects.get(by=deputy)
    assert signature.on_behalf_of == chair
    visit.sign_out()

    visit.sign_in("elr-clinical-chair")
    visit.nav("My tasks").click()
    done = page.get_by_role("region", name="Done for you by your deputies")
    expect(done).to_contain_text(f"{deputy} for {chair}")
    visit.step("back: what the deputy did")
    page.get_by_role("link", name="Deputies: name one while you are away").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deputies")
    page.get_by_role("button", name="End it now").click()
    expect(page.get_by_role("alert").first).to_contain_text("Ended:")
    expect(main).to_contain_text("ended the delegation")
    visit.step("the delegation ended, in its history")
    assert Delegation.objects.get(principal=chair).ended_at is not None
    visit.assert_accessible()
    visit.assert_no_browser_errors()
