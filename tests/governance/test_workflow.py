"""The PID workflow through its services: who may do what, in which state, and what they see.

The table at the top drives every transition for every role, in the scheme's own organisation
(ELR) and in the other one (WL). The tests after it walk the stories around the table.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_fsm_log.models import StateLog

from governance import policy, roles, selectors, services
from governance.models import (
    PLAN_FIELDS,
    AccessRefusal,
    FinancialYear,
    Review,
    ReviewDecision,
    ReviewKind,
    Scheme,
    SchemeChange,
    SchemeState,
)
from notifications.models import Notification
from tests.factories import (
    OrganisationFactory,
    ReviewFactory,
    SchemeFactory,
    SystemFactory,
    UserFactory,
    complete_self_assessment,
)

pytestmark = pytest.mark.django_db

SLUGS = list(roles.ALL.values())
NO_ACCESS = "You do not have access to this scheme."


def history(scheme) -> list[StateLog]:
    return list(StateLog.objects.for_(scheme).order_by("id"))


def elr_scheme(llr, state=SchemeState.DRAFT, **fields) -> Scheme:
    """An ELR scheme led by elr-project-lead with elr-sro, straight in `state`."""
    fields = {
        "organisation": llr.orgs["elr"],
        "financial_year": llr.year,
        "programme_area": llr.programme_area,
        "area_of_spend": llr.area_of_spend,
        "project_lead": llr.user("elr", "project-lead"),
        "sro": llr.user("elr", "sro"),
        "state": state,
        **fields,
    }
    return SchemeFactory(**fields)


def create(llr, org="ELR", **overrides) -> Scheme:
    """A PID written by the project lead of `org`, its QIA self-assessment complete."""
    data = llr.pid_data(org, **overrides)
    scheme = services.scheme_create(by=data["project_lead"], data=data)
    complete_self_assessment(scheme)
    return scheme


def submit(scheme, by=None, **kwargs) -> Scheme:
    return services.scheme_submit(
        scheme_id=scheme.pk,
        by=by or scheme.project_lead,
        expected_version=kwargs.pop("expected_version", None),
        **kwargs,
    )


def review(scheme, by, kind, decision=ReviewDecision.SUPPORTED, comment="Evidence checked.", **kw):
    return services.scheme_review(
        scheme_id=scheme.pk,
        by=by,
        kind=kind,
        decision=decision,
        comment=comment,
        expected_version=kw.pop("expected_version", None),
    )


def withdraw(scheme, by, **kw):
    return services.scheme_withdraw(
        scheme_id=scheme.pk,
        by=by,
        reason="Superseded by the system-wide outpatient programme.",
        expected_version=kw.pop("expected_version", None),
    )


def edit(scheme, by, **kw):
    return services.scheme_update(
        scheme_id=scheme.pk,
        by=by,
        data={"title": "Patient-initiated follow-up in all outpatient clinics"},
        expected_version=kw.pop("expected_version", None),
    )


# --- the table: every transition for every role, in its own organisation and the other ---


@dataclass(frozen=True)
class Step:
    action: str  # the policy action, also the StateLog transition and the AccessRefusal action
    start: str
    run: Callable
    allowed: frozenset  # role slugs of the scheme's own organisation who may do it
    target: str | None  # None: the PID changes, not its state
    logged: str  # what the history entry says
    told: frozenset  # role slugs of ELR who get a notification and a mail
    refused: str  # what anyone else in a position to try is told
    prepare: Callable = lambda scheme, llr: None  # noqa: E731 - a default that does nothing

    def __str__(self):
        return f"{self.action}-{self.start}-{self.target}"


def _clinical_supported(scheme, llr):
    ReviewFactory(
        scheme=scheme, kind=ReviewKind.CLINICAL, reviewer=llr.user("elr", "clinical-reviewer")
    )


def _finance_supported(scheme, llr):
    ReviewFactory(
        scheme=scheme, kind=ReviewKind.FINANCE, reviewer=llr.user("elr", "finance-reviewer")
    )


def _review_step(kind: str, decision: str, target: str, told: set, prepare=None) -> Step:
    label = ReviewKind(kind).label
    role = f"{kind}-reviewer"
    return Step(
        action=f"{kind}_review",
        start=SchemeState.CONFIRM_AND_CHALLENGE,
        run=lambda scheme, user: review(scheme, user, kind, decision, "Baseline checked."),
        allowed=frozenset({role}),
        target=target,
        logged=f"{label} review: {ReviewDecision(decision).label}. Baseline checked.",
        told=frozenset(told),
        refused=f"Only a {kind} reviewer can record the {label.lower()} review.",
        prepare=prepare or (lambda scheme, llr: None),
    )


WITHDRAW_STEPS = [
    Step(
        action="withdraw",
        start=start,
        run=withdraw,
        allowed=frozenset({"project-lead", "sro"}),
        target=SchemeState.WITHDRAWN,
        logged="Withdrawn: Superseded by the system-wide outpatient programme.",
        told=frozenset({"project-lead", "sro"}),
        refused="Only the scheme's project lead or SRO can withdraw it.",
    )
    for start in (
        SchemeState.DRAFT,
        SchemeState.CONFIRM_AND_CHALLENGE,
        SchemeState.QIA_PANEL,
        SchemeState.AWAITING_SIGN_OFF,
    )
]

STEPS = [
    Step(
        action="submit",
        start=SchemeState.DRAFT,
        run=lambda scheme, user: submit(scheme, user),
        allowed=frozenset({"project-lead"}),
        target=SchemeState.CONFIRM_AND_CHALLENGE,
        logged="Submitted for confirm and challenge",
        told=frozenset({"finance-reviewer", "clinical-reviewer"}),
        refused="Only the scheme's project lead can submit it.",
        prepare=lambda scheme, llr: complete_self_assessment(scheme),
    ),
    # the first review, supported: the scheme waits for the other one, nobody is told yet
    _review_step("finance", "supported", SchemeState.CONFIRM_AND_CHALLENGE, set()),
    _review_step(
        "finance",
        "supported",
        SchemeState.QIA_PANEL,
        {"quality-lead", "panel-member"},
        prepare=_clinical_supported,
    ),
    _review_step("finance", "revise", SchemeState.DRAFT, {"project-lead", "sro"}),
    _review_step("finance", "not_supported", SchemeState.REJECTED, {"project-lead", "sro"}),
    _review_step("clinical", "supported", SchemeState.CONFIRM_AND_CHALLENGE, set()),
    _review_step(
        "clinical",
        "supported",
        SchemeState.QIA_PANEL,
        {"quality-lead", "panel-member"},
        prepare=_finance_supported,
    ),
    _review_step("clinical", "revise", SchemeState.DRAFT, {"project-lead", "sro"}),
    _review_step("clinical", "not_supported", SchemeState.REJECTED, {"project-lead", "sro"}),
    *WITHDRAW_STEPS,
    Step(
        action="edit",
        start=SchemeState.DRAFT,
        run=edit,
        allowed=frozenset({"project-lead"}),
        target=None,
        logged="",
        told=frozenset(),
        refused="Only the scheme's project lead can change the PID.",
    ),
]

# Who sees an ELR draft besides its team (project lead, SRO): the ELR PMO (ACCESS.md).
DRAFT_VIEWERS = {"elr-project-lead", "elr-sro", "elr-pmo"}


def expected_refusal(step: Step, org: str, slug: str) -> str:
    username = f"{org}-{slug}"
    if step.start == SchemeState.DRAFT and username not in DRAFT_VIEWERS:
        return NO_ACCESS
    if step.action.endswith("_review") and slug in step.allowed:
        return "You review schemes of your own organisation only, not ELR."
    return step.refused


@pytest.mark.parametrize("org", ["elr", "wl"])
@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("step", STEPS, ids=str)
def test_every_role_may_take_exactly_the_steps_the_policy_gives_it(
    llr, django_capture_on_commit_callbacks, step, org, slug
):
    scheme = elr_scheme(llr, step.start)
    step.prepare(scheme, llr)
    user = llr.user(org, slug)
    logs_before = len(history(scheme))
    last_notice = Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0
    changes_before = SchemeChange.objects.count()

    if org == "elr" and slug in step.allowed:
        with django_capture_on_commit_callbacks(execute=True):
            step.run(scheme, user)
        after = Scheme.objects.get(pk=scheme.pk)
        assert after.version == scheme.version + 1
        entries = history(scheme)[logs_before:]
        if step.target is None:
            assert after.state == step.start
            assert entries == []
            assert SchemeChange.objects.count() == changes_before + 1
        else:
            assert after.state == step.target
            assert [(e.by, e.source_state, e.state, e.transition) for e in entries] == [
                (user, step.start, step.target, step.action)
            ]
            assert entries[0].description == step.logged
        told = {f"elr-{role}" for role in step.told}
        notices = Notification.objects.filter(id__gt=last_notice)
        assert {n.user.username for n in notices} == told
        assert all(n.scheme_id == scheme.pk for n in notices)
        assert sorted(m.to[0] for m in mail.outbox) == sorted(f"{u}@example.nhs.uk" for u in told)
        assert all(scheme.reference in m.subject for m in mail.outbox)
    else:
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(services.ActionRefused) as refused:
                step.run(scheme, user)
        assert refused.value.message == expected_refusal(step, org, slug)
        after = Scheme.objects.get(pk=scheme.pk)
        assert (after.state, after.version, after.title) == (
            step.start,
            scheme.version,
            scheme.title,
        )
        assert len(history(scheme)) == logs_before
        assert SchemeChange.objects.count() == changes_before
        assert not Notification.objects.filter(id__gt=last_notice).exists()
        assert mail.outbox == []
        assert AccessRefusal.objects.filter(
            user=user, action=step.action, reason=refused.value.message
        ).exists()


@pytest.mark.parametrize("org", ["elr", "wl"])
@pytest.mark.parametrize("slug", SLUGS)
def test_only_a_project_lead_writes_a_pid_and_only_for_their_own_organisation(llr, org, slug):
    user = llr.user(org, slug)
    data = llr.pid_data("ELR", project_lead=user)
    if (org, slug) == ("elr", "project-lead"):
        assert services.scheme_create(by=user, data=data).state == SchemeState.DRAFT
        return
    with pytest.raises(services.ActionRefused) as refused:
        services.scheme_create(by=user, data=data)
    if slug == "project-lead":
        assert (
            refused.value.message == "You can write PIDs for your own organisation only, not ELR."
        )
    else:
        assert refused.value.message == "Only a project lead can write a new PID."
    assert not Scheme.objects.exists()
    assert AccessRefusal.objects.filter(user=user, action="create").exists()


# --- segregation of duties and organisations ---


@pytest.mark.parametrize("kind", ["finance", "clinical"])
@pytest.mark.parametrize(
    ("part", "words"),
    [
        ("project_lead", "project lead"),
        ("sro", "SRO"),
        ("clinical_lead", "clinical lead"),
        ("finance_lead", "finance lead"),
    ],
)
def test_it_refuses_a_reviewer_on_the_scheme_team(llr, kind, part, words):
    reviewer = llr.user("elr", f"{kind}-reviewer")
    scheme = elr_scheme(llr, SchemeState.CONFIRM_AND_CHALLENGE, **{part: reviewer})
    with pytest.raises(services.ActionRefused) as refused:
        review(scheme, reviewer, kind)
    assert refused.value.message == (
        f"You are this scheme's {words}: nobody reviews, scores, signs off, assures or decides "
        "on their own scheme (segregation of duties)."
    )
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.CONFIRM_AND_CHALLENGE
    assert not Review.objects.exists()
    assert AccessRefusal.objects.filter(user=reviewer, action=f"{kind}_review").count() == 1


def test_it_refuses_a_reviewer_of_another_organisation_but_not_one_who_belongs_to_both(llr):
    scheme = elr_scheme(llr, SchemeState.CONFIRM_AND_CHALLENGE)
    outsider = llr.user("wl", "finance-reviewer")
    with pytest.raises(services.ActionRefused, match="own organisation only, not ELR"):
        review(scheme, outsider, "finance")
    outsider.organisations.add(llr.orgs["elr"])
    review(scheme, type(outsider).objects.get(pk=outsider.pk), "finance")
    assert Review.objects.get().reviewer == outsider


# --- confirm and challenge ---


@pytest.mark.parametrize("first", ["finance", "clinical"])
def test_both_reviews_in_either_order_take_the_scheme_to_the_qia_panel(
    llr, django_capture_on_commit_callbacks, first
):
    scheme = submit(create(llr))
    second = "clinical" if first == "finance" else "finance"
    review(scheme, llr.user("elr", f"{first}-reviewer"), first)
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.CONFIRM_AND_CHALLENGE
    with django_capture_on_commit_callbacks(execute=True):
        review(scheme, llr.user("elr", f"{second}-reviewer"), second)
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.QIA_PANEL
    assert [(e.transition, e.state) for e in history(scheme)] == [
        ("submit", SchemeState.CONFIRM_AND_CHALLENGE),
        (f"{first}_review", SchemeState.CONFIRM_AND_CHALLENGE),
        (f"{second}_review", SchemeState.QIA_PANEL),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == [
        "elr-panel-member@example.nhs.uk",
        "elr-quality-lead@example.nhs.uk",
    ]


@pytest.mark.parametrize("kind", ["finance", "clinical"])
def test_revise_returns_the_scheme_to_draft_with_the_reviewers_comments(
    llr, django_capture_on_commit_callbacks, kind
):
    scheme = submit(create(llr))
    comment = "Show the 2018/19 follow-up baseline by specialty."
    with django_capture_on_commit_callbacks(execute=True):
        review(scheme, llr.user("elr", f"{kind}-reviewer"), kind, ReviewDecision.REVISE, comment)
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.DRAFT
    assert Review.objects.get().comment == comment
    assert comment in history(scheme)[-1].description
    assert {m.to[0] for m in mail.outbox} == {
        "elr-project-lead@example.nhs.uk",
        "elr-sro@example.nhs.uk",
    }
    assert all(comment in m.body for m in mail.outbox)
    # back in draft, the project lead may change the PID again
    _, changes = edit(scheme, llr.user("elr", "project-lead"))
    assert [c.field for c in changes] == ["title"]


@pytest.mark.parametrize("kind", ["finance", "clinical"])
def test_not_supported_rejects_the_scheme_for_good(llr, kind):
    scheme = submit(create(llr))
    review(scheme, llr.user("elr", f"{kind}-reviewer"), kind, ReviewDecision.NOT_SUPPORTED)
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.REJECTED
    with pytest.raises(services.ActionRefused) as refused:
        withdraw(scheme, llr.user("elr", "sro"))
    assert refused.value.message == "This scheme is rejected: you cannot withdraw it now."


def test_a_second_review_of_the_same_kind_names_who_recorded_the_first(llr):
    scheme = submit(create(llr))
    colleague = UserFactory(
        username="elr-finance-reviewer-2",
        roles=[roles.FINANCE_REVIEWER],
        organisations=[llr.orgs["elr"]],
    )
    review(scheme, llr.user("elr", "finance-reviewer"), "finance")
    logs_before = len(history(scheme))
    with pytest.raises(services.ActionRefused) as refused:
        review(scheme, colleague, "finance", ReviewDecision.NOT_SUPPORTED)
    assert refused.value.message == (
        "The financial review of this submission was already recorded by ELR Finance Reviewer."
    )
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.CONFIRM_AND_CHALLENGE
    assert len(history(scheme)) == logs_before
    assert Review.objects.get().reviewer == llr.user("elr", "finance-reviewer")


def test_resubmission_needs_an_answer_to_each_review_of_the_last_round_and_keeps_them(llr):
    scheme = submit(create(llr))
    review(scheme, llr.user("elr", "clinical-reviewer"), "clinical", comment="Safe.")
    review(scheme, llr.user("elr", "finance-reviewer"), "finance", ReviewDecision.REVISE)
    clinical, finance = Review.objects.order_by("id")

    with pytest.raises(services.ActionRefused) as refused:
        submit(scheme, responses={finance.pk: "Rephased from month 4."})
    assert refused.value.message == (
        "Answer each reviewer's comment before resubmitting (clinical)."
    )
    with pytest.raises(services.ActionRefused, match=r"\(clinical, financial\)"):
        submit(scheme, responses={clinical.pk: "  ", finance.pk: " "})
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.DRAFT

    submit(
        scheme,
        responses={clinical.pk: "Noted, thank you.", finance.pk: " Rephased from month 4. "},
        comment="Resubmitted with the rephased plan.",
    )
    scheme.refresh_from_db()
    assert (scheme.state, scheme.submission_round) == (SchemeState.CONFIRM_AND_CHALLENGE, 2)
    finance.refresh_from_db()
    clinical.refresh_from_db()
    assert (finance.response, clinical.response) == ("Rephased from month 4.", "Noted, thank you.")
    assert finance.responded_at is not None
    assert history(scheme)[-1].description == "Resubmitted with the rephased plan."
    # a new round: both reviewers act afresh, and the earlier reviews stay as they were
    review(scheme, llr.user("elr", "finance-reviewer"), "finance")
    review(scheme, llr.user("elr", "clinical-reviewer"), "clinical")
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.QIA_PANEL
    assert Review.objects.filter(round=1).count() == 2


# --- refusals a user can understand ---


def test_a_draft_cannot_be_reviewed(llr):
    scheme = create(llr)
    with pytest.raises(services.ActionRefused) as refused:
        review(scheme, llr.user("elr", "pmo"), "finance")
    assert refused.value.message == (
        "This scheme is a draft: you cannot record a financial review of it now."
    )
    assert not Review.objects.exists()


def test_a_scheme_already_in_confirm_and_challenge_cannot_be_submitted_again(llr):
    scheme = submit(create(llr))
    with pytest.raises(services.ActionRefused) as refused:
        submit(scheme)
    assert refused.value.message == (
        "This scheme is in confirm and challenge: you cannot submit it now."
    )
    assert Scheme.objects.get(pk=scheme.pk).submission_round == 1
    assert len(history(scheme)) == 1


def test_someone_who_cannot_see_a_draft_is_told_only_that(llr):
    scheme = create(llr)
    for user in (llr.user("wl", "finance-reviewer"), llr.user("elr", "clinical-reviewer")):
        with pytest.raises(services.ActionRefused) as refused:
            review(scheme, user, "clinical")
        assert refused.value.message == NO_ACCESS


@pytest.mark.parametrize(
    "attempt",
    [
        lambda scheme, llr, v: submit(scheme, expected_version=v),
        lambda scheme, llr, v: edit(scheme, llr.user("elr", "project-lead"), expected_version=v),
        lambda scheme, llr, v: withdraw(scheme, llr.user("elr", "sro"), expected_version=v),
    ],
    ids=["submit", "edit", "withdraw"],
)
def test_acting_on_a_stale_page_is_refused_as_someone_elses_change(llr, attempt):
    scheme = create(llr)
    edit(scheme, llr.user("elr", "project-lead"))  # someone else's change: version 2
    with pytest.raises(services.Conflict) as conflict:
        attempt(scheme, llr, scheme.version)
    assert conflict.value.message.startswith("Someone else changed this scheme")
    after = Scheme.objects.get(pk=scheme.pk)
    assert (after.state, after.version) == (SchemeState.DRAFT, scheme.version + 1)
    assert history(scheme) == []


def test_a_review_from_a_stale_page_is_refused_as_someone_elses_change(llr):
    scheme = submit(create(llr))
    loaded = Scheme.objects.get(pk=scheme.pk).version
    review(scheme, llr.user("elr", "clinical-reviewer"), "clinical", expected_version=loaded)
    with pytest.raises(services.Conflict, match="Someone else changed this scheme"):
        review(scheme, llr.user("elr", "finance-reviewer"), "finance", expected_version=loaded)
    assert Review.objects.get().kind == ReviewKind.CLINICAL
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.CONFIRM_AND_CHALLENGE


# --- the same form sent twice (a double click) ---


def alerts(response, kind: str) -> list[str]:
    """The text of the page's alerts of that kind ("info", "danger", ...)."""
    found = re.findall(rf'class="alert alert-{kind}"[^>]*>(.*?)</div>', response.text, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", alert).split()) for alert in found]


def test_a_submit_sent_twice_from_one_page_is_already_done_not_someone_elses_change(llr):
    scheme = create(llr)
    drawn = Scheme.objects.get(pk=scheme.pk).version
    submit(scheme, expected_version=drawn)

    # the second submit of a double click, which read the page before the first was saved
    with pytest.raises(services.AlreadyDone) as again:
        submit(scheme, expected_version=drawn)

    assert again.value.message == (
        f"You submitted {scheme.reference} a moment ago: it is in confirm and challenge."
    )
    assert [log.transition for log in history(scheme)] == ["submit"]
    assert Scheme.objects.get(pk=scheme.pk).submission_round == 1
    assert not AccessRefusal.objects.exists()


def test_a_withdrawal_sent_twice_is_already_done(llr):
    scheme = create(llr)
    drawn = Scheme.objects.get(pk=scheme.pk).version
    sro = llr.user("elr", "sro")
    withdraw(scheme, sro, expected_version=drawn)

    with pytest.raises(services.AlreadyDone, match="You withdrew .* a moment ago: it is withdrawn"):
        withdraw(scheme, sro, expected_version=drawn)

    assert [log.transition for log in history(scheme)] == ["withdraw"]


def test_a_submit_from_a_page_drawn_before_a_reviewers_step_is_still_a_conflict(llr):
    scheme = create(llr)
    drawn = Scheme.objects.get(pk=scheme.pk).version
    submit(scheme, expected_version=drawn)
    review(scheme, llr.user("elr", "clinical-reviewer"), "clinical")  # the newest step now

    with pytest.raises(services.Conflict, match="Someone else changed this scheme"):
        submit(scheme, expected_version=drawn)

    assert [log.transition for log in history(scheme)] == ["submit", "clinical_review"]


def test_the_same_submit_sent_again_long_after_is_a_conflict_as_before(llr):
    scheme = create(llr)
    drawn = Scheme.objects.get(pk=scheme.pk).version
    submit(scheme, expected_version=drawn)

    # the history is append-only: the second send comes two minutes later instead
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        with pytest.raises(services.Conflict):
            submit(scheme, expected_version=drawn)

    assert len(history(scheme)) == 1


def test_the_submit_page_tells_a_double_click_the_scheme_is_submitted(client, llr):
    scheme = create(llr)
    lead = scheme.project_lead
    client.force_login(lead)
    url = reverse("scheme_submit", args=[scheme.pk])
    form = {"version": Scheme.objects.get(pk=scheme.pk).version, "comment": "Ready."}
    client.post(url, form)

    response = client.post(url, form, follow=True)

    assert response.redirect_chain[-1][0] == scheme.get_absolute_url()
    assert alerts(response, "info") == [
        f"You submitted {scheme.reference} a moment ago: it is in confirm and challenge."
    ]
    assert "Nothing was saved" not in response.text
    assert not alerts(response, "danger") and not alerts(response, "warning")
    assert len(history(scheme)) == 1
    assert not AccessRefusal.objects.exists()


def test_a_pid_with_no_savings_cannot_be_submitted(llr):
    scheme = create(llr, **{name: Decimal("0") for name in PLAN_FIELDS})
    with pytest.raises(services.ActionRefused) as refused:
        submit(scheme)
    assert refused.value.message == "Enter the monthly savings plan before submitting."
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.DRAFT
    assert history(scheme) == []


# --- the PID itself ---


def test_references_read_org_year_number_and_count_per_organisation_and_year(llr):
    first, second, west = create(llr), create(llr), create(llr, "WL")
    later = create(llr, financial_year=FinancialYear.objects.create(start_year=2020))
    assert [s.reference for s in (first, second, west, later)] == [
        "ELR-1920-001",
        "ELR-1920-002",
        "WL-1920-001",
        "ELR-2021-001",
    ]
    assert all(re.fullmatch(r"[A-Z]+-\d{4}-\d{3}", s.reference) for s in (first, later))


def test_each_changed_field_is_recorded_with_its_old_and_new_value(llr):
    lead = llr.user("elr", "project-lead")
    scheme = create(llr)
    new_sro = UserFactory(username="elr-sro-2", first_name="Asha", last_name="Patel")
    _, changes = services.scheme_update(
        scheme_id=scheme.pk,
        by=lead,
        data={
            "title": "PIFU in trauma and orthopaedics",
            "plan_m03": Decimal("8000.00"),
            "sro": new_sro,
            "description": scheme.description,  # unchanged: not recorded
        },
        expected_version=scheme.version,
    )
    recorded = {
        (c.field, c.old_value, c.new_value, c.changed_by)
        for c in SchemeChange.objects.filter(scheme=scheme)
    }
    assert recorded == {
        ("title", scheme.title, "PIFU in trauma and orthopaedics", lead),
        ("Jun (month 3)", "(£7,500)", "(£8,000)", lead),
        ("SRO", "ELR Sro", "Asha Patel", lead),
    }
    assert len(changes) == 3
    assert Scheme.objects.get(pk=scheme.pk).annual_plan == Decimal("180500.00")


def test_an_edit_that_changes_nothing_records_nothing(llr):
    scheme = create(llr)
    _, changes = services.scheme_update(
        scheme_id=scheme.pk,
        by=llr.user("elr", "project-lead"),
        data={"title": scheme.title, "plan_m01": Decimal("0.00")},
        expected_version=scheme.version,
    )
    assert changes == []
    assert not SchemeChange.objects.exists()
    assert Scheme.objects.get(pk=scheme.pk).version == scheme.version


def test_the_pid_cannot_be_changed_once_submitted(llr):
    lead = llr.user("elr", "project-lead")
    scheme = submit(create(llr))
    with pytest.raises(services.ActionRefused) as refused:
        edit(scheme, lead)
    assert refused.value.message == (
        "The PID can only be changed while it is a draft; it is now in confirm and challenge."
    )
    assert Scheme.objects.get(pk=scheme.pk).title == scheme.title
    assert not SchemeChange.objects.exists()
    assert AccessRefusal.objects.filter(user=lead, action="edit").exists()


def test_an_edit_cannot_set_the_state(llr):
    scheme = create(llr)
    services.scheme_update(
        scheme_id=scheme.pk,
        by=llr.user("elr", "project-lead"),
        data={"state": SchemeState.APPROVED, "title": "Forged"},
        expected_version=None,
    )
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.DRAFT


# --- who sees what ---


@pytest.mark.parametrize("org", ["elr", "wl"])
@pytest.mark.parametrize("slug", SLUGS)
def test_a_draft_is_seen_by_its_team_and_its_pmo_and_a_submission_by_the_whole_system(
    llr, org, slug
):
    draft = create(llr)
    submitted = submit(create(llr))
    user = llr.user(org, slug)
    sees_draft = f"{org}-{slug}" in DRAFT_VIEWERS
    assert policy.can_view_scheme(user, draft) is sees_draft
    assert policy.can_view_scheme(user, submitted) is True
    assert set(selectors.visible_schemes(user)) == (
        {draft, submitted} if sees_draft else {submitted}
    )


def test_the_clinical_and_finance_leads_see_their_draft(llr):
    clinical_lead = llr.user("elr", "clinical-reviewer")
    finance_lead = llr.user("wl", "finance-reviewer")
    draft = create(llr, clinical_lead=clinical_lead, finance_lead=finance_lead)
    assert policy.can_view_scheme(clinical_lead, draft)
    assert list(selectors.visible_schemes(finance_lead)) == [draft]


def test_nobody_of_another_system_sees_the_schemes_of_this_one(llr):
    notts = OrganisationFactory(code="NN", system=SystemFactory(code="NOT"))
    outsiders = [
        UserFactory(username=f"nn-{slug}", roles=[name], organisations=[notts])
        for name, slug in roles.ALL.items()
    ]
    schemes = [create(llr), submit(create(llr))]
    approved = elr_scheme(llr, SchemeState.APPROVED)
    for user in outsiders:
        assert not any(policy.can_view_scheme(user, s) for s in [*schemes, approved])
        assert not selectors.visible_schemes(user).exists()
