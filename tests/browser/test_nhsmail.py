"""Signing in with NHSmail in a real browser, through a real OpenID provider (tests/oidc) on a
local port. The administrator maps a provider group to the Chief Nurse role of ELR in the
admin; a nurse nobody has set up here signs in at the provider, arrives with that role, and
signs out here and at the provider; someone from another organisation's tenant is refused
with the reason. Our pages are checked with axe-core (the provider's own are not ours)."""

import pytest
from playwright.sync_api import expect

from governance import roles
from governance.models import User
from tests.oidc import Provider, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NURSE_GROUP = "5d1e-chief-nurse-elr"
PEOPLE = {
    "nurse": {"claims": person("grace.okafor@nhs.net", groups=[NURSE_GROUP])},
    "outsider": {"claims": person("sam.other@elsewhere.example", tenant="another-tenant")},
}


@pytest.fixture
def nhsmail(live_server, settings):
    provider = Provider(site=live_server.url, people=PEOPLE)
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    yield provider
    provider.stop()


def sign_in_at_provider(page, login: str) -> None:
    page.get_by_role("link", name="Sign in with NHSmail").click()
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("the provider checks this, not us")
    page.get_by_role("button", name="Sign-in").click()


def test_a_nurse_signs_in_with_nhsmail_gets_her_role_from_her_group_and_signs_out(
    demo_people, nhsmail, visit
):
    page = visit.page
    main = page.get_by_role("main")

    # the administrator maps the provider's group to the role, in the admin
    visit.sign_in("admin")
    page.goto(visit.url("/admin/identity/grouprole/add/"))
    page.get_by_label("Group id").fill(NURSE_GROUP)
    page.get_by_label("Group name").fill("Chief Nurse, ELR")
    page.get_by_label("Role").select_option(label=roles.CHIEF_NURSE)
    page.get_by_label("Organisation").select_option(
        label="ELR - East Leicestershire and Rutland CCG"
    )
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    page.goto(visit.url("/"))
    visit.sign_out()

    # the nurse, unknown here, signs in at the provider and arrives with her role
    visit.step("the sign-in page offers NHSmail")
    sign_in_at_provider(page, "nurse")
    visit.nav("My tasks").wait_for()
    visit.step("signed in through NHSmail")
    page.goto(visit.url("/accounts/"))
    expect(main).to_contain_text(roles.CHIEF_NURSE)
    expect(main).to_contain_text("East Leicestershire and Rutland")
    visit.step("her account: the role her group gives")
    nurse = User.objects.get(email="grace.okafor@nhs.net")
    assert nurse.role_names == {roles.CHIEF_NURSE}

    # signing out here signs her out at the provider too
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    visit.step("back on the sign-in page, signed out at the provider")
    page.get_by_role("link", name="Sign in with NHSmail").click()
    expect(page.locator('input[name="login"]')).to_be_visible()  # the provider asks again
    page.goto(visit.url("/accounts/login/"))

    # someone from a tenant the site does not accept is told why, and nothing is created
    sign_in_at_provider(page, "outsider")
    expect(page.get_by_role("heading", level=1)).to_have_text("You have not been signed in")
    expect(main).to_contain_text("belongs to an organisation this site does not accept")
    visit.step("refused: another organisation's tenant")
    assert not User.objects.filter(email="sam.other@elsewhere.example").exists()
    # the refusal page's 403, and the provider's pages asking for web fonts this machine
    # cannot reach, are not errors of ours
    visit.errors = [
        error
        for error in visit.errors
        if not error.startswith(nhsmail.issuer) and "/accounts/nhsmail/callback/" not in error
    ]
    visit.assert_accessible()
    visit.assert_no_browser_errors()
