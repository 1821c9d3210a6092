"""Each request's session is read with the user its sign-in recorded (governance.backends): the
user is taken from there only when the session itself names them, and as they are now."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import UserSession
from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_page_reads_the_session_and_its_user_in_one_query(client, lead):
    client.force_login(lead)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("my_tasks"))
    user = page.context["user"]
    assert page.status_code == 200 and user == lead
    # as the ORM would have given them
    assert user.is_active is True and user.is_staff is False
    assert user.date_joined == lead.date_joined and user.date_joined.tzinfo is not None
    assert user.last_login is not None and user.last_login.tzinfo is not None
    sql = [q["sql"] for q in queries]
    assert any("FROM django_session" in q and "governance_usersession" in q for q in sql)
    assert not any(q.startswith("SELECT") and "FROM governance_user WHERE" in q for q in sql)
    assert not any(q.startswith("SELECT name, token FROM governance_stamp") for q in sql)
    assert not any("FROM notifications_notification" in q and q != sql[0] for q in sql)


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
