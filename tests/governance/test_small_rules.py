"""Smaller rules seen in use: the scheme history keeps its creation, a review form sent twice
is no refusal, and a scheme sent back to draft says where it went."""

import re

import pytest
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance import roles, services
from governance.models import AccessRefusal, Review, ReviewDecision, Scheme, SchemeState
from governance.services import workflow
from tests.factories import complete_self_assessment
from tests.pages import text, visible

pytestmark = pytest.mark.django_db


def history_entries(response) -> list[str]:
    """The entries of the scheme page's history, newest first, as the user reads each."""
    timeline = response.content.decode().split('id="history"', 1)[1]
    timeline = timeline.split('<ul class="timeline', 1)[1].split("</ul>", 1)[0]
    return [
        " ".join(re.sub(r"<[^>]+>", " ", item).split())
        for item in re.findall(r"<li>(.*?)</li>", timeline, re.S)
    ]


def alerts(response, kind: str) -> list[str]:
    """The text of the page's alerts of that kind ("info", "danger", ...)."""
    return re.findall(rf'class="alert alert-{kind}"[^>]*>(.*?)</div>', text(response), re.S)


# --- the history keeps its "Created" entry ---


def test_the_history_still_shows_who_created_the_scheme_once_other_entries_exist(
    client, llr, people
):
    lead = people["elr-project-lead"]
    scheme = services.scheme_create(by=lead, data=llr.pid_data())
    services.scheme_update(
        scheme_id=scheme.pk, by=lead, data={"title": "PIFU in outpatients"}, expected_version=None
    )
    complete_self_assessment(scheme)
    services.scheme_submit(scheme_id=scheme.pk, by=lead, expected_version=None)

    client.force_login(lead)
    entries = history_entries(client.get(scheme.get_absolute_url()))

    assert len(entries) >= 3  # the submission and the title change are there too
    assert any("Changed title" in entry for entry in entries)
    # the oldest entry, at the bottom: who created the scheme
    assert "Created" in entries[-1]
    assert "ELR Project Lead" in entries[-1]


def test_a_new_scheme_shows_only_its_creation(client, llr, people):
    lead = people["elr-project-lead"]
    scheme = services.scheme_create(by=lead, data=llr.pid_data())

    client.force_login(lead)
    entries = history_entries(client.get(scheme.get_absolute_url()))

    assert len(entries) == 1
    assert "Created" in entries[0] and "ELR Project Lead" in entries[0]


# --- a review form sent twice ---


@pytest.fixture
def in_review(make_scheme) -> Scheme:
    # no finance lead: the world's is elr-finance-reviewer, who would be judging their own
    return make_scheme(SchemeState.CONFIRM_AND_CHALLENGE, finance_lead=None)


def review_form(client, user, scheme, **fields) -> dict:
    """The review form as the reviewer's page drew it (its hidden fields), filled in."""
    client.force_login(user)
    form = client.get(reverse("scheme_review", args=[scheme.pk, "finance"])).context["form"]
    return {"version": form.initial["version"], "round": form.initial["round"], **fields}


def finance_reviews_logged(scheme) -> int:
    return StateLog.objects.for_(scheme).filter(transition="finance_review").count()


def test_a_review_form_sent_twice_by_its_reviewer_says_it_is_already_recorded(
    client, people, in_review
):
    url = reverse("scheme_review", args=[in_review.pk, "finance"])
    form = review_form(
        client,
        people["elr-finance-reviewer"],
        in_review,
        decision=ReviewDecision.SUPPORTED,
        comment="The savings are well evidenced.",
    )

    client.post(url, form)  # a double click: the first answer is never shown
    response = client.post(url, form, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == in_review.get_absolute_url()
    assert alerts(response, "info") == ["Your financial review is already recorded."]
    assert not alerts(response, "danger")
    assert "already recorded by" not in visible(response)
    # the first submit's word is still given, once
    assert visible(response).count(f"Your financial review of {in_review.reference}") == 1
    assert Review.objects.filter(scheme=in_review).count() == 1
    assert finance_reviews_logged(in_review) == 1
    assert not AccessRefusal.objects.exists()


def test_a_review_form_sent_twice_after_sending_the_scheme_back_is_no_refusal(
    client, people, in_review
):
    url = reverse("scheme_review", args=[in_review.pk, "finance"])
    form = review_form(
        client,
        people["elr-finance-reviewer"],
        in_review,
        decision=ReviewDecision.REVISE,
        comment="Rephase the plan.",
    )

    client.post(url, form)
    response = client.post(url, form, follow=True)

    # the scheme is a draft now, which the reviewer no longer sees: the task list, not a 403
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("my_tasks")
    assert "Your financial review is already recorded." in alerts(response, "info")
    assert not alerts(response, "danger")
    assert Review.objects.filter(scheme=in_review).count() == 1
    assert finance_reviews_logged(in_review) == 1
    assert not AccessRefusal.objects.exists()


def test_a_review_already_recorded_by_someone_else_is_still_refused_naming_them(
    client, llr, people, in_review
):
    colleague = llr.add_user("elr-finance-reviewer-2", "elr", roles.FINANCE_REVIEWER)
    url = reverse("scheme_review", args=[in_review.pk, "finance"])
    # both opened the form before either recorded a review
    theirs = review_form(
        client, colleague, in_review, decision=ReviewDecision.REVISE, comment="Not yet."
    )
    mine = review_form(
        client,
        people["elr-finance-reviewer"],
        in_review,
        decision=ReviewDecision.SUPPORTED,
        comment="Well evidenced.",
    )
    client.post(url, mine)

    client.force_login(colleague)
    response = client.post(url, theirs)

    # the step no longer applies: the reason, and the comment typed, to copy
    assert response.status_code == 403
    assert alerts(response, "warning") == [
        "The financial review of this submission was already recorded by ELR Finance Reviewer. "
        "Nothing was saved."
    ]
    assert ">Not yet.</textarea>" in text(response)
    assert Review.objects.get(scheme=in_review).reviewer == people["elr-finance-reviewer"]
    assert finance_reviews_logged(in_review) == 1
    assert AccessRefusal.objects.filter(user=colleague, action="finance_review").count() == 1


def test_a_second_submit_that_read_the_scheme_before_the_first_was_saved_says_the_same(
    client, monkeypatch, people, in_review
):
    url = reverse("scheme_review", args=[in_review.pk, "finance"])
    form = review_form(
        client,
        people["elr-finance-reviewer"],
        in_review,
        decision=ReviewDecision.SUPPORTED,
        comment="Well evidenced.",
    )
    client.post(url, form)
    # as if the second submit had read the scheme before the first one committed: only the
    # service, under the scheme's row lock, finds the review
    monkeypatch.setattr("governance.views._review_sent_again", lambda *args: None)

    response = client.post(url, form, follow=True)

    assert alerts(response, "info") == ["Your financial review is already recorded."]
    assert not alerts(response, "danger")
    assert Review.objects.filter(scheme=in_review).count() == 1
    assert not AccessRefusal.objects.exists()


def test_the_service_finds_a_review_sent_twice_after_it_moved_the_scheme_on(people, in_review):
    def supported(kind: str, reviewer: str):
        return services.scheme_review(
            scheme_id=in_review.pk,
            by=people[reviewer],
            kind=kind,
            decision=ReviewDecision.SUPPORTED,
            comment="Well evidenced.",
            expected_version=None,
            expected_round=1,
        )

    supported("clinical", "elr-clinical-reviewer")
    assert supported("finance", "elr-finance-reviewer").state == SchemeState.QIA_PANEL

    with pytest.raises(workflow.AlreadyDone) as again:
        supported("finance", "elr-finance-reviewer")

    assert again.value.message == "Your financial review is already recorded."
    assert finance_reviews_logged(in_review) == 1
    assert not AccessRefusal.objects.exists()


def test_the_review_page_tells_its_reviewer_their_review_is_in(client, people, in_review):
    url = reverse("scheme_review", args=[in_review.pk, "finance"])
    form = review_form(
        client,
        people["elr-finance-reviewer"],
        in_review,
        decision=ReviewDecision.SUPPORTED,
        comment="Well evidenced.",
    )
    client.post(url, form)

    response = client.get(url, follow=True)

    assert response.redirect_chain[-1][0] == in_review.get_absolute_url()
    assert "Your financial review is already recorded." in alerts(response, "info")


# --- a scheme sent back to draft ---


@pytest.fixture
def sent_back(people, in_review) -> Scheme:
    return services.scheme_review(
        scheme_id=in_review.pk,
        by=people["elr-finance-reviewer"],
        kind="finance",
        decision=ReviewDecision.REVISE,
        comment="Rephase the plan.",
        expected_version=None,
    )


@pytest.mark.parametrize("username", ["elr-finance-reviewer", "elr-viewer", "wl-pmo"])
def test_a_scheme_sent_back_to_draft_tells_its_system_where_it_went(
    client, people, sent_back, username
):
    client.force_login(people[username])
    response = client.get(sent_back.get_absolute_url())

    assert response.status_code == 403
    said = (
        f"{sent_back.reference} is back with its project team for revision: you will see it "
        "again when it is resubmitted."
    )
    assert said in visible(response)
    assert "You do not have access to this scheme." not in visible(response)
    refusal = AccessRefusal.objects.get(user=people[username])
    assert (refusal.action, refusal.reason) == ("view", said)


def test_a_scheme_sent_back_to_draft_tells_another_system_nothing(client, people, sent_back):
    client.force_login(people["nn-finance-reviewer"])
    response = client.get(sent_back.get_absolute_url())

    assert response.status_code == 403
    assert "You do not have access to this scheme." in visible(response)
    assert sent_back.reference not in text(response)
    assert AccessRefusal.objects.filter(user=people["nn-finance-reviewer"]).count() == 1


def test_a_draft_never_submitted_stays_unknown_outside_its_team(client, people, make_scheme):
    draft = make_scheme(SchemeState.DRAFT)
    client.force_login(people["elr-viewer"])
    response = client.get(draft.get_absolute_url())

    assert response.status_code == 403
    assert "You do not have access to this scheme." in visible(response)
    assert draft.reference not in text(response)
