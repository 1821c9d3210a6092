"""The Pipeline's forms, fuzzed as tests/fuzz/test_forms.py fuzzes the others: whatever is
posted, as someone allowed to, never a server error, and posted script shown escaped on the
pages that show it."""

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from governance.models import AreaOfSpend, FinancialYear, Opportunity, ProgrammeArea
from tests.access.demo import hidden_fields, undone
from tests.fuzz.test_forms import FUZZ, RAW, c, ids, n, t

pytestmark = pytest.mark.django_db

# the demo's ELR opportunities (demo/opportunities.py): the project lead's own, and a GP's
OWN_IDEA = "Social prescribing for frequent attenders"
GPS_IDEA = "Biosimilar adalimumab switch"


def _pk(title: str) -> int:
    return Opportunity.objects.get(organisation__code="ELR", title=title).pk


def forms(demo) -> dict:
    """name -> (who posts, the opportunity's title or None, fields: name -> (valid, odd))."""
    users = demo.users
    elr = demo.objects["draft"].organisation_id
    year = FinancialYear.objects.order_by("-start_year").first().pk
    area = ProgrammeArea.objects.order_by("pk").first().pk
    spend = AreaOfSpend.objects.order_by("pk").first().pk
    lead = users["elr-project-lead"].pk
    idea = {
        "title": t("Community pharmacy consultation service"),
        "description": t("Refer minor illness from NHS 111 to community pharmacy."),
        "programme_area": (str(area), ids(area)),
        "area_of_spend": ("", ids(spend)),
        "estimated_saving": n("83k"),
        "owner": (str(lead), ids(lead, users["elr-sro"].pk, users["wl-all"].pk)),
    }
    return {
        "opportunity_create": (
            "elr-project-lead",
            None,
            {
                **idea,
                "organisation": (str(elr), ids(elr)),
                "financial_year": (str(year), ids(year)),
            },
        ),
        "opportunity_edit": ("elr-project-lead", OWN_IDEA, {**idea, "version": n("")}),
        "opportunity_close": ("elr-pmo", GPS_IDEA, {"reason": t(), "version": n("")}),
        "opportunity_write_up": (
            "elr-project-lead",
            OWN_IDEA,
            {
                "scheme_type": c("transformational", "transactional"),
                "sro": (str(users["elr-sro"].pk), ids(users["elr-sro"].pk, lead)),
                "area_of_spend": (str(spend), ids(spend)),
                "version": n(""),
            },
        ),
    }


NAMES = ["opportunity_create", "opportunity_edit", "opportunity_close", "opportunity_write_up"]


@pytest.mark.parametrize("name", NAMES)
def test_no_post_to_a_pipeline_form_is_a_server_error_and_scripts_stay_escaped(demo, name):
    who, title, fields = forms(demo)[name]
    url = reverse(name, args=[_pk(title)]) if title else reverse(name)
    client = demo.client(who)
    hidden = hidden_fields(client.get(url))

    @FUZZ
    @given(data=st.fixed_dictionaries({field: odd for field, (_valid, odd) in fields.items()}))
    def post(data):
        with undone():
            response = client.post(url, {**hidden, **data})
            assert response.status_code < 500, (name, response.status_code)
            assert RAW not in response.content.decode(errors="replace")
            if response.status_code == 302 and any("<script" in str(v) for v in data.values()):
                for page in (response["Location"], reverse("pipeline")):
                    assert RAW not in client.get(page).content.decode(), page

    post()
