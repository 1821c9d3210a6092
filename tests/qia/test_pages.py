"""The QIA pages for each kind of user: shown, refused with a reason, never a 500."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from governance.models import AccessRefusal, FinancialYear, SchemeState
from qia.models import VersionStatus
from tests.qia.conftest import scores, text, words

pytestmark = pytest.mark.django_db

SCHEME_PAGES = [
    "qia_detail",
    "qia_history",
    "qia_self_assessment",
    "qia_send_to_panel",
    "qia_eqia",
    "qia_score",
    "qia_panel",
    "qia_agree",
    "qia_panel_close",
    "qia_sign_off",
    "qia_reassess",
]


@pytest.mark.parametrize("state", ["draft", "at_panel", "awaiting", "approved"])
@pytest.mark.parametrize(
    "username",
    [
        "elr-project-lead",
        "elr-panel-member",
        "elr-quality-lead",
        "elr-chief-nurse",
        "elr-viewer",
        "wl-quality-lead",
    ],
)
def test_every_page_answers_every_user_without_an_error(qia, as_user, state, username):
    scheme = {
        "draft": lambda: qia.draft(),
        "at_panel": lambda: qia.at_panel(),
        "awaiting": lambda: qia.awaiting_sign_off(equality="yes"),
        "approved": lambda: qia.approved(),
    }[state]()
    user = as_user(qia[username])
    for name in SCHEME_PAGES:
        response = user.get(reverse(name, args=[scheme.pk]))
        assert response.status_code in (200, 302, 403, 404), (name, response.status_code)
        if response.status_code == 403:
            assert "You cannot do that" in text(response)
        if response.status_code == 302:  # a step not open now, to someone who takes it
            assert response["Location"] == reverse("qia_detail", args=[scheme.pk]), name
        response = user.post(reverse(name, args=[scheme.pk]), {"comment": "x"})
        assert response.status_code in (200, 302, 403, 404), (name, response.status_code)
    for name in ("qia_heatmap", "qia_register"):
        assert user.get(reverse(name)).status_code == 200


def test_a_drafts_qia_is_seen_by_its_team_only(qia, as_user):
    scheme = qia.draft()
    qia.self_assess(scheme)
    assert as_user(qia["elr-sro"]).get(reverse("qia_detail", args=[scheme.pk])).status_code == 200
    response = as_user(qia["elr-quality-lead"]).get(reverse("qia_detail", args=[scheme.pk]))
    assert response.status_code == 403
    assert "You do not have access to this scheme." in text(response)
    assert AccessRefusal.objects.filter(user=qia["elr-quality-lead"]).exists()


def test_the_scheme_page_shows_the_qia_block_buttons_and_history(qia, as_user):
    scheme = qia.scored()
    chair = as_user(qia["elr-quality-lead"])
    page = words(chair.get(scheme.get_absolute_url()))
    assert "Quality impact assessment v1: At panel" in page
    assert "Agree the QIA" in page
    assert "QIA version 1 scored by a panel member" in page
    assert "QIA version 1 opened" in page


def test_the_print_page_is_plain_and_complete(qia, as_user):
    scheme = qia.approved(headings=scores(patient_safety=(5, 4)))
    page = as_user(qia["elr-viewer"]).get(reverse("qia_print", args=[scheme.pk, 1]))
    assert page.status_code == 200
    content = words(page)
    assert "Quality Impact Assessment: ELR-1920-001" in content
    assert "20 · Extreme" in content
    assert "Justification for accepting an extreme risk" in content
    assert 'class="navbar' not in text(page)


def test_the_history_lists_every_version_each_readable(qia, as_user):
    scheme = qia.scored()
    from qia import services

    services.panel_close(
        version_id=qia.version(scheme).pk,
        by=qia["elr-quality-lead"],
        decision="return",
        reason="More detail.",
    )
    user = as_user(qia["elr-project-lead"])
    page = text(user.get(reverse("qia_history", args=[scheme.pk])))
    assert "Version 2" in page and "Version 1" in page
    assert "Returned for more detail" in page
    old = user.get(reverse("qia_version", args=[scheme.pk, 1]))
    assert old.status_code == 200 and "read-only" in text(old)
    assert user.get(reverse("qia_version", args=[scheme.pk, 9])).status_code == 404


def test_tasks_name_what_waits_for_each_person(qia, as_user):
    scheme = qia.at_panel()
    assert "Score the QIA (version 1)" in text(
        as_user(qia["elr-panel-member"]).get(reverse("my_tasks"))
    )
    assert "Score the QIA" not in text(as_user(qia["wl-panel-member"]).get(reverse("my_tasks")))
    for username in qia.PANEL:
        qia.score(scheme, username)
    assert "Score the QIA" not in text(as_user(qia["elr-panel-member"]).get(reverse("my_tasks")))
    qia.agree(scheme)
    nurse = text(as_user(qia["elr-chief-nurse"]).get(reverse("my_tasks")))
    assert "Sign off the QIA as Chief Nurse and Quality Officer" in nurse


# --- the heatmap and the register ---


@pytest.fixture
def risks(qia):
    """Three ELR schemes with agreed risks: 20 (5 x 4) signed off, 12 (4 x 3) and 6 (3 x 2)."""
    with time_machine.travel(date(2019, 6, 3)):
        extreme = qia.approved(qia.draft(title="Extreme"), scores(patient_safety=(5, 4)))
        high = qia.awaiting_sign_off(qia.draft(title="High"), scores(patient_safety=(4, 3)))
        moderate = qia.awaiting_sign_off(qia.draft(title="Moderate"))
        qia.at_panel(qia.draft(title="At panel"))  # no agreed risk yet: not shown
    return {"extreme": extreme, "high": high, "moderate": moderate}


def test_the_heatmap_places_each_qia_by_its_highest_heading(qia, as_user, risks):
    page = as_user(qia["elr-viewer"]).get(reverse("qia_heatmap"))
    cells = {
        (cell.consequence, cell.likelihood): cell.count
        for row in page.context["grid"]
        for cell in row["cells"]
        if cell.count
    }
    assert cells == {(5, 4): 1, (4, 3): 1, (3, 2): 1}
    assert "3 QIAs with a negative impact" in text(page)


def test_the_heatmap_filters_by_band_and_links_cells_to_their_schemes(qia, as_user, risks):
    viewer = as_user(qia["elr-viewer"])
    page = viewer.get(reverse("qia_heatmap"), {"band": "extreme"})
    cells = [cell for row in page.context["grid"] for cell in row["cells"] if cell.count]
    assert len(cells) == 1 and "band=extreme" in cells[0].url
    listed = text(viewer.get(cells[0].url))
    assert risks["extreme"].reference in listed
    assert risks["high"].reference not in listed


def test_the_heatmap_filters_by_organisation_and_year(qia, as_user, risks):
    viewer = as_user(qia["elr-viewer"])
    other_year = FinancialYear.objects.create(start_year=2020)
    page = viewer.get(reverse("qia_heatmap"), {"financial_year": other_year.pk})
    assert page.context["total"] == 0
    wl = qia["wl-viewer"].organisations.get()
    assert viewer.get(reverse("qia_heatmap"), {"organisation": wl.pk}).context["total"] == 0
    elr = qia["elr-viewer"].organisations.get()
    assert viewer.get(reverse("qia_heatmap"), {"organisation": elr.pk}).context["total"] == 3


def test_the_register_sorts_by_score(qia, as_user, risks):
    viewer = as_user(qia["elr-viewer"])
    page = viewer.get(reverse("qia_register"))
    assert [v.overall_score for v in page.context["page"]] == [20, 12, 6]
    page = viewer.get(reverse("qia_register"), {"sort": "score_asc"})
    assert [v.overall_score for v in page.context["page"]] == [6, 12, 20]
    statuses = {v.overall_score: v.status for v in page.context["page"]}
    assert statuses[20] == VersionStatus.SIGNED_OFF
    assert statuses[12] == VersionStatus.AWAITING_SIGN_OFF


def test_the_register_pages(qia, as_user, risks, settings):
    settings.QIPP_PAGE_SIZE = 2
    viewer = as_user(qia["elr-viewer"])
    first = viewer.get(reverse("qia_register"))
    assert len(first.context["page"]) == 2 and "Page 1 of 2" in text(first)
    second = viewer.get(reverse("qia_register"), {"page": 2})
    assert [v.overall_score for v in second.context["page"]] == [6]


def test_the_register_ignores_nonsense_filters(qia, as_user, risks):
    viewer = as_user(qia["elr-viewer"])
    response = viewer.get(
        reverse("qia_register"), {"band": "purple", "consequence": "9", "page": "x"}
    )
    assert response.status_code == 200


def test_rejected_and_withdrawn_schemes_leave_the_heatmap(qia, as_user, risks):
    from governance import services as governance

    governance.scheme_withdraw(
        scheme_id=risks["high"].pk, by=qia["elr-sro"], reason="Superseded.", expected_version=None
    )
    assert qia.fresh(risks["high"]).state == SchemeState.WITHDRAWN
    page = as_user(qia["elr-viewer"]).get(reverse("qia_heatmap"))
    assert page.context["total"] == 2


def test_the_qag_flags_page_is_for_qag_and_the_quality_people(qia, as_user):
    assert as_user(qia["elr-viewer"]).get(reverse("qia_flags")).status_code == 403
    assert as_user(qia["elr-qag-member"]).get(reverse("qia_flags")).status_code == 200
