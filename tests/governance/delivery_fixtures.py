"""People, reference data and schemes for the delivery tests (imported by those modules).

`people`: one user per role in ELR and WL (one system, LLR) and NN (another system), named
`<org>-<role slug>`, plus a second finance reviewer and a second PMO in ELR.
`make_scheme(state=..., monthly=..., **fields)`: a 2019/20 ELR scheme straight in a state,
with `elr-project-lead` as project lead, `elr-sro` as SRO, `elr-finance-reviewer` as finance
lead; the plan is `monthly` pounds in each month unless `plan=[12 amounts]` is given.
"""

import html
import html.parser
import re
from datetime import date
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
        username, email=f"{username}@example.nhs.uk", password="pw", first_name=username
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
    found["elr-finance-reviewer-2"] = _user(
        "elr-finance-reviewer-2", orgs["elr"], roles.FINANCE_REVIEWER
    )
    found["elr-pmo-2"] = _user("elr-pmo-2", orgs["elr"], roles.PMO)
    FinancialYear.objects.create(start_year=2019)
    ProgrammeArea.objects.create(name="Planned Care")
    AreaOfSpend.objects.create(name="Elective Care")
    return found


@pytest.fixture
def make_scheme(people):
    counter = iter(range(1, 1000))

    def make(
        state=SchemeState.IN_DELIVERY,
        *,
        monthly=Decimal("1000"),
        plan=None,
        org="ELR",
        **fields,
    ) -> Scheme:
        organisation = Organisation.objects.get(code=org)
        key = org.lower()
        sequence = next(counter)
        amounts = plan if plan is not None else [Decimal(monthly)] * 12
        data = {
            "title": f"Scheme {sequence}",
            "description": "Fewer unnecessary follow-ups.",
            "scheme_type": "transactional",
            "project_lead": people[f"{key}-project-lead"],
            "sro": people[f"{key}-sro"],
            "finance_lead": people[f"{key}-finance-reviewer"],
            "start_date": date(2019, 4, 1),
            **{name: Decimal(amount) for name, amount in zip(PLAN_FIELDS, amounts, strict=True)},
            **fields,
        }
        return Scheme.objects.create(
            reference=f"{org}-1920-{sequence:03d}",
            sequence=sequence,
            organisation=organisation,
            financial_year=FinancialYear.objects.get(start_year=2019),
            programme_area=ProgrammeArea.objects.get(),
            area_of_spend=AreaOfSpend.objects.get(),
            created_by=data["project_lead"],
            state=state,  # straight into the state under test: the fsm allows it on creation
            **data,
        )

    return make


def add_return(scheme: Scheme, month: int, actual, forecast=None, *, by=None, **fields):
    """A return written directly, as an import would (the services are tested on their own)."""
    return MonthlyReturn.objects.create(
        scheme=scheme,
        month=month,
        actual=Decimal(actual),
        forecast_outturn=None if forecast is None else Decimal(forecast),
        entered_by=by,
        **fields,
    )


def text(response) -> str:
    """The page as a user reads it: HTML entities turned back into characters."""
    return html.unescape(response.content.decode())


def visible(response) -> str:
    """The page's text without its markup, each run of spaces as one."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


class _Tables(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current = None
        self.row = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs).get("id", ""), [])
        elif tag == "tr" and self.current is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.current.append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table(response, table_id: str) -> list[list[str]]:
    """The rows of the table with that id, each a list of its cells' visible text."""
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables.get(table_id, [])
