"""Every page of the project, walked as every kind of user: only those the table names reach it.

The URL patterns are read from the URL configuration, so a page added without a row in
table.py fails here by name. Each page is built from a demo object (a scheme of ELR in the
state the action needs, or its draft, its documents, escalations...) and requested as anonymous,
as each ELR role, as a user of another organisation holding every role, as a user of another
system, and as the superuser. A refused POST must change nothing.
"""

from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from governance.models import Scheme, User
from tests.access import table
from tests.access.demo import (
    fingerprint,
    hidden_fields,
    problems,
    seeded,
    undone,
    url_patterns,
)

pytestmark = pytest.mark.django_db

# pages reached with a redirect by design, wherever it leads
REDIRECTS_ANYWHERE = {"logout"}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    yield from seeded(django_db_blocker)


PATTERNS = url_patterns()
ADMIN = sorted(name for name in PATTERNS if name.startswith(f"{table.ADMIN_NAMESPACE}:"))
# The API's routes answer tokens, not sessions: tests/api/test_access.py walks every one of
# them for every person here, and fails on a route it has no case for.
API = sorted(name for name in PATTERNS if name.startswith("api:"))


def test_every_url_pattern_has_a_row_in_the_table():
    missing = sorted(set(PATTERNS) - set(table.TABLE) - set(ADMIN) - set(API))
    stale = sorted(set(table.TABLE) - set(PATTERNS))
    assert not missing, f"URL patterns with no row in tests/access/table.py: {missing}"
    assert not stale, f"rows in tests/access/table.py for no URL pattern: {stale}"
    assert ADMIN, "the admin's URLs were not found: is the admin still mounted?"


# --- the verdicts ---


def is_sign_in(response, login_url: str) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path == login_url


def reached(name: str, response) -> bool:
    if name in REDIRECTS_ANYWHERE:
        return response.status_code in (200, 302)
    if response.status_code == 200:
        return True
    return response.status_code == 302 and not is_sign_in(response, reverse("login"))


def refused(who: str, response) -> bool:
    """Anonymous visitors go to sign-in (a form they posted is shown back to them to copy, 401,
    with the link to sign in); the signed-in are told no (or the page is not found for them);
    the wrong method is 405 for everyone."""
    if response.status_code == 405:
        return True
    if who == "anon":
        shown_back = response.status_code == 401 and b"Sign in again" in response.content
        return is_sign_in(response, reverse("login")) or shown_back
    return response.status_code in (403, 404)


def url_for(demo, name: str, case: table.Case) -> str:
    kwargs = dict(case.extra)
    for param in PATTERNS[name][0] - set(kwargs):
        kwargs[param] = demo.objects[case.obj].pk  # `pk` or `version_id`
    return reverse(name, kwargs=kwargs)


def files_for(name: str) -> dict:
    """The file a form needs, where it has one."""
    pdf = SimpleUploadedFile("plan.pdf", b"%PDF-1.4 demo\n", content_type="application/pdf")
    if name == "document_upload":
        return {"kind": "pid", "file": pdf}
    if name == "import_upload":
        csv = SimpleUploadedFile("t.csv", b"organisation,year,requirement\n", "text/csv")
        return {"kind": "targets", "file": csv}
    return {}


# --- the walk ---


@pytest.mark.parametrize("name", sorted(table.TABLE))
def test_only_the_people_in_the_table_reach_the_page(demo, name):
    failures = []
    for case in table.TABLE[name]:
        url = url_for(demo, name, case)
        # each poster sends back their own form's hidden fields, the refused those of the
        # first allowed, so that their post is complete too
        forms = {}
        for who in table.PEOPLE:
            response = demo.client(who).get(url)
            forms[who] = hidden_fields(response)
            if who in case.get and not reached(name, response):
                failures.append(f"GET {url} as {who}: {response.status_code}, expected to reach")
            elif who not in case.get and not (
                refused(who, response) or (name in table.ABSENT and response.status_code == 404)
            ):
                failures.append(f"GET {url} as {who}: {response.status_code}, expected refusal")
        if case.post is None:
            continue
        before = fingerprint()  # each POST is undone, so each starts from this
        for who in table.PEOPLE:
            with undone():
                form = forms[who] or next((forms[w] for w in sorted(case.get) if forms[w]), {})
                response = demo.client(who).post(url, {**form, **case.data, **files_for(name)})
                said = problems(response)
                if who in case.post:
                    # with a complete form, the action is done; without, the form is shown
                    done = fingerprint() != before if case.data else True
                    if not reached(name, response) or said or not done:
                        failures.append(
                            f"POST {url} as {who}: {response.status_code} {said}, "
                            "expected to go through"
                        )
                    continue
                redirected_with_reason = response.status_code == 302 and said
                if not (refused(who, response) or redirected_with_reason):
                    failures.append(
                        f"POST {url} as {who}: {response.status_code}, expected refusal"
                    )
                if fingerprint() != before:
                    failures.append(f"POST {url} as {who} was refused but changed something")
    assert not failures, "\n".join(failures)


def test_a_reviewer_cannot_open_another_organisations_draft_by_its_id(demo):
    """Object-level: the WL finance reviewer guesses the id of every ELR draft."""
    wl_reviewer = demo.client("wl-finance-reviewer")
    drafts = Scheme.objects.filter(organisation__code="ELR", state="draft")
    assert drafts.exists()
    for scheme in drafts:
        for name in ("scheme_detail", "qia_detail", "qia_history", "scheme_edit"):
            response = wl_reviewer.get(reverse(name, args=[scheme.pk]))
            assert response.status_code in (403, 404), (name, scheme.title)
            assert scheme.title not in response.content.decode()


# --- the admin: one rule for its every URL ---


def admin_url(demo, name: str) -> str:
    params, route = PATTERNS[name]
    if "<unnamed" in name:
        # the admin's own unnamed patterns: an object's short address and the catch-all
        if "<path:object_id>" in route:
            app_label, model_name = route.strip("/").split("/")[1:3]
            model = admin_model(f"admin:{app_label}_{model_name}_")
            first = model._default_manager.order_by("pk").first()
            return route.replace("<path:object_id>", str(first.pk if first else 0))
        return route.replace("(?P<url>.*)$", "no-such-page/")
    kwargs = {}
    if "app_label" in params:
        kwargs["app_label"] = "governance"
    if "content_type_id" in params:
        kwargs["content_type_id"] = ContentType.objects.get_for_model(Scheme).pk
        kwargs["object_id"] = demo.objects["delivery"].pk
    elif params & {"object_id", "id"}:
        model = admin_model(name)
        first = model._default_manager.order_by("pk").first()
        kwargs[(params & {"object_id", "id"}).pop()] = first.pk if first else 0
    return reverse(name, kwargs=kwargs)


def admin_model(name: str):
    if name == "admin:auth_user_password_change":  # the user admin's own name for its page
        return User
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            return model
    raise AssertionError(f"{name}: no registered model")


def test_only_staff_reach_the_admin_and_everyone_else_is_sent_to_its_sign_in(demo):
    admin_login = reverse("admin:login")
    failures = []
    for name in ADMIN:
        url = admin_url(demo, name)
        # the rule is the same for every non-staff user: here one with every role and none
        everyone = table.PEOPLE if name == "admin:index" else table.ADMIN_WALKERS
        for who in everyone:
            response = demo.client(who).get(url)
            status = response.status_code
            if name == "admin:logout" and who not in table.ADMIN_STAFF:
                # signing out of an admin one is not in: to the admin's front door
                ok = status == 302 and response["Location"] == reverse("admin:index")
            elif name in table.ADMIN_PUBLIC:
                ok = status == 200 or (who in table.ADMIN_STAFF and status == 302)
            elif who in table.ADMIN_STAFF:
                # its lists, records and histories show; elsewhere the admin may still say no
                # (a read-only record cannot be added or deleted, signing out is a POST, the
                # autocomplete wants its query), but never by sending staff to sign in
                shown = name in table.ADMIN_SHOWN or name.endswith(table.ADMIN_SHOWN_PAGES)
                if "/0/" in url:  # no record of its kind: the admin says so on its index
                    shown = False
                ok = status == 200 if shown else status in (200, 302, 403, 404, 405)
                ok = ok and not is_sign_in(response, admin_login)
            else:
                ok = is_sign_in(response, admin_login)
            if not ok:
                failures.append(f"GET {url} ({name}) as {who}: {status}")
    assert not failures, "\n".join(failures)


def test_nobody_but_staff_deletes_through_the_admin(demo):
    deletes = [name for name in ADMIN if name.endswith("_delete")]
    assert deletes
    for name in deletes:
        url = admin_url(demo, name)
        model = admin_model(name)
        before = model._default_manager.count()
        for who in ("anon", "elr-pmo", "wl-all"):
            response = demo.client(who).post(url, {"post": "yes"})
            assert is_sign_in(response, reverse("admin:login")), (name, who)
            assert model._default_manager.count() == before, (name, who)
