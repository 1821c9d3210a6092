"""A PID's start date against its financial year: refused on the form when the plan could not
be right, and the warnings that remain shown wherever someone submits or judges the PID."""

from datetime import date

import pytest
from django.urls import reverse

from governance.models import (
    PLAN_FIELDS,
    Scheme,
    SchemeState,
)
from tests.factories import complete_self_assessment
from tests.governance.test_pages import pid_post as page_pid_post
from tests.pages import text

pytestmark = pytest.mark.django_db


def pid_post(people, **overrides) -> dict:
    """The PID form of ELR's project lead for 2019/20 (test_pages'), £1k a month."""
    return page_pid_post(people, **{**{name: "1k" for name in PLAN_FIELDS}, **overrides})


def test_it_refuses_a_new_pid_that_starts_after_its_year_ends(client, people):
    client.force_login(people["elr-project-lead"])
    response = client.post(reverse("scheme_create"), pid_post(people, start_date="2024-05-01"))
    assert response.status_code == 200
    assert (
        "The start date, 1 May 2024, is after 2019/20 ends on 31 March 2020: the plan's months "
        "would save nothing." in text(response)
    )
    assert not Scheme.objects.exists()


def test_it_refuses_a_start_date_more_than_five_years_before_the_year(client, people):
    client.force_login(people["elr-project-lead"])
    response = client.post(reverse("scheme_create"), pid_post(people, start_date="1900-01-01"))
    assert response.status_code == 200
    assert "The start date, 1 January 1900, is more than 5 years before 2019/20 begins" in text(
        response
    )
    assert not Scheme.objects.exists()


def test_it_saves_a_start_date_years_before_the_year_with_a_warning(client, people):
    client.force_login(people["elr-project-lead"])
    response = client.post(reverse("scheme_create"), pid_post(people, start_date="2014-04-01"))
    scheme = Scheme.objects.get()
    assert response["Location"] == scheme.get_absolute_url()
    page = text(client.get(scheme.get_absolute_url()))
    assert "The start date, 1 April 2014, is more than a year before 2019/20 begins." in page


def test_it_refuses_an_edit_that_moves_the_start_after_the_year(client, make_scheme, people):
    scheme = make_scheme(SchemeState.DRAFT)
    client.force_login(people["elr-project-lead"])
    response = client.post(
        reverse("scheme_edit", args=[scheme.pk]),
        pid_post(people, start_date="2031-05-01", version=scheme.version),
    )
    assert response.status_code == 200
    assert "is after 2019/20 ends on 31 March 2020" in text(response)
    scheme.refresh_from_db()
    assert scheme.start_date == date(2019, 4, 1)


def test_the_submit_page_shows_the_plan_warnings(client, make_scheme, people):
    scheme = make_scheme(SchemeState.DRAFT, start_date=date(2019, 7, 1))
    complete_self_assessment(scheme)
    client.force_login(people["elr-project-lead"])
    page = text(client.get(reverse("scheme_submit", args=[scheme.pk])))
    assert "Check the savings plan:" in page
    wanted = "£3,000 of the plan falls in Apr, May, Jun, before the scheme starts on 1 July 2019."
    assert wanted in page


def test_the_reviewers_case_shows_the_plan_warnings(client, make_scheme, people):
    scheme = make_scheme(SchemeState.CONFIRM_AND_CHALLENGE, start_date=date(2019, 7, 1))
    client.force_login(people["elr-clinical-reviewer"])
    page = text(client.get(reverse("scheme_review", args=[scheme.pk, "clinical"])))
    assert "£3,000 of the plan falls in Apr, May, Jun, before the scheme starts" in page


def test_a_plan_that_looks_right_shows_no_warning_to_the_reviewer(client, make_scheme, people):
    scheme = make_scheme(SchemeState.CONFIRM_AND_CHALLENGE)
    client.force_login(people["elr-clinical-reviewer"])
    page = text(client.get(reverse("scheme_review", args=[scheme.pk, "clinical"])))
    assert "The case" in page
    assert "Check the savings plan" not in page


def test_a_draft_whose_team_holds_every_finance_reviewer_says_nobody_could_review_it(
    client, make_scheme, people
):
    # ELR has one finance reviewer: chosen as the scheme's finance lead
    scheme = make_scheme(SchemeState.DRAFT, finance_lead=people["elr-finance-reviewer"])
    client.force_login(people["elr-project-lead"])
    wanted = (
        "Every finance reviewer of ELR is on this scheme's team (ELR Finance Reviewer, its "
        "finance lead), so nobody could record its financial review"
    )
    assert wanted in text(client.get(scheme.get_absolute_url()))
    assert wanted in text(client.get(reverse("scheme_submit", args=[scheme.pk])))


def test_a_draft_with_a_reviewer_off_its_team_has_no_team_warning(client, make_scheme, people):
    scheme = make_scheme(SchemeState.DRAFT, finance_lead=None)
    client.force_login(people["elr-project-lead"])
    assert "Check the scheme's team" not in text(client.get(scheme.get_absolute_url()))
