"""A signed-in user sees their own account and changes their own password: the current one,
then the new one twice. Other browsers signed in as them are signed out; this one stays."""

import html
import logging

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

NEW = "Seven-rivers-in-Rutland-2026"


def text(response) -> str:
    return html.unescape(response.content.decode())


def sign_in(client, username: str, password: str) -> bool:
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def change(client, old: str, new1: str, new2: str | None = None):
    data = {"old_password": old, "new_password1": new1, "new_password2": new2 or new1}
    return client.post(reverse("password_change"), data)


def test_the_account_page_says_who_you_are_here(client, lead):
    client.force_login(lead)
    page = text(client.get(reverse("account")))

    assert "Your account" in page
    assert lead.username in page and lead.email in page
    assert "Project lead" in page
    assert "ELR · " in page
    assert "ask your system administrator" in page
    assert reverse("password_change") in page
    assert f'href="{reverse("account")}"' in text(client.get(reverse("home")))  # in the menu


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for name in ("account", "password_change"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = change(client, "pw", NEW)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_new_password_works_and_signs_out_every_other_browser(client, lead, caplog):
    other = Client()
    assert sign_in(other, lead.username, "pw")
    assert sign_in(client, lead.username, "pw")

    with caplog.at_level(logging.INFO, logger="qipp.security"):
        response = change(client, "pw", NEW)

    assert response.status_code == 302 and response["Location"] == reverse("account")
    assert "Your password has been changed." in text(client.get(response["Location"]))
    assert f"password changed by {lead.username}" in caplog.text
    assert client.get(reverse("home")).status_code == 200  # this browser stays signed in
    assert other.get(reverse("home")).status_code == 302  # the other one is signed out
    client.post(reverse("logout"))
    assert not sign_in(Client(), lead.username, "pw")
    assert sign_in(Client(), lead.username, NEW)


@pytest.mark.parametrize(
    ("old", "new1", "new2", "message"),
    [
        ("wrong", NEW, NEW, "Your old password was entered incorrectly"),
        ("pw", NEW, NEW + "x", "The two password fields didn’t match"),
        ("pw", "short", "short", "This password is too short"),
        ("pw", "password123", "password123", "This password is too common"),
        ("pw", "12345678901234", "12345678901234", "This password is entirely numeric"),
        ("pw", "", "", "This field is required"),
    ],
)
def test_a_refused_change_says_why_and_keeps_the_old_password(
    client, lead, old, new1, new2, message
):
    client.force_login(lead)
    response = change(client, old, new1, new2)

    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page
    assert message in page
    lead.refresh_from_db()
    assert lead.check_password("pw")
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.parametrize(
    ("new1", "new2", "field", "message"),
    [
        ("short", "short", "new_password1", "This password is too short"),
        (NEW, NEW + "x", "new_password2", "The two password fields didn’t match"),
    ],
)
def test_each_message_is_under_the_field_it_is_about(client, lead, new1, new2, field, message):
    client.force_login(lead)
    page = text(change(client, "pw", new1, new2))

    # the message under the field (crispy's id names it), and once in the summary above
    assert f'id="error_1_id_{field}"><strong>{message}' in page
    assert page.count(message) == 2


HERE, ELSEWHERE = "10.1.1.1", "10.2.2.2"


def test_guessing_the_current_password_meets_the_sign_in_lockout(client, lead, settings):
    """A browser left signed in is no way round the lockout: five wrong current passwords sign
    it out, and the account then signs in from that address only after the pause."""
    settings.AXES_ENABLED = True
    client.post(reverse("login"), {"username": lead.username, "password": "pw"}, REMOTE_ADDR=HERE)
    assert client.get(reverse("home")).status_code == 200

    def guess():
        return client.post(
            reverse("password_change"),
            {"old_password": "guess", "new_password1": NEW, "new_password2": NEW},
            REMOTE_ADDR=HERE,
        )

    for _ in range(4):
        response = guess()
        assert response.status_code == 200
        assert "Your old password was entered incorrectly" in text(response)
    fifth = guess()

    assert fifth.status_code == 429
    assert "Sign-in paused" in text(fifth)
    assert client.get(reverse("home")).status_code == 302  # signed out
    again = Client()
    locked = again.post(
        reverse("login"), {"username": lead.username, "password": "pw"}, REMOTE_ADDR=HERE
    )
    assert locked.status_code == 429
    elsewhere = again.post(
        reverse("login"), {"username": lead.username, "password": "pw"}, REMOTE_ADDR=ELSEWHERE
    )
    assert elsewhere.status_code == 302
    lead.refresh_from_db()
    assert lead.check_password("pw")


def test_a_signed_in_browser_at_the_lockout_cannot_change_the_password(client, lead, settings):
    settings.AXES_ENABLED = True
    client.post(reverse("login"), {"username": lead.username, "password": "pw"}, REMOTE_ADDR=HERE)
    for _ in range(5):  # five failed sign-ins from the same address, in another browser
        Client().post(
            reverse("login"), {"username": lead.username, "password": "no"}, REMOTE_ADDR=HERE
        )

    response = client.post(
        reverse("password_change"),
        {"old_password": "pw", "new_password1": NEW, "new_password2": NEW},
        REMOTE_ADDR=HERE,
    )

    assert response.status_code == 429
    lead.refresh_from_db()
    assert lead.check_password("pw")
    assert client.get(reverse("home")).status_code == 302
