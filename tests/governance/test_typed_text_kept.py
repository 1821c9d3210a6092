"""A workflow step's form (submit, review, withdraw) that meets someone else's change or a
refusal loses nothing typed: the form comes back with it where the step still applies, and
it is shown read-only, to copy, where the step no longer does."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from governance import services
from governance.models import (
    PLAN_FIELDS,
    AccessRefusal,
    AreaOfSpend,
    FinancialYear,
    Organisation,
    ProgrammeArea,
    Review,
    Scheme,
    SchemeState,
)
from tests.factories import complete_self_assessment
from tests.pages import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(people) -> Scheme:
    data = {
        "title": "Outpatient follow-up reduction",
        "description": "Fewer unnecessary follow-ups.",
        "organisation": Organisation.objects.get(code="ELR"),
        "financial_year": FinancialYear.objects.get(),
        "programme_area": ProgrammeArea.objects.get(),
        "area_of_spend": AreaOfSpend.objects.get(),
        "scheme_type": "transactional",
        "sro": people["elr-sro"],
        "project_lead": people["elr-project-lead"],
        "start_date": date(2019, 4, 1),
        **{name: Decimal("5000") for name in PLAN_FIELDS},
    }
    scheme = services.scheme_create(by=people["elr-project-lead"], data=data)
    complete_self_assessment(scheme)  # submitting needs it
    return scheme


def as_user(client, user):
    client.force_login(user)
    return client


def drawn(client, url) -> dict:
    """The hidden fields of a step's form as the user's page drew them."""
    form = client.get(url).context["form"]
    return {name: form.initial[name] for name in ("version", "round") if name in form.fields}


def submitted(people, scheme: Scheme, responses: dict | None = None) -> Scheme:
    services.scheme_submit(
        scheme_id=scheme.pk,
        by=people["elr-project-lead"],
        expected_version=None,
        responses=responses,
    )
    return Scheme.objects.get(pk=scheme.pk)


def reviewed(people, scheme: Scheme, kind: str, decision: str) -> Scheme:
    services.scheme_review(
        scheme_id=scheme.pk,
        by=people[f"elr-{kind}-reviewer"],
        kind=kind,
        decision=decision,
        comment="Show the baseline.",
        expected_version=None,
    )
    return Scheme.objects.get(pk=scheme.pk)


def retitled(people, scheme: Scheme, title: str) -> Scheme:
    services.scheme_update(
        scheme_id=scheme.pk,
        by=people["elr-project-lead"],
        data={"title": title},
        expected_version=None,
    )
    return Scheme.objects.get(pk=scheme.pk)


# --- the review ---


def test_a_review_of_a_submission_replaced_meanwhile_comes_back_with_its_comment(
    client, people, draft
):
    scheme = submitted(people, draft)
    reviewer = as_user(client, people["elr-finance-reviewer"])
    url = reverse("scheme_review", args=[scheme.pk, "finance"])
    seen = drawn(reviewer, url)
    # meanwhile: the clinical reviewer asks for a revision, the project lead revises, resubmits
    scheme = reviewed(people, scheme, "clinical", "revise")
    scheme = retitled(people, scheme, "Outpatient follow-up reduction (revised)")
    scheme = submitted(people, scheme, {Review.objects.get().pk: "Baseline added."})

    typed = {"decision": "supported", "comment": "Savings are credible."}
    response = reviewer.post(url, {**seen, **typed})

    assert response.status_code == 200
    page = text(response)
    assert (
        f"{scheme.reference} changed while you were looking at it (someone else's change, or "
        "yours in another tab), so nothing was saved." in page
    )
    assert "It has been resubmitted since: this is submission 2." in page
    assert "What you typed is below: check the scheme, then send it again" in page
    assert "Savings are credible." in page
    form = response.context["form"]
    assert form["decision"].value() == "supported"
    assert not Review.objects.filter(kind="finance").exists()

    # sent again, knowingly: the review of the new submission is recorded
    again = {"version": form["version"].value(), "round": form["round"].value(), **typed}
    response = reviewer.post(url, again, follow=True)
    assert f"Your financial review of {scheme.reference} is recorded." in text(response)
    assert Review.objects.get(kind="finance").round == 2


def test_a_review_of_a_scheme_sent_back_meanwhile_shows_the_comment_to_copy(client, people, draft):
    scheme = submitted(people, draft)
    reviewer = as_user(client, people["elr-finance-reviewer"])
    url = reverse("scheme_review", args=[scheme.pk, "finance"])
    seen = drawn(reviewer, url)
    reviewed(people, scheme, "clinical", "revise")  # back to its team, out of the reviewer's sight

    response = reviewer.post(url, {**seen, "decision": "supported", "comment": "Credible."})

    assert response.status_code == 403
    page = text(response)
    assert f"{scheme.reference} is back with its project team for revision" in page
    assert "What you typed" in page
    assert ">Credible.</textarea>" in page and "readonly" in page
    assert ">Supported</textarea>" in page
    assert not Review.objects.filter(kind="finance").exists()


def test_a_review_already_recorded_by_a_colleague_shows_the_comment_to_copy(
    client, llr, people, draft
):
    from governance import roles

    colleague = llr.add_user("elr-finance-reviewer-2", "elr", roles.FINANCE_REVIEWER)
    scheme = submitted(people, draft)
    reviewer = as_user(client, colleague)
    url = reverse("scheme_review", args=[scheme.pk, "finance"])
    seen = drawn(reviewer, url)
    reviewed(people, scheme, "finance", "supported")

    response = reviewer.post(url, {**seen, "decision": "revise", "comment": "Show the data."})

    assert response.status_code == 403
    page = text(response)
    assert "Nothing was saved" in page
    assert "The financial review of this submission was already recorded by" in page
    assert ">Show the data.</textarea>" in page
    assert Review.objects.get(kind="finance").reviewer == people["elr-finance-reviewer"]


# --- the submission ---


def test_a_submission_after_a_change_in_another_tab_keeps_the_answers(client, people, draft):
    scheme = reviewed(people, submitted(people, draft), "finance", "revise")
    review = Review.objects.get()
    lead = as_user(client, people["elr-project-lead"])
    url = reverse("scheme_submit", args=[scheme.pk])
    seen = drawn(lead, url)
    # the project lead fixes the PID in a second tab, then presses Submit in the first
    retitled(people, scheme, "Outpatient follow-up reduction, with baseline")
    typed = {f"response_{review.pk}": "Baseline added on page 2.", "comment": "Ready again."}

    response = lead.post(url, {**seen, **typed})

    assert response.status_code == 200
    page = text(response)
    assert "changed while you were looking at it" in page
    assert "The latest change: title changed, by you." in page
    assert "Baseline added on page 2." in page and "Ready again." in page
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.DRAFT

    again = {"version": response.context["form"]["version"].value(), **typed}
    assert lead.post(url, again).status_code == 302
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.CONFIRM_AND_CHALLENGE
    assert Review.objects.get().response == "Baseline added on page 2."


def test_a_refused_submission_comes_back_with_what_was_typed(client, people, draft):
    Scheme.objects.filter(pk=draft.pk).update(**{name: 0 for name in PLAN_FIELDS})
    lead = as_user(client, people["elr-project-lead"])
    url = reverse("scheme_submit", args=[draft.pk])

    response = lead.post(url, {**drawn(lead, url), "comment": "Over to the reviewers."})

    assert response.status_code == 200
    page = text(response)
    assert (
        "Enter the monthly savings plan before submitting. Nothing was saved: what you typed "
        "is below." in page
    )
    assert "Over to the reviewers." in page
    assert Scheme.objects.get(pk=draft.pk).state == SchemeState.DRAFT


# --- the withdrawal ---


def test_a_withdrawal_after_a_change_keeps_the_reason_to_send_again(client, people, draft):
    lead = as_user(client, people["elr-project-lead"])
    url = reverse("scheme_withdraw", args=[draft.pk])
    seen = drawn(lead, url)
    retitled(people, draft, "Outpatient follow-up reduction (v2)")

    response = lead.post(url, {**seen, "reason": "Commissioner decommissioned the service."})

    assert response.status_code == 200
    assert "Commissioner decommissioned the service." in text(response)
    assert response.context["form"]["version"].value() == Scheme.objects.get(pk=draft.pk).version
    assert Scheme.objects.get(pk=draft.pk).state == SchemeState.DRAFT


def test_a_withdrawal_of_a_scheme_rejected_meanwhile_shows_the_reason_to_copy(
    client, people, draft
):
    scheme = submitted(people, draft)
    sro = as_user(client, people["elr-sro"])
    url = reverse("scheme_withdraw", args=[scheme.pk])
    seen = drawn(sro, url)
    reviewed(people, scheme, "finance", "not_supported")

    response = sro.post(url, {**seen, "reason": "No longer affordable."})

    assert response.status_code == 409
    page = text(response)
    assert (
        f"{scheme.reference} changed while you were looking at it, so nothing was saved. "
        "It is now rejected: that step no longer applies." in page
    )
    assert ">No longer affordable.</textarea>" in page
    assert f'href="{scheme.get_absolute_url()}"' in page
    assert Scheme.objects.get(pk=scheme.pk).state == SchemeState.REJECTED
    assert not AccessRefusal.objects.exists()  # someone else's change is no refusal
