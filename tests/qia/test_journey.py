"""The whole journey as the users drive it through the pages: draft to approved, then a
re-assessment once the review date has passed."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from governance.models import (
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    Organisation,
    ProgrammeArea,
    Scheme,
    SchemeState,
)
from qia.models import VersionStatus
from tests.qia.conftest import MODERATE, mitigation_post, mitigations, text, words

pytestmark = pytest.mark.django_db


def sheet(headings=MODERATE, **extra) -> dict:
    data = {
        **mitigation_post(mitigations(headings)),
        "equality_impact": "no",
        "equality_rationale": "No group is affected differently.",
    }
    for heading, values in headings.items():
        for name in ("impact", "consequence", "likelihood", "rationale"):
            value = values.get(name)
            data[f"{heading}-{name}"] = "" if value is None else str(value)
    data.update(extra)
    return data


def pid(people) -> dict:
    return {
        "title": "MSK pathway redesign",
        "description": "Move musculoskeletal referrals to a community triage service.",
        "organisation": Organisation.objects.get(code="ELR").pk,
        "financial_year": FinancialYear.objects.get().pk,
        "programme_area": ProgrammeArea.objects.get().pk,
        "area_of_spend": AreaOfSpend.objects.get().pk,
        "scheme_type": "transformational",
        "sro": people["elr-sro"].pk,
        "start_date": "2019-04-01",
        **{name: "10000" for name in PLAN_FIELDS},
        "recurrence": "recurrent",
        "cash_releasing": "True",
    }


class Browser:
    def __init__(self, client, people):
        self.client, self.people = client, people

    def as_(self, username):
        self.client.force_login(self.people[username])
        return self.client

    def post(self, username, name, scheme, data=None, follow=False):
        response = self.as_(username).post(
            reverse(name, args=[scheme.pk]), data or {}, follow=follow
        )
        assert response.status_code in (200, 302), (name, response.status_code)
        return response


def test_a_scheme_goes_from_draft_to_approved_and_is_reassessed_when_due(client, people):
    web = Browser(client, people)
    with time_machine.travel(date(2019, 6, 3)):
        # the project lead writes the PID; it cannot go without its QIA self-assessment
        lead = web.as_("elr-project-lead")
        lead.post(reverse("scheme_create"), pid(people))
        scheme = Scheme.objects.get()
        assert "Start the QIA self-assessment" in text(lead.get(scheme.get_absolute_url()))
        response = web.post(
            "elr-project-lead", "scheme_submit", scheme, {"version": 1}, follow=True
        )
        assert "Complete the QIA self-assessment before submitting" in text(response)
        web.post("elr-project-lead", "qia_self_assessment", scheme, sheet())
        web.post("elr-project-lead", "scheme_submit", scheme, {"version": 1})
        scheme.refresh_from_db()
        assert scheme.state == SchemeState.CONFIRM_AND_CHALLENGE

        for kind in ("finance", "clinical"):
            response = web.as_(f"elr-{kind}-reviewer").post(
                reverse("scheme_review", args=[scheme.pk, kind]),
                {"decision": "supported", "comment": "Supported."},
            )
            assert response.status_code == 302
        scheme.refresh_from_db()
        assert scheme.state == SchemeState.QIA_PANEL

        # blind panel scoring from each member's task list
        for username in ("elr-panel-member", "elr-panel-member-2", "elr-quality-lead"):
            tasks = text(web.as_(username).get(reverse("my_tasks")))
            assert "Score the QIA (version 1)" in tasks, username
            # every scorer is blind until they have scored, the quality lead included
            blind = web.as_(username).get(reverse("qia_panel", args=[scheme.pk])).status_code
            assert blind == 403, username
            web.post(username, "qia_score", scheme, sheet())
            assert web.as_(username).get(reverse("qia_panel", args=[scheme.pk])).status_code == 200

        chair = web.as_("elr-quality-lead")
        assert "Agree the QIA at panel" in text(chair.get(reverse("my_tasks")))
        assert "The panel is complete" in text(chair.get(reverse("qia_agree", args=[scheme.pk])))
        web.post("elr-quality-lead", "qia_agree", scheme, sheet(overall_score=""))
        scheme.refresh_from_db()
        assert scheme.state == SchemeState.AWAITING_SIGN_OFF

        for username, capacity in [
            ("elr-clinical-chair", "Clinical Chair"),
            ("elr-chief-nurse", "Chief Nurse and Quality Officer"),
        ]:
            assert f"Sign off the QIA as {capacity}" in text(
                web.as_(username).get(reverse("my_tasks"))
            )
            web.post(
                username, "qia_sign_off", scheme, {"decision": "approve", "comment": "Assured."}
            )
        scheme.refresh_from_db()
        assert scheme.state == SchemeState.APPROVED

        # the heatmap and the register show it
        viewer = web.as_("elr-viewer")
        heatmap = viewer.get(reverse("qia_heatmap"))
        cell = heatmap.context["grid"][5 - 2]["cells"][3 - 1]  # likelihood 2, consequence 3
        assert (cell.count, cell.score) == (1, 6)
        register = viewer.get(cell.url)
        assert scheme.reference in text(register)
        assert "6 · Moderate" in words(register)

    # six months on the review date has come: the QIA is due, and is re-assessed
    with time_machine.travel(date(2019, 12, 4)):
        lead = web.as_("elr-project-lead")
        assert "Due for re-assessment: its review date, 3 December 2019, has come" in words(
            lead.get(scheme.get_absolute_url())
        )
        web.post("elr-project-lead", "qia_reassess", scheme, {"reason": ""})
        page = text(lead.get(reverse("qia_self_assessment", args=[scheme.pk])))
        assert "re-assessment, version 2" in page
        web.post("elr-project-lead", "qia_self_assessment", scheme, sheet())
        web.post("elr-project-lead", "qia_send_to_panel", scheme)
        for username in ("elr-panel-member", "elr-panel-member-2", "elr-quality-lead"):
            web.post(username, "qia_score", scheme, sheet())
        web.post("elr-quality-lead", "qia_agree", scheme, sheet())
        for username in ("elr-chief-nurse", "elr-clinical-chair"):
            web.post(username, "qia_sign_off", scheme, {"decision": "approve", "comment": "OK."})
        version = scheme.qia.versions.order_by("-number").first()
        assert (version.number, version.status) == (2, VersionStatus.SIGNED_OFF)
        assert version.review_date == date(2020, 6, 4)
        scheme.refresh_from_db()
        assert scheme.state == SchemeState.APPROVED
        history = text(lead.get(reverse("qia_history", args=[scheme.pk])))
        assert "Version 2" in history and "Version 1" in history
        assert "Due for re-assessment" not in text(lead.get(scheme.get_absolute_url()))
