"""Sign-in lockout: five failures for one username from one address pause that pair for 15
minutes, then it may sign in again. Nobody can lock a colleague out from elsewhere."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HERE = "10.1.1.1"
ELSEWHERE = "10.2.2.2"


@pytest.fixture(autouse=True)
def lockout_on(settings):
    settings.AXES_ENABLED = True


def sign_in(client, username, password, *, ip=HERE, url=None):
    return client.post(
        url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail(client, username, times, *, ip=HERE, url=None):
    return [sign_in(client, username, "wrong", ip=ip, url=url) for _ in range(times)]


def signed_in(client) -> bool:
    return client.get(reverse("home")).status_code == 200


def test_the_settings_default_to_5_failures_and_a_15_minute_pause(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_four_failures_still_let_the_right_password_in(client, lead):
    responses = fail(client, lead.username, 4)
    assert all(b"did not match" in r.content for r in responses)
    assert sign_in(client, lead.username, "pw").status_code == 302
    assert signed_in(client)


def test_the_fifth_failure_shows_the_lockout_page_and_the_right_password_is_refused(client, lead):
    *_, fifth = fail(client, lead.username, 5)
    assert fifth.status_code == 429
    assert b"Sign-in paused" in fifth.content
    assert b"for the next 15 minutes" in fifth.content
    refused = sign_in(client, lead.username, "pw")
    assert refused.status_code == 429
    assert not signed_in(client)


def test_a_lockout_from_one_address_does_not_stop_the_person_signing_in_elsewhere(client, lead):
    fail(client, lead.username, 5, ip=HERE)
    assert sign_in(client, lead.username, "pw", ip=ELSEWHERE).status_code == 302
    assert signed_in(client)


def test_a_lockout_of_one_username_leaves_others_at_the_same_address_alone(client, lead, staff):
    fail(client, lead.username, 5)
    assert sign_in(client, staff.username, "pw").status_code == 302


def test_the_lockout_ends_after_15_minutes_even_if_tries_go_on_meanwhile(client, lead):
    with time_machine.travel(START, tick=False) as traveller:
        fail(client, lead.username, 5)
        traveller.shift(timedelta(minutes=10))
        assert fail(client, lead.username, 3)[-1].status_code == 429
        traveller.shift(timedelta(minutes=4))
        assert sign_in(client, lead.username, "pw").status_code == 429
        traveller.shift(timedelta(minutes=1, seconds=1))
        assert sign_in(client, lead.username, "pw").status_code == 302
        assert signed_in(client)


def test_a_successful_sign_in_clears_the_count_of_failures(client, lead):
    fail(client, lead.username, 4)
    sign_in(client, lead.username, "pw")
    client.logout()
    responses = fail(client, lead.username, 4)
    assert all(r.status_code == 200 for r in responses)
    assert sign_in(client, lead.username, "pw").status_code == 302


def test_the_admin_sign_in_locks_out_too(client, staff):
    admin_login = reverse("admin:login")
    *_, fifth = fail(client, staff.username, 5, url=admin_login)
    assert fifth.status_code == 429
    assert b"Sign-in paused" in fifth.content
    assert sign_in(client, staff.username, "pw", url=admin_login).status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302  # still asked to sign in


# --- behind the TLS proxy (TRUSTED_PROXY_COUNT) ---

PROXY = "10.0.0.1"  # every request arrives from the proxy


def through_proxy(client, username, password, *, person: str, sent: str = ""):
    """A sign-in through one proxy: it adds the address it received the request from
    (`person`) to whatever X-Forwarded-For the browser sent (`sent`)."""
    forwarded = f"{sent}, {person}" if sent else person
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_behind_the_proxy_the_lockout_keys_on_each_persons_own_address(client, lead, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        through_proxy(client, lead.username, "wrong", person="203.0.113.7")

    locked = through_proxy(client, lead.username, "pw", person="203.0.113.7")
    elsewhere = through_proxy(client, lead.username, "pw", person="198.51.100.20")

    assert locked.status_code == 429
    assert elsewhere.status_code == 302  # the named person still signs in from their own


def test_an_address_the_browser_makes_up_does_not_escape_the_lockout(client, lead, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):  # a new made-up address each time, from the same person
        through_proxy(client, lead.username, "wrong", person="203.0.113.7", sent=f"1.1.1.{n}")

    again = through_proxy(client, lead.username, "pw", person="203.0.113.7", sent="9.9.9.9")

    assert again.status_code == 429


def test_production_refuses_to_start_without_the_proxy_count():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "qipp.example.nhs.uk",
        "DATABASE_URL": "postgres://qipp@127.0.0.1:5432/qipp",
        "TRUSTED_PROXY_COUNT": "0",
    }
    started = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert started.returncode != 0
    assert "TRUSTED_PROXY_COUNT must be set in production" in started.stderr
