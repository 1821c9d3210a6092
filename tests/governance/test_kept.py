"""What each process keeps (governance.kept): the reports, the dashboard and the scheme list show
what the database holds as soon as a change commits, never what a transaction left
uncommitted, and a transition that changes nothing they show does not make anyone read it again.

These tests commit (transaction=True), as the pages do: inside a test's transaction every
answer is read afresh and nothing is kept.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import reports
from governance.models import MonthlyReturn, Scheme, SchemeState
from tests.governance.report_fixtures import add_return, add_scheme, build_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    return build_world()


def ytd_actual(world, month=6) -> int:
    """The grand total's YTD actuals in the summary table, in £'000 as shown."""
    table = reports.build("summary", year=world.year, month=month)
    return table.rows[-1].value("ytd_actual")


def annual_plan(world) -> int:
    return reports.build("summary", year=world.year, month=12).rows[-1].value("annual_plan")


def test_a_committed_return_shows_in_the_next_report(world):
    scheme = add_scheme(world, "ELR", monthly="10000")
    add_return(scheme, 1, actual="30000")
    assert ytd_actual(world) == -30

    add_return(scheme, 2, actual="12000")
    assert ytd_actual(world) == -42

    MonthlyReturn.objects.filter(scheme=scheme, month=1).update(actual=Decimal("1000"))
    assert ytd_actual(world) == -13

    MonthlyReturn.objects.filter(scheme=scheme, month=2).delete()
    assert ytd_actual(world) == -1


def test_a_changed_plan_and_a_rejected_scheme_show_in_the_next_report(world):
    kept = add_scheme(world, "ELR", monthly="1000")
    dropped = add_scheme(world, "WL", monthly="2000")
    assert annual_plan(world) == -36

    Scheme.objects.filter(pk=kept.pk).update(plan_m12=Decimal("13000"))
    assert annual_plan(world) == -48

    Scheme.objects.filter(pk=dropped.pk).update(state=SchemeState.REJECTED)
    assert annual_plan(world) == -24


def test_a_transition_that_changes_no_figure_keeps_the_figures(world):
    scheme = add_scheme(world, "ELR", state=SchemeState.APPROVED)
    add_return(scheme, 1, actual="500")
    ytd_actual(world)  # read once by this process

    Scheme.objects.filter(pk=scheme.pk).update(state=SchemeState.IN_DELIVERY)
    with CaptureQueriesContext(connection) as queries:
        assert ytd_actual(world) == -1
    read = [q["sql"] for q in queries if "governance_stamp" not in q["sql"]]
    assert read == [], "the report read its figures again after a transition"


def test_a_rolled_back_change_never_shows(world):
    scheme = add_scheme(world, "ELR")
    add_return(scheme, 1, actual="7000")
    assert ytd_actual(world) == -7

    with pytest.raises(RuntimeError), transaction.atomic():
        add_return(scheme, 2, actual="50000")
        # inside its own transaction a service sees what it has written
        assert ytd_actual(world) == -57
        raise RuntimeError("the import fails and rolls back")

    assert ytd_actual(world) == -7


def test_the_dashboard_follows_returns_and_transitions(world):
    from governance.delivery import dashboard

    user = world.users["pmo"]
    scheme = add_scheme(world, "ELR", monthly="1000", state=SchemeState.APPROVED)
    board = dashboard(user=user, financial_year=world.year, month=3)
    assert sum(board.total.rag_counts.values()) == 0

    Scheme.objects.filter(pk=scheme.pk).update(state=SchemeState.IN_DELIVERY)
    board = dashboard(user=user, financial_year=world.year, month=3)
    assert board.total.rag_counts["red"] == 1  # nothing returned against 3,000 of plan
    assert [s.pk for s, _rag in board.off_track] == [scheme.pk]

    add_return(scheme, 1, actual="1000")
    add_return(scheme, 2, actual="1000")
    add_return(scheme, 3, actual="1000")
    board = dashboard(user=user, financial_year=world.year, month=3)
    assert board.total.rag_counts["green"] == 1
    assert board.total.ytd_actual == Decimal("3000")
    assert board.off_track == []


@pytest.mark.postgres
def test_a_writer_never_waits_for_another_through_the_stamp(world):
    """Two returns entered at once, on two schemes: the second commits while the first's
    transaction is still open (the stamp is written as each commits, not when it writes)."""
    first, second = add_scheme(world, "ELR"), add_scheme(world, "WL")
    done = threading.Event()

    def enter_the_other_return():
        try:
            add_return(second, 1, actual="100")
            done.set()
        finally:
            connections.close_all()

    with transaction.atomic():
        add_return(first, 1, actual="100")
        other = threading.Thread(target=enter_the_other_return)
        other.start()
        other.join(timeout=10)
        assert done.is_set(), "the second return waited for the first transaction"
    table = reports.build("summary", year=world.year, month=1)
    assert {row.label: row.cells[1].exact for row in table.rows} == {
        "ELR": Decimal("-100"),
        "WL": Decimal("-100"),
        "Grand Total": Decimal("-200"),
    }


# --- the scheme list ---


def listed(client, world, **query) -> str:
    client.force_login(world.users["viewer"])
    return client.get(reverse("scheme_list"), query).content.decode()


def test_a_scheme_leaving_draft_is_on_the_list_at_once(client, world):
    shown = add_scheme(world, "ELR", state=SchemeState.CONFIRM_AND_CHALLENGE)
    draft = add_scheme(world, "ELR", state=SchemeState.DRAFT)
    page = listed(client, world)
    assert shown.reference in page and draft.reference not in page
    assert "1 scheme<" in page

    Scheme.objects.filter(pk=draft.pk).update(state=SchemeState.CONFIRM_AND_CHALLENGE)
    page = listed(client, world)
    assert draft.reference in page and "2 schemes" in page

    Scheme.objects.filter(pk=shown.pk).update(state=SchemeState.DRAFT)  # sent back
    page = listed(client, world)
    assert shown.reference not in page and "1 scheme<" in page


def test_a_new_title_is_found_by_search_at_once(client, world):
    scheme = add_scheme(world, "ELR", state=SchemeState.APPROVED)
    assert scheme.reference not in listed(client, world, q="Podiatry")

    Scheme.objects.filter(pk=scheme.pk).update(title="Podiatry in the community")
    assert scheme.reference in listed(client, world, q="Podiatry")


def test_a_transition_keeps_the_list_but_shows_the_new_state(client, world):
    scheme = add_scheme(world, "ELR", state=SchemeState.APPROVED)
    listed(client, world)  # read once by this process
    assert scheme.reference not in listed(client, world, state=SchemeState.IN_DELIVERY)

    Scheme.objects.filter(pk=scheme.pk).update(state=SchemeState.IN_DELIVERY)
    with CaptureQueriesContext(connection) as queries:
        page = listed(client, world)
    assert "In delivery" in page and scheme.reference in page
    assert not any("OVER ()" in q["sql"] for q in queries), "the list was sorted again"
    # a list by state is never kept: it changes with every transition
    assert scheme.reference in listed(client, world, state=SchemeState.IN_DELIVERY)


def test_the_list_rates_each_scheme_by_its_returns_as_they_now_are(client, world):
    scheme = add_scheme(world, "ELR", monthly="1000")  # in delivery, nothing returned yet
    assert "text-bg-danger" in listed(client, world)

    for month in range(1, 13):
        add_return(scheme, month, actual="1000")
    page = listed(client, world)
    assert "text-bg-success" in page and "text-bg-danger" not in page

    MonthlyReturn.objects.filter(scheme=scheme).delete()
    assert "text-bg-danger" in listed(client, world)


def test_a_transition_keeps_the_returns_the_list_rated(client, world):
    rated = add_scheme(world, "ELR", monthly="1000")
    for month in range(1, 13):
        add_return(rated, month, actual="1000")
    starting = add_scheme(world, "ELR", monthly="1000", state=SchemeState.APPROVED)
    listed(client, world)  # rates the scheme in delivery: its returns read once

    Scheme.objects.filter(pk=starting.pk).update(state=SchemeState.IN_DELIVERY)
    page = listed(client, world)  # the scheme now in delivery: its returns are read
    assert page.count("text-bg-success") == 1 and page.count("text-bg-danger") == 1

    with CaptureQueriesContext(connection) as queries:
        page = listed(client, world)
    assert page.count("text-bg-success") == 1 and page.count("text-bg-danger") == 1
    read = [q["sql"] for q in queries if "governance_monthlyreturn" in q["sql"]]
    assert read == [], "the list read returns again that no change had touched"


# --- a PMO's returns to assure ---


def my_tasks(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("my_tasks")).content.decode()


def test_the_returns_a_pmo_has_to_assure_follow_the_returns(client, world):
    pmo = world.users["pmo"]
    scheme = add_scheme(world, "ELR")
    assert "Assure" not in my_tasks(client, pmo)

    add_return(scheme, 3, actual="900")
    assert "Assure the Jun 2019 return" in my_tasks(client, pmo)

    add_return(scheme, 4, actual="900")
    assert "Assure 2 returns (Jun 2019, Jul 2019)" in my_tasks(client, pmo)

    MonthlyReturn.objects.filter(scheme=scheme).update(assured_at=timezone.now(), assured_by=pmo)
    assert "Assure" not in my_tasks(client, pmo)


def test_a_transition_keeps_the_returns_a_pmo_has_to_assure(client, world):
    pmo = world.users["pmo"]
    add_return(add_scheme(world, "ELR"), 3, actual="900")
    starting = add_scheme(world, "WL", state=SchemeState.APPROVED)
    my_tasks(client, pmo)  # what waits for them, read once

    Scheme.objects.filter(pk=starting.pk).update(state=SchemeState.IN_DELIVERY)
    with CaptureQueriesContext(connection) as queries:
        page = my_tasks(client, pmo)
    assert "Assure the Jun 2019 return" in page
    read = [q["sql"] for q in queries if "governance_monthlyreturn" in q["sql"]]
    assert read == [], "the returns waiting were read again after a transition"
