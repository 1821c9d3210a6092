"""The pages every role opens most make no more queries for 30 schemes than for 3: lists load
their page of schemes with what they show, and tasks the schemes of the tasks shown."""

from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import Review, SchemeState
from tests.world import add_return

pytestmark = pytest.mark.django_db

STATES = [
    SchemeState.DRAFT,
    SchemeState.CONFIRM_AND_CHALLENGE,
    SchemeState.APPROVED,
    SchemeState.IN_DELIVERY,
    SchemeState.COMPLETED,
]
PAGES = ["home", "my_tasks", "scheme_list", "dashboard"]


def add_schemes(make_scheme, people, n: int) -> list:
    made = []
    for i in range(n):
        state = STATES[i % len(STATES)]
        scheme = make_scheme(state, title=f"Scheme {len(made)} of {n}")
        if state == SchemeState.CONFIRM_AND_CHALLENGE:
            scheme.submission_round = 1
            scheme.save(update_fields=["submission_round"])
            if i % 2:  # the clinical review done: the finance review waits
                Review.objects.create(
                    scheme=scheme,
                    kind="clinical",
                    round=1,
                    reviewer=people["elr-clinical-reviewer"],
                    decision="supported",
                    comment="Fine.",
                )
        if state in (SchemeState.IN_DELIVERY, SchemeState.COMPLETED):
            add_return(scheme, 1, "900", by=people["elr-finance-reviewer"])
        made.append(scheme)
    return made


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@time_machine.travel(date(2019, 8, 15), tick=False)
@pytest.mark.parametrize(
    "who", ["elr-pmo", "elr-finance-reviewer", "elr-project-lead", "elr-viewer"]
)
def test_the_everyday_pages_make_no_more_queries_for_30_schemes_than_for_3(
    client, people, make_scheme, who
):
    first = add_schemes(make_scheme, people, 5)
    client.force_login(people[who])
    shown = [s for s in first if s.state != SchemeState.DRAFT]  # a draft: its team and PMO
    urls = [reverse(name) for name in PAGES] + [s.get_absolute_url() for s in shown]
    for url in urls:
        client.get(url)  # the session and the content types read once
    few = {url: queries(client, url) for url in urls}

    add_schemes(make_scheme, people, 25)
    many = {url: queries(client, url) for url in urls}

    # one fewer at most: which kinds of task the first ten on home are changes which loads run
    grown = {url: (few[url], many[url]) for url in urls if many[url] > few[url]}
    assert not grown, f"pages whose queries grew with the schemes (3 -> 30): {grown}"


@time_machine.travel(date(2019, 8, 15), tick=False)
def test_a_lead_of_many_schemes_gets_the_oldest_tasks_counted_without_loading_them_all(
    client, people, make_scheme, django_assert_max_num_queries
):
    """Home and the task list load only the tasks they show, whatever the number of schemes
    the person is on: the counts come from the database."""
    lead = people["elr-project-lead"]
    for n in range(40):
        make_scheme(title=f"Delivering {n}")  # each owes April to July: 4 returns
        make_scheme(SchemeState.DRAFT, title=f"Draft {n}")
    client.force_login(lead)
    client.get(reverse("home"))

    with django_assert_max_num_queries(25):
        home = client.get(reverse("home"))
    with django_assert_max_num_queries(25):
        tasks = client.get(reverse("my_tasks"), {"page": 2})

    # 40 drafts to complete and 160 returns to enter
    assert home.context["more_tasks"] == 200 - 10 and len(home.context["tasks"]) == 10
    assert tasks.context["page"].paginator.count == 200
    shown = [task.what for task in tasks.context["tasks"]]
    assert len(shown) == 50
    # oldest first: the April returns (due since 1 May) come before the May ones
    assert all("May 2019" in what or "Jun 2019" in what for what in shown if "return" in what)
