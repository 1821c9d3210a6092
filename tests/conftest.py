"""Suite-wide rules and fixtures.

Tests marked `postgres` need PostgreSQL as the default database and tests marked `redis` need a
Redis server. Elsewhere they skip with the reason, unless QIPP_REQUIRE_SERVICES=1 (CI), when a
missing service fails the test: CI can never pass by skipping them.

`llr`: a small Leicester, Leicestershire and Rutland world (see `World`).
"""

import os
from dataclasses import dataclass
from datetime import date

import pytest


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except redis.RedisError:
        return False


def _missing_service(item) -> str | None:
    from django.conf import settings
    from django.db import connection

    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return f"needs PostgreSQL; the default database here is {connection.vendor}"
    if item.get_closest_marker("redis"):
        url = os.environ.get("QIPP_TEST_REDIS_URL") or (
            settings.CELERY_BROKER_URL or "redis://127.0.0.1:6379/0"
        )
        if not _redis_reachable(url):
            return f"needs Redis; none answers at {url}"
    return None


def pytest_runtest_setup(item):
    reason = _missing_service(item)
    if reason is None:
        return
    if os.environ.get("QIPP_REQUIRE_SERVICES") == "1":
        pytest.fail(f"QIPP_REQUIRE_SERVICES=1 and this test {reason}.", pytrace=False)
    pytest.skip(reason)


# --- a small world to act in ---


@dataclass
class World:
    """The LLR system with organisations ELR and WL, the year 2019/20, one programme area and
    one area of spend, and in each organisation one user per role of governance.roles.ALL,
    named `<org>-<role slug>` (`elr-finance-reviewer`), e-mail `<username>@example.nhs.uk`.

    Users cache their roles and organisations: after adding one, fetch the user again.
    """

    system: object
    orgs: dict
    year: object
    programme_area: object
    area_of_spend: object
    users: dict

    def user(self, org: str, slug: str):
        return self.users[f"{org.lower()}-{slug}"]

    def pid_data(self, org: str = "ELR", **overrides) -> dict:
        """What a project lead of `org` fills in on the PID form, ready for scheme_create."""
        from tests.factories import REALISTIC_PLAN, plan

        key = org.lower()
        return {
            "title": "Patient-initiated follow-up in outpatients",
            "description": "Replace routine outpatient follow-ups with patient-initiated ones.",
            "organisation": self.orgs[key],
            "financial_year": self.year,
            "programme_area": self.programme_area,
            "area_of_spend": self.area_of_spend,
            "scheme_type": "transformational",
            "project_lead": self.user(key, "project-lead"),
            "sro": self.user(key, "sro"),
            "start_date": date(self.year.start_year, 4, 1),
            **plan(REALISTIC_PLAN),
            **overrides,
        }


@pytest.fixture
def llr(db) -> World:
    # Written in a handful of bulk queries: many tests start from this world.
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from governance import roles
    from governance.models import Membership, User
    from tests.factories import (
        AreaOfSpendFactory,
        FinancialYearFactory,
        OrganisationFactory,
        ProgrammeAreaFactory,
        SystemFactory,
    )

    system = SystemFactory(code="LLR", name="Leicester, Leicestershire and Rutland")
    orgs = {
        "elr": OrganisationFactory(
            code="ELR", name="East Leicestershire and Rutland CCG", system=system
        ),
        "wl": OrganisationFactory(code="WL", name="West Leicestershire CCG", system=system),
    }
    password = make_password("pw")
    groups = {group.name: group for group in Group.objects.filter(name__in=roles.ALL)}
    wanted = [
        (org, groups[group_name], f"{key}-{slug}")
        for key, org in orgs.items()
        for group_name, slug in roles.ALL.items()
    ]
    User.objects.bulk_create(
        User(
            username=username,
            email=f"{username}@example.nhs.uk",
            first_name=username.split("-")[0].upper(),
            last_name=" ".join(username.split("-")[1:]).title(),
            password=password,
        )
        for _org, _group, username in wanted
    )
    users = User.objects.in_bulk([username for *_rest, username in wanted], field_name="username")
    Membership.objects.bulk_create(
        Membership(user=users[username], organisation=org) for org, _group, username in wanted
    )
    User.groups.through.objects.bulk_create(
        User.groups.through(user=users[username], group=group) for _org, group, username in wanted
    )
    return World(
        system=system,
        orgs=orgs,
        year=FinancialYearFactory(start_year=2019),
        programme_area=ProgrammeAreaFactory(name="Planned Care"),
        area_of_spend=AreaOfSpendFactory(name="Elective Care"),
        users=users,
    )
