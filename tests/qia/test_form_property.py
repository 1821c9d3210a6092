"""Property: whatever is posted to the QIA form, it saves a valid QIA or shows field errors."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qia.models import HEADINGS, Impact, Mitigation, QiaVersion
from tests.qia.conftest import text

pytestmark = pytest.mark.django_db

# whatever a browser, or someone bypassing one, might send; surrogates cannot be posted at all
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


def either(*values):
    return st.one_of(st.sampled_from(values), TEXT, st.none())


def heading_fields(wild: bool):
    score = ("", "1", "2", "3", "4", "5")
    if not wild:
        return st.fixed_dictionaries(
            {
                "impact": st.sampled_from(["", "positive", "none", "negative"]),
                "consequence": st.sampled_from(score),
                "likelihood": st.sampled_from(score),
                "rationale": st.text(alphabet="abc .", max_size=20),
            }
        )
    return st.fixed_dictionaries(
        {
            "impact": either("", "positive", "none", "negative"),
            "consequence": either(*score, "0", "6", "-1", "2.5"),
            "likelihood": either(*score, "0", "6", "-1", "2.5"),
            "rationale": st.one_of(TEXT, st.just("x" * 5001), st.none()),
        }
    )


# a due date still to come (a past one is refused unless the action is done)
NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()

mitigation_fields = st.fixed_dictionaries(
    {
        "heading": either("", *HEADINGS),
        "description": st.one_of(TEXT, st.none()),
        "owner": st.one_of(TEXT, st.just("o" * 201)),
        "due_date": either("", "2019-09-30", "31/12/2019", "2019-02-30", NEXT_YEAR),
        "status": either("planned", "in_progress", "done"),
        "DELETE": either("", "on"),
    }
)


def posts(wild: bool):
    return st.fixed_dictionaries(
        {
            "headings": st.fixed_dictionaries({h: heading_fields(wild) for h in HEADINGS}),
            "equality_impact": either("", "yes", "no", "not_known")
            if wild
            else st.sampled_from(["", "yes", "no", "not_known"]),
            "equality_rationale": st.one_of(TEXT, st.none()) if wild else st.just("Checked."),
            "eqia_link": either("", "https://example.nhs.uk/eqia", "not a link")
            if wild
            else st.just(""),
            "total_forms": either("0", "1", "2", "1001", "x") if wild else st.just("0"),
            "mitigations": st.lists(mitigation_fields, max_size=2) if wild else st.just([]),
        }
    )


def as_post(example) -> dict:
    data = {
        "equality_impact": example["equality_impact"],
        "equality_rationale": example["equality_rationale"],
        "eqia_link": example["eqia_link"],
        "mitigation-TOTAL_FORMS": example["total_forms"],
        "mitigation-INITIAL_FORMS": "0",
    }
    for heading, fields in example["headings"].items():
        data.update({f"{heading}-{name}": value for name, value in fields.items()})
    for n, fields in enumerate(example["mitigations"]):
        data.update({f"mitigation-{n}-{name}": value for name, value in fields.items()})
    return {key: value for key, value in data.items() if value is not None}


def assert_valid(version: QiaVersion):
    rows = list(version.assessments.all())
    assert sorted(row.heading for row in rows) == sorted(HEADINGS)
    for row in rows:
        row.full_clean()
        if row.impact == Impact.NEGATIVE:
            assert row.consequence in range(1, 6) and row.likelihood in range(1, 6)
            assert row.score == row.consequence * row.likelihood
        else:
            assert (row.consequence, row.likelihood, row.score) == (None, None, None)
    for mitigation in Mitigation.objects.filter(version=version):
        mitigation.full_clean()
        # DESIGN.md: each action has an owner and a due date, still to come unless done
        assert mitigation.owner.strip() and mitigation.due_date
        assert mitigation.due_date >= date.today() or mitigation.status == "done"
    version.full_clean(exclude=["status"])  # protected: only transitions set it


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(example=st.one_of(posts(wild=False), posts(wild=True)))
def test_any_input_saves_a_valid_qia_or_shows_field_errors(qia, client, example):
    scheme = getattr(qia, "scheme", None) or qia.draft()
    qia.scheme = scheme  # one draft for every example of this run
    client.force_login(qia["elr-project-lead"])
    before = QiaVersion.objects.filter(qia__scheme=scheme).values_list("revision", flat=True)
    before = list(before)
    response = client.post(reverse("qia_self_assessment", args=[scheme.pk]), as_post(example))
    assert response.status_code in (200, 302)
    event("saved" if response.status_code == 302 else "field errors")
    if response.status_code == 302:
        version = QiaVersion.objects.get(qia__scheme=scheme)
        assert version.revision > max(before, default=0)  # saved just now
        assert_valid(version)
    else:
        assert "There is a problem" in text(response)
        after = list(
            QiaVersion.objects.filter(qia__scheme=scheme).values_list("revision", flat=True)
        )
        assert after == before  # nothing saved
