"""Takes one demo scheme from a new PID to its state through the services users drive (the
PID, confirm and challenge, the QIA's self-assessment, panel and sign-off, delivery), so its
history is real."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from demo.data import DEFAULT_ANSWER, DEFAULT_CONCERN, PANEL, PROFILE, SUPPORTED, S, Spec
from governance import services
from governance.delivery import lifecycle, monthly_returns, schedule
from governance.models import (
    PLAN_FIELDS,
    RECURRENT_FIELDS,
    Recurrence,
    Scheme,
    User,
)
from notifications import escalations, sweep
from notifications.models import ACTIVE, Decision, Escalation, Rule
from qia import services as qia
from qia.models import Heading
from qia.policy import newest_version


class Builder:
    """Takes one demo scheme from a new PID to its state, as its organisation's people."""

    def __init__(self, spec: Spec, index: int, ref: dict, users: dict):
        self.spec = spec
        self.index = index  # varies the reviewers' wording and the order of the two reviews
        self.ref = ref
        self.users = users
        self.scheme: Scheme | None = None

    def who(self, slug: str) -> User:
        return self.users[f"{self.spec.org.lower()}-{slug}"]

    def build(self) -> None:
        spec = self.spec
        self.create()
        if spec.state == S.DRAFT and not spec.returned_by:
            return
        self.submit()
        if spec.returned_by:
            self.review(spec.returned_by, "revise", spec.challenge)
            if spec.state == S.DRAFT:
                return  # waiting for the project lead to answer
            self.resubmit()
        if spec.state == S.CONFIRM_AND_CHALLENGE:
            if spec.first_review:
                self.review(spec.first_review, "supported")
            return
        if spec.withdrawn_at == S.CONFIRM_AND_CHALLENGE:
            self.withdraw(self.who("sro"))
            return
        if spec.rejected_by in ("finance", "clinical"):
            other = "clinical" if spec.rejected_by == "finance" else "finance"
            self.review(other, "supported")
            self.review(spec.rejected_by, "not_supported", f"Not supported. {spec.note}")
            return
        # both reviews supported, in either order
        first, second = ("finance", "clinical") if self.index % 2 else ("clinical", "finance")
        self.review(first, "supported")
        self.review(second, "supported")
        self.panel()

    def panel(self) -> None:
        """The QIA panel scores, agrees (or dismisses), and the two signatories sign off."""
        spec = self.spec
        version = newest_version(self.scheme)
        if spec.state == S.QIA_PANEL:
            # the scores of those not in spec.scored are still to come
            for slug in spec.scored:
                self.score(version, slug)
            return
        if spec.withdrawn_at == S.QIA_PANEL:
            self.withdraw(self.who("sro"))
            return
        for slug in PANEL:
            self.score(version, slug)
        if spec.rejected_by == "panel":
            qia.panel_close(
                version_id=version.pk,
                by=self.who("quality-lead"),
                decision="dismiss",
                reason=spec.note,
            )
            return
        qia.panel_agree(
            version_id=version.pk,
            by=self.who("quality-lead"),
            headings=self.assessment(),
            mitigations=self.mitigations(),
        )
        if spec.state == S.AWAITING_SIGN_OFF and not spec.half_signed:
            return
        self.sign_off(version, "chief-nurse", "chief_nurse")
        if spec.state == S.AWAITING_SIGN_OFF:
            return
        self.sign_off(version, "clinical-chair", "clinical_chair")
        if spec.state in (S.APPROVED, S.AWAITING_QAG):
            return
        self.deliver()

    def deliver(self) -> None:
        spec = self.spec
        lifecycle.scheme_start_delivery(
            scheme_id=self.scheme.pk,
            by=self.who("pmo"),
            expected_version=None,
            comment="Delivery starts; monthly returns from the finance lead.",
        )
        self.returns()
        if spec.state == S.IN_DELIVERY:
            # the rules run now rather than once the demo commits: its escalations are there
            # with it, and their mail goes with the rest of the demo's
            sweep.sweep(scheme_ids=[self.scheme.pk])
            if spec.to_qag:
                self.raise_to_qag(spec.to_qag)
        elif spec.state == S.COMPLETED:
            plan = self.scheme.annual_plan
            saved = sum(self.scheme.returns.values_list("actual", flat=True), Decimal(0))
            lifecycle.scheme_complete(
                scheme_id=self.scheme.pk,
                by=self.who("pmo"),
                expected_version=None,
                delivered=f"Saved £{saved:,.0f} against a plan of £{plan:,.0f}; recurrent.",
                lessons="Early engagement with practices and providers made the difference.",
            )
        elif spec.state == S.STOPPED:
            self.stop_by_qag()

    def raise_to_qag(self, note: str) -> Escalation | None:
        """The PMO raises the scheme's live escalation, off track rather than any other, to
        QAG. None when it has none: early in May no return of the year is due yet."""
        live = Escalation.objects.filter(scheme=self.scheme, status__in=ACTIVE)
        escalation = live.filter(rule=Rule.OFF_TRACK).first() or live.first()
        if escalation is None:
            return None
        return escalations.escalation_raise_to_qag(
            escalation_id=escalation.pk, by=self.who("pmo"), note=note
        )

    def stop_by_qag(self) -> None:
        """As it happens in the product: the rules find the scheme off track, the PMO raises
        the escalation to QAG, and QAG decides to stop the scheme at its meeting (today's)."""
        # a closed year's scheme is no longer swept: its escalation is raised as on the last
        # day its year was open (last year's stopped schemes)
        closes = schedule.closes_on(self.scheme.financial_year)
        now = min(timezone.now(), schedule.start_of_day(closes) - timedelta(minutes=1))
        sweep.sweep(scheme_ids=[self.scheme.pk], now=now)
        escalation = self.raise_to_qag("Behind plan with no prospect of recovery in year.")
        escalations.escalation_decide(
            escalation_id=escalation.pk,
            by=self.who("qag-member"),
            decision=Decision.STOP,
            note=self.spec.note,
            meeting=timezone.localdate(),
        )

    # --- the steps ---

    def create(self) -> None:
        spec = self.spec
        year = self.ref["years"][spec.year]
        plan = [(Decimal(spec.monthly) * factor).quantize(Decimal("1")) for factor in PROFILE]
        if spec.recovery:  # added in-year: saves from month 6 only
            plan = [amount if month >= 6 else Decimal(0) for month, amount in enumerate(plan, 1)]
        recurrent = {}  # the recurrent part of each month, given for a mixed saving only
        if spec.recurrent == 1:
            recurrence = Recurrence.RECURRENT
        elif spec.recurrent == 0:
            recurrence = Recurrence.NON_RECURRENT
        else:
            recurrence = Recurrence.MIXED
            parts = [(amount * spec.recurrent).quantize(Decimal("1")) for amount in plan]
            recurrent = dict(zip(RECURRENT_FIELDS, parts, strict=True))
        self.scheme = services.scheme_create(
            by=self.who("project-lead"),
            data={
                "title": spec.title,
                "description": spec.description,
                "organisation": self.ref["orgs"][spec.org],
                "financial_year": year,
                "programme_area": self.ref["areas"][spec.programme_area],
                "area_of_spend": self.ref["spend"][spec.area_of_spend],
                "scheme_type": spec.scheme_type,
                "is_recovery": spec.recovery,
                "project_lead": self.who("project-lead"),
                "sro": self.who("sro"),
                # the finance lead enters the monthly returns
                "finance_lead": self.who("finance-lead"),
                "start_date": year.month_start(6 if spec.recovery else 1),
                **dict(zip(PLAN_FIELDS, plan, strict=True)),
                "recurrence": recurrence,
                **recurrent,
                "cash_releasing": spec.cash_releasing,
                "investment_one_off": Decimal(spec.investment_one_off),
                "investment_recurring": Decimal(spec.investment_recurring),
            },
        )
        qia.self_assessment_save(
            scheme_id=self.scheme.pk,
            by=self.who("project-lead"),
            headings=self.assessment(),
            equality_impact="no",
            equality_rationale="The change applies to every patient on the pathway alike; "
            "access for people with a protected characteristic is unchanged.",
            mitigations=self.mitigations(),
        )

    def submit(self) -> None:
        services.scheme_submit(
            scheme_id=self.scheme.pk,
            by=self.who("project-lead"),
            expected_version=None,
            comment="Submitted for confirm and challenge.",
        )

    def resubmit(self) -> None:
        scheme = Scheme.objects.get(pk=self.scheme.pk)
        answers = {
            review.pk: self.spec.answer or DEFAULT_ANSWER
            for review in services.reviews_awaiting_response(scheme)
        }
        services.scheme_submit(
            scheme_id=scheme.pk,
            by=self.who("project-lead"),
            expected_version=None,
            comment="Resubmitted with the reviewer's points answered.",
            responses=answers,
        )

    def review(self, kind: str, decision: str, comment: str = "") -> None:
        pool = SUPPORTED[kind]
        services.scheme_review(
            scheme_id=self.scheme.pk,
            by=self.who(f"{kind}-reviewer"),
            kind=kind,
            decision=decision,
            comment=comment or pool[self.index % len(pool)],
            expected_version=None,
        )

    def withdraw(self, by: User) -> None:
        services.scheme_withdraw(
            scheme_id=self.scheme.pk, by=by, reason=self.spec.note, expected_version=None
        )

    def mitigations(self) -> list[dict]:
        """The action against the one negative heading (patient experience), with its owner
        and due date, as a complete self-assessment and an agreed QIA need."""
        return [
            {
                "heading": Heading.PATIENT_EXPERIENCE,
                "description": "Patients are told of the change by letter and by their GP; "
                "their feedback is reviewed monthly at the quality meeting.",
                "owner": self.who("project-lead").get_full_name(),
                "due_date": self.ref["years"][self.spec.year].month_start(3),
            }
        ]

    def assessment(self, shift: int = 0) -> dict[str, dict]:
        """The QIA's six headings: one negative (scored), the rest none or positive.

        `shift` moves the likelihood, for a panel member who rates the risk a little higher.
        """
        consequence, likelihood = self.spec.risk
        return {
            Heading.PATIENT_SAFETY: {
                "impact": "none",
                "rationale": "The clinical pathway and its safety-netting are unchanged.",
            },
            Heading.CLINICAL_EFFECTIVENESS: {
                "impact": "positive",
                "rationale": "Care follows the evidence-based pathway more consistently.",
            },
            Heading.PATIENT_EXPERIENCE: {
                "impact": "negative",
                "consequence": consequence,
                "likelihood": min(5, likelihood + shift),
                "rationale": self.spec.concern or DEFAULT_CONCERN,
            },
            Heading.ORGANISATIONAL_REPUTATION: {
                "impact": "none",
                "rationale": "Discussed with Healthwatch; no concerns raised.",
            },
            Heading.EVIDENCE_BASE: {
                "impact": "positive",
                "rationale": "Follows NICE guidance and the RightCare benchmarks.",
            },
            Heading.RESOURCES: {
                "impact": "positive",
                "rationale": "Releases the saving in the plan without new posts.",
            },
        }

    def score(self, version, slug: str) -> None:
        # the first panel member rates the risk a little higher than the others
        shift = 1 if slug == "panel-member" else 0
        qia.panel_score_record(
            version_id=version.pk, by=self.who(slug), headings=self.assessment(shift)
        )

    def sign_off(self, version, slug: str, capacity: str) -> None:
        qia.sign_off_record(
            version_id=version.pk,
            by=self.who(slug),
            decision="approved",
            capacity=capacity,
            comment="Mitigations are proportionate to the risk; approved.",
        )

    def months_returned(self) -> int:
        """How many months have a return: a past year's scheme, every month until it was
        closed or stopped; one in delivery, up to last month, or, if late, not the month
        whose deadline passed last (nor any after it)."""
        spec = self.spec
        if spec.state != S.IN_DELIVERY:
            return spec.months
        year, today = self.scheme.financial_year, timezone.localdate()
        if spec.late:
            return schedule.reporting_month(year, today) - 1
        return schedule.last_month(year, today) or 0

    def returns(self) -> None:
        """Monthly returns from the first planned month, entered by the finance lead.

        The PMO has assured all but the latest two of a scheme in delivery, so there is
        still assurance to do.
        """
        spec = self.spec
        scheme = Scheme.objects.get(pk=self.scheme.pk)
        plan = scheme.plan
        first = next(m for m, amount in enumerate(plan, 1) if amount)
        upto = self.months_returned()
        saved = Decimal(0)
        # the rules run once, on the scheme as it ends up (deliver()): after each of a year's
        # returns entered today, the later months would look overdue
        with monthly_returns.hooks_paused():
            for month in range(first, upto + 1):
                # a little noise, -2% to +2%, so the months do not all look alike
                wobble = Decimal(98 + (month * 7) % 5) / 100
                actual = (plan[month - 1] * spec.delivery * wobble).quantize(Decimal("1"))
                saved += actual
                # the forecast: what is saved so far, plus the rest of the plan at this pace
                rest = sum(plan[month:], Decimal(0)) * spec.delivery
                monthly_returns.return_save(
                    scheme_id=scheme.pk,
                    month=month,
                    by=self.who("finance-lead"),
                    actual=actual,
                    forecast_outturn=saved + rest.quantize(Decimal("1")),
                    commentary=spec.lag if spec.delivery < 1 else "On plan.",
                )
                if spec.state != S.IN_DELIVERY or month <= upto - 2:
                    monthly_returns.return_assure(
                        scheme_id=scheme.pk, month=month, by=self.who("pmo"), value=actual
                    )
