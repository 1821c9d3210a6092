"""A form posted by someone no longer signed in, or with an expired security token, loses
nothing typed: the page says why nothing was saved and shows what was typed, to copy, with the
way back to the form. The sign-out itself stands."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance.models import AccessRefusal, SchemeState, User
from tests.factories import SchemeFactory
from tests.pages import text

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
IDLE_MESSAGE = "You were signed out because you had not used the site for 30 minutes."
LONGEST_MESSAGE = "For security you are signed out 12 hours after signing in."
GONE_MESSAGE = "You are not signed in any more, so nothing was saved."
COMMENT = "The step-down beds open in May;\nthe ward closes <b>in June</b> & not before."


@pytest.fixture
def traveller():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def draft(lead):
    return SchemeFactory(organisation=lead.organisations.get(), project_lead=lead)


def submit_url(scheme) -> str:
    return reverse("scheme_submit", args=[scheme.pk])


def post_comment(client, scheme, **extra):
    """The project lead's submit form, sent from its own page, with a note for the reviewers."""
    url = submit_url(scheme)
    data = {"version": scheme.version, "comment": COMMENT, **extra.pop("data", {})}
    headers = {"HTTP_REFERER": f"http://testserver{url}", **extra}
    return client.post(url, data, **headers)


def typed_boxes(response) -> dict[str, str]:
    """The read-only boxes of "What you typed": {label: text}."""
    page = response.content.decode()
    labels = dict(re.findall(r'<label class="form-label" for="(typed-\d+)">([^<]*)</label>', page))
    boxes = re.findall(r'<textarea[^>]*id="(typed-\d+)"[^>]*readonly>([^<]*)</textarea>', page)
    return {html.unescape(labels[id_]): html.unescape(box) for id_, box in boxes}


def sign_in_link(response) -> str:
    found = re.search(
        r'<a class="btn btn-primary" href="([^"]*)">Sign in again</a>', text(response)
    )
    assert found, "no Sign in again link"
    return found.group(1)


def nothing_saved(scheme) -> bool:
    scheme.refresh_from_db()
    return scheme.state == SchemeState.DRAFT and not StateLog.objects.exists()


def signed_out(client) -> bool:
    return client.get(reverse("home")).status_code == 302


# --- the session ends while the form is open ---


def test_a_form_posted_after_the_idle_sign_out_is_shown_back_to_copy(
    client, lead, draft, traveller
):
    client.force_login(lead)
    assert client.get(submit_url(draft)).status_code == 200
    traveller.shift(timedelta(minutes=30))

    response = post_comment(client, draft)

    assert response.status_code == 401
    page = text(response)
    assert IDLE_MESSAGE in page
    assert "What you typed" in page
    assert typed_boxes(response) == {"Comment": COMMENT}
    assert sign_in_link(response) == f"{reverse('login')}?next={submit_url(draft)}"
    assert "no-store" in response["Cache-Control"]  # the browser keeps no copy of the text
    assert signed_out(client)
    assert nothing_saved(draft)


def test_a_form_posted_after_the_longest_session_is_shown_back_to_copy(
    client, lead, draft, traveller
):
    client.force_login(lead)
    for _ in range(12 * 3 - 1):  # busy all day
        traveller.shift(timedelta(minutes=20))
        assert client.get(submit_url(draft)).status_code == 200
    traveller.shift(timedelta(minutes=20))

    response = post_comment(client, draft)

    assert response.status_code == 401
    assert LONGEST_MESSAGE in text(response)
    assert typed_boxes(response) == {"Comment": COMMENT}
    assert signed_out(client)
    assert nothing_saved(draft)


def test_the_sign_in_link_leads_back_to_the_form_page_not_the_action(client, lead, traveller):
    """A form posted to an address of its own (the escalation's button, say) sends the user
    back to the page they were on, which the browser names."""
    client.force_login(lead)
    traveller.shift(timedelta(minutes=31))
    response = client.post(
        "/anything/", {"note": "Keep this."}, HTTP_REFERER="http://testserver/schemes/?page=2"
    )
    assert response.status_code == 401
    assert sign_in_link(response) == f"{reverse('login')}?next=/schemes/%3Fpage%3D2"


def test_a_page_of_another_site_is_not_where_sign_in_leads(client, lead, draft, traveller):
    client.force_login(lead)
    traveller.shift(timedelta(minutes=31))
    response = post_comment(client, draft, HTTP_REFERER="https://elsewhere.example/form/")
    assert sign_in_link(response) == f"{reverse('login')}?next={submit_url(draft)}"


def test_signed_out_in_another_tab_the_form_is_shown_back(client, lead, draft):
    client.force_login(lead)
    client.post(reverse("logout"))  # the Sign out button of another tab of the same browser

    response = post_comment(client, draft)

    assert response.status_code == 401
    assert GONE_MESSAGE in text(response)
    assert typed_boxes(response) == {"Comment": COMMENT}
    assert sign_in_link(response) == f"{reverse('login')}?next={submit_url(draft)}"
    assert nothing_saved(draft)


def test_without_a_session_cookie_the_form_is_shown_back(lead, draft):
    browser = Client()  # the cookie cleared, or the form left open from before
    response = post_comment(browser, draft)
    assert response.status_code == 401
    assert typed_boxes(response) == {"Comment": COMMENT}
    assert nothing_saved(draft)


def test_a_user_deactivated_meanwhile_gets_their_text_back_but_stays_out(client, lead, draft):
    client.force_login(lead)
    User.objects.filter(pk=lead.pk).update(is_active=False)  # a bulk update ends no session

    response = post_comment(client, draft)

    assert response.status_code == 401
    assert typed_boxes(response) == {"Comment": COMMENT}
    assert signed_out(client)
    assert nothing_saved(draft)


def test_passwords_tokens_versions_ids_and_empty_fields_are_never_shown(
    client, lead, draft, traveller
):
    client.force_login(lead)
    traveller.shift(timedelta(minutes=30))
    response = post_comment(
        client,
        draft,
        data={
            "new_password1": "Secret-horse-42",
            "csrfmiddlewaretoken": "Token-value-17",
            "scheme_id": "98765",
            "form-TOTAL_FORMS": "3",
            "revision": "11",
            "reason": "   ",
            "assured_reason": "Two invoices fell in July.",
        },
    )
    assert typed_boxes(response) == {
        "Comment": COMMENT,
        "Assured reason": "Two invoices fell in July.",
    }
    page = text(response)
    for secret in ("Secret-horse-42", "Token-value-17", "98765", "password"):
        assert secret not in page


def test_a_password_change_posted_after_a_timeout_shows_no_password(client, lead, traveller):
    client.force_login(lead)
    traveller.shift(timedelta(minutes=30))
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw",
            "new_password1": "Secret-horse-42",
            "new_password2": "Secret-horse-42",
        },
        follow=True,
    )
    assert "Secret-horse-42" not in text(response)
    assert IDLE_MESSAGE in text(response)  # nothing typed to keep: the sign-in page, as before
    assert response.redirect_chain[0][1] == 302


def test_nothing_typed_is_the_sign_in_page_with_the_reason_as_before(client, lead, traveller):
    client.force_login(lead)
    traveller.shift(timedelta(minutes=30))
    response = client.post(reverse("logout"), follow=True)  # the Sign out button, too late
    assert response.redirect_chain[0][1] == 302
    assert IDLE_MESSAGE in text(response)
    assert "What you typed" not in text(response)


def test_words_posted_by_another_site_are_not_shown_as_the_users(client, lead, draft, traveller):
    client.force_login(lead)
    traveller.shift(timedelta(minutes=30))
    response = post_comment(client, draft, HTTP_ORIGIN="https://elsewhere.example")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert COMMENT not in text(response)
    assert signed_out(client)
    assert nothing_saved(draft)


# --- the form's security token expired ---


def test_an_expired_form_shows_what_was_typed_and_the_way_back_to_the_form(lead, draft):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(lead)

    response = post_comment(browser, draft)

    assert response.status_code == 403
    page = text(response)
    assert "This form had expired or did not come from this site, so nothing was saved." in page
    assert "reload" not in page
    assert "Copy what you typed (shown below), then" in page
    assert f'<a href="{submit_url(draft)}">open the form again</a> and paste it in.' in page
    assert typed_boxes(response) == {"Comment": COMMENT}
    assert "no-store" in response["Cache-Control"]
    assert nothing_saved(draft)
    assert AccessRefusal.objects.get(user=lead).reason.startswith("Security check on the form")


def test_an_expired_form_from_another_site_shows_neither_its_words_nor_its_page(lead, draft):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(lead)
    response = post_comment(
        browser,
        draft,
        HTTP_ORIGIN="https://elsewhere.example",
        HTTP_REFERER="https://elsewhere.example/form/",
    )
    assert response.status_code == 403
    assert COMMENT not in text(response) and "What you typed" not in text(response)
    assert "elsewhere.example" not in text(response)
    assert nothing_saved(draft)


# --- the warning before the idle sign-out (static/js/qipp.js) ---


def test_the_page_tells_the_script_the_idle_limit_when_signed_in_only(client, lead, settings):
    settings.QIPP_SESSION_IDLE_MINUTES = 20
    assert "data-idle-minutes" not in text(client.get(reverse("login")))
    client.force_login(lead)
    assert '<body data-idle-minutes="20">' in text(client.get(reverse("home")))
