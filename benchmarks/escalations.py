"""Time the escalation sweep over 10,000 schemes in delivery, and mail delivery to SMTP.

    .venv/bin/python benchmarks/escalations.py [--schemes 10000] [--off-track 0.1]
                                                [--mails 1000] [--no-mail]

1. Sweep: builds N schemes in delivery with 12 months of returns each (a share of them off
   track), then runs the sweep as on 11 April of the following year (every return due):
   first when it raises an escalation (and queues two mails) for each off-track scheme,
   then again when they are all still there (the daily steady state). Prints the time and
   the number of queries of each, and the same for a tenth of the schemes, to show that the
   query count does not grow with the number of schemes.
2. Mail: starts a local SMTP sink (aiosmtpd) and one Celery worker process (solo pool) on
   Redis, queues M outbox rows and times the worker until all are sent.

The database is SQLite in a temporary folder, or DATABASE_URL when set (migrated already).
The sweep is built and run inside a transaction that is rolled back; the mail rows are
committed (the worker is another process) and deleted at the end. Redis comes from
QIPP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/5) on a queue of its own.
"""

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.database import setup_django  # noqa: E402

REDIS_URL = os.environ.get("QIPP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


class Rollback(Exception):
    pass


def build(n: int, off_track: float, seed: int = 2019):
    """N schemes in delivery, 12 returns each; `off_track` of them well behind plan."""
    from django.contrib.auth.models import Group
    from django.db.models import Max

    from governance import roles
    from governance.models import (
        PLAN_FIELDS,
        AreaOfSpend,
        FinancialYear,
        MonthlyReturn,
        Organisation,
        ProgrammeArea,
        Scheme,
        SchemeState,
        System,
        User,
    )

    rng = random.Random(seed)
    start = (FinancialYear.objects.aggregate(top=Max("start_year"))["top"] or 2090) + 1
    year = FinancialYear.objects.create(start_year=start)
    system = System.objects.create(code=f"ESC{start}", name="Benchmark system")
    orgs = [
        Organisation.objects.create(code=f"E{start}{i}", name=f"Bench {i}", system=system)
        for i in range(5)
    ]
    area = ProgrammeArea.objects.create(name=f"Escalation bench {start}")
    spend = AreaOfSpend.objects.create(name=f"Escalation bench {start}")
    people = User.objects.bulk_create(
        User(username=f"esc-{start}-{i}", email=f"esc-{start}-{i}@example.nhs.uk")
        for i in range(200)
    )
    qag = User.objects.create_user(f"esc-{start}-qag", email=f"esc-{start}-qag@example.nhs.uk")
    qag.groups.add(Group.objects.get(name=roles.QAG_MEMBER))
    qag.organisations.add(orgs[0])
    schemes = []
    for i in range(n):
        org = orgs[i % len(orgs)]
        schemes.append(
            Scheme(
                reference=f"{org.code}-{year.code}-{i:05d}",
                sequence=i + 1,
                title=f"Benchmark scheme {i}",
                description="Benchmark.",
                organisation=org,
                financial_year=year,
                programme_area=area,
                area_of_spend=spend,
                scheme_type="transactional",
                project_lead=people[i % 100],
                sro=people[100 + i % 100],
                created_by=people[0],
                start_date=date(start, 4, 1),
                state=SchemeState.IN_DELIVERY,
                **{name: Decimal(1000) for name in PLAN_FIELDS},
            )
        )
    Scheme.objects.bulk_create(schemes, batch_size=1000)
    ids = list(Scheme.objects.filter(financial_year=year).values_list("pk", flat=True))
    behind = set(rng.sample(ids, int(n * off_track)))
    MonthlyReturn.objects.bulk_create(
        (
            MonthlyReturn(
                scheme_id=scheme_id,
                month=month,
                actual=Decimal(rng.randint(0, 500) if scheme_id in behind else 1000),
                forecast_outturn=Decimal(12000) if scheme_id not in behind else None,
            )
            for scheme_id in ids
            for month in range(1, 13)
        ),
        batch_size=2000,
    )
    return year


def timed_sweep(now, scheme_ids=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications.sweep import sweep

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = sweep(now=now, scheme_ids=scheme_ids)
        elapsed = time.perf_counter() - started
    return elapsed, len(queries), result.counts()


def bench_sweep(n: int, off_track: float):
    from django.db import transaction

    from governance.models import Scheme
    from notifications.models import Escalation

    rows = []
    try:
        with transaction.atomic():
            year = build(n, off_track)
            now = datetime(year.start_year + 1, 4, 11, 6, 0, tzinfo=UTC)
            # warm up (lock row, caches), on a scheme outside the benchmark
            timed_sweep(now, scheme_ids=[0])
            ids = list(Scheme.objects.filter(financial_year=year).values_list("pk", flat=True))
            tenth = ids[: n // 10]
            with transaction.atomic():
                small = timed_sweep(now, scheme_ids=tenth)
                small_again = timed_sweep(now, scheme_ids=tenth)
                transaction.set_rollback(True)
            first = timed_sweep(now)
            again = timed_sweep(now)
            rows = [
                (f"{len(tenth):,} schemes, first sweep", *small),
                (f"{len(tenth):,} schemes, next day", *small_again),
                (f"{n:,} schemes, first sweep", *first),
                (f"{n:,} schemes, next day", *again),
            ]
            assert Escalation.objects.filter(scheme__financial_year=year).count() == int(
                n * off_track
            )
            raise Rollback
    except Rollback:
        pass
    print(f"\nSweep over schemes in delivery, {off_track:.0%} off track, 12 returns each")
    print(f"{'':32} {'time':>9} {'queries':>8}  raised / updated")
    for label, elapsed, queries, counts in rows:
        print(
            f"{label:32} {elapsed * 1000:7.0f} ms {queries:8}  "
            f"{counts['raised']} / {counts['updated']}"
        )


# --- mail delivery ---


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.count += 1
        return "250 OK"


def bench_mail(m: int, database_url: str):
    import redis
    from aiosmtpd.controller import Controller
    from django.db import transaction

    from notifications.models import EmailStatus, OutboxEmail
    from notifications.outbox import deliver_email

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        print(f"\nMail delivery: skipped, Redis is not reachable at {REDIS_URL} ({exc}).")
        return
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    queue = f"qipp-bench-{uuid.uuid4().hex[:8]}"
    log = Path(tempfile.mkdtemp()) / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
    }
    with open(log, "w") as out:
        worker = subprocess.Popen(  # noqa: S603 - our own worker, no shell
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue]
            + ["--loglevel=WARNING", "--hostname", f"{queue}@localhost"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    from config.celery_app import app

    app.conf.update(broker_url=REDIS_URL, task_always_eager=False)
    app._pool = None
    app.__dict__.pop("amqp", None)
    tag = uuid.uuid4().hex[:8]
    try:
        deadline = time.monotonic() + 60
        while "ready" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        with transaction.atomic():
            rows = OutboxEmail.objects.bulk_create(
                OutboxEmail(
                    recipient=f"user{i}@example.nhs.uk",
                    subject=f"Benchmark mail {i}",
                    text_body="A plain text body of a few lines.\n" * 10,
                    html_body="<p>An HTML body of a few lines.</p>" * 10,
                    dedupe_key=f"bench:{tag}:{i}",
                )
                for i in range(m)
            )
        ids = [row.pk for row in rows] or list(
            OutboxEmail.objects.filter(dedupe_key__startswith=f"bench:{tag}:").values_list(
                "pk", flat=True
            )
        )
        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for pk in ids:
                deliver_email.apply_async((pk,), queue=queue, producer=producer)
        published = time.perf_counter() - started
        pending = OutboxEmail.objects.filter(pk__in=ids).exclude(status=EmailStatus.SENT)
        deadline = time.monotonic() + 600
        while pending.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        sent = OutboxEmail.objects.filter(pk__in=ids, status=EmailStatus.SENT).count()
        print(f"\nMail delivery: one worker (solo pool), SMTP to a local sink, {m:,} mails")
        print(f"published in {published:.2f} s; all sent after {elapsed:.2f} s")
        print(f"{sent:,} sent, {sink.count:,} received: {sent / elapsed:.0f} mails a second")
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(worker.pid, signal.SIGKILL)
        controller.stop()
        OutboxEmail.objects.filter(dedupe_key__startswith=f"bench:{tag}:").delete()
        client = redis.Redis.from_url(REDIS_URL)  # kombu keeps a few keys per queue name
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schemes", type=int, default=10_000)
    parser.add_argument("--off-track", type=float, default=0.1)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--no-mail", action="store_true")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL")
    own_database = not database_url
    if own_database:
        folder = tempfile.mkdtemp(prefix="qipp-bench-")
        database_url = f"sqlite:///{folder}/bench.sqlite3"
        os.environ["DATABASE_URL"] = database_url
    setup_django(own_database)
    from django.db import connection

    print(f"Database: {connection.vendor}")
    bench_sweep(args.schemes, args.off_track)
    if not args.no_mail:
        bench_mail(args.mails, database_url)


if __name__ == "__main__":
    main()
