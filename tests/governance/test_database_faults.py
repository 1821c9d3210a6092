"""A database that stops answering in the middle of a write: the user is told "saved" only
when the change and its history are stored, and "not saved" when they are not.

The PostgreSQL tests cut the web request's own connection (pg_terminate_backend, as a server
restart or a failover would) at a chosen moment of a correction to a monthly return."""

import html
from datetime import date

import psycopg
import pytest
import time_machine
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError, connection
from django.urls import reverse

from governance.delivery import monthly_returns, progress
from governance.models import MonthlyReturn, SchemeChange
from notifications import sweep
from tests.world import add_return

AUGUST = date(2019, 8, 15)


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def correction(people, make_scheme, client):
    """A finance lead about to correct the April actual of a scheme in delivery from 1,000 to
    1,500: (the browser, the scheme, the form to post)."""
    scheme = make_scheme()
    lead = people["elr-finance-reviewer"]
    add_return(scheme, 1, "1000", by=lead)
    client.force_login(lead)
    url = reverse("return_edit", args=[scheme.pk, 1])
    with time_machine.travel(AUGUST, tick=False):
        token = client.get(url).context["form"].initial["token"]
    return client, scheme, url, {"token": token, "actual": "1500", "forecast_outturn": ""}


def stored(scheme) -> tuple:
    """The April actual as the database holds it, and the history rows of the correction."""
    actual = MonthlyReturn.objects.get(scheme=scheme, month=1).actual
    history = list(
        SchemeChange.objects.filter(scheme=scheme, field="Month 1 actual").values_list(
            "old_value", "new_value"
        )
    )
    return actual, history


def cut_the_connection():
    """End this process's PostgreSQL session from another connection, as a restart would."""
    settings = connection.settings_dict
    pid = connection.connection.info.backend_pid
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_correction_cut_off_while_it_is_written_says_not_saved_and_keeps_nothing(
    correction, monkeypatch
):
    client, scheme, url, form = correction
    write_history = SchemeChange.objects.bulk_create

    def cut_then_write(rows, *args, **kwargs):
        cut_the_connection()
        return write_history(rows, *args, **kwargs)

    monkeypatch.setattr(SchemeChange.objects, "bulk_create", cut_then_write)
    with time_machine.travel(AUGUST, tick=False):
        response = client.post(url, form)

    assert response.status_code == 503
    assert "Not saved" in text(response) and "Nothing was saved" in text(response)
    assert "corrected" not in text(response)
    assert stored(scheme) == (1000, [])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_cut_after_the_commit_leaves_the_correction_saved_and_says_so(
    correction, monkeypatch
):
    client, scheme, url, form = correction
    evaluate = sweep.sweep

    def cut_then_evaluate(*args, **kwargs):
        # the escalation rules, after the return's commit; the session is saved after them
        cut_the_connection()
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(sweep, "sweep", cut_then_evaluate)
    with time_machine.travel(AUGUST, tick=False):
        response = client.post(url, form)
        assert response.status_code == 302  # the page the view sent them to, not an error
        shown = text(client.get(response["Location"]))

    assert "The Apr 2019 return is corrected; the change is in its history." in shown
    assert stored(scheme) == (1500, [("(£1,000)", "(£1,500)")])


@pytest.mark.django_db
def test_a_session_that_cannot_be_saved_after_the_correction_still_says_it_is_saved(
    correction, monkeypatch
):
    client, scheme, url, form = correction

    def cannot_save(self, must_create=False):
        raise UpdateError  # what Django's database sessions raise when the save fails

    monkeypatch.setattr(SessionStore, "save", cannot_save)
    with time_machine.travel(AUGUST, tick=False):
        response = client.post(url, form)
        monkeypatch.undo()
        shown = text(client.get(response["Location"]))

    assert response.status_code == 302
    assert "The Apr 2019 return is corrected; the change is in its history." in shown
    assert stored(scheme) == (1500, [("(£1,000)", "(£1,500)")])


@pytest.mark.django_db
def test_a_database_that_stops_answering_before_the_save_gives_a_not_saved_page(
    correction, monkeypatch
):
    client, scheme, url, form = correction

    def unreachable(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(monthly_returns, "return_save", unreachable)
    with time_machine.travel(AUGUST, tick=False):
        response = client.post(url, form)

    assert response.status_code == 503 and response["Retry-After"] == "30"
    page = text(response)
    assert "Not saved" in page and "submit it again" in page
    assert stored(scheme) == (1000, [])


@pytest.mark.django_db
def test_a_page_the_database_cannot_answer_says_so_and_that_nothing_changed(
    correction, monkeypatch
):
    client, scheme, _url, _form = correction

    def unreachable(*args, **kwargs):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(progress, "dashboard", unreachable)
    response = client.get(reverse("dashboard"))

    assert response.status_code == 503
    assert "The database is not answering. Nothing has been changed." in text(response)
