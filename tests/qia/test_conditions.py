"""Approval with conditions: a signatory (or QAG) approves on conditions, each with an owner
and a due date; the owner sees it in their tasks and marks it met with evidence; one overdue is
escalated to the PMO like a late return, and resolves when met."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.contrib import messages
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance import selectors
from governance.models import AccessRefusal, SchemeState
from governance.services import ActionRefused, Conflict
from notifications import tasks as notification_tasks
from notifications.models import Escalation, EscalationStatus, Level, Notification, Rule
from notifications.sweep import sweep
from qia import conditions, conditions_pages
from qia.models import Condition, ConditionSource, SignOff
from tests.qia.conftest import text, words

pytestmark = pytest.mark.django_db

JUNE = date(2019, 6, 1)  # the day the scheme is approved
DUE = date(2019, 7, 3)
AFTER_DUE = datetime(2019, 7, 10, 9, tzinfo=UTC)
SCRIPT = "<script>alert('qipp')</script>"


@pytest.fixture(autouse=True)
def wired(monkeypatch):
    """What QiaConfig.ready() adds once the conditions are wired in: the owner's tasks, the
    scheme page's block, the history, and the rules run again when an overdue one is met.
    Added here only while it does not."""
    for name, source in (
        ("TASK_SOURCES", conditions_pages.condition_tasks),
        ("SECTION_SOURCES", conditions_pages.conditions_section),
        ("HISTORY_SOURCES", conditions_pages.condition_events),
    ):
        if source not in getattr(selectors, name):
            monkeypatch.setattr(selectors, name, [*getattr(selectors, name), source])
    if not conditions.CONDITION_MET_HOOKS:
        monkeypatch.setattr(
            conditions,
            "CONDITION_MET_HOOKS",
            [lambda *, condition, **_: notification_tasks.rules_due([condition.scheme_id])],
        )


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run `work` and what its committed transaction runs next (the rules, the mail)."""

    def run(work):
        with django_capture_on_commit_callbacks(execute=True):
            return work()

    return run


def row(qia, text="Audit the first 50 discharges", owner="elr-quality-lead", due=DUE) -> dict:
    return {"text": text, "owner": qia[owner], "due_on": due}


def approved_on(qia, *rows_of) -> tuple:
    """A scheme approved on 1 June 2019 with these conditions (rows; one by default), set by
    the Chief Nurse."""
    with time_machine.travel(JUNE, tick=False):
        scheme = qia.approved()
        made = conditions.add_conditions(
            scheme=scheme,
            by=qia["elr-chief-nurse"],
            source=ConditionSource.SIGN_OFF,
            rows=list(rows_of) or [row(qia)],
        )
    return scheme, made


def meet_url(condition) -> str:
    return reverse("qia_condition_meet", args=[condition.pk])


def said(response) -> list[str]:
    return [str(m) for m in messages.get_messages(response.wsgi_request)]


# --- setting conditions ---


@time_machine.travel(JUNE, tick=False)
def test_each_condition_is_set_with_its_owner_and_due_date_and_its_owner_told(qia):
    scheme, [condition] = approved_on(qia)

    assert (condition.scheme, condition.source, condition.owner.username) == (
        scheme,
        ConditionSource.SIGN_OFF,
        "elr-quality-lead",
    )
    assert (condition.due_on, condition.set_by.username, condition.is_met) == (
        DUE,
        "elr-chief-nurse",
        False,
    )
    notice = Notification.objects.get(
        user=qia["elr-quality-lead"], kind="task", subject__startswith="Condition"
    )
    assert notice.subject == f"Condition to meet by 3 July 2019: {scheme.reference} {scheme.title}"
    assert "Audit the first 50 discharges" in notice.message
    assert notice.url == f"{scheme.get_absolute_url()}#conditions"


@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"text": "   "}, "Condition 2: write what the condition is."),
        ({"text": "x" * 2001}, "Condition 2: at most 2,000 characters"),
        (
            {"owner": "wl-quality-lead"},
            "Condition 2: WL Quality Lead is not an active member of ELR",
        ),
        ({"due": date(2019, 5, 31)}, "Condition 2: the due date, 31 May 2019, has passed"),
    ],
)
def test_a_condition_is_refused_naming_its_row_and_none_is_set(qia, bad, reason):
    with time_machine.travel(JUNE, tick=False):
        scheme = qia.approved()
        rows = [row(qia), row(qia, **bad)]
        with pytest.raises(ActionRefused, match=reason):
            conditions.add_conditions(
                scheme=scheme, by=qia["elr-chief-nurse"], source="sign_off", rows=rows
            )
    assert not Condition.objects.exists()


def test_an_inactive_owner_is_refused(qia):
    with time_machine.travel(JUNE, tick=False):
        scheme = qia.approved()
        qia["elr-panel-member"].is_active = False
        qia["elr-panel-member"].save()
        with pytest.raises(ActionRefused, match="not an active member of ELR"):
            conditions.add_conditions(
                scheme=scheme,
                by=qia["elr-chief-nurse"],
                source="sign_off",
                rows=[row(qia, owner="elr-panel-member")],
            )
    assert not Condition.objects.exists()


# --- the sign-off page ---


def condition_rows(*rows: dict) -> dict:
    """The conditions as the sign-off page's rows post them."""
    data = {
        "condition-TOTAL_FORMS": "10",
        "condition-INITIAL_FORMS": "0",
        "condition-MIN_NUM_FORMS": "0",
        "condition-MAX_NUM_FORMS": "10",
    }
    for number, values in enumerate(rows):
        for name, value in values.items():
            data[f"condition-{number}-{name}"] = value
    return data


def sign_off_post(qia, decision, *rows, **extra) -> dict:
    return {
        "decision": decision,
        "comment": "Safe, on these conditions.",
        "capacity": "chief_nurse",
        **condition_rows(*rows),
        **extra,
    }


@time_machine.travel(JUNE, tick=False)
def test_the_sign_off_page_offers_conditions_with_an_owner_and_a_due_date(qia, as_user):
    scheme = qia.awaiting_sign_off()
    page = as_user(qia["elr-chief-nurse"]).get(reverse("qia_sign_off", args=[scheme.pk]))
    shown = words(page)
    assert "Approve with conditions" in shown
    assert "Conditions of the approval" in shown and "Condition 1" in shown
    assert "More conditions (up to 10)" in shown
    html = text(page)
    assert 'for="id_condition-0-owner"' in html and 'type="date"' in html
    assert "ELR Quality Lead" in html  # the owner picker: members of the scheme's organisation
    assert "WL Quality Lead" not in html


@time_machine.travel(JUNE, tick=False)
def test_a_signatory_approves_with_conditions_on_the_page(qia, as_user):
    scheme = qia.awaiting_sign_off()
    owner = qia["elr-quality-lead"]
    response = as_user(qia["elr-chief-nurse"]).post(
        reverse("qia_sign_off", args=[scheme.pk]),
        sign_off_post(
            qia,
            "approve_with_conditions",
            {"text": "Audit the first 50 discharges", "owner": owner.pk, "due_on": "2019-07-03"},
            {},  # a blank row is left out
            {"text": "Brief the care homes", "owner": qia["elr-sro"].pk, "due_on": "10/07/2019"},
        ),
        follow=True,
    )

    assert "Your decision is recorded." in text(response)
    signature = SignOff.objects.get()
    assert (signature.by.username, signature.decision) == ("elr-chief-nurse", "approved")
    made = list(Condition.objects.order_by("due_on"))
    assert [(c.text, c.owner.username, c.due_on, c.source) for c in made] == [
        ("Audit the first 50 discharges", "elr-quality-lead", DUE, ConditionSource.SIGN_OFF),
        ("Brief the care homes", "elr-sro", date(2019, 7, 10), ConditionSource.SIGN_OFF),
    ]
    assert Notification.objects.filter(user=owner, subject__startswith="Condition to meet").exists()


@time_machine.travel(JUNE, tick=False)
def test_approving_with_conditions_needs_one(qia, as_user):
    scheme = qia.awaiting_sign_off()
    response = as_user(qia["elr-chief-nurse"]).post(
        reverse("qia_sign_off", args=[scheme.pk]), sign_off_post(qia, "approve_with_conditions")
    )

    assert response.status_code == 200
    assert "Give at least one condition" in text(response)
    assert not SignOff.objects.exists() and not Condition.objects.exists()


@time_machine.travel(JUNE, tick=False)
def test_a_condition_typed_beside_a_plain_approval_is_not_dropped_silently(qia, as_user):
    scheme = qia.awaiting_sign_off()
    response = as_user(qia["elr-chief-nurse"]).post(
        reverse("qia_sign_off", args=[scheme.pk]),
        sign_off_post(qia, "approve", {"text": "Audit the discharges"}),
    )

    assert response.status_code == 200
    assert 'You wrote conditions: choose "Approve with conditions", or clear them.' in text(
        response
    )
    assert not SignOff.objects.exists()


@time_machine.travel(JUNE, tick=False)
def test_a_condition_row_half_filled_or_due_in_the_past_is_shown_again_with_the_reason(
    qia, as_user
):
    scheme = qia.awaiting_sign_off()
    response = as_user(qia["elr-chief-nurse"]).post(
        reverse("qia_sign_off", args=[scheme.pk]),
        sign_off_post(
            qia,
            "approve_with_conditions",
            {"text": "Audit the discharges", "due_on": "2019-05-01"},
        ),
    )

    page = text(response)
    assert response.status_code == 200
    assert "Condition 1, owner: Choose who owns it." in page
    assert "Condition 1, due by: The due date, 1 May 2019, has passed" in page
    assert not SignOff.objects.exists()


# --- the owner's task, and marking it met ---


def test_the_owner_sees_the_condition_in_my_tasks(qia, as_user):
    scheme, [condition] = approved_on(qia)
    with time_machine.travel(JUNE, tick=False):
        page = as_user(qia["elr-quality-lead"]).get(reverse("my_tasks"))
    assert "Meet the condition: Audit the first 50 discharges, due 3 Jul 2019" in words(page)
    assert meet_url(condition) in text(page)
    with time_machine.travel(JUNE, tick=False):
        others = as_user(qia["elr-pmo"]).get(reverse("my_tasks"))
    assert "Meet the condition" not in words(others)


def test_the_owner_marks_it_met_with_evidence(qia, as_user):
    scheme, [condition] = approved_on(qia)
    owner = as_user(qia["elr-quality-lead"])
    with time_machine.travel(date(2019, 6, 20), tick=False):
        page = owner.get(meet_url(condition))
        assert "Audit the first 50 discharges" in words(page)
        response = owner.post(
            meet_url(condition),
            {
                "evidence": "The audit went to the quality committee on 18 June.",
                "evidence_link": "https://intranet.example.nhs.uk/audit.pdf",
                "version": page.context["form"].initial["version"],
            },
            follow=True,
        )

    assert response.redirect_chain[-1][0] == f"{scheme.get_absolute_url()}#conditions"
    assert "The condition is marked met." in text(response)
    condition.refresh_from_db()
    assert condition.is_met and condition.met_by == qia["elr-quality-lead"]
    assert condition.evidence == "The audit went to the quality committee on 18 June."
    assert condition.version == 2
    told = set(
        Notification.objects.filter(subject__startswith="Condition met").values_list(
            "user__username", flat=True
        )
    )
    assert told == {"elr-chief-nurse", "elr-sro"}  # whoever set it and the SRO
    shown = words(response)
    assert "Met 20 Jun 2019, marked by ELR Quality Lead" in shown
    assert 'href="https://intranet.example.nhs.uk/audit.pdf"' in text(response)
    with time_machine.travel(date(2019, 6, 21), tick=False):
        tasks = words(owner.get(reverse("my_tasks")))
    assert "Meet the condition" not in tasks


def test_the_sro_may_mark_it_met(qia, as_user):
    scheme, [condition] = approved_on(qia)
    with time_machine.travel(date(2019, 6, 20), tick=False):
        as_user(qia["elr-sro"]).post(meet_url(condition), {"evidence": "Seen the audit."})
    condition.refresh_from_db()
    assert condition.met_by == qia["elr-sro"]


@pytest.mark.parametrize("who", ["elr-chief-nurse", "elr-pmo", "elr-project-lead", "wl-sro"])
def test_nobody_else_marks_it_met(qia, as_user, who):
    scheme, [condition] = approved_on(qia)
    user = qia[who]
    client = as_user(user)
    page = client.get(meet_url(condition))
    response = client.post(meet_url(condition), {"evidence": "Done."})

    for answer in (page, response):
        assert answer.status_code == 403
        assert "Only the condition's owner (ELR Quality Lead) or the scheme's SRO" in text(answer)
    assert AccessRefusal.objects.filter(user=user, action="condition_meet").count() == 2
    condition.refresh_from_db()
    assert not condition.is_met


def test_someone_of_another_system_is_told_nothing_of_it(qia, as_user):
    scheme, [condition] = approved_on(qia)
    response = as_user(qia["nn-sro"]).get(meet_url(condition))
    assert response.status_code == 403
    assert "You do not have access to this scheme." in text(response)
    assert "Audit" not in text(response)


def test_a_condition_already_met_is_not_met_again(qia, as_user):
    scheme, [condition] = approved_on(qia)
    conditions.condition_meet(condition_id=condition.pk, by=qia["elr-sro"], evidence="Seen it.")
    owner = as_user(qia["elr-quality-lead"])

    page = owner.get(meet_url(condition), follow=True)
    assert "This condition was marked met by ELR Sro" in " ".join(said(page))
    response = owner.post(meet_url(condition), {"evidence": "Also done."})
    assert response.status_code == 403
    assert "This condition was marked met by ELR Sro" in text(response)
    # refused once, by the service, and recorded once
    assert AccessRefusal.objects.filter(user=qia["elr-quality-lead"]).count() == 1
    condition.refresh_from_db()
    assert (condition.met_by, condition.evidence) == (qia["elr-sro"], "Seen it.")


def test_a_page_drawn_before_someone_else_met_it_changes_nothing(qia, as_user):
    scheme, [condition] = approved_on(qia)
    owner = as_user(qia["elr-quality-lead"])
    drawn = owner.get(meet_url(condition)).context["form"].initial["version"]
    conditions.condition_meet(condition_id=condition.pk, by=qia["elr-sro"], evidence="Seen it.")

    response = owner.post(meet_url(condition), {"evidence": "Mine.", "version": drawn}, follow=True)
    assert "Someone else changed this scheme" in " ".join(said(response))
    condition.refresh_from_db()
    assert (condition.met_by, condition.evidence) == (qia["elr-sro"], "Seen it.")
    assert not AccessRefusal.objects.filter(user=qia["elr-quality-lead"]).exists()
    with pytest.raises(Conflict):
        conditions.condition_meet(
            condition_id=condition.pk, by=qia["elr-sro"], evidence="x", expected_version=1
        )


@pytest.mark.parametrize(
    "posted, error",
    [
        ({"evidence": "  "}, "Describe the evidence that the condition is met."),
        (
            {"evidence": "Done.", "evidence_link": "javascript:alert(1)"},
            "Enter a web address starting http:// or https://.",
        ),
        (
            {"evidence": "Done.", "evidence_link": "ftp://files.example.nhs.uk/a"},
            "Enter a web address starting http:// or https://.",
        ),
    ],
)
def test_the_evidence_is_needed_and_its_link_must_be_a_web_address(qia, as_user, posted, error):
    scheme, [condition] = approved_on(qia)
    response = as_user(qia["elr-quality-lead"]).post(meet_url(condition), posted)
    assert response.status_code == 200
    assert error in text(response)
    condition.refresh_from_db()
    assert not condition.is_met


@pytest.mark.parametrize(
    "evidence, link, reason",
    [
        ("", "", "Describe the evidence"),
        ("Done.", "javascript:alert(1)", "must be a web address starting http:// or https://"),
        ("Done.", "https://", "must be a web address"),
    ],
)
def test_the_service_refuses_bad_evidence_on_record(qia, evidence, link, reason):
    scheme, [condition] = approved_on(qia)
    owner = qia["elr-quality-lead"]
    with pytest.raises(ActionRefused, match=reason):
        conditions.condition_meet(
            condition_id=condition.pk, by=owner, evidence=evidence, evidence_link=link
        )
    assert AccessRefusal.objects.filter(user=owner, action="condition_meet").exists()
    condition.refresh_from_db()
    assert not condition.is_met


# --- the scheme page ---


def test_the_scheme_page_shows_the_conditions_to_whoever_sees_the_scheme(qia, as_user):
    scheme, made = approved_on(
        qia, row(qia), row(qia, "Brief the care homes", due=date(2019, 8, 1))
    )
    conditions.condition_meet(
        condition_id=made[1].pk,
        by=qia["elr-quality-lead"],
        evidence="Briefed all twelve.",
        evidence_link="https://example.nhs.uk/briefing",
    )

    with time_machine.travel(date(2019, 7, 4), tick=False):
        viewer = words(as_user(qia["elr-viewer"]).get(scheme.get_absolute_url()))
        owner = text(as_user(qia["elr-quality-lead"]).get(scheme.get_absolute_url()))
    assert "Conditions of approval" in viewer and "1 open" in viewer
    assert "Audit the first 50 discharges" in viewer and "Overdue" in viewer
    assert "Owner: ELR Quality Lead · due by 3 July 2019" in viewer
    assert "set at the QIA sign-off by ELR Chief Nurse" in viewer
    assert "marked by ELR Quality Lead. Evidence: Briefed all twelve." in viewer
    assert "Mark met" not in viewer
    assert owner.count(">Mark met<") == 1 and meet_url(made[0]) in owner


def test_no_conditions_no_block(qia, as_user):
    with time_machine.travel(JUNE, tick=False):
        scheme = qia.approved()
        page = words(as_user(qia["elr-viewer"]).get(scheme.get_absolute_url()))
    assert "Conditions of approval" not in page


def test_the_history_keeps_each_condition_set_and_met(qia):
    scheme, [condition] = approved_on(qia)
    conditions.condition_meet(
        condition_id=condition.pk, by=qia["elr-quality-lead"], evidence="Audited."
    )
    told = [(e.what, e.detail) for e in conditions_pages.condition_events(scheme)]
    assert told == [
        (
            "Condition set at the QIA sign-off, owned by ELR Quality Lead, due 3 July 2019",
            "Audit the first 50 discharges",
        ),
        ("Condition met: Audit the first 50 discharges", "Audited."),
    ]


# --- overdue: escalated like a late return ---


def test_an_overdue_condition_is_escalated_to_the_pmo_and_resolves_when_met(qia, commit):
    scheme, made = approved_on(
        qia, row(qia), row(qia, "Brief the care homes", owner="elr-sro", due=date(2019, 9, 1))
    )
    with time_machine.travel(date(2019, 7, 3), tick=False):
        commit(sweep)  # due today: not yet overdue
    assert not Escalation.objects.filter(rule=Rule.CONDITION_OVERDUE).exists()

    with time_machine.travel(AFTER_DUE, tick=False):
        commit(sweep)
    escalation = Escalation.objects.get(rule=Rule.CONDITION_OVERDUE)
    assert (escalation.scheme, escalation.level, escalation.owner) == (
        scheme,
        Level.PMO,
        qia["elr-sro"],
    )
    assert escalation.reason == (
        'Condition of approval not met by the due date: "Audit the first 50 discharges" '
        "(owner ELR Quality Lead, due 3 July 2019)."
    )

    with time_machine.travel(AFTER_DUE, tick=False):
        # meeting it runs the scheme's rules once it commits: resolved, no waiting a day
        commit(
            lambda: conditions.condition_meet(
                condition_id=made[0].pk, by=qia["elr-quality-lead"], evidence="Audited."
            )
        )
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.RESOLVED


def test_the_escalation_stays_while_another_overdue_condition_is_open(qia, commit):
    scheme, made = approved_on(
        qia, row(qia), row(qia, "Brief the care homes", owner="elr-sro", due=date(2019, 7, 5))
    )
    with time_machine.travel(AFTER_DUE, tick=False):
        commit(sweep)
        assert "Audit" in Escalation.objects.get().reason
        commit(
            lambda: conditions.condition_meet(
                condition_id=made[0].pk, by=qia["elr-quality-lead"], evidence="Audited."
            )
        )
    escalation = Escalation.objects.get()
    assert escalation.status == EscalationStatus.OPEN
    assert escalation.reason == (
        'Condition of approval not met by the due date: "Brief the care homes" '
        "(owner ELR Sro, due 5 July 2019)."
    )

    with time_machine.travel(AFTER_DUE, tick=False):
        conditions.condition_meet(condition_id=made[1].pk, by=qia["elr-sro"], evidence="Done.")
    with time_machine.travel(datetime(2019, 7, 11, 9, tzinfo=UTC), tick=False):
        commit(sweep)  # the daily sweep resolves it too
    assert Escalation.objects.get().status == EscalationStatus.RESOLVED


def test_a_scheme_in_delivery_is_watched_too(qia, commit):
    scheme, made = approved_on(qia)
    type(scheme).objects.filter(pk=scheme.pk).update(state=SchemeState.IN_DELIVERY)
    with time_machine.travel(AFTER_DUE, tick=False):
        commit(sweep)
    assert Escalation.objects.filter(scheme=scheme, rule=Rule.CONDITION_OVERDUE).exists()


def test_conditions_of_a_scheme_sent_back_to_draft_are_owed_no_more(qia, as_user, commit):
    """The first signatory approved with conditions, the second sent the QIA back: the scheme
    was never approved on them, so they are no task and no escalation."""
    scheme, made = approved_on(qia)
    type(scheme).objects.filter(pk=scheme.pk).update(state=SchemeState.DRAFT)
    with time_machine.travel(AFTER_DUE, tick=False):
        tasks = words(as_user(qia["elr-quality-lead"]).get(reverse("my_tasks")))
        commit(sweep)
    assert "Meet the condition" not in tasks
    assert not Escalation.objects.filter(rule=Rule.CONDITION_OVERDUE).exists()


# --- whatever is posted ---

ODD = st.one_of(
    st.sampled_from(
        [SCRIPT, "", " ", "\x00", "x" * 6000, "javascript:alert(1)", "https://", "2019-02-30"]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
)
FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_whatever_is_posted_to_mark_met_is_no_server_error_and_shown_escaped(qia, as_user):
    scheme, [condition] = approved_on(qia)
    owner = as_user(qia["elr-quality-lead"])
    url = meet_url(condition)

    @FUZZ
    @given(evidence=ODD, link=ODD, version=st.sampled_from(["", "1", "-1", "abc", "9" * 30]))
    def post(evidence, link, version):
        response = owner.post(
            url, {"evidence": evidence, "evidence_link": link, "version": version}
        )
        assert response.status_code in (200, 302, 403)
        assert "<script>alert" not in response.content.decode()
        Condition.objects.filter(pk=condition.pk).update(met_at=None, met_by=None, version=1)

    post()
    conditions.condition_meet(condition_id=condition.pk, by=qia["elr-sro"], evidence=SCRIPT)
    page = owner.get(scheme.get_absolute_url()).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_whatever_is_posted_as_conditions_is_no_server_error(qia, as_user):
    with time_machine.travel(JUNE, tick=False):
        scheme = qia.awaiting_sign_off()
    nurse = as_user(qia["elr-chief-nurse"])
    url = reverse("qia_sign_off", args=[scheme.pk])

    @FUZZ
    @given(
        condition_text=ODD,
        owner=st.sampled_from(["", "0", "-1", "abc", "99999999999999999999", "1.5"]),
        due=st.one_of(ODD, st.dates().map(str)),
        total=st.sampled_from(["1", "10", "11", "1000", "-1", "x"]),
    )
    def post(condition_text, owner, due, total):
        posted_row = {"text": condition_text, "owner": owner, "due_on": due}
        data = {
            **sign_off_post(qia, "approve_with_conditions", posted_row),
            "condition-TOTAL_FORMS": total,
        }
        with time_machine.travel(JUNE, tick=False):
            response = nurse.post(url, data)
        assert response.status_code in (200, 302)
        assert "<script>alert" not in response.content.decode()

    post()
    assert not Condition.objects.exists()
