"""The forms of carrying a recurrent saving into next year, fuzzed as tests/fuzz/test_forms.py
fuzzes the others: whatever is posted, as someone allowed to, never a server error and never
a script shown raw; and no query string of the carry page is a server error."""

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from governance.models import Organisation, Scheme
from tests.fuzz.test_forms import FUZZ, RAW, c, fuzz_posts, ids, n, one_of, plan, text

pytestmark = pytest.mark.django_db


def forms(demo) -> dict:
    """name -> (who posts, the page, fields: name -> (valid, odd))."""
    delivery, draft = demo.objects["delivery"], demo.objects["draft"]
    # the demo's scheme carried on from last year, its plan not yet confirmed (demo/carried.py)
    carried = Scheme.objects.get(organisation__code="ELR", carried_from__isnull=False)
    wl = Organisation.objects.get(code="WL").pk
    return {
        "scheme_carry": (
            "elr-pmo",
            reverse("scheme_carry"),
            {
                "organisation": (str(delivery.organisation_id), ids(delivery.organisation_id, wl)),
                "year": c(delivery.financial_year.label, "2019", "1900/01", "2019/21", ""),
                "scheme": (
                    [str(delivery.pk)],
                    st.lists(st.one_of(ids(delivery.pk, draft.pk, carried.pk), text())),
                ),
            },
        ),
        "carried_plan_confirm": (
            "elr-project-lead",
            reverse("carried_plan_confirm", args=[carried.pk]),
            {**plan("134,400"), "version": n("")},
        ),
    }


@pytest.mark.parametrize("name", ["scheme_carry", "carried_plan_confirm"])
def test_no_post_to_a_carry_form_is_a_server_error_and_scripts_stay_escaped(demo, name):
    who, url, fields = forms(demo)[name]
    fuzz_posts(demo, name, who, url, fields)


def test_no_query_string_of_the_carry_page_is_a_server_error(demo):
    client = demo.client("elr-pmo")
    elr = demo.objects["delivery"].organisation_id
    query = {
        "organisation": ids(elr, Organisation.objects.get(code="WL").pk),
        "year": one_of("2019/20", "2019", "1900/01", "2019/21", "-1", "99999999999999999999"),
    }

    @FUZZ
    @given(params=st.fixed_dictionaries({}, optional=query))
    def get(params):
        response = client.get(reverse("scheme_carry"), params)
        assert response.status_code < 500, params
        assert RAW not in response.content.decode(errors="replace")

    get()
