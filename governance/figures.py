"""Every counted scheme's figures for a financial year, held in each process: the ledger.

The committee tables, their chart and the delivery dashboard all add up the same figures:
each counted scheme's monthly plan and its monthly returns. Summing them in the database for
every page was most of those pages' cost (docs/benchmarks.md), and they change far less often
than they are read: a transition changes a scheme's state, not its figures.

So each process keeps one Ledger a year, read under the token of the figures stamp. Database
triggers (migration 0009) give that stamp a new token whenever a transaction that added,
removed or changed a monthly return, or changed what a scheme counts (its plan, organisation,
year, areas, recovery flag, or whether it is rejected or withdrawn), commits; on PostgreSQL
at its commit, so that the stamp never holds a lock while the transaction waits for another.
A kept ledger is used only while the token is the same, so a page never shows figures older
than the database's.

Inside a transaction (a service, an import, a test) the ledger is read afresh and not kept:
it may hold changes that are not committed yet, under a token that does not say so.

Money is held as integer pence, as the SQL it replaces summed it: exact on SQLite too. What the
ledger works out for a month and a selection (Ledger.remember) is kept with it: the ledger
never changes once read. Read its figures, never change them.
"""

import threading
from dataclasses import dataclass

from django.db import connection

from governance.models import (
    MONTHS,
    PLAN_FIELDS,
    FinancialYear,
    MonthlyReturn,
    Scheme,
    SchemeState,
)
from governance.reference import stamp

STAMP = "figures"
# A scheme still in development is identified QIPP; a stopped one keeps its plan and actuals.
NOT_COUNTED = (SchemeState.REJECTED, SchemeState.WITHDRAWN)


def pence(pounds) -> int:
    """Pounds (a Decimal of at most two places, as the money fields hold) -> whole pence."""
    return int(pounds * 100)


@dataclass(frozen=True, slots=True)
class SchemeFigures:
    """One counted scheme's figures in pence. Indexed by month (1-12); index 0 is 'none yet'."""

    pk: int
    organisation_id: int
    programme_area_id: int
    area_of_spend_id: int
    is_recovery: bool
    plan: tuple[int, ...]  # each month's plan
    cumulative_plan: tuple[int, ...]  # months 1..m
    actual: tuple[int | None, ...]  # each month's actual; None: no return that month
    cumulative_actual: tuple[int, ...]  # actuals of months 1..m (0 with none)
    assured: tuple[int | None, ...]  # each month's PMO assured value, None where none
    cumulative_assured: tuple[int | None, ...]  # of months 1..m; None while none assured
    latest_forecast: tuple[int | None, ...]  # on the latest return at or before m that has one

    @property
    def annual_plan(self) -> int:
        return self.cumulative_plan[12]

    def returned(self, month: int) -> bool:
        return self.actual[month] is not None

    def forecast(self, month: int) -> int:
        """The forecast outturn as at `month`: the latest return's forecast, or without one the
        actuals to date plus the plan still to come."""
        latest = self.latest_forecast[month]
        if latest is not None:
            return latest
        return self.cumulative_actual[month] + self.annual_plan - self.cumulative_plan[month]


class Ledger:
    """The counted schemes of one financial year, and what has been worked out from them."""

    def __init__(self, year: FinancialYear, token: str | None, schemes: list[SchemeFigures]):
        self.year = year
        self.token = token
        self.schemes = schemes
        self.by_pk = {s.pk: s for s in schemes}
        self._kept: dict = {}
        self._lock = threading.Lock()

    def remember(self, key, work):
        """work(), kept under `key` for as long as this ledger is in use."""
        try:
            return self._kept[key]
        except KeyError:
            pass
        value = work()
        with self._lock:
            return self._kept.setdefault(key, value)

    def of(self, organisation_ids) -> list[SchemeFigures]:
        """The schemes of these organisations (kept: the same few selections come back)."""
        wanted = frozenset(organisation_ids)
        return self.remember(
            ("of", wanted), lambda: [s for s in self.schemes if s.organisation_id in wanted]
        )


def _read(year: FinancialYear, token: str | None) -> Ledger:
    """Two queries: the year's counted schemes, and their returns."""
    counted = Scheme.objects.filter(financial_year=year).exclude(state__in=NOT_COUNTED)
    rows = counted.order_by().values_list(
        "pk",
        "organisation_id",
        "programme_area_id",
        "area_of_spend_id",
        "is_recovery",
        *PLAN_FIELDS,
    )
    returns: dict[int, list] = {}
    for scheme_id, month, actual, forecast, assured in (
        MonthlyReturn.objects.filter(scheme__financial_year=year)
        .order_by()
        .values_list("scheme_id", "month", "actual", "forecast_outturn", "pmo_assured")
    ):
        returns.setdefault(scheme_id, []).append((month, actual, forecast, assured))
    schemes = []
    for pk, organisation_id, programme_area_id, area_of_spend_id, is_recovery, *plan in rows:
        plan = (0, *(pence(p) for p in plan))
        actual = [None] * 13
        assured = [None] * 13
        forecast = [None] * 13
        for month, value, outturn, assured_value in returns.get(pk, ()):
            actual[month] = pence(value)
            forecast[month] = None if outturn is None else pence(outturn)
            assured[month] = None if assured_value is None else pence(assured_value)
        cumulative_plan, cumulative_actual = [0], [0]
        cumulative_assured, latest_forecast = [None], [None]
        for month in MONTHS:
            cumulative_plan.append(cumulative_plan[-1] + plan[month])
            cumulative_actual.append(cumulative_actual[-1] + (actual[month] or 0))
            if assured[month] is None:
                cumulative_assured.append(cumulative_assured[-1])
            else:
                cumulative_assured.append((cumulative_assured[-1] or 0) + assured[month])
            latest_forecast.append(
                latest_forecast[-1] if forecast[month] is None else forecast[month]
            )
        schemes.append(
            SchemeFigures(
                pk=pk,
                organisation_id=organisation_id,
                programme_area_id=programme_area_id,
                area_of_spend_id=area_of_spend_id,
                is_recovery=is_recovery,
                plan=plan,
                cumulative_plan=tuple(cumulative_plan),
                actual=tuple(actual),
                cumulative_actual=tuple(cumulative_actual),
                assured=tuple(assured),
                cumulative_assured=tuple(cumulative_assured),
                latest_forecast=tuple(latest_forecast),
            )
        )
    return Ledger(year, token, schemes)


_held: dict[int, Ledger] = {}


def ledger(year: FinancialYear, *, fresh: bool = False) -> Ledger:
    """The counted schemes of `year` with their figures, as the database holds them now."""
    if connection.in_atomic_block:
        return _read(year, None)
    token = stamp(STAMP)
    held = _held.get(year.pk)
    if fresh or held is None or token is None or held.token != token:
        # without a stamp (a database emptied by the tests) nothing can be kept
        held = _read(year, token)
        if token is not None:
            _held[year.pk] = held
    return held
