"""Small things the pages say, said right: the QIA's stage in the case, the write-up's
audience, the deputies link only for roles a deputy covers, what stops a submission said
before the button is pressed, and long titles kept to their column."""

from decimal import Decimal

import pytest
from django.urls import reverse

from governance.models import SchemeState
from governance.services.opportunities import opportunity_create
from tests.pages import text

pytestmark = pytest.mark.django_db

LONG_TITLE = ("Outpatient follow-up reduction " * 7)[:200]  # the longest a title may be


def test_the_reviewers_case_names_the_qia_stage_with_the_pid_in_capitals(client, journey, people):
    scheme = journey.submitted()
    client.force_login(people["elr-finance-reviewer"])
    page = text(client.get(reverse("scheme_review", args=[scheme.pk, "finance"])))
    assert "Version 1: Submitted with the PID." in page


def test_the_write_up_page_says_the_scheme_team_sees_the_draft(client, llr, people):
    opportunity = opportunity_create(
        by=people["elr-project-lead"],
        data={
            "title": "Social prescribing for frequent attenders",
            "description": "Link workers see patients who visit their practice most often.",
            "organisation": llr.org("ELR"),
            "financial_year": llr.year,
            "programme_area": llr.programme_area,
            "area_of_spend": llr.area_of_spend,
            "estimated_saving": Decimal("83000"),
            "owner": people["elr-project-lead"],
        },
    )
    client.force_login(people["elr-project-lead"])
    page = text(client.get(reverse("opportunity_write_up", args=[opportunity.pk])))
    assert "only its team (you, its SRO and its clinical and finance leads) and the PMO" in page


@pytest.mark.parametrize(
    ("username", "shown"),
    [
        ("elr-viewer", False),
        ("elr-project-lead", False),
        ("elr-sro", False),
        ("elr-finance-reviewer", True),
        ("elr-pmo", True),
    ],
)
def test_the_deputies_link_shows_only_to_roles_a_deputy_covers(client, people, username, shown):
    client.force_login(people[username])
    page = text(client.get(reverse("my_tasks")))
    assert ("Deputies: name one while you are away" in page) is shown


def test_the_submit_page_says_the_self_assessment_is_missing(client, make_scheme, people):
    scheme = make_scheme(SchemeState.DRAFT)
    client.force_login(people["elr-project-lead"])
    page = text(client.get(reverse("scheme_submit", args=[scheme.pk])))
    assert "Not ready to submit yet:" in page
    assert "Complete the QIA self-assessment before submitting" in page
    assert reverse("qia_self_assessment", args=[scheme.pk]) in page


def test_the_submit_page_of_a_ready_draft_says_nothing_is_missing(client, journey, people):
    scheme = journey.draft()
    journey.self_assess(scheme)
    client.force_login(people["elr-project-lead"])
    page = text(client.get(reverse("scheme_submit", args=[scheme.pk])))
    assert "Not ready to submit yet" not in page


def test_a_long_title_is_cut_short_in_the_tables_and_whole_in_its_title(
    client, make_scheme, people
):
    scheme = make_scheme(SchemeState.DRAFT, title=LONG_TITLE.strip())
    client.force_login(people["elr-project-lead"])
    for page in (reverse("my_tasks"), reverse("scheme_list")):
        shown = text(client.get(page))
        assert f'title="{scheme.title}"' in shown, page
        assert f">{scheme.title[:79]}…<" in shown, page
        assert f">{scheme.title}<" not in shown, page
