"""The PMO and QAG dashboard: totals against target per organisation, RAG counts, off-track
schemes, the returns overdue as at its month and, apart, those coming due next. Every
signed-in user of the system sees it."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import FinancialYear, Organisation, QippTarget, SchemeState, User
from tests.pages import table, text, visible
from tests.world import add_return

pytestmark = pytest.mark.django_db

URL = reverse("dashboard")


@pytest.fixture
def year(people):
    """ELR and WL (one system) with targets and schemes of 2019/20; NN in another system."""
    year = FinancialYear.objects.get()
    for code, requirement in [("ELR", "100000"), ("WL", "50000"), ("NN", "999")]:
        QippTarget.objects.create(
            organisation=Organisation.objects.get(code=code),
            financial_year=year,
            requirement=Decimal(requirement),
        )
    return year


@pytest.fixture
def schemes(year, make_scheme, people):
    """Plans of £1,000 a month unless said; returns for April to July (months 1-4)."""
    now = timezone.now()
    found = {
        "green": make_scheme(title="On plan"),
        "red": make_scheme(title="Far behind"),
        "amber": make_scheme(title="A little behind"),
        "draft": make_scheme(SchemeState.DRAFT, title="Still a draft", monthly="2000"),
        "rejected": make_scheme(SchemeState.REJECTED, title="Rejected", monthly="5000"),
        "recovery": make_scheme(title="Recovery action", monthly="500", is_recovery=True),
        "wl": make_scheme(org="WL", title="West scheme"),
        "nn": make_scheme(org="NN", title="Other system"),
    }
    pmo = people["elr-pmo"]
    for month in (1, 2, 3, 4):
        add_return(
            found["green"],
            month,
            "1000",
            **(
                {"pmo_assured": Decimal("1000"), "assured_by": pmo, "assured_at": now}
                if month < 3
                else {}
            ),
        )
        add_return(found["amber"], month, "700" if month == 4 else "1000")
        add_return(found["recovery"], month, "500", "6000" if month == 4 else None)
        add_return(found["wl"], month, "1000", "13000" if month == 4 else None)
        if month < 4:
            add_return(found["red"], month, "500")  # and no July return
    return found


def dashboard(client, user, query=""):
    client.force_login(user)
    return client.get(URL + query)


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_totals_against_target_per_organisation_as_at_the_latest_returns_due(
    client, people, schemes
):
    response = dashboard(client, people["elr-pmo"])

    page = text(response)
    assert "Figures as at Jul 2019 (month 4)" in page
    header, elr, wl, total = table(response, "totals-table")
    assert header[:3] == ["Organisation", "Target", "Identified"]
    # target, identified, unidentified, YTD plan, YTD actual, YTD variance, YTD assured,
    # recovery YTD actual, forecast, recovery forecast, total forecast, gap to target, %,
    # RAG G/A/R
    # savings negative in brackets, as in the committee papers; a positive variance or gap is
    # under-delivery
    assert elr == [
        "ELR East Leics and Rutland",
        "(£100,000)",
        "(£60,000)",  # 3 x £12,000 in delivery + the draft's £24,000; not the rejected one
        "(£40,000)",
        "(£20,000)",
        "(£9,200)",  # 4,000 + 1,500 + 3,700
        "£10,800",  # behind plan
        "(£2,000)",
        "(£2,000)",  # the recovery action's 4 x 500, apart
        "(£49,200)",  # 12,000 + (1,500 + 8,000) + (3,700 + 8,000) + the draft's 16,000 to come
        "(£6,000)",
        "(£55,200)",
        "£44,800",
        "55%",
        "2 / 1 / 1",
    ]
    assert wl == [
        "WL West Leics",
        "(£50,000)",
        "(£12,000)",
        "(£38,000)",
        "(£4,000)",
        "(£4,000)",
        "£0",
        "£0",
        "£0",
        "(£13,000)",
        "£0",
        "(£13,000)",
        "£37,000",
        "26%",
        "1 / 0 / 0",
    ]
    assert total[:2] == ["Total", "(£150,000)"]
    assert total[-4:] == ["(£68,200)", "£81,800", "45%", "3 / 1 / 1"]
    assert total[5:9] == ["(£13,200)", "£10,800", "(£2,000)", "(£2,000)"]
    assert "NN" not in [row[0][:2] for row in (elr, wl, total)]  # another system


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_an_organisation_without_a_target_leaves_the_totals_against_target_alone(
    client, people, schemes
):
    QippTarget.objects.filter(organisation__code="ELR").delete()

    response = dashboard(client, people["elr-pmo"])

    header, elr, wl, total = table(response, "totals-table")
    assert elr[1:4] == ["—", "(£60,000)", "—"]  # no target: identified, nothing unidentified
    assert (elr[12], elr[13]) == ("—", "—")
    # target and unidentified, gap and % are WL's alone; identified and forecasts add both
    assert total[1:4] == ["(£50,000)", "(£72,000)", "(£38,000)"]
    assert total[-4:] == ["(£68,200)", "£37,000", "26%", "3 / 1 / 1"]
    assert (
        "ELR has no QIPP target for the year: the total's Unidentified, gap to target and "
        "forecast % of target count only the organisations with one."
    ) in text(response)


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_identified_says_the_drafts_it_counts_to_readers_who_cannot_open_them(
    client, people, schemes, make_scheme
):
    make_scheme(SchemeState.DRAFT, org="WL", title="West draft", monthly="500")
    make_scheme(SchemeState.DRAFT, title="A recovery draft", monthly="900", is_recovery=True)

    # WL's viewer may open neither ELR's draft nor WL's: both count in Identified
    response = dashboard(client, people["wl-viewer"])

    # ELR's £24,000 and WL's £6,000; the recovery action is not identified QIPP
    shown = visible(response)
    assert shown.count("Identified includes 2 draft PIDs, £30,000.") == 1
    assert "drafts and PIDs in review included" in shown
    assert text(response).index("Identified includes") > text(response).index("</table>")


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_identified_without_a_draft_says_so(client, people, year, make_scheme):
    make_scheme(title="On plan")

    response = dashboard(client, people["elr-viewer"])

    assert "Identified includes no draft PIDs." in visible(response)


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_rag_counts_and_the_off_track_schemes_red_first(client, people, schemes):
    response = dashboard(client, people["elr-qag-member"])

    assert "Green 3 Amber 1 Red 1 Not rated yet 0" in visible(response)
    off_track = table(response, "off-track-table")[1:]
    assert [(row[0], row[2].split(":")[0]) for row in off_track] == [
        (f"{schemes['red'].reference} Far behind", "Red"),
        (f"{schemes['amber'].reference} A little behind", "Amber"),
    ]
    assert "Behind year-to-date plan by £2,500 (62.5%)." in off_track[0][-1]


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_the_returns_overdue_are_listed_with_the_months_each_scheme_is_missing(
    client, people, schemes, make_scheme
):
    # started in May, nothing returned: its May, June and July returns are all late
    silent = make_scheme(title="Never returned", start_date=date(2019, 5, 1))

    response = dashboard(client, people["elr-pmo"])

    assert "Returns overdue as at Jul 2019 (2)" in text(response)
    [_, red, never] = table(response, "missing-table")
    assert red == [
        f"{schemes['red'].reference} Far behind",
        "ELR",
        "ELR Finance Reviewer",
        "ELR Project Lead",
        "Overdue Jul 2019",
    ]
    assert never[0] == f"{silent.reference} Never returned"
    assert never[-1] == "Overdue May 2019, Jun 2019, Jul 2019"
    assert "due-table" not in response.content.decode()  # nothing is coming due on the 15th


@time_machine.travel(date(2019, 8, 5), tick=False)
def test_before_the_deadline_the_overdue_returns_are_listed_apart_from_those_coming_due(
    client, people, schemes
):
    schemes["red"].returns.filter(month=3).delete()  # its June return, due by 10 July: late

    response = dashboard(client, people["elr-pmo"])

    page = text(response)
    assert "Figures as at Jun 2019 (month 3)" in page
    # as at June: the June return is overdue; July's is coming due, listed apart
    assert "Returns overdue as at Jun 2019 (1)" in page
    [_, overdue] = table(response, "missing-table")
    assert overdue[0].startswith(schemes["red"].reference) and overdue[-1] == "Overdue Jun 2019"
    assert "Returns for Jul 2019 not in yet (1)" in page
    assert "Due by 10 August 2019." in page
    [_, due] = table(response, "due-table")
    assert due[0].startswith(schemes["red"].reference) and due[-1] == "Due by 10 Aug 2019"
    off_track = table(response, "off-track-table")[1:]
    assert [row[0].split()[0] for row in off_track] == [schemes["red"].reference]  # amber in July


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_a_month_chosen_lists_the_returns_overdue_as_at_that_month(client, people, schemes):
    schemes["green"].returns.filter(month=2).delete()

    response = dashboard(client, people["elr-pmo"], "?year=2019/20&month=2")

    assert "Returns overdue as at May 2019 (1)" in text(response)
    [_, green] = table(response, "missing-table")
    assert green[0].startswith(schemes["green"].reference) and green[-1] == "Overdue May 2019"
    # the red scheme's July return is overdue too, but after the month chosen
    assert schemes["red"].reference not in str(table(response, "missing-table"))


@time_machine.travel(date(2019, 5, 5), tick=False)
def test_before_any_return_of_the_year_is_due_none_is_overdue(client, people, schemes):
    response = dashboard(client, people["elr-pmo"])

    page = text(response)
    assert "No return of 2019/20 is due yet." in page
    assert "Returns for Apr 2019 not in yet" in page  # its returns are already in


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_the_target_shows_its_share_of_the_allocation_when_there_is_one(client, people, schemes):
    # ELR's 2019/20 figures from DESIGN.md: £19,647,000 of a £327,450,000 allocation is 6.0%
    QippTarget.objects.filter(organisation__code="ELR").update(
        requirement=Decimal("19647000"), allocation=Decimal("327450000")
    )

    header, elr, wl, total = table(dashboard(client, people["elr-pmo"]), "totals-table")

    assert elr[1].startswith("(£19,647,000)") and elr[1].endswith("6.0% of allocation")
    assert wl[1] == "(£50,000)"  # no allocation imported: no share shown
    assert total[1] == "(£19,697,000)"  # not every row has an allocation: no total share


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_any_year_and_month_can_be_chosen(client, people, schemes):
    response = dashboard(client, people["elr-pmo"], "?year=2019&month=2")

    assert "Figures as at May 2019 (month 2)" in text(response)
    elr = table(response, "totals-table")[1]
    # YTD plan 2 x (3 x 1,000 + 2,000); actual 2 x 2,500; the recovery action's 2 x 500 apart
    assert elr[4:6] == ["(£10,000)", "(£5,000)"] and elr[8] == "(£1,000)"
    assert "No return is overdue: every scheme in delivery has its returns in up to May 2019." in (
        text(response)
    )


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_a_nonsense_choice_falls_back_to_the_current_year(client, people, schemes):
    response = dashboard(client, people["elr-pmo"], "?year=banana&month=99")

    assert response.status_code == 200
    page = text(response)
    assert "Figures as at Jul 2019 (month 4)" in page
    assert (
        "There is no financial year 'banana' or month '99' to show: the dashboard shows "
        "2019/20 as at the latest returns due." in page
    )


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_the_year_may_be_written_as_the_reports_write_it(client, people, schemes):
    response = dashboard(client, people["elr-pmo"], "?year=2019/20&month=2")

    page = text(response)
    assert "Figures as at May 2019 (month 2)" in page
    assert "There is no" not in page


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_the_year_chosen_on_the_form_is_the_year_shown(client, people, schemes):
    """An address that names no year (a month only, or nothing the form knows) draws the
    current year, and the form says so: it does not fall back to the first year listed."""
    FinancialYear.objects.create(start_year=2018)
    for query in ("?month=2", "?financial_year=1", "?year=1999"):
        page = dashboard(client, people["elr-pmo"], query).content.decode()

        assert "Delivery dashboard · 2019/20" in page
        assert '<option value="2019" selected>2019/20</option>' in page
        assert '<option value="2018">2018/19</option>' in page


@pytest.mark.parametrize(
    "who", ["elr-pmo", "elr-qag-member", "elr-viewer", "wl-project-lead", "elr-chief-nurse"]
)
@time_machine.travel(date(2019, 8, 15), tick=False)
def test_every_signed_in_user_of_the_system_sees_it(client, people, schemes, who):
    response = dashboard(client, people[who])

    assert response.status_code == 200
    assert [row[0][:3] for row in table(response, "totals-table")[1:3]] == ["ELR", "WL "]


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_another_systems_users_see_only_their_own(client, people, schemes):
    response = dashboard(client, people["nn-pmo"])

    rows = table(response, "totals-table")
    assert [row[0] for row in rows[1:]] == ["NN Nottingham North", "Total"]
    assert schemes["red"].reference not in text(response)


def test_a_user_in_no_organisation_is_told_why_there_is_nothing(client, people):
    loner = User.objects.create_user("loner", password="pw")

    response = dashboard(client, loner)

    assert response.status_code == 403
    assert "You are not a member of any organisation yet" in text(response)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get(URL)["Location"].startswith(reverse("login"))


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_the_number_of_queries_does_not_grow_with_the_schemes(client, people, schemes, make_scheme):
    client.force_login(people["elr-pmo"])
    client.get(URL)  # warm the session and the content types
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for n in range(10):
        scheme = make_scheme(title=f"More {n}")
        add_return(scheme, 1, "100")
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)

    assert len(table(response, "off-track-table")) == 13  # header + 2 + 10 new red ones
    assert len(many) == len(few)
