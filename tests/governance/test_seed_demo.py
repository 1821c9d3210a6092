from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_fsm_log.models import StateLog

from demo.data import LAST, NEXT, THIS, start_years
from governance import roles
from governance.delivery import rating, schedule
from governance.models import (
    AreaOfSpend,
    FinancialYear,
    Membership,
    MonthlyReturn,
    Organisation,
    ProgrammeArea,
    QippTarget,
    Review,
    Scheme,
    SchemeChange,
    SchemeState,
    System,
    User,
)
from governance.selectors import judged_by_own_team
from notifications.models import Notification
from qia.models import Assessment, PanelScore, Qia, QiaVersion, Route, SignOff, VersionStatus
from qia.policy import newest_version

MODELS = [
    System,
    Organisation,
    FinancialYear,
    ProgrammeArea,
    AreaOfSpend,
    QippTarget,
    User,
    Membership,
    User.groups.through,
    Scheme,
    Review,
    StateLog,
    MonthlyReturn,
    SchemeChange,
    Notification,
    QiaVersion,
    Assessment,
    PanelScore,
    SignOff,
]
ORGS = ["elr", "wl", "lc"]
GROUP_OF = {slug: name for name, slug in roles.ALL.items()} | {"panel-member-2": roles.PANEL_MEMBER}
SLUGS = list(GROUP_OF)


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in MODELS}


def months_returned(scheme: Scheme) -> int:
    return max(scheme.returns.values_list("month", flat=True), default=0)


def history(scheme: Scheme) -> list[tuple[str, str, str, str]]:
    logs = StateLog.objects.for_(scheme).order_by("timestamp", "pk")
    return [(log.transition, log.source_state, log.state, log.by.username) for log in logs]


@pytest.mark.django_db
def test_running_it_twice_creates_nothing_new():
    seed()
    first = counts()
    output = seed()
    assert counts() == first
    assert first["governance.Scheme"] >= 28
    # one per role, and a finance lead without one, in each organisation; and admin
    assert first["governance.User"] == 3 * (len(SLUGS) + 1) + 1
    assert "Schemes created by this run: 0." in output


@pytest.mark.django_db
def test_the_password_option_changes_every_password_and_a_rerun_resets_it(client):
    seed(password="another-secret")
    assert client.login(username="wl-sro", password="another-secret")
    assert client.login(username="admin", password="another-secret")
    assert not client.login(username="wl-sro", password="qipp-demo")
    seed()
    assert client.login(username="wl-sro", password="qipp-demo")
    assert not client.login(username="wl-sro", password="another-secret")


@pytest.mark.django_db
def test_it_prints_the_users_the_password_and_the_counts():
    output = seed(password="s3cret-demo")
    assert "Demo users, each with the password: s3cret-demo" in output
    for username in ["admin", "elr-project-lead", "lc-panel-member-2", "wl-viewer"]:
        assert f"  {username} " in output
    assert "Schemes created by this run: 36." in output
    assert "monthly returns" in output


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for the read-only tests of a class and rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        seed()
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
class TestTheDemo:
    def test_the_schemes_cover_every_state(self):
        states = set(Scheme.objects.values_list("state", flat=True))
        assert states == set(SchemeState.values)

    def test_a_demo_user_signs_in_with_the_default_password(self, client):
        assert client.login(username="elr-project-lead", password="qipp-demo")
        assert client.get("/").status_code == 200

    def test_admin_is_a_superuser_who_reaches_the_admin_site(self, client):
        admin = User.objects.get(username="admin")
        assert admin.is_staff and admin.is_superuser
        client.login(username="admin", password="qipp-demo")
        assert client.get("/admin/").status_code == 200

    def test_every_organisation_has_one_user_per_role(self):
        for org in ORGS:
            organisation = Organisation.objects.get(code=org.upper())
            assert organisation.system.code == "LLR"
            for slug in SLUGS:
                user = User.objects.get(username=f"{org}-{slug}")
                assert list(user.groups.values_list("name", flat=True)) == [GROUP_OF[slug]]
                assert list(user.organisations.all()) == [organisation]
                assert user.email == f"{org}-{slug}@example.nhs.uk"
                assert user.profession and user.first_name and user.last_name
            # the schemes' finance lead, who enters their returns, judges none of them
            finance_lead = User.objects.get(username=f"{org}-finance-lead")
            assert not finance_lead.groups.exists()

    def test_each_panel_has_three_professions(self):
        for org in ORGS:
            panel = User.objects.filter(
                username__in=[f"{org}-quality-lead", f"{org}-panel-member", f"{org}-panel-member-2"]
            )
            assert len({user.profession for user in panel}) == 3

    def test_the_elr_target_for_this_year_is_six_percent(self):
        this_year = start_years(timezone.localdate())[THIS]
        target = QippTarget.objects.get(
            organisation__code="ELR", financial_year__start_year=this_year
        )
        assert target.target_percent == Decimal("6.0")
        assert QippTarget.objects.count() == 9

    def test_a_returned_scheme_was_answered_and_resubmitted(self, client):
        scheme = Scheme.objects.get(title="MSK pathway redesign")
        assert scheme.state == SchemeState.CONFIRM_AND_CHALLENGE
        returned = scheme.reviews.get(round=1)
        assert returned.decision == "revise"
        assert returned.response.startswith("Baseline activity")
        assert [step[:3] for step in history(scheme)] == [
            ("submit", "draft", "confirm_and_challenge"),
            ("finance_review", "confirm_and_challenge", "draft"),
            ("submit", "draft", "confirm_and_challenge"),
        ]
        client.login(username="elr-finance-reviewer", password="qipp-demo")
        page = client.get(scheme.get_absolute_url()).content.decode()
        assert "Confirm and challenge → Draft" in page
        assert "Baseline activity" in page

    def test_some_schemes_wait_in_confirm_and_challenge_with_one_review(self):
        waiting = Scheme.objects.filter(state=SchemeState.CONFIRM_AND_CHALLENGE)
        kinds = {
            tuple(s.reviews.filter(round=s.submission_round).values_list("kind", flat=True))
            for s in waiting
        }
        assert ("finance",) in kinds
        assert ("clinical",) in kinds

    def test_a_scheme_in_delivery_has_a_history_from_draft(self):
        scheme = Scheme.objects.get(title="Outpatient follow-up reduction")
        steps = history(scheme)
        assert [(t, src, dst) for t, src, dst, _by in steps][3:] == [
            ("panel_agree", "qia_panel", "awaiting_sign_off"),
            ("sign_off", "awaiting_sign_off", "awaiting_sign_off"),
            ("sign_off", "awaiting_sign_off", "approved"),
            ("start_delivery", "approved", "in_delivery"),
        ]
        assert [by for *_rest, by in steps] == [
            "elr-project-lead",
            "elr-finance-reviewer",
            "elr-clinical-reviewer",
            "elr-quality-lead",
            "elr-chief-nurse",
            "elr-clinical-chair",
            "elr-pmo",
        ]
        # each step starts where the one before ended
        assert all(a[2] == b[1] for a, b in zip(steps, steps[1:], strict=False))
        assert steps[0][1] == SchemeState.DRAFT
        assert steps[-1][2] == scheme.state

    def test_schemes_past_the_panel_carry_a_signed_off_qia(self):
        signed = [SchemeState.APPROVED, SchemeState.IN_DELIVERY, SchemeState.COMPLETED]
        past_the_panel = Scheme.objects.filter(state__in=[*signed, SchemeState.STOPPED])
        # a scheme carried on from last year has no QIA of its own: the scheme it carries on
        # was assessed and signed off (demo/carried.py)
        for scheme in past_the_panel.filter(carried_from__isnull=True):
            version = newest_version(scheme)
            assert version.status == VersionStatus.SIGNED_OFF, scheme
            assert version.sign_offs.count() == 2
            professions = set(version.panel_scores.values_list("profession", flat=True))
            assert len(professions) == 3
            assert version.overall_score and version.review_date

    def test_schemes_on_the_way_show_the_qia_part_done(self):
        # one panel has begun scoring, blind; the others wait for every member's scores
        at_panel = Scheme.objects.filter(state=SchemeState.QIA_PANEL)
        scorers = sorted(
            newest_version(s).panel_scores.values("member").distinct().count() for s in at_panel
        )
        assert scorers == [0, 0, 0, 1]
        awaiting = Scheme.objects.filter(state=SchemeState.AWAITING_SIGN_OFF)
        signatures = sorted(newest_version(s).sign_offs.count() for s in awaiting)
        assert signatures == [0, 0, 0, 1]
        dismissed = Scheme.objects.get(title="Closure of a minor injuries unit")
        assert dismissed.state == SchemeState.REJECTED
        assert newest_version(dismissed).status == VersionStatus.DISMISSED

    def test_closed_schemes_were_closed_by_the_pmo_or_stopped_by_qag(self):
        for scheme in Scheme.objects.filter(state=SchemeState.COMPLETED):
            assert scheme.closure_delivered and scheme.closure_lessons
            assert history(scheme)[-1][0::3] == (
                "complete",
                f"{scheme.organisation.code.lower()}-pmo",
            )
        for scheme in Scheme.objects.filter(state=SchemeState.STOPPED):
            assert scheme.stop_decision
            stop = history(scheme)[-1]
            assert stop[0::3] == ("stop", f"{scheme.organisation.code.lower()}-qag-member")
            # through a QAG decision on an escalation raised to QAG, as in the product
            decided = scheme.escalations.get(decision="stop")
            assert decided.level == "qag" and decided.decision_meeting is not None
            assert decided.raised_to_qag_by.username.endswith("-pmo")

    def test_schemes_in_delivery_have_returns_on_and_off_track(self):
        in_delivery = Scheme.objects.filter(state=SchemeState.IN_DELIVERY)
        rags = {s.title: rating.rag(s, max(months_returned(s), 1)).status for s in in_delivery}
        assert rags["CHC care package review"] == rating.RED
        assert rags["Outpatient follow-up reduction"] == rating.GREEN
        for scheme in in_delivery:
            entered = set(scheme.returns.values_list("entered_by", flat=True))
            assert entered <= {scheme.finance_lead_id}
            assert scheme.finance_lead.username.endswith("-finance-lead")
            # the PMO has assured all but the latest two months
            latest = months_returned(scheme)
            unassured = scheme.returns.filter(pmo_assured__isnull=True)
            assert set(unassured.values_list("month", flat=True)) == {
                m for m in (latest - 1, latest) if scheme.returns.filter(month=m).exists()
            }

    def test_this_years_schemes_have_returns_up_to_last_month_but_the_late_one(self):
        today = timezone.localdate()
        for scheme in Scheme.objects.filter(state=SchemeState.IN_DELIVERY):
            year = scheme.financial_year
            assert year.start_year == start_years(today)[THIS]
            first = schedule.financial_month(year, scheme.start_date)
            expected = schedule.last_month(year, today)
            if scheme.title == "Elective referral management":  # late on purpose
                expected = schedule.reporting_month(year, today) - 1
            months = list(scheme.returns.order_by("month").values_list("month", flat=True))
            assert months == list(range(first, expected + 1)), scheme.title

    def test_last_years_schemes_are_closed_with_their_returns(self):
        last_year = start_years(timezone.localdate())[LAST]
        closed = Scheme.objects.filter(financial_year__start_year=last_year)
        assert set(closed.values_list("state", flat=True)) == {
            SchemeState.COMPLETED,
            SchemeState.STOPPED,
        }
        for scheme in closed.filter(state=SchemeState.COMPLETED):
            assert scheme.returns.count() == 12
            assert not scheme.returns.filter(pmo_assured__isnull=True).exists()

    def test_next_years_plan_is_still_being_decided(self):
        next_year = start_years(timezone.localdate())[NEXT]
        planned = Scheme.objects.filter(financial_year__start_year=next_year)
        assert set(planned.values_list("state", flat=True)) == {
            SchemeState.DRAFT,
            SchemeState.CONFIRM_AND_CHALLENGE,
            SchemeState.QIA_PANEL,
            SchemeState.AWAITING_SIGN_OFF,
            SchemeState.AWAITING_QAG,
            SchemeState.APPROVED,
            SchemeState.WITHDRAWN,
        }
        assert not MonthlyReturn.objects.filter(scheme__in=planned).exists()

    def test_lcs_large_scheme_waits_for_qag_on_the_route_its_rule_chose(self):
        scheme = Scheme.objects.get(title="Acute length of stay programme")
        assert scheme.state == SchemeState.AWAITING_QAG
        assert scheme.qia.route == Route.QAG_APPROVAL
        assert scheme.qia.route_reason.startswith('Rule "Large schemes go to QAG" of LC')
        # every other scheme of the demo is on the usual route
        others = Qia.objects.exclude(scheme=scheme).exclude(route=Route.TWO_SIGN_OFFS)
        assert not others.exists()

    def test_nobody_judged_their_own_scheme(self):
        for scheme in Scheme.objects.all():
            assert judged_by_own_team(scheme) == [], scheme.reference

    def test_nothing_before_delivery_has_returns(self):
        early = Scheme.objects.exclude(
            state__in=[SchemeState.IN_DELIVERY, SchemeState.COMPLETED, SchemeState.STOPPED]
        )
        assert not MonthlyReturn.objects.filter(scheme__in=early).exists()
