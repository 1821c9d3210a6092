"""The pages every role opens most make no more queries for 30 schemes than for 3: lists load
their page of schemes with what they show, and tasks the schemes of the tasks shown."""

from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import Review, SchemeState
from tests.governance import delivery_fixtures
from tests.governance.delivery_fixtures import add_return

people, make_scheme = delivery_fixtures.people, delivery_fixtures.make_scheme  # the fixtures

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
