"""Every route of the API, as every kind of user the access matrix walks, each with a token
for all of their organisations: each answers exactly what that person's pages show them.

The routes are read from the URL configuration: a route added to the `api` namespace without
a case here fails by name."""

import pytest
from django.urls import reverse

from api.views import ROUTES
from governance import selectors
from governance.delivery.schedule import DELIVERY_STATES
from governance.models import MonthlyReturn, Scheme
from governance.reports import TABLES
from notifications.escalations import visible_escalations
from qia import selectors as qia_selectors
from tests.access.demo import url_patterns
from tests.access.table import DRAFT_READERS, PEOPLE, SYSTEM
from tests.api.helpers import api, every_row, with_keys

pytestmark = pytest.mark.django_db

SIGNED_IN = [who for who in PEOPLE if who != "anon"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from with_keys(django_db_blocker)


def seen_schemes(user) -> set[int]:
    """The schemes the person's pages show, in their organisations (the token names all)."""
    return set(
        selectors.visible_schemes(user)
        .filter(organisation_id__in=user.organisation_ids)
        .values_list("pk", flat=True)
    )


def ids(rows, field="id") -> set[int]:
    return {row[field] for row in rows}


# --- each route's check: (demo, person, client) -> None ---


def check_root(demo, who, client):
    # the entry point: an absolute address for each list, the tables, the schema and its docs
    response = client.get(reverse("api:root"))
    assert response.status_code == 200, who
    routes = response.json()
    assert routes == {key: f"http://testserver{reverse(name)}" for key, name in ROUTES.items()}, who
    assert set(ROUTES.values()) >= set(DATA_ROUTES) - {"api:root"} - DETAIL_ROUTES
    assert client.get(routes["schemes"]).status_code == 200, who


def check_schemes(demo, who, client):
    user = demo.users[who]
    assert ids(every_row(client, reverse("api:scheme-list"))) == seen_schemes(user)


def check_scheme(demo, who, client):
    draft = demo.objects["draft"]
    response = client.get(reverse("api:scheme-detail", args=[draft.pk]))
    assert response.status_code == (200 if who in DRAFT_READERS else 404), who
    delivery = demo.objects["delivery"]
    response = client.get(reverse("api:scheme-detail", args=[delivery.pk]))
    shown = delivery.pk in seen_schemes(demo.users[who])
    assert response.status_code == (200 if shown else 404), who


def check_plans(demo, who, client):
    rows = every_row(client, reverse("api:plan-list"))
    assert ids(rows) == seen_schemes(demo.users[who])
    for row in rows:
        assert len([key for key in row if key.startswith("plan_m")]) == 12


def check_plan(demo, who, client):
    draft = demo.objects["draft"]
    response = client.get(reverse("api:plan-detail", args=[draft.pk]))
    assert response.status_code == (200 if who in DRAFT_READERS else 404), who


def expected_returns(demo, who) -> set[int]:
    return set(
        MonthlyReturn.objects.filter(
            scheme_id__in=seen_schemes(demo.users[who]), scheme__state__in=DELIVERY_STATES
        ).values_list("pk", flat=True)
    )


def check_returns(demo, who, client):
    rows = every_row(client, reverse("api:return-list"))
    assert ids(rows) == expected_returns(demo, who)
    for row in rows:
        # the PMO's reasons and evidence are for the PMO's own page only
        assert not {"assured_reason", "assured_link", "assured_document"} & set(row)


def check_return(demo, who, client):
    ret = MonthlyReturn.objects.filter(scheme=demo.objects["delivery"]).first()
    response = client.get(reverse("api:return-detail", args=[ret.pk]))
    shown = ret.pk in expected_returns(demo, who)
    assert response.status_code == (200 if shown else 404), who


def expected_escalations(demo, who) -> set[int]:
    user = demo.users[who]
    return set(
        visible_escalations(user)
        .filter(scheme_id__in=seen_schemes(user))
        .values_list("pk", flat=True)
    )


# escalations: the PMO, QAG members and the escalated scheme's team (ACCESS.md)
ESCALATION_READERS = {"elr-project-lead", "elr-sro", "elr-finance-lead", "elr-pmo"}
ESCALATION_READERS |= {"elr-qag-member"}


def check_escalations(demo, who, client):
    rows = every_row(client, reverse("api:escalation-list"))
    assert ids(rows) == expected_escalations(demo, who)
    ours = {demo.objects["escalation"].pk, demo.objects["qag_escalation"].pk}
    assert (ours <= ids(rows)) == (who in ESCALATION_READERS), who
    if who not in ESCALATION_READERS:
        assert not ours & ids(rows), who


def check_escalation(demo, who, client):
    escalation = demo.objects["escalation"]
    response = client.get(reverse("api:escalation-detail", args=[escalation.pk]))
    assert response.status_code == (200 if who in ESCALATION_READERS else 404), who


# what a headline score row holds: the agreed scores, never a panel member's own
QIA_FIELDS = {
    "id", "scheme_id", "reference", "organisation", "year", "version", "status",
    "overall_score", "overall_band", "top_heading", "top_consequence", "top_likelihood",
    "top_score", "agreed_at", "signed_off_at", "review_date",
}  # fmt: skip


def expected_qia(demo, who) -> set[int]:
    user = demo.users[who]
    return set(
        qia_selectors.current_risks(user)
        .filter(qia__scheme__organisation_id__in=user.organisation_ids)
        .values_list("pk", flat=True)
    )


def check_qia_scores(demo, who, client):
    rows = every_row(client, reverse("api:qia-score-list"))
    assert ids(rows) == expected_qia(demo, who)
    for row in rows:
        assert set(row) == QIA_FIELDS


def check_qia_score(demo, who, client):
    rows = expected_qia(demo, "elr-pmo")
    assert rows, "the demo has agreed QIAs in ELR"
    pk = min(rows)
    response = client.get(reverse("api:qia-score-detail", args=[pk]))
    assert response.status_code == (200 if pk in expected_qia(demo, who) else 404), who
    if response.status_code == 200:
        assert set(response.json()) == QIA_FIELDS


def check_organisations(demo, who, client):
    response = client.get(reverse("api:organisation-list"))
    assert response.status_code == 200
    codes = {o["code"] for o in response.json()}
    assert codes == set(demo.users[who].organisations.values_list("code", flat=True))


def check_tables(demo, who, client):
    response = client.get(reverse("api:table-list"))
    assert response.status_code == 200
    assert set(response.json()) == set(TABLES)


def check_table(demo, who, client):
    user = demo.users[who]
    codes = set(user.organisations.values_list("code", flat=True))
    year = Scheme.objects.get(pk=demo.objects["delivery"].pk).financial_year.label
    for table in TABLES:
        response = client.get(reverse("api:table-detail", args=[table]), {"year": year})
        assert response.status_code == 200, (who, table, response.content[:300])
        body = response.json()
        if table in ("requirement", "area_of_spend"):
            shown = {column["key"] for column in body["columns"]}
            totals = "total" in shown
        else:
            shown = {row["label"] for row in body["rows"] if not row["total"]}
            totals = any(row["total"] for row in body["rows"])
        # only the organisations the token names; the totals, which add up the whole system,
        # only for a token that names all of its organisations (far-all's NN is NOT's only)
        assert shown - {"total"} <= codes, (who, table, shown)
        assert totals == (who not in SYSTEM), (who, table)
    response = client.get(
        reverse("api:table-detail", args=["summary"]), {"year": year, "by": "programme_area"}
    )
    # by programme area every figure adds up the whole system: refused to a token that names
    # only some of its organisations (ELR's and WL's people); far-all's NN is its system's only one
    assert response.status_code == (403 if who in SYSTEM else 200), who


def check_schema(demo, who, client):
    response = client.get(reverse("api:schema"))
    assert response.status_code == 200
    assert b"bearer" in response.content.lower()


def check_docs(demo, who, client):
    # a page for people: it takes the signed-in session, not a key
    response = client.get(reverse("api:docs"))
    assert response.status_code == 302
    response = demo.client(who).get(reverse("api:docs"))
    assert response.status_code == 200


def check_tokens(demo, who, client):
    # the token page is the Account page's, signed in; a key alone does not open it
    assert client.get(reverse("api:tokens")).status_code == 302
    assert demo.client(who).get(reverse("api:tokens")).status_code == 200


def check_token_revoke(demo, who, client):
    # tests/api/test_tokens.py walks revoking; here: never by GET, and never by key
    assert demo.client(who).get(reverse("api:token_revoke", args=[1])).status_code == 405
    assert client.post(reverse("api:token_revoke", args=[1])).status_code == 302


CASES = {
    "api:root": check_root,
    "api:scheme-list": check_schemes,
    "api:scheme-detail": check_scheme,
    "api:plan-list": check_plans,
    "api:plan-detail": check_plan,
    "api:return-list": check_returns,
    "api:return-detail": check_return,
    "api:escalation-list": check_escalations,
    "api:escalation-detail": check_escalation,
    "api:qia-score-list": check_qia_scores,
    "api:qia-score-detail": check_qia_score,
    "api:organisation-list": check_organisations,
    "api:table-list": check_tables,
    "api:table-detail": check_table,
    "api:schema": check_schema,
    "api:docs": check_docs,
    "api:tokens": check_tokens,
    "api:token_revoke": check_token_revoke,
}
API_ROUTES = sorted(name for name in url_patterns() if name.startswith("api:"))
# the routes a key reads: refused without one
DATA_ROUTES = [
    name for name in API_ROUTES if name not in {"api:docs", "api:tokens", "api:token_revoke"}
]
# the routes the entry point does not list: one row each, found from a list
DETAIL_ROUTES = {name for name in API_ROUTES if name.endswith("-detail")}


def test_every_api_route_has_a_case():
    assert API_ROUTES, "no api: routes found"
    assert set(API_ROUTES) == set(CASES), sorted(set(API_ROUTES) ^ set(CASES))


@pytest.mark.parametrize("name", API_ROUTES)
def test_each_person_reads_what_their_pages_show(world, name):
    demo, keys = world
    for who in SIGNED_IN:
        CASES[name](demo, who, api(keys[who]))


def url_of(demo, name: str) -> str:
    params = url_patterns()[name][0]
    kwargs = {}
    if "pk" in params:
        kwargs["pk"] = demo.objects["delivery"].pk
    if "table" in params:
        kwargs["table"] = "summary"
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("name", DATA_ROUTES)
def test_without_a_key_each_route_answers_401(world, name):
    demo, _keys = world
    url = url_of(demo, name)
    response = api().get(url)
    assert response.status_code == 401, url
    # a signed-in browser's session is no key: the data stays out of another site's reach
    if name != "api:schema":
        assert demo.client("elr-pmo").get(url).status_code == 401, url


def test_the_draft_is_listed_to_its_team_and_pmo_only(world):
    demo, keys = world
    draft = demo.objects["draft"].pk
    for who in SIGNED_IN:
        listed = draft in ids(every_row(api(keys[who]), reverse("api:scheme-list")))
        assert listed == (who in DRAFT_READERS), who


def test_no_route_names_a_panel_members_scores(world):
    demo, keys = world
    client = api(keys["elr-quality-lead"])
    for name in ("api:qia-score-list", "api:scheme-list", "api:plan-list"):
        body = client.get(reverse(name)).content.decode()
        assert "panel_score" not in body and "member" not in body


def test_a_person_of_another_system_and_the_admin_see_no_elr_row(world):
    demo, keys = world
    for who in ("far-all", "admin"):
        client = api(keys[who])
        for name in ("api:scheme-list", "api:return-list", "api:escalation-list"):
            assert all(row.get("organisation") != "ELR" for row in every_row(client, reverse(name)))
    assert every_row(api(keys["admin"]), reverse("api:scheme-list")) == []
