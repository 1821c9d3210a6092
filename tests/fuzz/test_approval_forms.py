"""Naming a deputy, re-dating a delegation, QAG's approval on the route that asks for it and
signing several QIAs off at once, fuzzed as tests/fuzz/test_forms.py fuzzes the others:
whatever is posted, as someone allowed to, never a server error and never a script shown
raw."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from hypothesis import strategies as st

from governance import roles
from governance.models import Delegation, User
from qia.models import QiaVersion, VersionStatus
from tests.fuzz.test_forms import c, d, fuzz_posts, ids, t, text

pytestmark = pytest.mark.django_db

SOON = (date.today() + timedelta(days=3)).isoformat()


def forms(demo) -> dict:
    """name -> (who posts, the page, fields: name -> (valid, odd))."""
    leave = Delegation.objects.get(principal__username="elr-clinical-chair")
    nurse = User.objects.get(username="elr-chief-nurse")
    reviewer = User.objects.get(username="elr-clinical-reviewer")
    signing = QiaVersion.objects.filter(status=VersionStatus.AWAITING_SIGN_OFF).values_list(
        "pk", flat=True
    )
    return {
        "deputy_list": (
            "admin",
            reverse("deputy_list"),
            {
                "principal": (str(nurse.pk), ids(nurse.pk, reviewer.pk)),
                "role": c(roles.CHIEF_NURSE, roles.CLINICAL_CHAIR, "Nobody", ""),
                "deputy": (str(reviewer.pk), ids(reviewer.pk, nurse.pk)),
                "organisation": (str(leave.organisation_id), ids(leave.organisation_id)),
                "starts_on": d(SOON),
                "ends_on": d(SOON),
            },
        ),
        "deputy_dates": (
            "elr-clinical-chair",
            reverse("deputy_dates", args=[leave.pk]),
            {"starts_on": d(SOON), "ends_on": d(SOON)},
        ),
        "qia_qag_approval": (
            "elr-qag-member",
            reverse("qia_qag_approval", args=[demo.objects["awaiting_qag"].pk]),
            {
                "decision": c("approve", "reject", "approve_with_conditions", "maybe", ""),
                "comment": t("Minute 4."),
                "version": c(str(demo.objects["awaiting_qag"].version), "0", "-1", "x", ""),
            },
        ),
        "qia_bulk_sign_off": (
            "elr-clinical-chair",
            reverse("qia_bulk_sign_off"),
            {
                "version": (
                    "1",
                    st.lists(st.one_of(ids(*signing), text()), max_size=3),
                ),
                "comment": t("Assured."),
            },
        ),
    }


@pytest.mark.parametrize(
    "name", ["deputy_list", "deputy_dates", "qia_qag_approval", "qia_bulk_sign_off"]
)
def test_no_post_to_these_forms_is_a_server_error_and_scripts_stay_escaped(demo, name):
    who, url, fields = forms(demo)[name]
    fuzz_posts(demo, name, who, url, fields)
