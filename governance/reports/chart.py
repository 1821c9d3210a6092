"""The chart: cumulative plan, actual, forecast and assured value by month, drawn by a
template from the lines and ticks computed here."""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.db.models import F, Sum

from governance.models import (
    MONTH_NAMES,
    FinancialYear,
    MonthlyReturn,
)
from governance.reports import parts, queries
from governance.reports.parts import DEFAULT_SCOPES, ZERO, Scope

# --- the chart: cumulative plan, actual, forecast and assured value by month ---


@dataclass
class Series:
    name: str
    points: list[tuple[int, Decimal]]  # (month, cumulative pounds saved)
    colour: str
    dashed: bool = False


def chart(
    year: FinancialYear, month: int, system_ids=None, scope: Scope = DEFAULT_SCOPES["summary"]
) -> list[Series]:
    """Cumulative savings by month for the selection, savings positive: three queries. It
    counts the schemes its summary table counts (`scope`).

    The forecast runs from the actuals to date to the forecast outturn at month 12, spread over
    the remaining months in proportion to their plan (evenly where there is no plan left).
    """
    schemes = queries.counted_schemes(year, scope, system_ids)
    plan_row = schemes.filter(is_recovery=False).aggregate(
        **{f"m{m}": Sum(queries.plan_pence([m])) for m in range(1, 13)}
    )
    plan = [queries.pounds(plan_row[f"m{m}"]) for m in range(1, 13)]
    delivered = (
        MonthlyReturn.objects.filter(scheme__in=schemes, month__lte=month)
        .values("month")
        .annotate(
            actual=Sum(queries.pence(F("actual"))), assured=Sum(queries.pence(F("pmo_assured")))
        )
        .order_by()
    )
    actual = {r["month"]: queries.pounds(r["actual"]) for r in delivered}
    assured = {r["month"]: r["assured"] for r in delivered}
    outturn = queries.total(
        queries.scheme_figures(year, month, scope, by=None, system_ids=system_ids).values()
    )

    def cumulative(values):
        running, points = ZERO, []
        for m, v in values:
            running += v
            points.append((m, running))
        return points

    plan_points = cumulative(zip(range(1, 13), plan, strict=True))
    actual_points = cumulative((m, actual.get(m, ZERO)) for m in range(1, month + 1))
    # the assured line stops at the last month the PMO has assured anything
    assured_to = max((m for m, v in assured.items() if v is not None), default=0)
    assured_points = cumulative(
        (m, queries.pounds(assured.get(m))) for m in range(1, assured_to + 1)
    )
    to_date = actual_points[-1][1]
    remaining_plan = plan[month:]
    still_to_come = outturn.forecast - to_date
    forecast_points = [(month, to_date if remaining_plan else outturn.forecast)]
    running = to_date
    for offset, planned in enumerate(remaining_plan, start=1):
        if sum(remaining_plan):
            running += still_to_come * planned / sum(remaining_plan)
        else:
            running += still_to_come / len(remaining_plan)
        forecast_points.append((month + offset, running))
    series = [
        Series("Plan", plan_points, "#005eb8"),
        Series("Actual", actual_points, "#007f3b"),
        Series("Forecast", forecast_points, "#ed8b00", dashed=True),
    ]
    if assured_points:
        series.append(Series("PMO assured", assured_points, "#7c2855"))
    return series


def _tick_step(span: Decimal) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving at most five intervals."""
    magnitude = Decimal(10) ** (len(str(int(span / 5))) - 1)
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if magnitude * factor * 5 >= span:
            return magnitude * factor
    return magnitude * 10


@dataclass
class ChartLine:
    name: str
    colour: str
    dashed: bool
    points: str  # "x,y x,y ..." for the polyline
    key_x: int  # where its entry in the key starts


@dataclass
class ChartTick:
    y: str
    label: str  # £'000


@dataclass
class Chart:
    """Where each line, tick and label of the chart goes, in the SVG's own units, for
    templates/reports/_chart.html to draw: no script, nothing fetched."""

    title: str
    width: int
    height: int
    left: int  # the plot's left edge
    right: int  # and its right edge
    plot_top: int
    plot_bottom: int
    ticks: list[ChartTick]
    months: list[tuple[str, str]]  # (x, name)
    lines: list[ChartLine]

    @property
    def middle(self) -> str:
        """Half way down the plot, where the axis title goes."""
        return f"{(self.plot_top + self.plot_bottom) / 2:.0f}"


def chart_drawing(series: list[Series], *, title: str) -> Chart:
    """The chart of `series`: the axis runs from tick to tick, about five ticks of a round
    step, months along the bottom."""
    width, height = 720, 300
    left, right, top, bottom = 70, 20, 20, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for _m, v in s.points]
    highest, lowest = max([Decimal(5000), *values]), min([ZERO, *values])
    step = _tick_step(highest - lowest)
    top_value = (highest / step).to_integral_value(rounding=ROUND_CEILING) * step
    bottom_value = (lowest / step).to_integral_value(rounding=ROUND_FLOOR) * step
    span = top_value - bottom_value

    def x(month: int) -> str:
        return f"{left + plot_w * (month - 1) / 11:.1f}"

    def y(value: Decimal) -> str:
        return f"{top + plot_h * float((top_value - value) / span):.1f}"

    ticks = [
        ChartTick(
            y(bottom_value + step * tick), f"{parts.thousands(-(bottom_value + step * tick)):,}"
        )
        for tick in range(int(span / step) + 1)
    ]
    return Chart(
        title=title,
        width=width,
        height=height,
        left=left,
        right=width - right,
        plot_top=top,
        plot_bottom=top + plot_h,
        ticks=ticks,
        months=[(x(m), name) for m, name in enumerate(MONTH_NAMES, start=1)],
        lines=[
            ChartLine(
                name=s.name,
                colour=s.colour,
                dashed=s.dashed,
                points=" ".join(f"{x(m)},{y(v)}" for m, v in s.points),
                key_x=left + index * 140,
            )
            for index, s in enumerate(series)
        ],
    )
