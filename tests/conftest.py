"""Suite-wide rules and fixtures.

Tests marked `postgres` need PostgreSQL as the default database and tests marked `redis` need a
Redis server. Elsewhere they skip with the reason, unless QIPP_REQUIRE_SERVICES=1 (CI), when a
missing service fails the test: CI can never pass by skipping them.

`llr`: the world the tests act in (tests/world.py); `people`, its users; `make_scheme`, a
scheme straight in a state; `journey`, a scheme taken through its QIA; `team_pmo`, a second PMO
officer.
"""

import os

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


# --- the world the tests act in (tests/world.py) ---


@pytest.fixture
def llr(db):
    from tests.world import build_world

    return build_world()


@pytest.fixture
def people(llr) -> dict:
    """The world's users by username (`elr-finance-reviewer`)."""
    return llr.users


@pytest.fixture
def make_scheme(llr):
    """`make_scheme(state, org=..., monthly=..., **fields)`: World.scheme."""
    return llr.scheme


@pytest.fixture
def journey(llr, people):
    """The QIA journey's helper (tests/qia/conftest.py), with the panel's second profession,
    for tests outside tests/qia that take a scheme through its QIA."""
    from governance import roles
    from tests.qia.conftest import Journey

    llr.add_user("elr-panel-member-2", "elr", roles.PANEL_MEMBER, profession="medicines")
    return Journey(llr.users)


@pytest.fixture
def team_pmo(llr):
    """A PMO officer of ELR (not elr-pmo), to put on a scheme's team."""
    from governance import roles

    return llr.add_user("elr-pmo-clinical-lead", "elr", roles.PMO)
