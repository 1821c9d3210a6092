"""Tokens and what goes with them: refused keys, a token's organisations, filters and pages,
the rate limit, the call log, the token page, the admin, and the docs page."""

import re
from copy import deepcopy
from datetime import date

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from api.models import ApiCall, ApiToken
from governance.delivery import schedule
from governance.models import AccessRefusal, FinancialYear, Organisation, Scheme
from tests.api.helpers import api, every_row, token_for, with_keys
from tests.pages import visible

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from with_keys(django_db_blocker)


SCHEMES = "/api/schemes/"


def test_it_refuses_a_missing_wrong_or_revoked_key_with_401(world):
    demo, keys = world
    assert api().get(SCHEMES).status_code == 401
    wrong = api("qipp_not-a-key").get(SCHEMES)
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "No token has this key."
    token, key = token_for(demo.users["elr-pmo"])
    assert api(key).get(SCHEMES).status_code == 200
    token.revoked_at = token.created_at
    token.save()
    revoked = api(key).get(SCHEMES)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]


def test_it_refuses_the_key_of_an_inactive_owner(world):
    demo, _keys = world
    user = demo.users["elr-viewer"]
    _token, key = token_for(user)
    user.is_active = False
    user.save()
    response = api(key).get(SCHEMES)
    assert response.status_code == 401
    assert "no longer active" in response.json()["detail"]


def test_a_token_naming_one_organisation_sees_only_it(world):
    demo, _keys = world
    pmo = demo.users["elr-pmo"]
    wl = Organisation.objects.get(code="WL")
    pmo.organisations.add(wl)
    pmo.forget_access()
    _token, both = token_for(pmo)
    _token, only_wl = token_for(pmo, [wl])
    seen_by_both = {row["organisation"] for row in every_row(api(both), SCHEMES)}
    assert seen_by_both == {"ELR", "WL"}
    assert {row["organisation"] for row in every_row(api(only_wl), SCHEMES)} == {"WL"}
    # the owner leaves WL: the token naming it sees nothing more
    pmo.organisations.remove(wl)
    assert every_row(api(only_wl), SCHEMES) == []


def test_lists_filter_by_year_organisation_and_state(world):
    demo, keys = world
    client = api(keys["elr-pmo"])
    delivery = Scheme.objects.get(pk=demo.objects["delivery"].pk)
    year = delivery.financial_year.label
    rows = every_row(client, SCHEMES, year=year, organisation="elr", state="in_delivery")
    assert delivery.pk in {row["id"] for row in rows}
    assert {(r["year"], r["organisation"], r["state"]) for r in rows} == {
        (year, "ELR", "in_delivery")
    }
    # an organisation the token does not read, or none at all, is refused, not an empty list
    for code in ("WL", "ZZZ"):
        refused = client.get(SCHEMES, {"organisation": code})
        assert refused.status_code == 400
        assert refused.json()["organisation"] == (
            f"'{code}' is not an organisation this token reads: choose from ELR."
        )
    # the committee tables too: a typo is no table of noughts
    table = client.get("/api/tables/summary/", {"year": year, "organisation": "ELRR"})
    assert table.status_code == 400
    assert "'ELRR' is not an organisation this token reads" in table.json()["organisation"]
    elr = client.get("/api/tables/summary/", {"year": year, "organisation": "elr"}).json()
    assert [row["label"] for row in elr["rows"]] == ["ELR"]
    assert every_row(client, "/api/returns/", state="draft") == []
    several = every_row(client, SCHEMES, state="draft,in_delivery")
    assert {row["state"] for row in several} == {"draft", "in_delivery"}
    bad_year = client.get(SCHEMES, {"year": "2019"})
    assert bad_year.status_code == 400
    assert "2019/20" in bad_year.json()["year"]
    assert client.get(SCHEMES, {"state": "lost"}).status_code == 400


def test_lists_come_in_pages_of_at_most_1000(world):
    demo, keys = world
    client = api(keys["elr-pmo"])
    everything = client.get(SCHEMES).json()
    assert everything["count"] > 2
    first = client.get(SCHEMES, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    # a page larger than the most is cut to the most, not refused
    big = client.get(SCHEMES, {"page_size": 5000}).json()
    assert len(big["results"]) == min(everything["count"], 1000)
    assert client.get(SCHEMES, {"page": 999}).status_code == 404


def test_too_many_calls_are_answered_429(world):
    demo, keys = world
    rest = deepcopy(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {"api_token": "3/hour"}
    with override_settings(REST_FRAMEWORK=rest):
        client = api(keys["elr-viewer"])
        assert [client.get(SCHEMES).status_code for _ in range(4)] == [200, 200, 200, 429]
        # another token has its own count
        assert api(keys["elr-pmo"]).get(SCHEMES).status_code == 200
        assert ApiCall.objects.filter(status=429).count() == 1


def test_calls_without_a_working_key_are_answered_429_past_the_addresss_rate(world):
    demo, keys = world
    rest = deepcopy(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "api_refused": "3/hour"}
    with override_settings(REST_FRAMEWORK=rest):
        nobody, guesser = api(), Client(headers={"Authorization": "Bearer qipp_guess"})
        answers = [nobody.get(SCHEMES), guesser.get(SCHEMES), nobody.get(SCHEMES)]
        assert [answer.status_code for answer in answers] == [401, 401, 401]
        fourth = guesser.get(SCHEMES)
        assert fourth.status_code == 429
        assert "throttled" in fourth.json()["detail"] and fourth["Retry-After"]
        # a working key from the same address is counted by its token, not refused
        working = Client(headers={"Authorization": f"Bearer {keys['elr-pmo']}"})
        assert working.get(SCHEMES).status_code == 200
        assert ApiCall.objects.filter(token=None, status=429).count() == 1


def test_every_call_is_logged_and_never_its_key(world):
    demo, keys = world
    key = keys["elr-sro"]
    token = ApiToken.objects.get(owner=demo.users["elr-sro"])
    before = ApiCall.objects.count()
    client = api(key)
    client.get(SCHEMES, {"year": "2019/20"})
    client.get(SCHEMES, {"year": "nonsense", "key": key})
    api().get(SCHEMES)
    calls = list(ApiCall.objects.order_by("pk"))[before:]
    assert [(c.token_id, c.method, c.path, c.status) for c in calls] == [
        (token.pk, "GET", SCHEMES, 200),
        (token.pk, "GET", SCHEMES, 400),
        (None, "GET", SCHEMES, 401),
    ]
    assert calls[0].query == "year=2019%2F20"
    assert not any(key in c.query for c in calls)
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert not ApiToken.objects.filter(key_hash=key).exists()  # the hash only is kept


def test_a_person_makes_a_token_on_their_page_and_sees_its_key_once(world):
    demo, _keys = world
    client = demo.client("elr-finance-reviewer")
    elr = Organisation.objects.get(code="ELR")
    response = client.post(reverse("api:tokens"), {"name": "My report", "organisations": [elr.pk]})
    assert response.status_code == 200
    key = re.search(r'id="new-key">([^<]+)<', response.content.decode())[1]
    assert api(key).get(SCHEMES).status_code == 200
    token = ApiToken.objects.get(owner=demo.users["elr-finance-reviewer"], name="My report")
    assert not token.service and set(token.organisations.all()) == {elr}
    again = client.get(reverse("api:tokens")).content.decode()
    assert "My report" in again and key not in again
    # the account page links to it
    assert reverse("api:tokens") in client.get(reverse("account")).content.decode()


def test_a_person_cannot_name_an_organisation_not_their_own(world):
    demo, _keys = world
    client = demo.client("elr-finance-reviewer")
    wl = Organisation.objects.get(code="WL")
    response = client.post(reverse("api:tokens"), {"name": "Theirs", "organisations": [wl.pk]})
    assert response.status_code == 400
    assert "Organisations: Choose one or more of your organisations." in visible(response)
    assert not ApiToken.objects.filter(name="Theirs").exists()


@pytest.mark.parametrize("organisations", [[], [""], ["ELR"], ["1.5"], ["99999999999999999999"]])
def test_a_blank_or_bad_organisation_is_told_in_plain_words(world, organisations):
    demo, _keys = world
    client = demo.client("elr-finance-reviewer")
    data = {"name": "Mine", "organisations": organisations}
    response = client.post(reverse("api:tokens"), data)
    assert response.status_code == 400
    page = visible(response)
    assert "Organisations: Choose one or more of your organisations." in page
    assert "is not a valid value" not in page and "This field is required" not in page
    assert not ApiToken.objects.filter(name="Mine").exists()


def test_a_person_revokes_their_token_but_not_anothers(world):
    demo, keys = world
    mine, key = token_for(demo.users["elr-quality-lead"])
    theirs, their_key = token_for(demo.users["elr-pmo"])
    client = demo.client("elr-quality-lead")
    refused = client.post(reverse("api:token_revoke", args=[theirs.pk]))
    assert refused.status_code == 403
    assert AccessRefusal.objects.filter(
        user=demo.users["elr-quality-lead"], action="revoke API token", target=f"token {theirs.pk}"
    ).exists()
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert api(their_key).get(SCHEMES).status_code == 200
    response = client.post(reverse("api:token_revoke", args=[mine.pk]))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.revoked_at is not None and mine.revoked_by == demo.users["elr-quality-lead"]
    assert api(key).get(SCHEMES).status_code == 401
    assert client.post(reverse("api:token_revoke", args=[999999])).status_code == 404


def test_staff_make_a_service_token_in_the_admin_and_revoke_it(world):
    demo, _keys = world
    admin = demo.users["admin"]
    owner = demo.users["elr-pmo"]
    elr = Organisation.objects.get(code="ELR")
    client = demo.client("admin")
    add = reverse("admin:api_apitoken_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {"name": "Report server", "owner": owner.pk, "service": "on", "organisations": [elr.pk]},
    )
    assert response.status_code == 200, response.content[:500]
    key = re.search(r'id="new-key">([^<]+)<', response.content.decode())[1]
    token = ApiToken.objects.get(name="Report server")
    assert token.service and token.owner == owner and token.created_by == admin
    assert api(key).get(SCHEMES).status_code == 200
    # a service token sees its owner's organisations only
    wl = Organisation.objects.get(code="WL")
    response = client.post(add, {"name": "Too wide", "owner": owner.pk, "organisations": [wl.pk]})
    assert not ApiToken.objects.filter(name="Too wide").exists()
    changelist = reverse("admin:api_apitoken_changelist")
    client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    assert api(key).get(SCHEMES).status_code == 401
    assert client.get(reverse("admin:api_apicall_changelist")).status_code == 200
    # nobody but staff
    assert demo.client("elr-pmo").get(add).status_code == 302


def test_the_schema_and_docs_load_without_inline_scripts_or_a_cdn(world):
    demo, keys = world
    assert api(keys["elr-viewer"]).get(reverse("api:schema")).status_code == 200
    client = demo.client("elr-viewer")
    assert client.get(reverse("api:schema")).status_code == 200
    page = client.get(reverse("api:docs"))
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in html and "cdn" not in html.lower()
    assert 'src="/static/drf_spectacular_sidecar/' in html
    script_url = re.findall(r'<script src="([^"]+)"', html)[-1].replace("&amp;", "&")
    script = client.get(script_url)
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    assert "SwaggerUIBundle" in script.content.decode()
    assert "Content-Security-Policy" in page
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_a_table_without_a_month_is_as_at_the_latest_month_due_as_the_pages_open(world):
    demo, keys = world
    this_year = schedule.current_year(timezone.localdate())
    year_before = FinancialYear.objects.get(start_year=this_year.start_year - 1)
    client = api(keys["elr-viewer"])

    # on 15 August July's returns (month 4) were due by the 10th; August's are not due yet
    with time_machine.travel(date(this_year.start_year, 8, 15), tick=False):
        now = client.get("/api/tables/summary/", {"year": this_year.label}).json()
        gone_by = client.get("/api/tables/summary/", {"year": year_before.label}).json()
        chosen = client.get("/api/tables/summary/", {"year": this_year.label, "month": 9})

    assert (now["month"], gone_by["month"], chosen.json()["month"]) == (4, 12, 9)
