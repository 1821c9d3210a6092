"""What the report and import tests add to the test world (tests/world.py).

`report_world()`: the world, with `pmo` (a PMO of both LLR organisations, ELR and WL), a second
programme area (Urgent Care) and a second area of spend (Emergency Care).
`add_scheme(world, org, **fields)`: a scheme straight in a state (default in delivery), its
plan `monthly` pounds in each month unless `plan=[12 amounts]` is given.
`add_return`, `add_target`; EXAMPLES: the published committee report's figures.
"""

from decimal import Decimal
from pathlib import Path

from governance import roles
from governance.models import AreaOfSpend, FinancialYear, ProgrammeArea, QippTarget, Scheme
from tests.world import World, add_return, build_world

__all__ = ["EXAMPLES", "add_return", "add_scheme", "add_target", "report_world"]

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "month4-2018-19"


def report_world() -> World:
    world = build_world()
    world.add_user("pmo", ["elr", "wl"], roles.PMO)
    ProgrammeArea.objects.create(name="Urgent Care")
    AreaOfSpend.objects.create(name="Emergency Care")
    return world


def add_scheme(
    world: World,
    org: str,
    *,
    monthly: str = "1000",
    plan: list | None = None,
    state: str = "in_delivery",
    recovery: bool = False,
    area: str = "Planned Care",
    spend: str = "Elective Care",
    year: FinancialYear | None = None,
) -> Scheme:
    return world.scheme(
        state,
        org=org,
        monthly=monthly,
        plan=plan,
        financial_year=year,
        is_recovery=recovery,
        programme_area=ProgrammeArea.objects.get(name=area),
        area_of_spend=AreaOfSpend.objects.get(name=spend),
    )


def add_target(world: World, org: str, requirement) -> QippTarget:
    return QippTarget.objects.create(
        organisation=world.org(org), financial_year=world.year, requirement=Decimal(requirement)
    )
