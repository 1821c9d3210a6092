"""Each request's user is the one its session names, as they are now, and the menu counts that
user's own unread notifications."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from governance.models import UserSession
from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def unread_in_menu(page) -> int:
    """The number on the menu's Notifications badge (0 when there is none)."""
    found = re.search(r'>(\d+)<span class="visually-hidden"> unread', page.content.decode())
    return int(found.group(1)) if found else 0


def test_the_menu_counts_the_users_own_unread_notifications(client, lead):
    other = UserFactory(username="someone-else")
    for who, n in ((lead, 3), (other, 5)):
        Notification.objects.bulk_create(
            Notification(user=who, kind="notice", subject=f"Notice {i}") for i in range(n)
        )
    client.force_login(lead)
    assert unread_in_menu(client.get(reverse("home"))) == 3

    client.post(reverse("notification_open", args=[lead.notifications.first().pk]))
    assert unread_in_menu(client.get(reverse("home"))) == 2

    # a session whose sign-in record names someone else: still its own user's count
    UserSession.objects.filter(user=lead).update(user=other)
    assert unread_in_menu(client.get(reverse("home"))) == 2

    client.post(reverse("notification_mark_all_read"))
    assert unread_in_menu(client.get(reverse("home"))) == 0


def test_the_user_is_the_one_the_session_names_whatever_the_sign_in_record_says(client, lead):
    client.force_login(lead)
    other = UserFactory(username="someone-else")
    UserSession.objects.filter(user=lead).update(user=other)

    page = client.get(reverse("my_tasks"))

    assert page.status_code == 200 and page.context["user"] == lead


def test_a_user_deactivated_since_the_session_began_is_signed_out(client, lead):
    client.force_login(lead)
    type(lead).objects.filter(pk=lead.pk).update(is_active=False)  # no signal: sessions stay

    page = client.get(reverse("my_tasks"))

    assert page.status_code == 302 and reverse("login") in page["Location"]


def test_a_session_without_a_sign_in_record_still_finds_its_user(lead):
    browser = Client()
    browser.force_login(lead)
    UserSession.objects.all().delete()

    assert browser.get(reverse("my_tasks")).context["user"] == lead
