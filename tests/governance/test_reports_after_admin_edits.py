"""The committee tables after an administrator edits the reference data in the admin: the
next page shows the edit, in the same process, without any return changing."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from governance.models import Organisation, ProgrammeArea, System
from tests.factories import UserFactory
from tests.governance.report_fixtures import add_return, add_scheme, add_target, report_world

# Outside a test transaction, as a server runs: each request commits on its own.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(transactional_db):
    world = report_world()
    add_target(world, "ELR", "5000000")
    add_target(world, "WL", "3000000")
    elr = add_scheme(world, "ELR", monthly="100000")  # 1,200,000 a year
    add_return(elr, 1, actual="90000")
    add_scheme(world, "WL", monthly="50000", area="Urgent Care")  # 600,000 a year
    return world


@pytest.fixture
def admin():
    """An administrator's browser, beside the users' (`client`)."""
    browser = Client()
    browser.force_login(UserFactory(username="admin-editor", is_staff=True, is_superuser=True))
    return browser


def table(client, user, name: str, **params) -> str:
    client.force_login(user)
    url = reverse("report_table", args=[name])
    response = client.get(url, {"year": "2019/20", "month": "1", **params})
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def columns(page: str) -> list[str]:
    """The column headings of the page's table."""
    head = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    return [
        " ".join(re.sub(r"<[^>]+>", "", h).split())
        for h in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)
    ]


def row(page: str, label: str) -> list[str]:
    """The cells of the row headed `label`."""
    found = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', page, re.S)
    return [
        " ".join(re.sub(r"<[^>]+>", "", c).split())
        for c in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)
    ]


def save_in_admin(client, model, obj, **changes):
    url = reverse(f"admin:governance_{model._meta.model_name}_change", args=[obj.pk])
    form = {"code": getattr(obj, "code", ""), "name": obj.name, **changes}
    if model is Organisation:
        form.setdefault("system", obj.system_id)
    response = client.post(url, {k: v for k, v in form.items() if v != ""})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_renaming_an_organisation_in_the_admin_shows_at_once_in_one_column(client, world, admin):
    viewer = world.users["elr-viewer"]
    before = table(client, viewer, "requirement")
    assert columns(before) == ["", "ELR", "WL", "Total"]
    # identified (1,200) and unidentified (3,800) of ELR, then WL's (600) and (2,400)
    assert row(before, "Identified") == ["(1,200)", "(600)", "(1,800)"]
    assert row(before, "Unidentified") == ["(3,800)", "(2,400)", "(6,200)"]

    elr = world.org("ELR")
    save_in_admin(admin, Organisation, elr, code="ELX")

    after = table(client, viewer, "requirement")
    assert columns(after) == ["", "ELX", "WL", "Total"]
    assert row(after, "Identified") == ["(1,200)", "(600)", "(1,800)"]
    assert row(after, "Unidentified") == ["(3,800)", "(2,400)", "(6,200)"]
    summary = table(client, viewer, "summary")
    the_table = re.search(r"<table.*?</table>", summary, re.S).group(0)
    assert "ELR" not in the_table and row(summary, "ELX")[4] == "(1,200)"  # annual plan


def test_moving_an_organisation_to_another_system_takes_it_off_the_first_systems_tables(
    client, world, admin
):
    viewer = world.users["elr-viewer"]  # of ELR, in LLR with WL
    assert "WL" in columns(table(client, viewer, "requirement"))

    save_in_admin(admin, Organisation, world.org("WL"), system=System.objects.get(code="NOT").pk)

    after = table(client, viewer, "requirement")
    assert columns(after) == ["", "ELR", "Total"]
    assert row(after, "Identified") == ["(1,200)", "(1,200)"]
    theirs = table(client, world.users["nn-viewer"], "requirement")
    assert columns(theirs) == ["", "NN", "WL", "Total"] or columns(theirs) == ["", "WL", "Total"]
    assert "(600)" in row(theirs, "Identified")


def test_renaming_a_programme_area_shows_at_once(client, world, admin):
    viewer = world.users["elr-viewer"]
    before = table(client, viewer, "summary", by="programme_area")
    assert row(before, "Planned Care")[4] == "(1,200)" and row(before, "Urgent Care")[4] == "(600)"

    area = ProgrammeArea.objects.get(name="Urgent Care")
    admin_url = reverse("admin:governance_programmearea_change", args=[area.pk])
    assert admin.post(admin_url, {"name": "Urgent and Emergency Care"}).status_code == 302

    after = table(client, viewer, "summary", by="programme_area")
    assert "Urgent Care<" not in after
    assert row(after, "Urgent and Emergency Care")[4] == "(600)"
    assert row(after, "Planned Care")[4] == "(1,200)"
