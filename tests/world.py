"""The one world the tests act in: `build_world()`, given to tests as the `llr` fixture
(tests/conftest.py), with `people` (its users) and `make_scheme` (its `scheme`) beside it.

Two systems: LLR, with the organisations ELR ("East Leics and Rutland") and WL ("West
Leics"), and NOT, with NN ("Nottingham North"). The financial year 2019/20, one programme
area (Planned Care) and one area of spend (Elective Care). In each organisation one user per
role of governance.roles.ALL, named `<org>-<role slug>` (`elr-finance-reviewer`), shown as
"ELR Finance Reviewer", e-mail `<username>@example.nhs.uk`, password "pw", with a profession
that fits the role (PROFESSIONS).

A test package that needs more people adds them with `World.add_user` (the QIA tests a panel
member of a second profession, the delivery tests a second finance reviewer and PMO).
Users cache their roles and organisations: after adding one, fetch the user again.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from governance import roles
from governance.models import (
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    Membership,
    MonthlyReturn,
    Organisation,
    Profession,
    ProgrammeArea,
    Scheme,
    SchemeState,
    System,
    User,
)
from governance.services import make_reference

ORGANISATIONS = {
    # key: (code, name, system code)
    "elr": ("ELR", "East Leics and Rutland", "LLR"),
    "wl": ("WL", "West Leics", "LLR"),
    "nn": ("NN", "Nottingham North", "NOT"),
}
SYSTEMS = {"LLR": "Leicester, Leicestershire and Rutland", "NOT": "Nottinghamshire"}

PROFESSIONS = {
    roles.PROJECT_LEAD: Profession.MANAGEMENT,
    roles.SRO: Profession.MANAGEMENT,
    roles.FINANCE_REVIEWER: Profession.FINANCE,
    roles.CLINICAL_REVIEWER: Profession.MEDICAL,
    roles.QUALITY_LEAD: Profession.QUALITY,
    roles.PANEL_MEMBER: Profession.NURSING,
    roles.PMO: Profession.MANAGEMENT,
    roles.CHIEF_NURSE: Profession.NURSING,
    roles.CLINICAL_CHAIR: Profession.MEDICAL,
    roles.QAG_MEMBER: Profession.CONTRACTING,
    roles.VIEWER: Profession.OTHER,
}

PASSWORD = "pw"


@dataclass
class World:
    systems: dict[str, System]
    orgs: dict[str, Organisation]  # by lower-case key: "elr", "wl", "nn"
    year: FinancialYear
    programme_area: ProgrammeArea
    area_of_spend: AreaOfSpend
    users: dict[str, User]

    @property
    def system(self) -> System:
        return self.systems["LLR"]

    def org(self, key: str) -> Organisation:
        """The organisation by key or code, either case: "elr", "ELR"."""
        return self.orgs[key.lower()]

    def user(self, org: str, slug: str) -> User:
        return self.users[f"{org.lower()}-{slug}"]

    def add_user(self, username: str, orgs, *role_names: str, **fields) -> User:
        """Another user, a member of `orgs` (keys) with the roles; kept in `users`."""
        orgs = [orgs] if isinstance(orgs, str) else orgs
        fields.setdefault("profession", PROFESSIONS.get(role_names[0]) if role_names else "")
        user = User.objects.create_user(
            username, email=f"{username}@example.nhs.uk", password=PASSWORD, **fields
        )
        user.groups.add(*Group.objects.filter(name__in=role_names))
        user.organisations.add(*(self.org(key) for key in orgs))
        self.users[username] = user
        return user

    def pid_data(self, org: str = "ELR", **overrides) -> dict:
        """What a project lead of `org` fills in on the PID form, ready for scheme_create."""
        from tests.factories import REALISTIC_PLAN, plan

        key = org.lower()
        return {
            "title": "Patient-initiated follow-up in outpatients",
            "description": "Replace routine outpatient follow-ups with patient-initiated ones.",
            "organisation": self.orgs[key],
            "financial_year": self.year,
            "programme_area": self.programme_area,
            "area_of_spend": self.area_of_spend,
            "scheme_type": "transformational",
            "project_lead": self.user(key, "project-lead"),
            "sro": self.user(key, "sro"),
            "start_date": date(self.year.start_year, 4, 1),
            **plan(REALISTIC_PLAN),
            **overrides,
        }

    def scheme(
        self,
        state=SchemeState.IN_DELIVERY,
        *,
        org: str = "ELR",
        monthly="1000",
        plan: list | None = None,
        financial_year: FinancialYear | None = None,
        **fields,
    ) -> Scheme:
        """A scheme of `org` put straight into `state` (the workflow is tested on its own):
        project lead `<org>-project-lead`, SRO `<org>-sro`, finance lead
        `<org>-finance-reviewer`; its plan `monthly` pounds each month, or `plan` (12 amounts).
        """
        organisation = self.org(org)
        year = financial_year or self.year
        key = org.lower()
        sequence = Scheme.objects.filter(organisation=organisation, financial_year=year).count()
        sequence += 1
        amounts = plan if plan is not None else [monthly] * 12
        data = {
            "title": f"Scheme {sequence}",
            "description": "Fewer unnecessary follow-ups.",
            "scheme_type": "transactional",
            "programme_area": self.programme_area,
            "area_of_spend": self.area_of_spend,
            "project_lead": self.user(key, "project-lead"),
            "sro": self.user(key, "sro"),
            "finance_lead": self.user(key, "finance-reviewer"),
            "start_date": date(year.start_year, 4, 1),
            "submission_round": 0 if state == SchemeState.DRAFT else 1,
            **{name: Decimal(str(a)) for name, a in zip(PLAN_FIELDS, amounts, strict=True)},
            **fields,
        }
        data.setdefault("created_by", data["project_lead"])
        return Scheme.objects.create(
            reference=make_reference(organisation, year, sequence),
            sequence=sequence,
            organisation=organisation,
            financial_year=year,
            state=state,  # straight into the state under test: the fsm allows it on creation
            **data,
        )


def add_return(
    scheme: Scheme, month: int, actual, forecast=None, assured=None, *, by=None, **fields
):
    """A monthly return written directly, as an import would (its services are tested on their
    own): the actual, forecast outturn and PMO assured value in pounds; `fields`: commentary,
    assured_at ..."""
    return MonthlyReturn.objects.create(
        scheme=scheme,
        month=month,
        actual=Decimal(str(actual)),
        forecast_outturn=None if forecast is None else Decimal(str(forecast)),
        entered_by=by,
        **({"pmo_assured": Decimal(str(assured))} if assured is not None else {}),
        **fields,
    )


def build_world() -> World:
    """The world above, written in a handful of bulk queries: every test starts from it."""
    systems = {code: System.objects.create(code=code, name=name) for code, name in SYSTEMS.items()}
    orgs = {
        key: Organisation.objects.create(code=code, name=name, system=systems[system])
        for key, (code, name, system) in ORGANISATIONS.items()
    }
    password = make_password(PASSWORD)
    groups = {group.name: group for group in Group.objects.filter(name__in=roles.ALL)}
    wanted = [
        (org, group_name, f"{key}-{slug}")
        for key, org in orgs.items()
        for group_name, slug in roles.ALL.items()
    ]
    User.objects.bulk_create(
        User(
            username=username,
            email=f"{username}@example.nhs.uk",
            first_name=username.split("-")[0].upper(),
            last_name=" ".join(username.split("-")[1:]).title(),
            profession=PROFESSIONS[group_name],
            password=password,
        )
        for _org, group_name, username in wanted
    )
    users = User.objects.in_bulk([username for *_rest, username in wanted], field_name="username")
    Membership.objects.bulk_create(
        Membership(user=users[username], organisation=org) for org, _group, username in wanted
    )
    User.groups.through.objects.bulk_create(
        User.groups.through(user=users[username], group=groups[group_name])
        for _org, group_name, username in wanted
    )
    return World(
        systems=systems,
        orgs=orgs,
        year=FinancialYear.objects.create(start_year=2019),
        programme_area=ProgrammeArea.objects.create(name="Planned Care"),
        area_of_spend=AreaOfSpend.objects.create(name="Elective Care"),
        users=dict(users),
    )
