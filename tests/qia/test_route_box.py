"""The scheme page's sign-off route on a draft returned after a submission: the route its plan
would take now, on the plan's net saving in the page's money convention, not the figure the
last submission chose it on."""

from decimal import Decimal

import pytest
from django.urls import reverse

from governance import services as governance
from governance.models import PLAN_FIELDS, SchemeState
from tests.pages import visible
from tests.qia.test_routes import small_schemes

pytestmark = pytest.mark.django_db


def returned_by_the_reviewers(qia, people):
    scheme = qia.submitted()
    governance.scheme_review(
        scheme_id=scheme.pk,
        by=people["elr-finance-reviewer"],
        kind="finance",
        decision="revise",
        comment="Check the plan.",
        expected_version=None,
    )
    return qia.fresh(scheme)


def test_a_returned_draft_shows_the_route_of_its_plan_as_it_is_now(client, qia, people):
    small_schemes()  # below £100,000 and no worse than moderate: the Chief Nurse alone
    scheme = returned_by_the_reviewers(qia, people)
    assert scheme.state == SchemeState.DRAFT
    client.force_login(people["elr-project-lead"])
    page = visible(client.get(scheme.get_absolute_url()))
    assert "Sign-off route if submitted now The Chief Nurse alone signs off; QAG is told." in page
    wanted = 'Rule "Small schemes" of ELR holds for the plan\'s net saving in the year of (£60,000)'
    assert wanted in page

    governance.scheme_update(
        scheme_id=scheme.pk,
        by=people["elr-project-lead"],
        data={PLAN_FIELDS[0]: Decimal("5000000")},  # April, as the QA walk typed it: 5m
        expected_version=None,
    )
    page = visible(client.get(reverse("scheme_detail", args=[scheme.pk])))
    assert "Sign-off route if submitted now Chief Nurse and Clinical Chair sign off." in page
    assert "No route rule of ELR holds for the plan's net saving in the year of (£5,055,000)" in (
        page
    )
    assert "decided again when the PID is submitted" in page
