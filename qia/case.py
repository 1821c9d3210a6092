"""The case beside the decision: what a page on which someone judges a scheme shows beside its
form. The PID in brief, its savings plan and what the saving is worth (gross, recurrent, net of
investment, full-year effect: the Scheme's own figures), its documents, the last round of
confirm and challenge with the project team's answers, its QIA in brief and, once in delivery,
its figures to date. One assembly for every such page (the financial and clinical reviews,
panel scoring and agreement, both sign-offs, PMO assurance, QAG's decision), drawn by
templates/includes/case.html.

It lives in qia because the QIA summary does (qia reads governance, never the other way
round). The members' own panel scores come from qia.selectors.panel_scores_for, which applies
blind scoring: a scorer who has not scored sees none of them here either.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, Q, prefetch_related_objects

from governance import money
from governance.delivery import rating, schedule
from governance.models import MONTH_NAMES, Review, Scheme, SchemeDocument, SchemeState
from qia import selectors
from qia.models import QiaVersion, VersionStatus

# What the case shows of the scheme itself. The pages load a scheme with these already
# (governance.pages.SCHEME_RELATED); prefetching skips what is loaded and reads the rest once
# for all the schemes.
PID_RELATED = (
    "organisation",
    "financial_year",
    "programme_area",
    "area_of_spend",
    "project_lead",
    "sro",
    "finance_lead",
)


@dataclass
class QiaSummary:
    version: QiaVersion
    stage: str  # where the version is, in words: "At panel"
    rows: list[selectors.HeadingRow]  # the members' scores in them only if see_scores
    see_scores: bool
    at_panel_or_after: bool  # members may have scored it

    @property
    def scored(self) -> bool:
        """Whether any member's score is here (only ever where the user may see them)."""
        return any(row.scores for row in self.rows)

    @property
    def scores_differ(self) -> list[selectors.HeadingRow]:
        """The headings the members scored differently, each member's score to be shown."""
        return [row for row in self.rows if row.lowest != row.highest]

    @property
    def disagreements(self) -> list[selectors.HeadingRow]:
        """The headings where the members' scores lie SPREAD_BANDS or more apart."""
        return [row for row in self.rows if row.disagree]


@dataclass
class DeliveryToDate:
    as_at: str  # the month in words, "Jun 2019"; "" before any return is due
    rag: rating.Rag
    assured: Decimal  # the PMO assured values to date
    assured_months: int  # how many months of it are assured

    @property
    def variance(self) -> Decimal:
        """Year-to-date actual less plan in the papers' sign: positive is under-delivery."""
        return money.variance(self.rag.ytd_plan, self.rag.ytd_actual)


@dataclass
class Case:
    scheme: Scheme
    plan_rows: list[tuple[tuple[str, Decimal], tuple[str, Decimal]]]  # (Apr, Oct) .. (Sep, Mar)
    documents: list[SchemeDocument]
    round: int  # the latest submission whose confirm and challenge is over; 0 for none
    reviews: list[Review]  # of that round, with the project team's answers
    qia: QiaSummary | None
    delivery: DeliveryToDate | None


def case_for(user, scheme: Scheme, *, as_at_month: int | None = None) -> Case:
    """The case of one scheme as this user may see it (see cases_for)."""
    return cases_for(user, [scheme], as_at_month=as_at_month)[scheme.pk]


def cases_for(user, schemes, *, as_at_month: int | None = None) -> dict[int, Case]:
    """The case of each scheme as this user may see it, by scheme id. Delivery figures are as
    at `as_at_month` of the scheme's year, else as at its latest month whose returns are due.

    A fixed number of queries whatever the number of schemes, months, documents or reviews,
    and one more per scheme with a QIA: the blind-scoring check of the user's own scores."""
    schemes = list({scheme.pk: scheme for scheme in schemes}.values())
    prefetch_related_objects(
        schemes,
        *PID_RELATED,
        Prefetch("documents", queryset=SchemeDocument.objects.select_related("uploaded_by")),
        Prefetch("reviews", queryset=Review.objects.select_related("reviewer", "on_behalf_of")),
    )
    versions = selectors.newest_versions(schemes)
    selectors.load_contents(versions.values())
    delivery = _delivery_to_date(schemes, as_at_month)
    found = {}
    for scheme in schemes:
        closed = last_closed_round(scheme)
        plan = list(zip(MONTH_NAMES, scheme.plan, strict=True))
        found[scheme.pk] = Case(
            scheme=scheme,
            plan_rows=list(zip(plan[:6], plan[6:], strict=True)),
            documents=list(scheme.documents.all()),
            round=closed,
            reviews=[review for review in scheme.reviews.all() if review.round == closed],
            qia=_qia_summary(user, scheme, versions.get(scheme.pk)),
            delivery=delivery.get(scheme.pk),
        )
    return found


def last_closed_round(scheme: Scheme) -> int:
    """The latest submission whose confirm and challenge is over: while the reviewers are at
    this one, the one before it."""
    if scheme.state == SchemeState.CONFIRM_AND_CHALLENGE:
        return scheme.submission_round - 1
    return scheme.submission_round


def _qia_summary(user, scheme: Scheme, version: QiaVersion | None) -> QiaSummary | None:
    if version is None:
        return None
    panel = selectors.panel_scores_for(user, scheme, version)
    code, stage = selectors.stage(version, scheme)
    before_panel = code in (VersionStatus.SELF_ASSESSMENT, "submitted")
    return QiaSummary(version, stage, panel["rows"], panel["see_scores"], not before_panel)


def _delivery_to_date(schemes: list[Scheme], as_at_month: int | None) -> dict:
    """{scheme id: DeliveryToDate} for the schemes in delivery (or past it), in one query."""
    rated = [scheme for scheme in schemes if scheme.state in schedule.DELIVERY_STATES]
    if not rated:
        return {}
    returns = rating.returns_of(Q(scheme_id__in=[scheme.pk for scheme in rated]), 12)
    today = schedule.today_or(None)
    found = {}
    for scheme in rated:
        year = scheme.financial_year
        month = as_at_month if as_at_month is not None else schedule.reporting_month(year, today)
        to_date = {m: figures for m, figures in returns.get(scheme.pk, {}).items() if m <= month}
        assured = [figures[2] for figures in to_date.values() if figures[2] is not None]
        found[scheme.pk] = DeliveryToDate(
            as_at=schedule.month_label(year, month) if month else "",
            rag=rating.assess(scheme.plan, {m: f[:2] for m, f in to_date.items()}, month),
            assured=sum(assured, Decimal(0)),
            assured_months=len(assured),
        )
    return found
