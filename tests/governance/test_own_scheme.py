"""Nobody judges their own scheme: its team (project lead, SRO, clinical lead, finance lead) is
never offered nor allowed its reviews; and what someone judged before joining the team stands,
flagged on the scheme page."""

import pytest
from django.urls import reverse

from governance.models import AccessRefusal, Review, Scheme, SchemeState
from governance.services import scheme_review
from tests.pages import text

pytestmark = pytest.mark.django_db

TEAM_PLACES = [
    ("project_lead", "project lead"),
    ("sro", "SRO"),
    ("clinical_lead", "clinical lead"),
    ("finance_lead", "finance lead"),
]


@pytest.mark.parametrize("kind", ["finance", "clinical"])
@pytest.mark.parametrize(("place", "words"), TEAM_PLACES)
def test_a_reviewer_on_the_team_is_neither_offered_nor_allowed_the_review(
    client, people, make_scheme, kind, place, words
):
    reviewer = people[f"elr-{kind}-reviewer"]
    fields = {place: reviewer}
    if place != "finance_lead":  # the test world's finance lead is the finance reviewer
        fields["finance_lead"] = people["elr-project-lead"]
    scheme = make_scheme(SchemeState.CONFIRM_AND_CHALLENGE, **fields)
    client.force_login(reviewer)

    assert scheme.reference not in text(client.get(reverse("my_tasks")))
    page = client.get(scheme.get_absolute_url())
    assert "Record financial review" not in text(page)
    assert "Record clinical review" not in text(page)
    url = reverse("scheme_review", args=[scheme.pk, kind])
    response = client.post(url, {"decision": "supported", "comment": "Fine.", "round": 1})
    assert response.status_code == 403
    assert f"You are this scheme's {words}" in text(response)
    assert not Review.objects.exists()
    assert AccessRefusal.objects.filter(user=reviewer, action=f"{kind}_review").exists()


def test_a_reviewer_off_the_team_is_offered_the_review(client, people, make_scheme):
    scheme = make_scheme(SchemeState.CONFIRM_AND_CHALLENGE, finance_lead=people["elr-project-lead"])
    client.force_login(people["elr-finance-reviewer"])
    assert "Record the financial review" in text(client.get(reverse("my_tasks")))
    assert scheme.reference in text(client.get(reverse("my_tasks")))


def test_a_review_recorded_before_its_reviewer_joined_the_team_stands_and_is_flagged(
    client, people, make_scheme
):
    scheme = make_scheme(SchemeState.CONFIRM_AND_CHALLENGE, finance_lead=people["elr-project-lead"])
    reviewer = people["elr-finance-reviewer"]
    scheme_review(
        scheme_id=scheme.pk,
        by=reviewer,
        kind="finance",
        decision="supported",
        comment="Evidence checked.",
        expected_version=None,
    )
    client.force_login(people["elr-pmo"])
    assert "The scheme's team has changed" not in text(client.get(scheme.get_absolute_url()))

    Scheme.objects.filter(pk=scheme.pk).update(finance_lead=reviewer)
    page = text(client.get(scheme.get_absolute_url()))
    assert "The scheme's team has changed since these were recorded" in page
    assert (
        f"{reviewer} recorded the financial review on" in page
        and "and is now this scheme's finance lead." in page
    )
    assert Review.objects.get().reviewer == reviewer  # it stands
