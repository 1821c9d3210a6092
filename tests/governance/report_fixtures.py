"""Reference data, people and schemes for the report and import tests (imported by them).

`build_world()`: systems LLR (ELR, WL) and NOT (NN), financial year 2019/20, programme areas
Planned Care and Urgent Care, areas of spend Elective Care and Emergency Care, and users
`pmo` (PMO in ELR and WL), `elr-pmo` (PMO in ELR only), `viewer` (Viewer in ELR),
`nn-viewer` (Viewer in NN) and `lead` (project lead in ELR, no report-only role).
`add_scheme(world, org, **fields)`: a scheme straight in a state (default in delivery), its
plan `monthly` pounds in each month unless `plan=[12 amounts]` is given.
`add_return(scheme, month, actual, ...)`: a monthly return.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.models import Group

from governance import roles
from governance.models import (
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    ProgrammeArea,
    QippTarget,
    Scheme,
    SchemeState,
    System,
    User,
)
from governance.services import make_reference

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "month4-2018-19"


@dataclass
class World:
    orgs: dict[str, Organisation]
    year: FinancialYear
    areas: dict[str, ProgrammeArea]
    spends: dict[str, AreaOfSpend]
    users: dict[str, User]


def _user(username: str, orgs: list[Organisation], *role_names: str) -> User:
    user = User.objects.create_user(username, email=f"{username}@example.nhs.uk", password="pw")
    user.groups.add(*Group.objects.filter(name__in=role_names))
    user.organisations.add(*orgs)
    return user


def build_world() -> World:
    llr = System.objects.create(code="LLR", name="Leicester, Leicestershire and Rutland")
    notts = System.objects.create(code="NOT", name="Nottinghamshire")
    orgs = {
        "ELR": Organisation.objects.create(code="ELR", name="East Leics and Rutland", system=llr),
        "WL": Organisation.objects.create(code="WL", name="West Leics", system=llr),
        "NN": Organisation.objects.create(code="NN", name="Nottingham North", system=notts),
    }
    users = {
        "pmo": _user("pmo", [orgs["ELR"], orgs["WL"]], roles.PMO),
        "elr-pmo": _user("elr-pmo", [orgs["ELR"]], roles.PMO),
        "viewer": _user("viewer", [orgs["ELR"]], roles.VIEWER),
        "nn-viewer": _user("nn-viewer", [orgs["NN"]], roles.VIEWER),
        "lead": _user("lead", [orgs["ELR"]], roles.PROJECT_LEAD),
    }
    return World(
        orgs=orgs,
        year=FinancialYear.objects.create(start_year=2019),
        areas={n: ProgrammeArea.objects.create(name=n) for n in ("Planned Care", "Urgent Care")},
        spends={n: AreaOfSpend.objects.create(name=n) for n in ("Elective Care", "Emergency Care")},
        users=users,
    )


def add_scheme(
    world: World,
    org: str,
    *,
    monthly: str = "1000",
    plan: list | None = None,
    state: str = SchemeState.IN_DELIVERY,
    recovery: bool = False,
    area: str = "Planned Care",
    spend: str = "Elective Care",
    year: FinancialYear | None = None,
) -> Scheme:
    organisation = world.orgs[org]
    year = year or world.year
    sequence = Scheme.objects.filter(organisation=organisation, financial_year=year).count() + 1
    amounts = plan or [monthly] * 12
    lead = world.users["lead"]
    return Scheme.objects.create(
        reference=make_reference(organisation, year, sequence),
        sequence=sequence,
        title=f"Scheme {sequence}",
        description="A test scheme.",
        organisation=organisation,
        financial_year=year,
        programme_area=world.areas[area],
        area_of_spend=world.spends[spend],
        scheme_type="transactional",
        is_recovery=recovery,
        project_lead=lead,
        sro=lead,
        created_by=lead,
        start_date=date(year.start_year, 4, 1),
        state=state,
        **{name: Decimal(str(amount)) for name, amount in zip(PLAN_FIELDS, amounts, strict=True)},
    )


def add_return(scheme: Scheme, month: int, actual, forecast=None, assured=None) -> MonthlyReturn:
    return MonthlyReturn.objects.create(
        scheme=scheme,
        month=month,
        actual=Decimal(str(actual)),
        forecast_outturn=None if forecast is None else Decimal(str(forecast)),
        pmo_assured=None if assured is None else Decimal(str(assured)),
    )


def add_target(world: World, org: str, requirement) -> QippTarget:
    return QippTarget.objects.create(
        organisation=world.orgs[org], financial_year=world.year, requirement=Decimal(requirement)
    )
