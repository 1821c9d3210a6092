"""Continuous re-assessment: the review date passing, a material change, a new version."""

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from governance import importers, policy
from governance.models import PLAN_FIELDS, Scheme, SchemeState
from governance.services import ActionRefused
from notifications.models import Notification
from qia import escalation_feed, services
from qia.models import VersionStatus
from tests.qia.conftest import mitigations, scores, text

pytestmark = pytest.mark.django_db

SIGNED = date(2019, 6, 3)


@pytest.fixture
def approved(qia):
    with time_machine.travel(SIGNED, tick=False):
        return qia.approved()


def test_the_qia_is_due_once_its_review_date_comes(qia, approved, as_user):
    version = qia.version(approved)
    assert version.review_date == date(2019, 12, 3)
    with time_machine.travel(date(2019, 12, 2), tick=False):
        assert services.reassessment_due(approved) == (None, [])
        assert escalation_feed.review_due([approved.pk], date(2019, 12, 2)) == {}
    with time_machine.travel(date(2019, 12, 3), tick=False):
        signed, reasons = services.reassessment_due(approved)
        assert signed == version
        assert reasons == ["its review date, 3 December 2019, has come"]
        assert escalation_feed.review_due([approved.pk], date(2019, 12, 3)) == {
            approved.pk: "QIA v1 was due for review on 3 December 2019."
        }
        lead = as_user(qia["elr-project-lead"])
        page = text(lead.get(approved.get_absolute_url()))
        assert "Due for re-assessment:" in page
        assert "Re-assess the QIA: its review date" in text(lead.get(reverse("my_tasks")))
        register = text(lead.get(reverse("qia_register")))
        assert "Due for re-assessment" in register


@pytest.mark.parametrize(("monthly", "due"), [(Decimal("6001"), False), (Decimal("6100"), True)])
def test_a_material_change_to_the_annual_plan_makes_it_due(qia, approved, settings, monthly, due):
    # 5,000 a month signed off; 6,001 is a 20.0% change (not more than 20%), 6,100 is 22%
    settings.QIA_MATERIAL_CHANGE_PERCENT = 20
    Scheme.objects.filter(pk=approved.pk).update(**{name: monthly for name in PLAN_FIELDS})
    with time_machine.travel(date(2019, 7, 1), tick=False):
        _signed, reasons = services.reassessment_due(qia.fresh(approved))
    assert bool(reasons) is due
    if due:
        assert reasons == [
            "the annual plan has changed by 22% since sign-off (from £60,000 to £73,200)"
        ]


def import_plan(qia, scheme, monthly: str):
    """The PMO imports the scheme's plan with `monthly` for each month."""
    row = {
        "reference": scheme.reference,
        "title": scheme.title,
        "organisation": "ELR",
        "financial_year": "2019/20",
        "programme_area": "Planned Care",
        "area_of_spend": "Elective Care",
        "scheme_type": "transactional",
        "recovery": "no",
        **{name: monthly for name in PLAN_FIELDS},
    }
    handle = io.StringIO()
    writer = csv.DictWriter(handle, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    data = io.BytesIO(handle.getvalue().encode())
    result = importers.import_file("plans", data, name="plans.csv", by=qia["elr-pmo"])
    assert (result.errors, result.updated) == ([], 1)


def reassess_task(as_user, qia) -> str:
    """The words of the project lead's task row to re-assess the QIA, on the task list."""
    page = text(as_user(qia["elr-project-lead"]).get(reverse("my_tasks")))
    (row,) = [row for row in re.findall(r"<tr>.*?</tr>", page, re.S) if "Re-assess" in row]
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_a_plan_change_waits_since_the_plan_changed_not_since_the_review_date(
    qia, approved, as_user
):
    # review date 3 December 2019; the plan is imported 22% up on 10 July
    with time_machine.travel(date(2019, 7, 10), tick=False):
        import_plan(qia, approved, "6100")
    with time_machine.travel(date(2019, 7, 15), tick=False):
        task = reassess_task(as_user, qia)
    assert task == (
        f"{approved.reference} {approved.title} ELR Re-assess the QIA: the annual plan has "
        "changed by 22% since sign-off (from £60,000 to £73,200) 10 Jul 2019 (5 days)"
    )


def test_a_plan_change_the_history_does_not_record_waits_since_today(qia, approved, as_user):
    Scheme.objects.filter(pk=approved.pk).update(**{name: Decimal("6100") for name in PLAN_FIELDS})
    with time_machine.travel(date(2019, 7, 15), tick=False):
        assert reassess_task(as_user, qia).endswith("15 Jul 2019 (0 minutes)")


def test_a_qia_due_for_both_reasons_waits_since_the_first(qia, approved, as_user):
    # the plan changed on 1 November, before the review date of 3 December came
    with time_machine.travel(date(2019, 11, 1), tick=False):
        import_plan(qia, approved, "6100")
    with time_machine.travel(date(2020, 1, 10), tick=False):
        task = reassess_task(as_user, qia)
    assert "its review date, 3 December 2019, has come; the annual plan has changed" in task
    assert task.endswith("1 Nov 2019 (2 months, 1 week)")


def test_a_change_within_the_limit_is_not_material(qia, approved):
    Scheme.objects.filter(pk=approved.pk).update(**{name: Decimal("5500") for name in PLAN_FIELDS})
    with time_machine.travel(date(2019, 7, 1), tick=False):
        assert services.reassessment_due(qia.fresh(approved)) == (None, [])


def test_a_reassessment_is_pre_filled_and_goes_round_again_while_the_scheme_delivers(qia, approved):
    with time_machine.travel(date(2019, 12, 4), tick=False):
        version = services.reassessment_open(scheme_id=approved.pk, by=qia["elr-project-lead"])
        assert (version.number, version.drives_scheme) == (2, False)
        assert version.status == VersionStatus.SELF_ASSESSMENT
        assert "review date, 3 December 2019" in version.opened_reason
        first = qia.version(approved, 1)
        # pre-filled from the last agreed scores, mitigations and equality screening
        for old, new in zip(
            first.assessments.filter(kind="agreed").order_by("heading"),
            version.assessments.filter(kind="self").order_by("heading"),
            strict=True,
        ):
            assert (old.heading, old.impact, old.score) == (new.heading, new.impact, new.score)
        assert version.equality_impact == first.equality_impact
        assert services.reassessment_due(approved) == (None, [])  # under way
        assert escalation_feed.review_due([approved.pk], date(2019, 12, 4)) == {}

        # the project lead revises it while the scheme stays approved
        lead = qia["elr-project-lead"]
        services.self_assessment_save(
            scheme_id=approved.pk,
            by=lead,
            headings=scores(patient_safety=(3, 3)),
            equality_impact="no",
            equality_rationale="Unchanged.",
            mitigations=mitigations(scores(patient_safety=(3, 3))),
            expected_revision=version.revision,
        )
        services.reassessment_send_to_panel(version_id=version.pk, by=lead)
        assert qia.version(approved).status == VersionStatus.PANEL
        for username in qia.PANEL:
            qia.score(approved, username, scores(patient_safety=(3, 3)))
        qia.agree(approved, scores(patient_safety=(3, 3)))
        qia.sign(approved, "elr-clinical-chair")
        qia.sign(approved, "elr-chief-nurse")

    version = qia.version(approved)
    assert (version.number, version.status) == (2, VersionStatus.SIGNED_OFF)
    assert version.overall_score == 9
    assert version.review_date == date(2020, 3, 4)  # high: three months
    assert qia.fresh(approved).state == SchemeState.APPROVED  # untouched throughout
    first = qia.version(approved, 1)
    assert first.status == VersionStatus.SIGNED_OFF
    assert first.assessments.get(kind="agreed", heading="patient_safety").score == 6


def test_the_old_version_is_read_only(qia, approved, as_user):
    with time_machine.travel(date(2019, 12, 4), tick=False):
        services.reassessment_open(scheme_id=approved.pk, by=qia["elr-quality-lead"])
    old = qia.version(approved, 1)
    lead_user = qia["elr-project-lead"]
    assert policy.refusal("qia_edit", lead_user, approved, version=old) == (
        "Version 1 is kept as it was: only the newest version changes."
    )
    with pytest.raises(ActionRefused, match="the current QIA version"):
        services.eqia_attach(version_id=old.pk, by=lead_user, link="https://x.nhs.uk")
    lead = as_user(qia["elr-project-lead"])
    assert "kept as it was: read-only" in text(
        lead.get(reverse("qia_version", args=[approved.pk, 1]))
    )
    # the form edits the newest version only
    assert "re-assessment, version 2" in text(
        lead.get(reverse("qia_self_assessment", args=[approved.pk]))
    )


def test_a_qia_not_due_is_reassessed_only_with_a_reason(qia, approved):
    with time_machine.travel(date(2019, 7, 1), tick=False):
        with pytest.raises(ActionRefused, match="not due for re-assessment yet"):
            services.reassessment_open(scheme_id=approved.pk, by=qia["elr-project-lead"])
        version = services.reassessment_open(
            scheme_id=approved.pk, by=qia["elr-project-lead"], reason="Scope now covers LD."
        )
    assert version.opened_reason == "Scope now covers LD."
    with pytest.raises(ActionRefused, match="already under way"):
        services.reassessment_open(scheme_id=approved.pk, by=qia["elr-sro"], reason="Again.")


@pytest.mark.parametrize("username", ["elr-viewer", "elr-panel-member", "wl-quality-lead"])
def test_others_cannot_open_a_reassessment(qia, approved, username):
    with pytest.raises(ActionRefused, match="can open a QIA re-assessment"):
        services.reassessment_open(scheme_id=approved.pk, by=qia[username], reason="Why not.")


def test_a_scheme_not_yet_approved_is_not_reassessed(qia):
    scheme = qia.awaiting_sign_off()
    with pytest.raises(ActionRefused, match="once the scheme is approved"):
        services.reassessment_open(scheme_id=scheme.pk, by=qia["elr-project-lead"], reason="x")


def test_a_reassessment_dismissed_at_panel_is_flagged_to_qag(qia, approved):
    with time_machine.travel(date(2019, 12, 4), tick=False):
        version = services.reassessment_open(scheme_id=approved.pk, by=qia["elr-project-lead"])
        services.reassessment_send_to_panel(version_id=version.pk, by=qia["elr-project-lead"])
        services.panel_close(
            version_id=version.pk,
            by=qia["elr-quality-lead"],
            decision="dismiss",
            reason="Harm now outweighs the saving.",
        )
    assert qia.fresh(approved).state == SchemeState.APPROVED
    flag = qia.version(approved).flags.get()
    assert flag.kind == "dismissed" and "Harm now outweighs" in flag.detail


def _reassessment_at_panel(qia, scheme):
    version = services.reassessment_open(scheme_id=scheme.pk, by=qia["elr-project-lead"])
    services.reassessment_send_to_panel(version_id=version.pk, by=qia["elr-project-lead"])
    return version


def test_a_reassessment_returned_by_the_panel_opens_a_new_version_for_the_project_lead(
    qia, approved
):
    with time_machine.travel(date(2019, 12, 4), tick=False):
        version = _reassessment_at_panel(qia, approved)
        services.panel_close(
            version_id=version.pk,
            by=qia["elr-quality-lead"],
            decision="return",
            reason="Add the new community capacity figures.",
        )
    assert qia.fresh(approved).state == SchemeState.APPROVED
    assert qia.version(approved, 2).status == VersionStatus.RETURNED
    newest = qia.version(approved)
    assert (newest.number, newest.status, newest.drives_scheme) == (
        3,
        VersionStatus.SELF_ASSESSMENT,
        False,
    )
    told = Notification.objects.get(user=qia["elr-project-lead"], kind="qia")
    assert told.subject.startswith("QIA re-assessment returned for revision")
    assert "The scheme stays approved" in told.message


def test_a_reassessment_declined_at_sign_off_is_flagged_to_qag(qia, approved):
    with time_machine.travel(date(2019, 12, 4), tick=False):
        _reassessment_at_panel(qia, approved)
        for username in qia.PANEL:
            qia.score(approved, username)
        qia.agree(approved)
        qia.sign(
            approved,
            "elr-chief-nurse",
            decision="declined",
            decline_outcome="reject",
            comment="The risk is no longer acceptable.",
        )
    assert qia.fresh(approved).state == SchemeState.APPROVED  # QAG decides on the scheme
    version = qia.version(approved)
    assert version.status == VersionStatus.DECLINED
    assert version.flags.get().kind == "declined"
    assert Notification.objects.filter(
        user=qia["elr-qag-member"], subject__startswith="QIA re-assessment declined"
    ).exists()
