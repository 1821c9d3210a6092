"""Run a command (the test suite) against PostgreSQL.

Usage: python tests/run_postgres.py COMMAND... ; TEST_DATABASE_URL names the server (default
postgres://postgres@127.0.0.1:5432/qipp). pytest-django creates and drops its own test database
beside it. With no server reachable the run is skipped with a reason, unless
QIPP_REQUIRE_SERVICES=1 (CI), when that is a failure.
"""

import os
import sys

import psycopg

url = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qipp")
try:
    # the maintenance database: the named one need not exist, pytest-django makes test_<name>
    psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=5).close()
except psycopg.OperationalError as exc:
    if os.environ.get("QIPP_REQUIRE_SERVICES") == "1":
        print(f"PostgreSQL is required (QIPP_REQUIRE_SERVICES=1) but unreachable: {exc}")
        sys.exit(1)
    print(f"Skipping the PostgreSQL run: no server at {url} ({exc}).")
    sys.exit(0)

print(f"Running the suite again on PostgreSQL ({url.split('@')[-1]}).", flush=True)
os.environ["DATABASE_URL"] = url
os.execvp(sys.argv[1], sys.argv[1:])  # noqa: S606 - our own test command, no shell
