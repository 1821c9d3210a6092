"""The calendar of monthly returns (DESIGN.md "Delivery tracking"): month names, the return
deadline, the reporting month, and which schemes owe a return for a month."""

from calendar import monthrange
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from governance.models import MONTH_NAMES, MONTHS, FinancialYear, Scheme, SchemeState

ZERO = Decimal("0")

# Returns are entered, corrected and assured, and the RAG rated, once delivery has started.
# A completed or stopped scheme keeps its returns and may still have a past month corrected
# while its year is open; once the year has closed they are final (monthly_returns).
DELIVERY_STATES = (SchemeState.IN_DELIVERY, SchemeState.COMPLETED, SchemeState.STOPPED)

# Schemes that count in the totals: every one of the year except those that never will deliver.
NOT_COUNTED = (SchemeState.REJECTED, SchemeState.WITHDRAWN)


def setting(name: str, default) -> Decimal:
    # read on every call, so a changed setting (or a test's override) takes effect at once
    return Decimal(str(getattr(settings, name, default)))


# --- the calendar of returns ---


def month_label(financial_year: FinancialYear, month: int) -> str:
    """'Jun 2019' for month 3 of 2019/20."""
    return f"{MONTH_NAMES[month - 1]} {financial_year.month_start(month).year}"


def month_end(financial_year: FinancialYear, month: int) -> date:
    start = financial_year.month_start(month)
    return start.replace(day=monthrange(start.year, start.month)[1])


def financial_month(financial_year: FinancialYear, day: date) -> int | None:
    """The financial month (1..12) of `day`, or None when it falls outside the year."""
    if not financial_year.start_date <= day <= financial_year.end_date:
        return None
    return (day.month - 4) % 12 + 1


def return_deadline(financial_year: FinancialYear, month: int) -> date:
    """The day a month's return is due: QIPP_RETURN_DEADLINE_DAY of the following month."""
    return _deadline(financial_year.month_start(month))


def _deadline(month_start: date) -> date:
    """The return deadline of the calendar month starting on month_start."""
    following = month_start.replace(day=monthrange(month_start.year, month_start.month)[1])
    following += timedelta(days=1)
    day = int(setting("QIPP_RETURN_DEADLINE_DAY", 10))
    last_day = monthrange(following.year, following.month)[1]
    return following.replace(day=max(1, min(day, last_day)))


def is_overdue(financial_year: FinancialYear, month: int, today: date) -> bool:
    # due "by" the deadline: late from the day after
    return today > return_deadline(financial_year, month)


def last_month(financial_year: FinancialYear, today: date) -> int | None:
    """The month before today's, when it is a month of this financial year."""
    return financial_month(financial_year, today.replace(day=1) - timedelta(days=1))


def reporting_month(financial_year: FinancialYear, today: date) -> int:
    """The latest month whose return deadline has passed (0 before the first one).

    The RAG is rated as at this month by default: a month whose returns are not due yet
    would otherwise show every scheme behind plan in the first days of each month.
    """
    for month in reversed(MONTHS):
        if is_overdue(financial_year, month, today):
            return month
    return 0


def latest_month_due(today: date) -> date:
    """The first day of the latest calendar month whose returns are due (deadline passed): the
    default "as at" month of every page that rates schemes. For any financial year,
    month_at(year, latest_month_due(today)) is reporting_month(year, today)."""
    last = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if today > _deadline(last):
        return last
    return (last - timedelta(days=1)).replace(day=1)


def month_at(financial_year: FinancialYear, as_at: date) -> int:
    """The year's month that calendar month `as_at` stands for: 0 before the year starts, 12
    after it ends (a scheme of a past year is rated on its whole year)."""
    if as_at < financial_year.start_date:
        return 0
    if as_at > financial_year.end_date:
        return 12
    return financial_month(financial_year, as_at)


def closes_on(financial_year: FinancialYear) -> date:
    """The day a financial year closes: the day after the return deadline of the April that
    follows it (11 May). Until then its March is the latest month whose returns are due, so
    the pages rate it, its late returns are escalated and QAG reads its figures; from then on a
    month of the next year is, and the year's figures are what its committee reported."""
    return _deadline(financial_year.end_date + timedelta(days=1)) + timedelta(days=1)


def first_open_year(as_at: date) -> int:
    """The start year of the financial year the calendar month `as_at` falls in: as at that
    month every earlier year has closed."""
    return as_at.year if as_at.month >= 4 else as_at.year - 1


def earliest_open_year(today: date) -> int:
    """The start year of the earliest financial year still open on `today`: the year of the
    latest month whose returns are due. Every year before it has closed (on its closes_on)."""
    return first_open_year(latest_month_due(today))


def year_closed(financial_year: FinancialYear, today: date) -> bool:
    return financial_year.start_year < earliest_open_year(today)


def current_year(today: date) -> FinancialYear | None:
    """The financial year containing today, else the latest one before it, else the first."""
    start_year = today.year if today.month >= 4 else today.year - 1
    years = FinancialYear.objects.order_by("-start_year")
    return years.filter(start_year__lte=start_year).first() or years.last()


def today_or(today: date | None) -> date:
    return today or timezone.localdate()


def owes_return(scheme: Scheme, month: int) -> bool:
    """Whether a scheme in delivery owes a return for a month: it had started by then."""
    return scheme.state == SchemeState.IN_DELIVERY and started_by(
        scheme.start_date, scheme.financial_year, month
    )


def started_by(start_date: date, financial_year: FinancialYear, month: int) -> bool:
    """Whether a scheme starting on start_date had started by the end of the year's month."""
    return start_date <= month_end(financial_year, month)


def day_text(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def start_of_day(value: date) -> datetime:
    """Midnight at the start of the day, in the site's time zone."""
    return timezone.make_aware(datetime.combine(value, time.min))
