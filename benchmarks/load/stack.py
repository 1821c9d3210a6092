"""The stack the load and race benchmarks serve: a database of their own, gunicorn, sessions.

Everything runs on this machine: PostgreSQL (a database the benchmark creates and drops),
Redis as the Celery broker (a database index of its own; no worker runs, so mails queue up
as they would while the workers are busy) and gunicorn serving config.settings.bench.
"""

import csv
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("QIPP_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("QIPP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
# Not a secret: the benchmark's sessions are signed with it, in a database it drops.
SECRET_KEY = "benchmark-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-not-for-production"  # noqa: S105


def environment(database: str, static_root: str) -> dict[str, str]:
    """The environment of every process of the benchmark: settings, database, broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DATABASE_URL": f"{POSTGRES_URL}/{database}",
        # persistent connections, as a real deployment would run: no new backend per request
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "600"),
        "CELERY_BROKER_URL": REDIS_URL,
        "QIPP_BENCH_STATIC_ROOT": static_root,
        "QIPP_LOG_LEVEL": "ERROR",  # refusals are expected here; the figures count them
        # the production settings ask for it; the benchmark's clients talk to gunicorn
        # directly, sending no X-Forwarded-For, so the lockout keys on their own address
        "TRUSTED_PROXY_COUNT": "1",
    }


def recreate_database(database: str) -> None:
    """Drop and create the benchmark's own database (never one of the project's)."""
    if not database.startswith("qipp_bench"):
        raise SystemExit(f"Refusing to recreate {database!r}: not a benchmark database.")
    import psycopg

    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(*, migrate: bool = True) -> None:
    """Migrate and collect the static files (the manifest storage needs them)."""
    from django.core.management import call_command

    if migrate:
        call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def make_session(user) -> str:
    """A signed-in session for `user`, made as signing in makes it; returns its key.

    The benchmark users never post the login form: each would cost a password hash, and
    many sign-ins from one address are what the login lockout exists to stop.
    """
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn serving the site on 127.0.0.1, started and stopped by the benchmark."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, log: Path):
        self.env, self.workers, self.log = env, workers, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def __enter__(self):
        self.handle = self.log.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                f"--workers={self.workers}",
                f"--bind=127.0.0.1:{self.port}",
                "--timeout=60",
                "--access-logfile=-",
                "--access-logformat=%(s)s %(m)s %(U)s %(M)sms",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = f"{self.url}/healthz"  # http on 127.0.0.1, built here
                with urllib.request.urlopen(health, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise SystemExit(f"gunicorn did not answer on {self.url}: see {self.log}")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.handle.close()


def flush_broker() -> None:
    """Empty the benchmark's own Redis database: the queued mail tasks of the run."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def run_locust(
    locustfile: Path, *, host: str, users: int, duration: int, csv_prefix: Path, env: dict
) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Run a locust scenario headless against `host`; its output and the rows of its stats
    CSV (one per request name, then "Aggregated")."""
    finished = subprocess.run(  # noqa: S603 - our own command line, no shell
        [
            str(BIN / "locust"),
            "-f",
            str(locustfile),
            "--headless",
            f"--users={users}",
            f"--spawn-rate={users}",
            f"--run-time={duration}s",
            "--stop-timeout=10",
            f"--host={host}",
            f"--csv={csv_prefix}",
            "--only-summary",
            "--loglevel=WARNING",
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    stats = Path(f"{csv_prefix}_stats.csv")
    rows = list(csv.DictReader(stats.open())) if stats.exists() else []
    return finished, rows


class CpuMeter:
    """CPU seconds spent by gunicorn, the PostgreSQL backends of our database, locust, and
    by everything else on the machine, between start() and stop()."""

    NAMES = ("gunicorn", "postgres", "locust", "everything else")

    def __init__(self, server_pid: int, database: str):
        self.server_pid, self.database = server_pid, database

    def _ours(self) -> dict[str, float]:
        import psutil

        def seconds(process) -> float:
            try:
                times = process.cpu_times()
                return times.user + times.system
            except psutil.Error:
                return 0.0

        server = psutil.Process(self.server_pid)
        backends = [
            p
            for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and self.database in " ".join(p.info["cmdline"] or [])
        ]
        return {
            "gunicorn": seconds(server) + sum(seconds(c) for c in server.children(recursive=True)),
            "postgres": sum(seconds(p) for p in backends),
        }

    def start(self):
        import resource

        import psutil

        self.before = self._ours()
        self.children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.machine = psutil.cpu_times()
        self.started = time.monotonic()

    def stop(self) -> dict[str, float]:
        import resource

        import psutil

        after = self._ours()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine = psutil.cpu_times()
        used = {name: after[name] - self.before[name] for name in after}
        used["locust"] = (children.ru_utime - self.children.ru_utime) + (
            children.ru_stime - self.children.ru_stime
        )
        busy = sum(
            getattr(machine, f) - getattr(self.machine, f)
            for f in ("user", "nice", "system", "irq", "softirq")
        )
        used["everything else"] = max(busy - sum(used.values()), 0.0)
        used["wall"] = time.monotonic() - self.started
        return used


def serve_and_load(
    env: dict[str, str],
    *,
    workers: int,
    database: str,
    log: Path,
    locustfile: Path,
    users: int,
    duration: int,
    csv_prefix: Path,
    locust_env: dict,
) -> tuple[subprocess.CompletedProcess, list[dict], dict[str, float]]:
    """Start gunicorn, run a locust scenario against it and stop it: locust's output, the
    rows of its stats and the CPU seconds each part of the machine spent meanwhile."""
    with Gunicorn(env, workers=workers, log=log) as server:
        meter = CpuMeter(server.process.pid, database)
        meter.start()
        finished, rows = run_locust(
            locustfile,
            host=server.url,
            users=users,
            duration=duration,
            csv_prefix=csv_prefix,
            env=locust_env,
        )
        return finished, rows, meter.stop()
