"""Signing in with NHSmail through a real OpenID provider (tests/oidc): an account found,
linked or created, roles following the provider's groups, signing out at the provider, and
every refusal a page that says why, with nobody signed in and no account created."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance import roles
from governance.models import AccessRefusal, User
from identity.models import IdentityEvent, IdentityLink
from tests.factories import UserFactory
from tests.identity.conftest import CLINICAL_GROUP, FINANCE_GROUP, SITE
from tests.oidc import Browser, person

pytestmark = pytest.mark.django_db


def sign_in(client, login: str, *, browser=None, next_page: str = ""):
    """Click "Sign in with NHSmail", sign in at the provider as `login` (in a browser new to
    the provider unless given one), come back: the response of our callback."""
    start = reverse("nhsmail_start") + (f"?next={next_page}" if next_page else "")
    to_provider = client.get(start)
    assert to_provider.status_code == 302, to_provider.content
    back = (browser or Browser(SITE)).follow(to_provider["Location"], login=login)
    return client.get(back.removeprefix("http://testserver"))


def signed_in_as(client) -> User | None:
    response = client.get(reverse("account"))
    return response.wsgi_request.user if response.status_code == 200 else None


def refused(response, words: str) -> None:
    page = response.content.decode()
    assert response.status_code == 403, page
    assert "You have not been signed in" in page
    assert words in page, page


# --- set up, or not ---


def test_with_no_provider_set_up_the_sign_in_page_offers_passwords_only(client):
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with NHSmail" not in page
    assert 'name="password"' in page
    assert client.get(reverse("nhsmail_start")).status_code == 404
    assert client.get(reverse("nhsmail_callback") + "?code=x&state=y").status_code == 404


def test_with_a_provider_set_up_the_sign_in_page_offers_nhsmail_and_passwords(client, nhsmail):
    page = client.get(reverse("login") + "?next=/schemes/").content.decode()
    assert f'href="{reverse("nhsmail_start")}?next=/schemes/"' in page
    assert "Sign in with NHSmail" in page
    assert 'name="password"' in page


def test_sign_in_starts_with_a_state_a_nonce_and_a_pkce_challenge(client, nhsmail):
    response = client.get(reverse("nhsmail_start"))
    address = urlsplit(response["Location"])
    query = {key: values[0] for key, values in parse_qs(address.query).items()}
    assert f"{address.scheme}://{address.netloc}" == nhsmail.issuer
    assert query["client_id"] == "qipp-governance"
    assert query["redirect_uri"] == "http://testserver/accounts/nhsmail/callback/"
    assert query["scope"] == "openid email profile"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) >= 43
    assert query["state"] in client.session["oidc_states"]
    assert query["nonce"] == client.session["oidc_states"][query["state"]]["nonce"]


# --- who signs in ---


def test_a_person_whose_group_is_mapped_signs_in_with_the_role_and_organisation(
    client, nhsmail, mapped, elr
):
    response = sign_in(client, "finance", next_page="/schemes/")
    assert response.status_code == 302
    assert response["Location"] == "/schemes/"
    user = signed_in_as(client)
    assert user.email == "fiona.reviewer@nhs.net"
    assert (user.first_name, user.last_name) == ("Fiona", "Reviewer")
    assert user.is_active
    assert not user.has_usable_password()
    assert user.role_names == {roles.FINANCE_REVIEWER}
    assert user.organisation_ids == {elr.pk}
    kinds = set(IdentityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert kinds == {"created", "approved", "role_added", "organisation_added", "signed_in"}
    # the idle and absolute timeouts start from this sign-in, as for a password
    assert "qipp_signed_in_at" in client.session


def test_roles_follow_the_groups_at_every_sign_in_and_a_hand_given_role_stays(
    client, nhsmail, mapped
):
    sign_in(client, "finance")
    user = User.objects.get(email="fiona.reviewer@nhs.net")
    user.groups.add(Group.objects.get(name=roles.VIEWER))  # an administrator's, by hand
    nhsmail.change("finance", groups=[CLINICAL_GROUP])
    client.post(reverse("logout"))

    sign_in(client, "finance")
    user.forget_access()
    assert user.role_names == {roles.CLINICAL_REVIEWER, roles.VIEWER}
    removed = IdentityEvent.objects.get(user=user, kind="role_removed")
    assert removed.detail == roles.FINANCE_REVIEWER

    nhsmail.change("finance", groups=[])
    client.post(reverse("logout"))
    sign_in(client, "finance")
    user.forget_access()
    assert user.role_names == {roles.VIEWER}
    assert user.organisation_ids == set()  # the organisation went with the last group


def test_a_first_sign_in_with_no_mapped_group_waits_for_an_administrator(
    client, nhsmail, mapped, admin_client
):
    response = sign_in(client, "newcomer")
    assert response.status_code == 403
    assert "Your account is waiting for approval" in response.content.decode()
    assert signed_in_as(client) is None
    link = IdentityLink.objects.get(email="nadia.new@nhs.net")
    assert link.awaiting_approval and not link.user.is_active
    assert link.user.role_names == set()

    # again before approval: still waiting, one account
    assert sign_in(client, "newcomer").status_code == 403
    assert User.objects.filter(email="nadia.new@nhs.net").count() == 1

    changelist = reverse("admin:identity_identitylink_changelist")
    admin_client.post(changelist, {"action": "approve", "_selected_action": [link.pk]})
    link.refresh_from_db()
    assert link.user.is_active and not link.awaiting_approval
    assert sign_in(client, "newcomer").status_code == 302
    assert signed_in_as(client) == link.user


def test_the_administrators_are_told_of_someone_waiting_and_only_then(
    client, nhsmail, mapped, mailoutbox, django_capture_on_commit_callbacks
):
    admin = UserFactory(username="root", is_staff=True, email="root@example.nhs.uk")
    UserFactory(username="gone", is_staff=True, is_active=False, email="gone@example.nhs.uk")
    with django_capture_on_commit_callbacks(execute=True):  # mail goes once the sign-in commits
        sign_in(client, "newcomer")
    assert [mail.to for mail in mailoutbox] == [["root@example.nhs.uk"]]
    assert "is waiting for approval" in mailoutbox[0].subject
    assert "nadia.new@nhs.net" in mailoutbox[0].body
    assert admin.notifications.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(client, "newcomer")  # again: no second notice
        sign_in(client, "finance")  # a group gives roles: nobody to approve
    assert len(mailoutbox) == 1


def test_with_no_groups_mapped_a_newcomer_waits_and_roles_are_left_to_administrators(
    client, nhsmail
):
    known = UserFactory(username="fiona", email="Fiona.Reviewer@nhs.net", roles=[roles.PMO])
    assert sign_in(client, "finance").status_code == 302
    assert signed_in_as(client) == known
    known.forget_access()
    assert known.role_names == {roles.PMO}
    client.post(reverse("logout"))
    assert sign_in(client, "newcomer").status_code == 403


def test_an_account_is_matched_by_email_then_by_the_providers_id(client, nhsmail):
    known = UserFactory(username="fiona", email="fiona.reviewer@nhs.net")
    sign_in(client, "finance")
    assert signed_in_as(client) == known
    assert IdentityEvent.objects.filter(user=known, kind="linked").exists()
    # her address changes at the provider: the same person, the same account
    nhsmail.change("finance", email="fiona.smith@nhs.net")
    client.post(reverse("logout"))
    sign_in(client, "finance")
    assert signed_in_as(client) == known
    assert IdentityLink.objects.get(user=known).email == "fiona.smith@nhs.net"


def test_a_deactivated_account_is_told_so_and_not_signed_in(client, nhsmail, mapped):
    UserFactory(username="fiona", email="fiona.reviewer@nhs.net", is_active=False)
    response = sign_in(client, "finance")
    assert response.status_code == 403
    assert "Your account is deactivated" in response.content.decode()
    assert signed_in_as(client) is None
    assert not User.objects.get(username="fiona").is_active  # the groups do not revive it


def test_two_accounts_with_the_address_are_refused_rather_than_guessed(client, nhsmail):
    UserFactory(username="fiona", email="fiona.reviewer@nhs.net")
    UserFactory(username="fiona2", email="FIONA.REVIEWER@nhs.net")
    refused(sign_in(client, "finance"), "More than one account here")
    assert not IdentityLink.objects.exists()


# --- refusals: a page that says why, nobody signed in, no account created ---

TAMPERED = {
    "issuer": "from an identity provider this site does not trust",
    "audience": "meant for another application",
    "expired": "had expired when it reached this site",
    "signature": "not signed with its published keys",
    "nonce": "belonged to an earlier sign-in",
}


@pytest.mark.parametrize("tamper", sorted(TAMPERED))
def test_a_token_with_a_defect_is_refused(client, nhsmail, mapped, tamper):
    nhsmail.change("finance", tamper=tamper)
    response = sign_in(client, "finance")
    refused(response, TAMPERED[tamper])
    assert signed_in_as(client) is None
    assert not User.objects.exists()
    assert TAMPERED[tamper] in AccessRefusal.objects.get().reason


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"tid": "a-tenant-not-allowed"}, "belongs to an organisation this site does not accept"),
        ({"email_verified": False}, "has not verified your e-mail address"),
    ],
    ids=["tenant-not-allowed", "email-not-verified"],
)
def test_a_person_the_site_does_not_accept_is_refused(client, nhsmail, mapped, claims, words):
    nhsmail.change("finance", **claims)
    refused(sign_in(client, "finance"), words)
    assert signed_in_as(client) is None
    assert not User.objects.exists() and not IdentityLink.objects.exists()
    refusal = AccessRefusal.objects.get()
    assert refusal.target == "fiona.reviewer@nhs.net"
    assert words in refusal.reason


def test_entra_ids_domain_owner_verified_claim_counts_as_verified(client, nhsmail, mapped):
    people = nhsmail.people
    people["finance"]["claims"] = {
        key: value
        for key, value in person("fiona.reviewer@nhs.net", groups=[FINANCE_GROUP]).items()
        if key != "email_verified"
    } | {"xms_edov": True}
    nhsmail.people = people
    assert sign_in(client, "finance").status_code == 302


def test_a_replayed_state_is_refused_in_the_same_browser_and_in_another(
    client, nhsmail, mapped, browser
):
    to_provider = client.get(reverse("nhsmail_start"))
    back = browser.follow(to_provider["Location"], login="finance").removeprefix(SITE)
    assert client.get(back).status_code == 302
    client.post(reverse("logout"))
    refused(client.get(back), "had already been used")
    other = type(client)()
    refused(other.get(back), "had already been used")
    assert signed_in_as(other) is None
    assert User.objects.count() == 1


def test_a_sign_in_cancelled_at_the_provider_says_what_it_said(client, nhsmail):
    start = client.get(reverse("nhsmail_start"))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = client.get(
        reverse("nhsmail_callback"),
        {
            "error": "access_denied",
            "error_description": "End-User aborted interaction",
            "state": state,
        },
    )
    refused(response, "did not sign you in: End-User aborted interaction")


def test_a_provider_that_does_not_answer_is_a_page_not_an_error(client, settings, nhsmail):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens there
    refused(client.get(reverse("nhsmail_start")), "did not answer just now")


# --- signing out, and the controls that still hold ---


def test_signing_out_ends_the_session_here_and_at_the_provider(client, nhsmail, mapped, browser):
    sign_in(client, "finance", browser=browser)
    response = client.post(reverse("logout"))
    end_session = urlsplit(response["Location"])
    assert f"{end_session.scheme}://{end_session.netloc}{end_session.path}" == (
        f"{nhsmail.issuer}/session/end"
    )
    query = parse_qs(end_session.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert query["id_token_hint"]
    assert signed_in_as(client) is None
    assert browser.follow(response["Location"]) == "http://testserver/accounts/login/"
    # the provider has forgotten the person: the next sign-in asks who they are
    again = client.get(reverse("nhsmail_start"))
    assert browser.asks_who(again["Location"])


def test_a_password_user_signs_out_here_only(client):
    UserFactory(username="pat")
    client.login(username="pat", password="pw")
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")


def test_the_idle_timeout_ends_a_provider_session(client, nhsmail, mapped):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "finance")
        assert signed_in_as(client) is not None
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = client.get(reverse("account"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_user_deactivated_in_bulk_is_signed_out_of_a_provider_session(client, nhsmail, mapped):
    sign_in(client, "finance")
    User.objects.update(is_active=False)  # saves no user: no session is ended by it
    assert signed_in_as(client) is None


def test_the_lockout_holds_for_a_provider_sign_in(client, settings, nhsmail):
    settings.AXES_ENABLED = True
    UserFactory(username="fiona", email="fiona.reviewer@nhs.net")
    for _ in range(5):
        client.post(reverse("login"), {"username": "fiona", "password": "wrong"})
    response = sign_in(client, "finance")
    assert response.status_code == 429
    assert "Sign-in paused" in response.content.decode()
    assert signed_in_as(client) is None
    assert "too many wrong passwords" in AccessRefusal.objects.get().reason


# --- passwords for break-glass administrators only ---


def test_password_sign_in_can_be_kept_for_superusers(client, settings, nhsmail):
    settings.QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY = True
    UserFactory(username="pat")
    UserFactory(username="root", is_superuser=True, is_staff=True)
    response = client.post(reverse("login"), {"username": "pat", "password": "pw"})
    assert response.status_code == 200
    assert "this account signs in with NHSmail only" in response.content.decode()
    assert "Administrators only: sign in with a password" in response.content.decode()
    assert signed_in_as(client) is None
    assert client.post(reverse("login"), {"username": "root", "password": "pw"}).status_code == 302
    assert signed_in_as(client).username == "root"


def test_turning_passwords_off_ends_a_password_session(client, settings):
    UserFactory(username="pat")
    client.login(username="pat", password="pw")
    settings.QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY = True
    assert signed_in_as(client) is None


def test_refused_provider_sign_ins_do_not_pause_sign_in_from_the_address(
    client, settings, nhsmail, mapped
):
    settings.AXES_ENABLED = True
    nhsmail.change("finance", tamper="audience")
    assert [sign_in(client, "finance").status_code for _ in range(6)] == [403] * 6
    nhsmail.change("newcomer", groups=[FINANCE_GROUP])
    assert sign_in(client, "newcomer").status_code == 302


# --- bad input and half-done settings ---


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?code=made-up&state=made-up",
        "?state=only",
        "?code=only",
        "?error=x" + "y" * 5000,
        "?code=%ff%fe&state=%00",
    ],
    ids=["nothing", "made-up", "state-only", "code-only", "long-error", "odd-bytes"],
)
def test_a_callback_with_bad_input_is_a_refusal_page(client, nhsmail, query):
    response = client.get(reverse("nhsmail_callback") + query)
    assert response.status_code in (400, 403)
    assert signed_in_as(client) is None
    assert not User.objects.exists()


def test_the_settings_check_finds_a_half_configured_provider(settings):
    from identity.checks import provider_over_https, sign_in_settings

    settings.OIDC_ISSUER = "http://login.example/v2.0"
    settings.OIDC_RP_CLIENT_SECRET = ""
    assert [problem.id for problem in sign_in_settings(None)] == ["identity.E001"]
    assert [problem.id for problem in provider_over_https(None)] == ["identity.E002"]
    settings.OIDC_ISSUER = ""
    settings.QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY = True
    assert [problem.id for problem in sign_in_settings(None)] == ["identity.W001"]


def test_the_admin_maps_groups_and_lists_who_signed_in(admin_client, nhsmail, mapped):
    sign_in(Client(), "finance")
    groups = admin_client.get(reverse("admin:identity_grouprole_changelist")).content.decode()
    assert "0b7c-finance-reviewers-elr" in groups
    people = admin_client.get(reverse("admin:identity_identitylink_changelist")).content.decode()
    assert "fiona.reviewer@nhs.net" in people
    events = admin_client.get(reverse("admin:identity_identityevent_changelist")).content.decode()
    assert "Role given by a group" in events
