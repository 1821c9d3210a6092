"""Starting delivery of several schemes at once, and how a user hears of notices (their
account page), fuzzed as tests/fuzz/test_forms.py fuzzes the others: whatever is posted, as
someone allowed to, never a server error and never a script shown raw."""

import pytest
from django.urls import reverse
from hypothesis import strategies as st

from notifications.models import NoticeKind
from tests.fuzz.test_forms import c, fuzz_posts, ids, t, text

pytestmark = pytest.mark.django_db


def forms(demo) -> dict:
    """name -> (who posts, the page, fields: name -> (valid, odd))."""
    approved, draft = demo.objects["approved"], demo.objects["draft"]
    delivery = demo.objects["delivery"]
    return {
        "bulk_start": (
            "elr-pmo",
            reverse("bulk_start"),
            {
                "scheme": (
                    [str(approved.pk)],
                    st.lists(st.one_of(ids(approved.pk, draft.pk, delivery.pk), text())),
                ),
                f"version-{approved.pk}": c(str(approved.version), "0", "-1", "x", ""),
                "comment": t("Go."),
            },
        ),
        "account": (
            "elr-viewer",
            reverse("account"),
            {kind: c("daily", "at_once", "", "weekly") for kind in NoticeKind.values},
        ),
    }


@pytest.mark.parametrize("name", ["bulk_start", "account"])
def test_no_post_to_these_forms_is_a_server_error_and_scripts_stay_escaped(demo, name):
    who, url, fields = forms(demo)[name]
    fuzz_posts(demo, name, who, url, fields)
