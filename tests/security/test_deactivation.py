"""Deactivating a user ends every session they have, at once, however it is done."""

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from config.celery_app import app
from governance.models import User, UserSession
from governance.tasks import clear_expired_sessions

pytestmark = pytest.mark.django_db


def signed_in(client) -> bool:
    return client.get(reverse("home")).status_code == 200


@pytest.fixture
def two_browsers(lead):
    browsers = [Client(), Client()]
    for browser in browsers:
        browser.force_login(lead)
        assert signed_in(browser)
    return browsers


def admin_change_form(user: User, **changes) -> dict:
    """What the admin's change-user form posts, unchanged but for `changes`."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%d/%m/%Y"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "groups": [g.pk for g in user.groups.all()],
        "profession": "",
        "job_title": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_deactivating_in_the_admin_signs_the_user_out_of_every_browser(
    client, staff, lead, two_browsers
):
    client.force_login(staff)
    url = reverse("admin:governance_user_change", args=[lead.pk])
    response = client.post(url, admin_change_form(lead, is_active=None))
    assert response.status_code == 302, response.context["adminform"].form.errors
    lead.refresh_from_db()
    assert not lead.is_active
    assert not any(signed_in(browser) for browser in two_browsers)
    assert signed_in(client)  # the administrator's own session goes on


def test_deactivating_anywhere_deletes_the_sessions_from_the_database(lead, two_browsers):
    keys = [browser.session.session_key for browser in two_browsers]
    assert Session.objects.filter(session_key__in=keys).count() == 2
    lead.is_active = False
    lead.save()
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(user=lead).exists()


def test_reactivating_the_user_does_not_bring_the_old_sessions_back(lead, two_browsers):
    lead.is_active = False
    lead.save()
    lead.is_active = True
    lead.save()
    assert not any(signed_in(browser) for browser in two_browsers)


def test_a_bulk_deactivation_signs_the_user_out_on_their_next_request_for_good(lead, two_browsers):
    User.objects.filter(pk=lead.pk).update(is_active=False)
    first, second = two_browsers
    assert not signed_in(first)
    User.objects.filter(pk=lead.pk).update(is_active=True)
    assert not signed_in(first)


def test_other_users_keep_their_sessions(lead, staff, two_browsers):
    other = Client()
    other.force_login(staff)
    lead.is_active = False
    lead.save()
    assert signed_in(other)


def test_signing_out_forgets_the_session(client, lead):
    client.force_login(lead)
    assert UserSession.objects.filter(user=lead).count() == 1
    client.post(reverse("logout"))
    assert not UserSession.objects.filter(user=lead).exists()


def test_the_admin_offers_no_deletion_of_users(client, staff, lead):
    client.force_login(staff)
    response = client.get(reverse("admin:governance_user_delete", args=[lead.pk]))
    assert response.status_code == 403
    assert User.objects.filter(pk=lead.pk).exists()


def test_the_nightly_task_clears_expired_sessions_and_keeps_live_ones(lead, two_browsers):
    schedule = app.conf.beat_schedule["clear-expired-sessions"]
    assert schedule["task"] == "governance.tasks.clear_expired_sessions"
    stale, live = two_browsers
    keys = {stale.session.session_key, live.session.session_key}
    Session.objects.filter(session_key=stale.session.session_key).update(
        expire_date="2000-01-01T00:00:00Z"
    )
    with time_machine.travel("1999-12-31", tick=False):
        clear_expired_sessions()  # then, it had not expired yet: both are kept
    assert set(Session.objects.values_list("session_key", flat=True)) == keys
    assert set(UserSession.objects.values_list("session_key", flat=True)) == keys

    clear_expired_sessions()
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session.session_key]
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [
        live.session.session_key
    ]
    assert not signed_in(stale) and signed_in(live)
