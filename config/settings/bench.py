"""Benchmark only: the production settings served over plain HTTP on the loopback interface.

benchmarks/load/run.py and benchmarks/race.py serve the site with these settings, so that the
load test measures what production runs (DEBUG off, the manifest static storage, the same
middleware, sessions in the database, persistent database connections when CONN_MAX_AGE is
set). Only what plain HTTP needs is relaxed: there is no TLS proxy in front, so nothing is
redirected to HTTPS and the cookies are not marked secure (a browser, or the load client,
would never send them back over HTTP). Never deploy with these settings.
"""

import os

from .production import *  # noqa: F401,F403

# plain HTTP on 127.0.0.1: no proxy terminates TLS in front of the benchmark
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# The benchmark collects the static files into a folder of its own, not the project's.
STATIC_ROOT = os.environ.get("QIPP_BENCH_STATIC_ROOT", STATIC_ROOT)  # noqa: F405
