"""The audit export's form, fuzzed as tests/fuzz/test_forms.py fuzzes the others: whatever is
posted, as someone allowed to, never a server error and never a script shown raw."""

import pytest
from django.urls import reverse
from hypothesis import strategies as st

from governance.models import Organisation
from tests.fuzz.test_forms import c, fuzz_posts, ids, t, text

pytestmark = pytest.mark.django_db

KINDS = ["transitions", "reviews", "scores", "sign_offs", "qag", "assured", "refusals"]


def test_no_post_to_the_audit_export_is_a_server_error_and_scripts_stay_escaped(demo):
    elr = Organisation.objects.get(code="ELR").pk
    nn = Organisation.objects.exclude(system__code="LLR").values_list("pk", flat=True).first()
    fields = {
        "organisations": ([str(elr)], st.lists(st.one_of(ids(elr, nn or elr), text()))),
        "date_from": t("2026-04-01"),
        "date_to": t("2026-11-30"),
        "kinds": (KINDS, st.lists(st.one_of(st.sampled_from(KINDS), text()))),
        "format": c("csv", "xlsx", "pdf", ""),
    }
    fuzz_posts(demo, "audit_export", "elr-pmo", reverse("audit_export"), fields)
