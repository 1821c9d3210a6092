"""The daily digest: each user chooses, per kind of notice, a mail at once or one a day. The bell
is told at once either way; held mail goes out once a day, after the time the admin sets,
once per user and day however often (or however many times at once) the task runs.

Times: 26 June 2019 is in British Summer Time, so 07:30 in London is 06:30 UTC.
"""

from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from config.celery_app import app
from governance.models import SchemeState
from governance.services import scheme_withdraw
from notifications import digest, emails, outbox
from notifications.digest import preferences_of, preferences_save, send_digest
from notifications.models import (
    Digest,
    DigestEntry,
    DigestSettings,
    EmailStatus,
    NoticeKind,
    NoticePreference,
    Notification,
    OutboxEmail,
    Timing,
)
from notifications.outbox import notify
from notifications.tasks import send_digests
from tests.notifications.conftest import at, at_qag
from tests.pages import text

pytestmark = pytest.mark.django_db

BEFORE = at(2019, 6, 26, 6, 20)  # 07:20 in London
AFTER = at(2019, 6, 26, 6, 40)  # 07:40 in London
NEXT_MORNING = at(2019, 6, 27, 6, 40)

SRO = "elr-sro@example.nhs.uk"
LEAD = "elr-project-lead@example.nhs.uk"


def daily(user, *kinds: NoticeKind) -> None:
    preferences_save(user=user, timings={kind: Timing.DAILY for kind in kinds})


def task_for(user, subject: str, when=BEFORE) -> None:
    with time_machine.travel(when, tick=False):
        notify(users=[user], kind="task", subject=subject, message="Over to you.", url="/tasks/")


def digests_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address] and "daily digest" in m.subject]


def run(commit, when) -> int:
    """The beat's task at `when`, its mail delivered (eagerly) once it commits."""
    with time_machine.travel(when, tick=False):
        return commit(lambda: send_digests.apply().get())


# --- choosing, on the account page ---


def test_at_once_is_every_users_choice_until_they_make_another(people):
    assert preferences_of(people["elr-sro"]) == {kind: "at_once" for kind in NoticeKind.values}


def test_a_user_chooses_the_digest_for_some_kinds_on_their_account_page(client, people):
    sro = people["elr-sro"]
    client.force_login(sro)
    page = text(client.get(reverse("account")))
    assert "How you hear of notices" in page and "07:30" in page
    assert "Tasks waiting for you" in page and "always go at once" in page

    choices = {kind: "at_once" for kind in NoticeKind.values}
    choices |= {"tasks": "daily", "reminders": "daily"}
    response = client.post(reverse("account"), choices)

    assert response.status_code == 302 and response["Location"] == reverse("account")
    assert "are saved" in text(client.get(reverse("account")))
    assert preferences_of(sro) == choices
    # another user's choices are their own
    assert preferences_of(people["elr-project-lead"])["tasks"] == "at_once"


def test_the_page_shows_the_time_the_admin_set(client, people):
    DigestSettings.objects.create(send_at="18:15")
    client.force_login(people["elr-viewer"])
    assert "one mail at 18:15" in text(client.get(reverse("account")))


@pytest.mark.parametrize(
    ("changed", "error"),
    [
        ({"tasks": "weekly"}, "Choose at once or in a daily digest for tasks waiting for you."),
        ({"escalations": ""}, "Choose when to hear of escalations."),
    ],
)
def test_a_choice_missing_or_unknown_is_refused_with_what_to_choose(client, people, changed, error):
    client.force_login(people["elr-sro"])
    choices = {kind: "daily" for kind in NoticeKind.values} | changed

    response = client.post(reverse("account"), choices)

    assert response.status_code == 200
    assert error in text(response) and "There is a problem" in text(response)
    assert not NoticePreference.objects.exists()  # nothing of it saved


# --- holding the mail ---


def test_a_digest_user_is_told_in_the_bell_at_once_and_mailed_nothing_yet(
    people, make_scheme, commit
):
    daily(people["elr-sro"], NoticeKind.DECISIONS)
    scheme = make_scheme(SchemeState.DRAFT, finance_lead=None)

    def withdraw():
        scheme_withdraw(
            scheme_id=scheme.pk,
            by=people["elr-project-lead"],
            reason="No longer needed",
            expected_version=None,
        )

    commit(withdraw)

    assert [m.to for m in mail.outbox] == [[LEAD]]  # the lead chose nothing: at once
    notice = Notification.objects.get(user=people["elr-sro"])
    assert notice.subject == f"Withdrawn: {scheme.reference} {scheme.title}"
    held = DigestEntry.objects.get()
    assert held.user == people["elr-sro"] and held.subject == notice.subject
    assert held.link == f"http://127.0.0.1:8000/schemes/{scheme.pk}/" and held.digest is None
    assert not OutboxEmail.objects.filter(recipient=SRO).exists()


def test_only_the_kinds_chosen_are_held(people, commit):
    sro = people["elr-sro"]
    daily(sro, NoticeKind.REMINDERS)
    commit(lambda: task_for(sro, "Review ELR-1"))
    assert [m.subject for m in mail.outbox] == ["Review ELR-1"]
    assert not DigestEntry.objects.exists()


def test_an_escalation_before_qag_goes_at_once_to_a_digest_user(escalation, people, commit):
    daily(people["elr-sro"], NoticeKind.ESCALATIONS)
    commit(lambda: emails.escalation_to_qag(escalation=at_qag(escalation)))
    assert any(m.to == [SRO] for m in mail.outbox)
    assert not DigestEntry.objects.exists()


def test_an_escalation_still_with_the_pmo_waits_for_the_digest(escalation, people, commit):
    daily(people["elr-sro"], NoticeKind.ESCALATIONS)
    commit(lambda: emails.escalation_resolved(escalation=escalation, told=[people["elr-sro"]]))
    assert mail.outbox == []
    assert DigestEntry.objects.get().subject.startswith("Escalation resolved: ")


def test_the_same_event_is_held_once_and_not_mailed_when_the_user_changes_their_mind(
    people, make_scheme, commit
):
    sro = people["elr-sro"]
    daily(sro, NoticeKind.REMINDERS)
    scheme = make_scheme(SchemeState.APPROVED)

    def remind():
        emails.step_reminder(
            users=[sro], scheme=scheme, step="Start delivery", waiting_days=10, url="/", dedupe="r1"
        )

    commit(remind)
    commit(remind)
    assert DigestEntry.objects.count() == 1
    preferences_save(user=sro, timings={"reminders": "at_once"})
    commit(remind)
    assert mail.outbox == [] and DigestEntry.objects.count() == 1


# --- sending the digests ---


def test_before_the_time_nothing_is_sent(people, commit):
    sro = people["elr-sro"]
    daily(sro, NoticeKind.TASKS)
    task_for(sro, "Review ELR-1", when=at(2019, 6, 26, 5))

    assert run(commit, BEFORE) == 0
    assert mail.outbox == [] and not Digest.objects.exists()
    assert DigestEntry.objects.get().digest is None


def test_after_the_time_one_mail_lists_everything_held(people, commit):
    sro = people["elr-sro"]
    daily(sro, NoticeKind.TASKS)
    task_for(sro, "Review ELR-1", when=at(2019, 6, 25, 14))
    task_for(sro, "Sign off ELR-2", when=at(2019, 6, 26, 5))

    assert run(commit, AFTER) == 1

    (message,) = mail.outbox
    assert message.to == [SRO]
    assert message.subject == "Your daily digest, 26 June 2019: 2 notices"
    assert message.body.index("Review ELR-1") < message.body.index("Sign off ELR-2")
    assert "25 Jun 2019, 15:00: http://127.0.0.1:8000/tasks/" in message.body  # London time
    html, _kind = message.alternatives[0]
    assert '<a href="http://127.0.0.1:8000/tasks/">Sign off ELR-2</a>' in html
    digest_row = Digest.objects.get()
    assert (digest_row.user, str(digest_row.day), digest_row.entries_count) == (
        sro,
        "2019-06-26",
        2,
    )
    assert set(DigestEntry.objects.values_list("digest", flat=True)) == {digest_row.pk}
    # the digest is no notice of its own: the bell has each one already
    assert Notification.objects.filter(user=sro).count() == 2


def test_each_user_gets_their_own_digest(people, commit):
    sro, lead = people["elr-sro"], people["elr-project-lead"]
    daily(sro, NoticeKind.TASKS)
    daily(lead, NoticeKind.TASKS)
    task_for(sro, "For the SRO")
    task_for(lead, "For the lead")

    assert run(commit, AFTER) == 2

    assert (
        "For the SRO" in digests_to(SRO)[0].body and "For the lead" not in digests_to(SRO)[0].body
    )
    assert "For the lead" in digests_to(LEAD)[0].body


def test_run_again_the_same_day_it_sends_no_second_digest(people, commit):
    sro = people["elr-sro"]
    daily(sro, NoticeKind.TASKS)
    task_for(sro, "Review ELR-1")

    assert run(commit, AFTER) == 1
    assert run(commit, AFTER) == 0
    assert run(commit, at(2019, 6, 26, 20)) == 0

    assert len(digests_to(SRO)) == 1 and Digest.objects.count() == 1


def test_mail_held_after_the_days_digest_waits_for_the_next_days(people, commit):
    sro = people["elr-sro"]
    daily(sro, NoticeKind.TASKS)
    task_for(sro, "Review ELR-1")
    run(commit, AFTER)
    task_for(sro, "Sign off ELR-2", when=at(2019, 6, 26, 10))

    assert run(commit, at(2019, 6, 26, 11)) == 0  # today's went already
    assert run(commit, NEXT_MORNING) == 1

    first, second = digests_to(SRO)
    assert "Review ELR-1" in first.body and "Sign off ELR-2" not in first.body
    assert "Sign off ELR-2" in second.body and "Review ELR-1" not in second.body
    assert second.subject == "Your daily digest, 27 June 2019: 1 notice"


def test_nothing_held_no_digest_and_no_row(people, commit):
    daily(people["elr-sro"], NoticeKind.TASKS)
    assert run(commit, AFTER) == 0
    assert mail.outbox == [] and not Digest.objects.exists()


def test_the_time_is_the_admins(people, commit):
    DigestSettings.objects.create(send_at="18:00")
    sro = people["elr-sro"]
    daily(sro, NoticeKind.TASKS)
    task_for(sro, "Review ELR-1")

    assert run(commit, AFTER) == 0
    assert run(commit, at(2019, 6, 26, 17, 5)) == 1  # 18:05 in London


def test_a_second_process_that_finds_the_days_digest_written_stops(people, commit):
    """Two beat runs at once: both saw the user waiting; the first wrote the day's row."""
    sro = people["elr-sro"]
    daily(sro, NoticeKind.TASKS)
    task_for(sro, "Review ELR-1")
    run(commit, AFTER)
    task_for(sro, "Sign off ELR-2", when=AFTER)  # held since: it must not slip out today

    with time_machine.travel(AFTER, tick=False):
        day = digest.due_day(AFTER)
        assert commit(lambda: send_digest(user=sro, day=day, now=AFTER)) is None

    assert len(digests_to(SRO)) == 1
    assert DigestEntry.objects.filter(digest=None).count() == 1


def test_a_run_that_crashed_between_claim_and_mail_left_nothing_and_the_next_sends_one(
    people, commit
):
    sro, lead = people["elr-sro"], people["elr-project-lead"]
    daily(sro, NoticeKind.TASKS)
    daily(lead, NoticeKind.TASKS)
    task_for(sro, "Review ELR-1")
    task_for(lead, "Sign off ELR-2")
    real = digest.queue_mails
    calls = []

    def crash_once(mails):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the worker died")
        return real(mails)

    with mock.patch.object(digest, "queue_mails", side_effect=crash_once):
        assert run(commit, AFTER) == 1  # the other user's went
    assert Digest.objects.count() == 1 and DigestEntry.objects.filter(digest=None).count() == 1

    assert run(commit, AFTER) == 1  # the retry
    assert run(commit, AFTER) == 0
    assert len(digests_to(SRO)) == 1 and len(digests_to(LEAD)) == 1


def test_a_digest_whose_mail_could_not_be_enqueued_goes_once_by_the_outbox_sweep(
    people, commit, settings
):
    sro = people["elr-sro"]
    daily(sro, NoticeKind.TASKS)
    task_for(sro, "Review ELR-1")
    with mock.patch.object(outbox.deliver_email, "delay", side_effect=OSError("Redis down")):
        assert run(commit, AFTER) == 1
    assert mail.outbox == []
    assert run(commit, AFTER) == 0  # the task again: the day's digest is written already

    settings.QIPP_OUTBOX_STALE_SECONDS = 0
    with time_machine.travel(at(2019, 6, 26, 7), tick=False):
        commit(outbox.sweep_outbox)
    assert len(digests_to(SRO)) == 1
    assert OutboxEmail.objects.get(recipient=SRO).status == EmailStatus.SENT


def test_a_deactivated_user_is_not_mailed_and_their_held_mail_is_dealt_with(people, commit):
    sro = people["elr-sro"]
    daily(sro, NoticeKind.TASKS)
    task_for(sro, "Review ELR-1")
    sro.is_active = False
    sro.save()

    assert run(commit, AFTER) == 1
    assert mail.outbox == [] and DigestEntry.objects.filter(digest=None).count() == 0


def test_beat_runs_the_digests_every_ten_minutes():
    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["send-digests"]
    assert entry["task"] == send_digests.name and entry["schedule"] == 600.0


def test_staff_set_the_time_in_the_admin(admin_client):
    url = reverse("admin:notifications_digestsettings_add")
    response = admin_client.post(url, {"send_at": "06:45"})
    assert response.status_code == 302
    assert str(DigestSettings.load().send_at) == "06:45:00"
    assert admin_client.get(url).status_code == 403  # one row: changed, never added again
