"""The case beside the decision: every page on which someone judges a scheme shows, beside its
form, the PID in brief, its savings plan with its total, its documents, the last round of
confirm and challenge with the project team's answers, the QIA in brief and, for a scheme in
delivery, its figures to date. Blind scoring holds in it as on every QIA page."""

import html
import re
from datetime import date

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import services as governance
from governance.delivery import lifecycle
from governance.models import Scheme
from notifications.models import Escalation, Level, Rule
from qia.case import cases_for
from tests.pages import visible
from tests.qia.conftest import scores
from tests.world import add_return

pytestmark = pytest.mark.django_db

CHALLENGE = "Show the baseline activity behind the plan."
ANSWER = "Baseline added: 1,200 follow-ups a year, from SUS data."
SUPPORTED = "The baseline now stands up: supported."
DOCUMENT = "business-case-v2.pdf"
PLAN_TOTAL = "Annual plan (£60,000)"  # twelve months of £5,000, saved: in brackets
MONTHS = ["Apr (£5,000)", "Sep (£5,000)", "Oct (£5,000)", "Mar (£5,000)"]
# elr-panel-member's score of patient safety, where the others scored C3 x L2 = 6
THEIR_SCORE = "20 · Extreme"
THEIR_NAME = "ELR Panel Member (Nursing)"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(date(2019, 8, 15), tick=False):
        yield


def the_case(response) -> str:
    """The words of the case beside the form, and nothing else of the page."""
    found = re.search(r'<section class="case .*?</section>', response.content.decode(), re.S)
    assert found, "no case on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def attach(scheme: Scheme, name: str = DOCUMENT) -> None:
    governance.document_add(
        scheme_id=scheme.pk,
        by=scheme.project_lead,
        kind="business_case",
        upload=SimpleUploadedFile(name, b"%PDF-1.4\n", content_type="application/pdf"),
        content_type="application/pdf",
    )


def challenged(qia, *, documents=1) -> Scheme:
    """Submitted twice: the finance reviewer asked for the baseline and the project lead
    answered on resubmitting. Now in its second confirm and challenge."""
    scheme = qia.draft()
    for number in range(documents):
        attach(scheme, DOCUMENT if number == 0 else f"appendix-{number}.pdf")
    scheme = qia.submitted(scheme)
    governance.scheme_review(
        scheme_id=scheme.pk,
        by=qia["elr-finance-reviewer"],
        kind="finance",
        decision="revise",
        comment=CHALLENGE,
        expected_version=None,
    )
    governance.scheme_submit(
        scheme_id=scheme.pk,
        by=scheme.project_lead,
        expected_version=None,
        responses={review.pk: ANSWER for review in scheme.reviews.all()},
    )
    return qia.fresh(scheme)


def at_panel(qia) -> Scheme:
    """Both reviewers supported its second submission: the QIA panel scores it now."""
    scheme = challenged(qia)
    for kind in ("finance", "clinical"):
        governance.scheme_review(
            scheme_id=scheme.pk,
            by=qia[f"elr-{kind}-reviewer"],
            kind=kind,
            decision="supported",
            comment=SUPPORTED,
            expected_version=None,
        )
    return qia.fresh(scheme)


def disputed(qia) -> Scheme:
    """At the panel, scored by elr-panel-member only: patient safety 20, where the
    self-assessment said 6."""
    scheme = at_panel(qia)
    qia.score(scheme, "elr-panel-member", scores(patient_safety=(5, 4)))
    return scheme


def awaiting_sign_off(qia) -> Scheme:
    """Scored by the whole panel, elr-panel-member far above the others, and agreed at 6."""
    scheme = disputed(qia)
    qia.score(scheme, "elr-panel-member-2")
    qia.score(scheme, "elr-quality-lead")
    qia.agree(scheme)
    return qia.fresh(scheme)


def in_delivery(qia, people) -> Scheme:
    """Approved and in delivery, with its first three returns in: June's short by £1,000."""
    scheme = awaiting_sign_off(qia)
    qia.sign(scheme, "elr-chief-nurse")
    qia.sign(scheme, "elr-clinical-chair")
    lifecycle.scheme_start_delivery(
        scheme_id=scheme.pk, by=people["elr-pmo"], expected_version=None
    )
    for month, actual in ((1, "5000"), (2, "5000"), (3, "4000")):
        add_return(scheme, month, actual, by=people["elr-finance-reviewer"])
    return qia.fresh(scheme)


def assert_the_case_is_there(case: str, *, comment: str) -> None:
    assert "Outpatient follow-up reduction" in case and "East Leics and Rutland" in case
    assert "SRO ELR Sro" in case and "Project lead ELR Project Lead" in case
    assert "Programme area Planned Care" in case and "Area of spend Elective Care" in case
    assert PLAN_TOTAL in case
    assert all(month in case for month in MONTHS)
    assert "Savings are shown as negative figures in brackets" in case
    assert DOCUMENT in case
    assert comment in case
    assert "Quality impact assessment" in case and "Patient safety" in case


# --- every decision page shows the case ---


@pytest.mark.parametrize("kind", ["finance", "clinical"])
def test_a_reviewer_sees_the_last_round_and_the_project_teams_answers(qia, as_user, kind):
    scheme = challenged(qia)
    page = as_user(qia[f"elr-{kind}-reviewer"]).get(
        reverse("scheme_review", args=[scheme.pk, kind])
    )

    case = the_case(page)
    assert_the_case_is_there(case, comment=CHALLENGE)
    assert "Submission 1, the one before this" in case
    assert f"The project team's answer (15 Aug 2019): {ANSWER}" in case
    assert "Patient safety 6 · Moderate" in case  # the self-assessment


def test_a_first_submission_says_there_is_no_earlier_round(qia, as_user):
    scheme = qia.submitted()
    page = as_user(qia["elr-finance-reviewer"]).get(
        reverse("scheme_review", args=[scheme.pk, "finance"])
    )

    assert "This is the scheme's first submission: there is no earlier round." in the_case(page)


def test_a_long_description_is_cut_short_with_the_whole_of_it_on_request(qia, as_user):
    scheme = challenged(qia)
    words = [f"word{n}" for n in range(100)]
    Scheme.objects.filter(pk=scheme.pk).update(description=" ".join(words))
    page = as_user(qia["elr-finance-reviewer"]).get(
        reverse("scheme_review", args=[scheme.pk, "finance"])
    )

    case = the_case(page)
    assert "word59 …" in case and "Show all of the description" in case
    assert "word99" in case.split("Show all of the description")[1]


def test_the_panel_member_scoring_sees_the_case(qia, as_user):
    scheme = at_panel(qia)
    page = as_user(qia["elr-panel-member"]).get(reverse("qia_score", args=[scheme.pk]))

    assert_the_case_is_there(the_case(page), comment=SUPPORTED)


def test_the_quality_lead_agreeing_sees_the_case(qia, as_user):
    scheme = disputed(qia)
    qia.score(scheme, "elr-quality-lead")
    page = as_user(qia["elr-quality-lead"]).get(reverse("qia_agree", args=[scheme.pk]))

    assert_the_case_is_there(the_case(page), comment=SUPPORTED)


@pytest.mark.parametrize("username", ["elr-chief-nurse", "elr-clinical-chair"])
def test_each_signatory_sees_the_case(qia, as_user, username):
    scheme = awaiting_sign_off(qia)
    page = as_user(qia[username]).get(reverse("qia_sign_off", args=[scheme.pk]))

    case = the_case(page)
    assert_the_case_is_there(case, comment=SUPPORTED)
    assert "Agreed overall risk: 6 · Moderate" in case


def test_the_pmo_assuring_a_return_sees_the_case_and_the_year_to_date(qia, as_user, people):
    scheme = in_delivery(qia, people)
    page = as_user(people["elr-pmo"]).get(reverse("return_assure", args=[scheme.pk, 3]))

    case = the_case(page)
    assert_the_case_is_there(case, comment=SUPPORTED)
    assert "Year to date as at Jun 2019." in case
    assert "Plan (£15,000) Actual (£14,000) Variance £1,000 PMO assured none yet" in case
    assert "Forecast outturn for the year (£59,000)" in case  # to date, then to plan


def test_the_pmo_assuring_a_month_at_once_sees_each_schemes_case(qia, as_user, people):
    scheme = in_delivery(qia, people)
    page = as_user(people["elr-pmo"]).get(reverse("returns_assure_all"))

    shown = visible(page)
    assert f"{scheme.reference} Outpatient follow-up reduction" in shown  # its summary
    assert PLAN_TOTAL in shown and DOCUMENT in shown and SUPPORTED in shown
    assert "Year to date as at Apr 2019." in shown  # the month whose returns are shown
    assert "Quality impact assessment" in shown


def test_the_qag_member_deciding_sees_the_case(qia, as_user, people):
    scheme = in_delivery(qia, people)
    now = timezone.now()
    escalation = Escalation.objects.create(
        scheme=scheme,
        rule=Rule.OFF_TRACK,
        level=Level.QAG,
        owner=scheme.sro,
        reason="Behind plan.",
        raised_at=now,
        last_fired_at=now,
        raised_to_qag_at=now,
    )
    page = as_user(people["elr-qag-member"]).get(reverse("escalation_decide", args=[escalation.pk]))

    case = the_case(page)
    assert_the_case_is_there(case, comment=SUPPORTED)
    assert "Year to date as at" in case and "Actual" in case


# --- blind scoring holds in the case ---


def test_a_panel_member_who_has_not_scored_sees_no_score_of_another_in_the_case(qia, as_user):
    scheme = disputed(qia)
    page = as_user(qia["elr-panel-member-2"]).get(reverse("qia_score", args=[scheme.pk]))

    case = the_case(page)
    assert THEIR_SCORE not in case and THEIR_NAME not in case
    assert "disagree" not in case and "Panel members" not in case
    assert "The panel members' own scores are not shown to you" in case


def test_the_quality_lead_sees_the_others_scores_in_the_case_once_she_has_scored(qia, as_user):
    scheme = disputed(qia)
    chair = as_user(qia["elr-quality-lead"])
    url = reverse("qia_agree", args=[scheme.pk])

    before = the_case(chair.get(url))
    assert THEIR_SCORE not in before and THEIR_NAME not in before
    assert "disagree" not in before

    qia.score(scheme, "elr-quality-lead")
    after = the_case(chair.get(url))
    assert "Panel members disagree on patient safety." in after
    assert "Patient safety Members disagree: 2 bands apart" in after
    assert f"{THEIR_NAME}: {THEIR_SCORE}" in after
    assert "ELR Quality Lead (Quality and safety): 6 · Moderate" in after


def test_the_chief_nurse_sees_the_financials_and_that_the_panel_disagreed(qia, as_user):
    scheme = awaiting_sign_off(qia)
    page = as_user(qia["elr-chief-nurse"]).get(reverse("qia_sign_off", args=[scheme.pk]))

    case = the_case(page)
    assert PLAN_TOTAL in case and "Apr (£5,000)" in case
    assert "Panel members disagree on patient safety." in case
    # the panel's range beside the self-assessment and the agreed score
    assert "Patient safety 6 · Moderate 6 · Moderate to 20 · Extreme 6 · Moderate" in case
    assert f"{THEIR_NAME}: {THEIR_SCORE}" in case


# --- what it costs ---


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_case_reads_no_more_for_more_documents(qia, as_user):
    few = challenged(qia, documents=1)
    many = challenged(qia, documents=6)
    reviewer = as_user(qia["elr-clinical-reviewer"])
    urls = [reverse("scheme_review", args=[s.pk, "clinical"]) for s in (few, many)]
    reviewer.get(urls[0])  # the session and the content types read once

    assert queries(reviewer, urls[1]) == queries(reviewer, urls[0])


def test_the_cases_of_a_month_of_returns_cost_one_query_more_a_scheme_at_most(qia, people):
    """The bulk assurance page draws a case for each scheme: the PID, plan, documents,
    reviews, QIA and returns of them all are read at once; only the blind-scoring check (has
    this user scored the version?) is asked scheme by scheme."""
    pmo = people["elr-pmo"]

    def count(schemes) -> int:
        fresh = list(Scheme.objects.filter(pk__in=[s.pk for s in schemes]))
        with CaptureQueriesContext(connection) as captured:
            cases = cases_for(pmo, fresh, as_at_month=3)
        assert all(case.delivery and case.documents for case in cases.values())
        return len(captured)

    schemes = [in_delivery(qia, people)]
    one = count(schemes)
    schemes += [in_delivery(qia, people) for _ in range(3)]

    assert count(schemes) <= one + 3
