"""Sessions end after 30 minutes without a request, and 12 hours after signing in whatever
happens; the user lands on the sign-in page told why."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
IDLE_MESSAGE = "You were signed out because you had not used the site for 30 minutes."
LONGEST_MESSAGE = "For security you are signed out 12 hours after signing in."


@pytest.fixture
def traveller():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_the_settings_default_to_30_minutes_idle_and_12_hours_in_all(settings):
    assert settings.QIPP_SESSION_IDLE_MINUTES == 30
    assert settings.QIPP_SESSION_MAX_HOURS == 12


def test_a_user_active_every_29_minutes_stays_signed_in(client, lead, traveller):
    client.force_login(lead)
    for _ in range(6):
        traveller.shift(timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200


def test_30_minutes_idle_signs_the_user_out_and_says_why(client, lead, traveller):
    client.force_login(lead)
    assert client.get(reverse("home")).status_code == 200
    traveller.shift(timedelta(minutes=30))
    response = client.get(reverse("scheme_list"), follow=True)
    assert response.redirect_chain[0][0] == f"{reverse('login')}?next={reverse('scheme_list')}"
    assert IDLE_MESSAGE in response.content.decode()
    assert b"Sign in" in response.content
    # signed out for good, not just for the one request
    assert client.get(reverse("home")).status_code == 302


def test_12_hours_after_signing_in_the_user_is_signed_out_however_active(client, lead, traveller):
    client.force_login(lead)
    for _ in range(12 * 3 - 1):
        traveller.shift(timedelta(minutes=20))
        assert client.get(reverse("home")).status_code == 200
    traveller.shift(timedelta(minutes=20))
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert LONGEST_MESSAGE in response.content.decode()


def test_signing_in_again_after_a_timeout_starts_a_fresh_session(client, lead, traveller):
    client.force_login(lead)
    traveller.shift(timedelta(minutes=31))
    client.get(reverse("home"))
    response = client.post(reverse("login"), {"username": lead.username, "password": "pw"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_the_admin_times_out_too(client, staff, traveller):
    client.force_login(staff)
    assert client.get(reverse("admin:index")).status_code == 200
    traveller.shift(timedelta(minutes=30))
    response = client.get(reverse("admin:index"), follow=True)
    assert IDLE_MESSAGE in response.content.decode()


def test_shorter_limits_can_be_set(client, lead, traveller, settings):
    settings.QIPP_SESSION_IDLE_MINUTES = 5
    client.force_login(lead)
    traveller.shift(timedelta(minutes=4))
    assert client.get(reverse("home")).status_code == 200
    traveller.shift(timedelta(minutes=5))
    response = client.get(reverse("home"), follow=True)
    assert "had not used the site for 5 minutes" in response.content.decode()
