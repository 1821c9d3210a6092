"""Every refused access and refused transition is on record once: who, what, when."""

import pytest
from django.test import Client
from django.urls import reverse

from governance import roles
from governance.models import AccessRefusal, SchemeState
from tests.factories import OrganisationFactory, SchemeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stranger(db):
    """A project lead in an organisation of another system."""
    return UserFactory(
        username="nn-project-lead",
        roles=[roles.PROJECT_LEAD],
        organisations=[OrganisationFactory(code="NN")],
    )


@pytest.fixture
def draft(lead):
    return SchemeFactory(organisation=lead.organisations.get(), project_lead=lead)


def the_refusal(user) -> AccessRefusal:
    """The one refusal on record for `user` (fails if there are none or several)."""
    return AccessRefusal.objects.get(user=user)


def test_a_scheme_page_refused_is_recorded_once(client, stranger, draft):
    client.force_login(stranger)
    response = client.get(reverse("scheme_detail", args=[draft.pk]))
    assert response.status_code == 403
    assert b"You do not have access to this scheme." in response.content
    refusal = the_refusal(stranger)
    assert (refusal.action, refusal.target) == ("view", f"scheme {draft.pk}")
    assert refusal.at is not None


def test_a_qia_page_refused_is_recorded_once(client, stranger, draft):
    client.force_login(stranger)
    assert client.get(reverse("qia_detail", args=[draft.pk])).status_code == 403
    assert the_refusal(stranger).action == "view QIA"


def test_the_qag_pack_refused_is_recorded_once(client, lead):
    client.force_login(lead)
    response = client.get(reverse("qag_pack"))
    assert response.status_code == 403
    assert the_refusal(lead).reason.startswith("The QAG pack is for the PMO")


def test_a_transition_refused_by_role_is_recorded_once(client, draft):
    sro = draft.sro
    client.force_login(sro)
    response = client.post(reverse("scheme_submit", args=[draft.pk]), {"version": draft.version})
    assert response.status_code == 403
    refusal = the_refusal(sro)
    assert (refusal.action, refusal.target) == ("submit", draft.reference)
    assert refusal.reason == "Only the scheme's project lead can submit it."


def test_a_transition_refused_by_state_is_recorded_once(client, lead):
    done = SchemeFactory(
        organisation=lead.organisations.get(), project_lead=lead, state=SchemeState.COMPLETED
    )
    client.force_login(lead)
    response = client.post(
        reverse("scheme_withdraw", args=[done.pk]),
        {"version": done.version, "reason": "No longer needed."},
        follow=True,
    )
    assert "you cannot withdraw it now" in response.content.decode()
    refusal = the_refusal(lead)
    assert refusal.action == "withdraw"
    assert "completed" in refusal.reason


def test_a_refusal_in_the_admin_is_recorded_once_with_the_page(client, staff, lead):
    client.force_login(staff)
    url = reverse("admin:governance_user_delete", args=[lead.pk])
    response = client.get(url)
    assert response.status_code == 403
    assert b"You cannot do that" in response.content
    refusal = the_refusal(staff)
    assert refusal.target == url
    assert refusal.action == "GET admin:governance_user_delete"


def test_a_staff_user_without_rights_is_refused_an_admin_page_on_record(client, db):
    clerk = UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    url = reverse("admin:governance_scheme_changelist")
    assert client.get(url).status_code == 403
    assert the_refusal(clerk).target == url


def test_a_form_without_its_security_token_is_refused_on_record(lead):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(lead)
    response = browser.post(reverse("scheme_create"), {"title": "Anything"})
    assert response.status_code == 403
    assert b"This form had expired or did not come from this site" in response.content
    refusal = the_refusal(lead)
    assert refusal.reason.startswith("Security check on the form failed")


def test_allowed_pages_record_nothing(client, lead, draft):
    client.force_login(lead)
    assert client.get(reverse("scheme_detail", args=[draft.pk])).status_code == 200
    assert client.get(reverse("home")).status_code == 200
    assert not AccessRefusal.objects.exists()
