"""People, schemes and returns for the notification and escalation tests.

`people`: one user per role in ELR and WL (one system, LLR) and NN (another system), named
`<org>-<role slug>`. `make_scheme(state=..., monthly=..., **fields)`: a 2019/20 scheme straight
in a state, project lead `<org>-project-lead`, SRO `<org>-sro`, finance lead
`<org>-finance-reviewer`, plan `monthly` pounds a month.
"""

import html
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from governance import roles
from governance.models import (
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    ProgrammeArea,
    Scheme,
    SchemeState,
    System,
    User,
)


def _user(username: str, org: Organisation, *role_names: str) -> User:
    user = User.objects.create_user(
        username,
        email=f"{username}@example.nhs.uk",
        password="pw",
        first_name=username.replace("-", " ").title(),
    )
    user.groups.add(*Group.objects.filter(name__in=role_names))
    user.organisations.add(org)
    return user


@pytest.fixture
def people(db) -> dict[str, User]:
    llr = System.objects.create(code="LLR", name="Leicester, Leicestershire and Rutland")
    notts = System.objects.create(code="NOT", name="Nottinghamshire")
    orgs = {
        "elr": Organisation.objects.create(code="ELR", name="East Leics and Rutland", system=llr),
        "wl": Organisation.objects.create(code="WL", name="West Leics", system=llr),
        "nn": Organisation.objects.create(code="NN", name="Nottingham North", system=notts),
    }
    found = {
        f"{key}-{slug}": _user(f"{key}-{slug}", org, group_name)
        for key, org in orgs.items()
        for group_name, slug in roles.ALL.items()
    }
    FinancialYear.objects.create(start_year=2019)
    ProgrammeArea.objects.create(name="Planned Care")
    AreaOfSpend.objects.create(name="Elective Care")
    return found


@pytest.fixture
def make_scheme(people):
    counter = iter(range(1, 10000))

    def make(
        state=SchemeState.IN_DELIVERY,
        *,
        monthly=Decimal("1000"),
        org="ELR",
        state_changed_at=None,
        **fields,
    ) -> Scheme:
        organisation = Organisation.objects.get(code=org)
        year = fields.pop("financial_year", None) or FinancialYear.objects.get(start_year=2019)
        key = org.lower()
        sequence = next(counter)
        data = {
            "title": f"Scheme {sequence}",
            "description": "Fewer unnecessary follow-ups.",
            "scheme_type": "transactional",
            "project_lead": people[f"{key}-project-lead"],
            "sro": people[f"{key}-sro"],
            "finance_lead": people[f"{key}-finance-reviewer"],
            "start_date": date(2019, 4, 1),
            **{name: Decimal(monthly) for name in PLAN_FIELDS},
            **fields,
        }
        return Scheme.objects.create(
            reference=f"{org}-{year.code}-{sequence:03d}",
            sequence=sequence,
            organisation=organisation,
            financial_year=year,
            programme_area=ProgrammeArea.objects.get(),
            area_of_spend=AreaOfSpend.objects.get(),
            created_by=data["project_lead"],
            state=state,  # straight into the state under test: the fsm allows it on creation
            state_changed_at=state_changed_at,
            submission_round=1 if state != SchemeState.DRAFT else 0,
            **data,
        )

    return make


def add_return(scheme: Scheme, month: int, actual, forecast=None) -> MonthlyReturn:
    """A return written directly, as an import would."""
    return MonthlyReturn.objects.create(
        scheme=scheme,
        month=month,
        actual=Decimal(actual),
        forecast_outturn=None if forecast is None else Decimal(forecast),
    )


def at(*args) -> datetime:
    """A moment in UTC (London is on GMT in winter, BST in summer: tests say which)."""
    return datetime(*args, tzinfo=UTC)


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what a committed transaction would run next (enqueue -> the eager task)."""

    def run(work=None):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            result = work() if work else None
        return result if work else callbacks

    return run
