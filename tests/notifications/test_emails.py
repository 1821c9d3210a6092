"""Every mail: subject, text and HTML render with and without their optional data, link back
to the page to act on, and reach the right people."""

from datetime import date

import pytest
from django.core import mail
from django.utils import timezone

from governance.models import System
from notifications import emails, qag
from notifications.models import Decision, Escalation, EscalationStatus, Level, Rule
from notifications.outbox import render_mail
from qia.escalation_feed import QiaFlag

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheme(make_scheme):
    return make_scheme(title="Women's health & <children>")


@pytest.fixture
def escalation(scheme, people):
    return Escalation.objects.create(
        scheme=scheme,
        rule=Rule.OFF_TRACK,
        owner=people["elr-sro"],
        reason="Behind plan by £900.00 (45.0%).",
        raised_at=timezone.now(),
        last_fired_at=timezone.now(),
    )


def full_escalation(escalation, people):
    escalation.level = Level.QAG
    escalation.status = EscalationStatus.REMEDIAL_AGREED
    escalation.remedial_action = "Reopen the Saturday clinic."
    escalation.remedial_due = date(2019, 7, 31)
    escalation.raised_to_qag_at = timezone.now()
    escalation.raised_to_qag_by = people["elr-pmo"]
    escalation.decision = Decision.CONTINUE
    escalation.decision_note = "One more month."
    escalation.decided_at = timezone.now()
    escalation.decided_by = people["elr-qag-member"]
    escalation.resolved_at = timezone.now()
    return escalation


def contexts(scheme, escalation, people, llr):
    """(template, minimal context, full context) for every mail."""
    link = {"link": "https://qipp.example/x/", "site_url": "https://qipp.example"}
    pack = qag.assemble(llr, meeting_date=date(2019, 6, 27), today=date(2019, 6, 25))
    pack.escalations = []
    full_pack = qag.assemble(llr, meeting_date=date(2019, 6, 27), today=date(2019, 6, 25))
    escalation.age_days = 14
    full_pack.escalations = [escalation]
    full_pack.qia_flags = [
        QiaFlag(scheme, "Extreme risk signed off", 20, timezone.now(), "/qia/1/", "Audited.")
    ]
    user = {"recipient_name": "ELR Sro"}
    return [
        ("notice", {"subject": "Hello"}, {"subject": "Hello", "message": "M", "scheme": scheme}),
        (
            "task-assigned",
            {"subject": "A task"},
            {"subject": "S", "task": "Review", "message": "M"},
        ),
        ("scheme-returned", {"subject": "S"}, {"subject": "S", "message": "Fix it", "by": "Al"}),
        ("scheme-rejected", {"subject": "S"}, {"subject": "S", "message": "No", "by": "Al"}),
        ("scheme-approved", {"subject": "S"}, {"subject": "S", "message": "Well done"}),
        (
            "scheme-approved",
            {"subject": "S", "to_pmo": True},
            {"subject": "S", "message": "Well done", "to_pmo": True},
        ),
        ("extreme-risk", {"subject": "S"}, {"subject": "S", "score": 20, "justification": "J"}),
        (
            "step-reminder",
            {"subject": "S", "step": "QIA panel", "waiting_days": 1},
            {"subject": "S", "step": "QIA panel", "waiting_days": 16, "escalates": True},
        ),
        ("escalation-raised", {"escalation": escalation}, {"escalation": "FULL"}),
        ("escalation-qag", {"escalation": escalation}, {"escalation": "FULL"}),
        (
            "escalation-qag",
            {"escalation": escalation, "again": True},
            {"escalation": "FULL", "again": True},
        ),
        ("escalation-decision", {"escalation": escalation}, {"escalation": "FULL"}),
        ("escalation-resolved", {"escalation": escalation}, {"escalation": "FULL"}),
        ("qag-pack", {"pack": pack}, {"pack": full_pack, **user}),
        (
            "returns-due",
            {"subject": "S", "month": "May 2019", "deadline": date(2019, 6, 10), "schemes": []},
            {
                "subject": "S",
                "month": "May 2019",
                "deadline": date(2019, 6, 10),
                "schemes": [(scheme, "/schemes/1/returns/2/")],
            },
        ),
    ], link


@pytest.mark.parametrize("full", [False, True], ids=["without optional data", "with it"])
def test_every_mail_renders_with_and_without_optional_data(scheme, escalation, people, full):
    llr = System.objects.get(code="LLR")
    cases, link = contexts(scheme, escalation, people, llr)
    for template, minimal, complete in cases:
        context = {**link, **(complete if full else minimal)}
        if context.get("escalation") == "FULL":
            context["escalation"] = full_escalation(escalation, people)
        if template.startswith("escalation") or full:
            context.setdefault("scheme", scheme)
        subject, body, html = render_mail(template, context)
        assert subject and "\n" not in subject, template
        for part in (subject, body, html):
            assert "None" not in part and "{{" not in part and "{%" not in part, template
        assert "https://qipp.example/x/" in body and 'href="https://qipp.example/x/"' in html
        assert "&amp;" not in body and "&#x27;" not in body, template  # plain text unescaped
        if context.get("scheme"):
            assert "Women's health & <children>" in body, template
            assert "Women&#x27;s health &amp; &lt;children&gt;" in html, template
        greeting = "Dear ELR Sro," if context.get("recipient_name") else "Dear colleague,"
        assert greeting in body and greeting in html, template


def test_each_recipient_is_greeted_by_name_safely(scheme, people, commit):
    sro = people["elr-sro"]
    sro.first_name, sro.last_name = "Ann <b>", "O'Neil"
    sro.save()
    commit(lambda: emails.scheme_approved(scheme=scheme))
    message = next(m for m in mail.outbox if m.to == [sro.email])
    assert "Dear Ann <b> O'Neil," in message.body
    assert "Dear Ann &lt;b&gt; O&#x27;Neil," in message.alternatives[0][0]
    other = next(m for m in mail.outbox if m.to != [sro.email])
    assert "Dear ELR Project Lead," in other.body


def test_the_escalation_mails_say_what_to_do_next(escalation, people):
    context = {"escalation": escalation, "scheme": escalation.scheme, "link": "L"}
    _s, body, _h = render_mail("escalation-raised", context)
    assert "records a remedial action and its due date" in body
    escalation = full_escalation(escalation, people)
    _s, body, _h = render_mail("escalation-qag", {**context, "escalation": escalation})
    assert f"by {people['elr-pmo']}" in body and "Reopen the Saturday clinic." in body
    escalation.raised_to_qag_by = None
    _s, body, _h = render_mail("escalation-qag", {**context, "escalation": escalation})
    assert "because its remedial action is overdue" in body


def test_returned_rejected_and_approved_go_to_the_project_lead_and_sro(scheme, people, commit):
    def send():
        emails.scheme_returned(scheme=scheme, by=people["elr-finance-reviewer"], reason="Redo.")
        emails.scheme_rejected(scheme=scheme, by=people["elr-quality-lead"], reason="Unsafe.")
        emails.scheme_approved(scheme=scheme)

    commit(send)
    to = sorted((m.subject.split(":")[0], m.to[0]) for m in mail.outbox)
    assert to == [
        ("Approved", "elr-project-lead@example.nhs.uk"),
        ("Approved", "elr-sro@example.nhs.uk"),
        ("Approved, start delivery", "elr-pmo@example.nhs.uk"),  # the PMO's next step
        ("Not supported", "elr-project-lead@example.nhs.uk"),
        ("Not supported", "elr-sro@example.nhs.uk"),
        ("Returned for revision", "elr-project-lead@example.nhs.uk"),
        ("Returned for revision", "elr-sro@example.nhs.uk"),
    ]
    returned = next(m for m in mail.outbox if m.subject.startswith("Returned"))
    assert "Redo." in returned.body and "answers each reviewer's comment" in returned.body


def test_a_task_mail_links_to_the_task(scheme, people, commit):
    commit(
        lambda: emails.task_assigned(
            users=[people["elr-chief-nurse"]],
            scheme=scheme,
            task="Sign off the QIA",
            url=f"/qia/{scheme.pk}/sign-off/",
        )
    )
    (message,) = mail.outbox
    assert message.subject == f"Sign off the QIA: {scheme.reference} Women's health & <children>"
    assert f"http://127.0.0.1:8000/qia/{scheme.pk}/sign-off/" in message.body


def test_an_extreme_risk_sign_off_goes_to_the_qag_list_once(scheme, people, commit):
    def send():
        emails.extreme_risk_signed_off(
            scheme=scheme, score=20, url="/qia/1/", dedupe=f"extreme:{scheme.pk}:v1"
        )

    commit(send)
    commit(send)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "elr-qag-member@example.nhs.uk",
        "wl-qag-member@example.nhs.uk",
    ]
    assert "extreme agreed risk score of 20" in mail.outbox[0].body


def test_notify_picks_the_mail_for_its_kind(scheme, people, commit):
    from notifications.outbox import notify

    commit(
        lambda: notify(
            users=[people["elr-finance-reviewer"]],
            scheme=scheme,
            kind="task",
            subject="Review requested",
            message="Please review.",
        )
    )
    assert "A task is waiting for you" in mail.outbox[0].body
