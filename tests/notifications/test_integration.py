"""The outbox on the real stack: PostgreSQL, Redis, a Celery worker process started (and
stopped, by its id) here, and a local SMTP sink (aiosmtpd) that the tests stop and start.

The worker is a separate process, so it shares the database only through committed rows:
these tests run with real transactions on PostgreSQL (the PostgreSQL pass of `make test`).
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.utils import timezone

from config.celery_app import app
from governance.models import FinancialYear, SchemeState
from governance.services import scheme_withdraw
from notifications import outbox
from notifications.models import EmailStatus, Escalation, OutboxEmail
from notifications.outbox import deliver_email, notify
from notifications.tasks import run_escalations
from tests.world import add_return

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

REDIS_URL = os.environ.get("QIPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(condition, *, timeout: float = 20, what: str = "it"):
    """Poll (the worker is another process: there is nothing to join)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- the SMTP sink ---


class Sink:
    """An SMTP server on a fixed port that keeps what it receives; stop() and start() it."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list = []
        self._lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self._lock:
            self.messages.append(envelope)
        return "250 OK"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()
        self.controller = None

    def to(self, address: str) -> list:
        with self._lock:
            return [m for m in self.messages if address in m.rcpt_tos]


# --- the worker and the broker ---


def _require_services():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("QIPP_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    if connection.vendor != "postgresql":
        pytest.skip("the worker process shares the database: run on PostgreSQL")


@contextmanager
def broker(url: str, queue: str):
    """Point this process's Celery app (the web side) at a broker, really publishing."""
    saved = {
        key: app.conf[key] for key in ("broker_url", "task_always_eager", "task_default_queue")
    }

    def reset():
        app._pool = None  # connections and routes are cached on first use: start afresh
        app.__dict__.pop("amqp", None)

    app.conf.update(broker_url=url, task_always_eager=False, task_default_queue=queue)
    reset()
    try:
        yield
    finally:
        app.conf.update(saved)
        reset()


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    """A sink, and a worker process on the test database, Redis and the sink."""
    with django_db_blocker.unblock():
        _require_services()
        db = connection.settings_dict
    queue = f"qipp-test-{uuid.uuid4().hex[:8]}"  # nobody else's worker takes our tasks
    sink = Sink(_free_port())
    sink.start()
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.notifications.worker_settings",
        "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": REDIS_URL,
        "QIPP_TEST_QUEUE": queue,
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
    }
    with open(log, "w") as out:
        worker = subprocess.Popen(  # noqa: S603 - our own worker, no shell
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue]
            + ["--loglevel=INFO", "--hostname", f"{queue}@localhost"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: "ready." in log.read_text(), timeout=60, what="the worker")
        with broker(REDIS_URL, queue):
            yield sink
    finally:
        os.kill(worker.pid, signal.SIGTERM)  # warm shutdown, by its id
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        if sink.controller:
            sink.stop()
        _forget_queue(queue)
        print(log.read_text()[-3000:])  # shown when a test failed


def _forget_queue(queue: str) -> None:
    """Leave Redis as we found it: kombu keeps a few keys per queue name."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)


@pytest.fixture
def sink(stack):
    if stack.controller is None:
        stack.start()
    stack.messages.clear()
    return stack


def _sent(pk: int) -> bool:
    return OutboxEmail.objects.get(pk=pk).status == EmailStatus.SENT


def _barrier(sink, people, scheme) -> None:
    """Queue one more mail and wait for it: the solo worker takes tasks in order, so every
    task queued before it has been run by then."""
    user = people["elr-viewer"]
    notify(users=[user], scheme=scheme, kind="x", subject="Barrier", message="m")
    row = OutboxEmail.objects.filter(recipient=user.email).latest("pk")
    _wait_for(lambda: _sent(row.pk), what="the barrier mail")


@pytest.fixture
def scheme(make_scheme, people):
    """A draft whose project lead is also its SRO, so a withdrawal mails exactly one person."""
    return make_scheme(SchemeState.DRAFT, sro=people["elr-project-lead"], finance_lead=None)


LEAD = "elr-project-lead@example.nhs.uk"


def _withdraw(scheme, people):
    return scheme_withdraw(
        scheme_id=scheme.pk,
        by=people["elr-project-lead"],
        reason="No longer needed",
        expected_version=None,
    )


def test_a_transition_commits_and_the_worker_delivers_exactly_one_mail(sink, people, scheme):
    _withdraw(scheme, people)
    (row,) = OutboxEmail.objects.all()
    _wait_for(lambda: _sent(row.pk), what="the mail")
    _barrier(sink, people, scheme)
    (message,) = sink.to(LEAD)
    assert b"Withdrawn: " + scheme.reference.encode() in message.content
    row.refresh_from_db()
    assert row.attempts == 1 and row.sent_at


def test_the_same_task_delivered_twice_sends_one_mail(sink, people, scheme):
    _withdraw(scheme, people)
    row = OutboxEmail.objects.get()
    deliver_email.delay(row.pk)  # the commit's own task, plus two more copies
    deliver_email.delay(row.pk)
    _barrier(sink, people, scheme)
    assert len(sink.to(LEAD)) == 1
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT and row.attempts == 1


def test_smtp_down_then_up_the_mail_is_retried_and_delivered_once(sink, people, scheme):
    sink.stop()
    _withdraw(scheme, people)
    row = OutboxEmail.objects.get()

    def retried():
        row.refresh_from_db()
        return row.attempts >= 2

    _wait_for(retried, what="two failed attempts")
    assert row.status in (EmailStatus.PENDING, EmailStatus.SENDING)
    assert "refused" in row.last_error.lower()
    sink.start()
    _wait_for(lambda: _sent(row.pk), what="the retry")
    _barrier(sink, people, scheme)
    assert len(sink.to(LEAD)) == 1
    row.refresh_from_db()
    assert row.attempts >= 3 and row.last_error == ""


def test_redis_unreachable_the_action_succeeds_and_the_sweeper_delivers_later(
    sink, people, scheme, settings
):
    closed = f"redis://127.0.0.1:{_free_port()}/5"
    queue = app.conf.task_default_queue
    with broker(closed, queue):
        _withdraw(scheme, people)  # the user's action
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.WITHDRAWN
    row = OutboxEmail.objects.get()
    time.sleep(0.5)  # what the worker could have done by now, had it been told: nothing
    row.refresh_from_db()
    assert row.status == EmailStatus.PENDING and sink.to(LEAD) == []
    # Redis is back: the beat's sweep finds the row and hands it to the worker
    settings.QIPP_OUTBOX_STALE_SECONDS = 0
    assert outbox.sweep_outbox()["requeued"] == 1
    _wait_for(lambda: _sent(row.pk), what="the swept mail")
    _barrier(sink, people, scheme)
    assert len(sink.to(LEAD)) == 1


def test_a_rolled_back_transaction_enqueues_nothing(sink, people, scheme):
    with mock.patch.object(
        deliver_email, "apply_async", wraps=deliver_email.apply_async
    ) as publish:
        with pytest.raises(RuntimeError), transaction.atomic():
            _withdraw(scheme, people)
            raise RuntimeError("something after it failed")
        assert publish.call_count == 0
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.DRAFT
    assert not OutboxEmail.objects.exists()
    _barrier(sink, people, scheme)
    assert sink.to(LEAD) == [] and len(sink.messages) == 1


def test_the_daily_sweep_on_the_worker_mails_the_sro_of_an_off_track_scheme_once(
    sink, people, make_scheme
):
    today = timezone.localdate()  # the worker lives in real time: build this year's data
    start = today.year if today.month >= 4 else today.year - 1
    if today < date(start, 5, 11):
        pytest.skip("no return of this financial year is due yet")
    year = FinancialYear.objects.create(start_year=start)
    scheme = make_scheme(financial_year=year, start_date=date(start, 4, 1))
    for month in range(1, 13):
        add_return(scheme, month, 0)
    run_escalations.delay()
    _wait_for(Escalation.objects.exists, what="the escalation")
    sro = "elr-sro@example.nhs.uk"
    _wait_for(lambda: sink.to(sro), what="the SRO's mail")
    run_escalations.delay()  # the next day's run: nothing new
    _barrier(sink, people, scheme)
    assert Escalation.objects.get().rule == "off_track"
    assert len(sink.to(sro)) == 1 and len(sink.to(LEAD)) == 1
