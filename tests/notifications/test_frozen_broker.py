"""A broker that accepts connections and never answers (Redis frozen): the user's action still
answers within 2 seconds and is saved, its mails and escalation rules wait in the database
for the outbox sweep, and /healthz says 503 within 3 seconds."""

import io
import socket
import threading
import time

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from governance import services
from governance.models import SchemeState
from notifications import tasks
from notifications.models import EmailStatus, Escalation, OutboxEmail, RulesDue
from tests.factories import complete_self_assessment
from tests.notifications.conftest import at
from tests.notifications.test_integration import broker
from tests.world import add_return

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def frozen_broker():
    """The address of a "Redis" that takes every connection and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def timed(call, *, give_up_after: float = 15):
    """call()'s answer and how long it took; a call still waiting after `give_up_after`
    seconds fails the test rather than hanging the suite."""
    answer = {}

    def run():
        try:
            answer["result"] = call()
        finally:
            connection.close()  # this thread's own database connection

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(give_up_after)
    seconds = time.monotonic() - started
    assert "result" in answer, f"no answer after {seconds:.0f} s"
    return answer["result"], seconds


def test_submitting_a_pid_answers_within_2_seconds_and_its_mails_wait(client, llr, frozen_broker):
    data = llr.pid_data("ELR")
    scheme = services.scheme_create(by=data["project_lead"], data=data)
    complete_self_assessment(scheme)
    client.force_login(scheme.project_lead)
    url = reverse("scheme_submit", args=[scheme.pk])
    client.get(url)

    with broker(frozen_broker, "qipp-frozen"):
        response, seconds = timed(
            lambda: client.post(url, {"version": scheme.version, "comment": ""})
        )

    assert seconds < 2, f"the submit took {seconds:.1f} s with the broker frozen"
    assert response.status_code == 302
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.CONFIRM_AND_CHALLENGE
    waiting = OutboxEmail.objects.filter(status=EmailStatus.PENDING)
    assert waiting.exists()  # the reviewers' mails, for the outbox sweep


def test_a_return_saved_while_the_broker_is_frozen_has_its_rules_run_by_beat_later(
    client, make_scheme, people, frozen_broker
):
    scheme = make_scheme()
    add_return(scheme, 1, 1000)
    lead = people["elr-finance-reviewer"]
    client.force_login(lead)
    url = reverse("return_new", args=[scheme.pk])
    client.get(url)
    # (the real clock: a frozen one would also freeze the sockets' timeouts)
    with broker(frozen_broker, "qipp-frozen"):
        response, seconds = timed(
            lambda: client.post(url, {"token": "", "month": "2", "actual": "0"})
        )
    assert seconds < 2, f"the return took {seconds:.1f} s with the broker frozen"
    assert response.status_code == 302
    assert RulesDue.objects.filter(scheme=scheme).exists()
    assert not Escalation.objects.exists()  # behind plan, but its rules have not run yet

    # the broker is back: beat's next run of the rules left due, on a day of 2019/20 (a
    # closed year's schemes are not swept)
    RulesDue.objects.update(queued_at=at(2019, 6, 20, 9))
    with time_machine.travel(at(2019, 6, 20, 9, 5), tick=False):
        ran = tasks.run_rules_due()

    assert ran == 1
    assert Escalation.objects.filter(scheme=scheme).exists()
    assert not RulesDue.objects.exists()


def test_healthz_answers_503_within_3_seconds_with_the_broker_frozen(
    client, settings, frozen_broker
):
    settings.CELERY_BROKER_URL = frozen_broker

    response, seconds = timed(lambda: client.get("/healthz"))

    assert seconds < 3, f"/healthz took {seconds:.1f} s with the broker frozen"
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "down"}


def test_the_daily_sweep_clears_every_scheme_left_due(make_scheme):
    scheme = make_scheme()
    RulesDue.objects.create(scheme=scheme, queued_at=timezone.now())

    tasks.run_escalations()

    assert not RulesDue.objects.exists()


def test_returns_imported_while_the_broker_is_frozen_have_their_rules_run_by_beat(
    make_scheme, people, frozen_broker
):
    from governance import importers

    schemes = [make_scheme() for _ in range(3)]
    rows = "".join(f"{s.reference},1,0\n" for s in schemes)
    with broker(frozen_broker, "qipp-frozen"):
        result, seconds = timed(
            lambda: importers.import_file(
                "returns",
                io.BytesIO(f"reference,month,actual\n{rows}".encode()),
                name="returns.csv",
                by=people["elr-pmo"],
            )
        )
    assert result.ok and seconds < 2
    assert RulesDue.objects.count() == 3 and not Escalation.objects.exists()

    RulesDue.objects.update(queued_at=at(2019, 6, 20, 9))  # as above: in 2019/20
    with time_machine.travel(at(2019, 6, 20, 9, 5), tick=False):
        assert tasks.run_rules_due() == 3

    assert Escalation.objects.filter(scheme__in=schemes).count() >= 3
    assert not RulesDue.objects.exists()
