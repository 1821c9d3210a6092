"""People and schemes for the QIA tests.

`people`: the test world's users (tests/world.py), plus `<org>-panel-member-2`, a panel member
of another profession, in ELR and WL.
`qia`: a helper that drives a scheme through the real services, step by step
(`qia.approved()`, `qia.at_panel()`, ...).
"""

import re
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from governance import roles
from governance import services as governance
from governance.models import (
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    Organisation,
    Profession,
    ProgrammeArea,
    Scheme,
    User,
)
from qia import services
from qia.models import QiaVersion
from tests.pages import text

# A complete self-assessment: the highest heading is moderate (6).
MODERATE = {
    "patient_safety": {
        "impact": "negative",
        "consequence": 3,
        "likelihood": 2,
        "rationale": "Fewer follow-ups could miss a deterioration.",
    },
    "clinical_effectiveness": {"impact": "none", "rationale": "Same pathway."},
    "patient_experience": {
        "impact": "negative",
        "consequence": 2,
        "likelihood": 2,
        "rationale": "Some patients prefer a hospital follow-up.",
    },
    "organisational_reputation": {"impact": "none", "rationale": ""},
    "evidence_base": {"impact": "positive", "rationale": "NICE guidance supports it."},
    "resources": {
        "impact": "negative",
        "consequence": 2,
        "likelihood": 3,
        "rationale": "Community capacity is tight.",
    },
}


def scores(**changes) -> dict:
    """MODERATE with some headings changed: scores(patient_safety=(5, 4)) for C5 x L4."""
    found = {heading: dict(values) for heading, values in MODERATE.items()}
    for heading, value in changes.items():
        if isinstance(value, tuple):
            found[heading] = {
                "impact": "negative",
                "consequence": value[0],
                "likelihood": value[1],
                "rationale": f"Scored {value[0]} x {value[1]}.",
            }
        else:
            found[heading] = {"impact": value, "rationale": ""}
    return found


def mitigations(headings: dict) -> list[dict]:
    """One mitigating action for each negative heading, owned and due in a year's time (from
    the day the test travels to): what a complete self-assessment or agreed QIA has."""
    due = timezone.localdate() + timedelta(days=365)
    return [
        {
            "heading": heading,
            "description": f"Weekly audit of {heading.replace('_', ' ')}.",
            "owner": "Quality matron",
            "due_date": due,
            "status": "planned",
        }
        for heading, values in headings.items()
        if values.get("impact") == "negative"
    ]


def mitigation_post(rows: list[dict]) -> dict:
    """The mitigating actions as the page's formset posts them back, each row filled in as
    the page showed it (an unchanged extra row would be skipped as blank)."""
    data = {
        "mitigation-TOTAL_FORMS": str(len(rows)),
        "mitigation-INITIAL_FORMS": str(len(rows)),
        "mitigation-MIN_NUM_FORMS": "0",
        "mitigation-MAX_NUM_FORMS": "60",
    }
    for number, row in enumerate(rows):
        for name, value in row.items():
            data[f"mitigation-{number}-{name}"] = "" if value is None else str(value)
    return data


@pytest.fixture
def people(llr) -> dict[str, User]:
    """The world's users, with a panel member of a second profession in each LLR organisation
    (`<org>-panel-member-2`, medicines management): a panel needs several professions."""
    for org in ("elr", "wl"):
        llr.add_user(
            f"{org}-panel-member-2", org, roles.PANEL_MEMBER, profession=Profession.MEDICINES
        )
    return llr.users


def words(response) -> str:
    """The page's words only: no tags, one space between words."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


class _Outline(HTMLParser):
    """The page's headings as a screen reader lists them: (level, text, hidden), where hidden
    means inside a closed <details>, whose headings are read out empty."""

    def __init__(self):
        super().__init__()
        self.headings: list[tuple[int, str, bool]] = []
        self.details: list[bool] = []  # open or closed, innermost last
        self.heading = None

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.details.append("open" in dict(attrs))
        elif re.fullmatch(r"h[1-6]", tag):
            self.heading = (int(tag[1]), [], not all(self.details))

    def handle_endtag(self, tag):
        if tag == "details" and self.details:
            self.details.pop()
        elif re.fullmatch(r"h[1-6]", tag) and self.heading:
            level, parts, hidden = self.heading
            self.headings.append((level, " ".join("".join(parts).split()), hidden))
            self.heading = None

    def handle_data(self, data):
        if self.heading:
            self.heading[1].append(data)


def outline(response) -> list[tuple[int, str, bool]]:
    parser = _Outline()
    parser.feed(response.content.decode())
    return parser.headings


class Journey:
    """Drives ELR schemes through the services, as the users would."""

    PANEL = ["elr-quality-lead", "elr-panel-member", "elr-panel-member-2"]

    def __init__(self, people):
        self.people = people

    def __getitem__(self, username) -> User:
        return self.people[username]

    def draft(self, **overrides) -> Scheme:
        data = {
            "title": "Outpatient follow-up reduction",
            "description": "Fewer unnecessary follow-ups.",
            "organisation": Organisation.objects.get(code="ELR"),
            "financial_year": FinancialYear.objects.get(),
            "programme_area": ProgrammeArea.objects.get(),
            "area_of_spend": AreaOfSpend.objects.get(),
            "scheme_type": "transactional",
            "project_lead": self.people["elr-project-lead"],
            "sro": self.people["elr-sro"],
            "start_date": date(2019, 4, 1),
            **{name: Decimal("5000") for name in PLAN_FIELDS},
            **overrides,
        }
        return governance.scheme_create(by=data["project_lead"], data=data)

    def self_assess(self, scheme, headings=None, *, equality="no", **extra) -> QiaVersion:
        headings = headings or MODERATE
        extra.setdefault("mitigations", mitigations(headings))
        return services.self_assessment_save(
            scheme_id=scheme.pk,
            by=scheme.project_lead,
            headings=headings,
            equality_impact=equality,
            equality_rationale="Checked against the protected characteristics.",
            **extra,
        )

    def submitted(self, scheme=None, **kwargs) -> Scheme:
        scheme = scheme or self.draft()
        self.self_assess(scheme, **kwargs)
        answers = {
            review.pk: "Answered."
            for review in governance.reviews_awaiting_response(self.fresh(scheme))
        }
        governance.scheme_submit(
            scheme_id=scheme.pk,
            by=scheme.project_lead,
            expected_version=None,
            responses=answers,
        )
        return self.fresh(scheme)

    def at_panel(self, scheme=None, **kwargs) -> Scheme:
        scheme = self.submitted(scheme, **kwargs)
        for kind in ("finance", "clinical"):
            governance.scheme_review(
                scheme_id=scheme.pk,
                by=self.people[f"elr-{kind}-reviewer"],
                kind=kind,
                decision="supported",
                comment="Supported.",
                expected_version=None,
            )
        return self.fresh(scheme)

    def score(self, scheme, username, headings=None) -> QiaVersion:
        return services.panel_score_record(
            version_id=self.version(scheme).pk,
            by=self.people[username],
            headings=headings or MODERATE,
        )

    def scored(self, scheme=None, headings=None, **kwargs) -> Scheme:
        scheme = self.at_panel(scheme, **kwargs)
        for username in self.PANEL:
            self.score(scheme, username, headings)
        return scheme

    def agree(self, scheme, headings=None, **kwargs) -> QiaVersion:
        headings = headings or MODERATE
        kwargs.setdefault("mitigations", mitigations(headings))
        return services.panel_agree(
            version_id=self.version(scheme).pk,
            by=self.people["elr-quality-lead"],
            headings=headings,
            **kwargs,
        )

    def awaiting_sign_off(self, scheme=None, headings=None, **kwargs) -> Scheme:
        scheme = self.scored(scheme, headings, **kwargs)
        self.agree(scheme, headings)
        return self.fresh(scheme)

    def sign(self, scheme, username, decision="approved", **kwargs) -> QiaVersion:
        return services.sign_off_record(
            version_id=self.version(scheme).pk,
            by=self.people[username],
            decision=decision,
            comment=kwargs.pop("comment", "Content."),
            **kwargs,
        )

    def approved(self, scheme=None, headings=None, **kwargs) -> Scheme:
        scheme = self.awaiting_sign_off(scheme, headings, **kwargs)
        justification = "Mitigated by weekly audit."
        self.sign(scheme, "elr-chief-nurse", justification=justification)
        self.sign(scheme, "elr-clinical-chair", justification=justification)
        return self.fresh(scheme)

    @staticmethod
    def fresh(scheme) -> Scheme:
        return Scheme.objects.get(pk=scheme.pk)

    @staticmethod
    def version(scheme, number=None) -> QiaVersion:
        versions = QiaVersion.objects.filter(qia__scheme_id=scheme.pk).select_related("qia")
        if number is not None:
            return versions.get(number=number)
        return versions.order_by("-number").first()


@pytest.fixture
def qia(people) -> Journey:
    return Journey(people)


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login
