"""Dates as the pages show them (governance.templatetags.qipp: day and when), in the site's
time zone, as Django's date filter with "j M Y" and "j M Y H:i" shows them."""

from datetime import UTC, date, datetime

from django.template import Context, Template

SHOWN = Template('{% load qipp %}{{ value|day }}|{{ value|when }}|{{ value|date:"j M Y H:i" }}')


def shown(value) -> str:
    return SHOWN.render(Context({"value": value}))


def test_a_time_is_shown_in_the_uk_in_summer_and_in_winter():
    assert (
        shown(datetime(2026, 7, 1, 23, 30, tzinfo=UTC))
        == "2 Jul 2026|2 Jul 2026 00:30|2 Jul 2026 00:30"
    )
    assert (
        shown(datetime(2026, 12, 1, 9, 5, tzinfo=UTC))
        == "1 Dec 2026|1 Dec 2026 09:05|1 Dec 2026 09:05"
    )


def test_a_date_and_nothing():
    day = Template("{% load qipp %}{{ value|day }}")
    assert day.render(Context({"value": date(2019, 8, 10)})) == "10 Aug 2019"
    assert day.render(Context({"value": None})) == ""
    assert shown(None) == "||"
