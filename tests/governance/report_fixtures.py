"""What the report and import tests add to the test world (tests/world.py).

`report_world()`: the world, with `pmo` (a PMO of both LLR organisations, ELR and WL), a second
programme area (Urgent Care) and a second area of spend (Emergency Care).
`add_scheme(world, org, **fields)`: a scheme straight in a state (default in delivery), its
plan `monthly` pounds in each month unless `plan=[12 amounts]` is given.
`add_return`, `add_target`; EXAMPLES: the published committee report's figures, and
`import_example()`, which imports them as a finance officer would.
"""

import io
from decimal import Decimal
from pathlib import Path

from django.core.management import call_command

from governance import roles
from governance.models import (
    AreaOfSpend,
    FinancialYear,
    ProgrammeArea,
    QippTarget,
    Scheme,
    User,
)
from tests.world import World, add_return, build_world

__all__ = [
    "EXAMPLES",
    "add_return",
    "add_scheme",
    "add_target",
    "import_example",
    "report_world",
]

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "month4-2018-19"


def import_example() -> None:
    """The published month-4 example's targets, plans and returns, imported with the command
    (the plans as they stood in that past year, in delivery)."""
    User.objects.create_superuser("admin", password="pw")  # who the command line imports as
    for kind in ("targets", "plans", "returns"):
        past_year = ["--historical"] if kind == "plans" else []
        call_command(
            "qipp_import",
            kind,
            str(EXAMPLES / f"{kind}.csv"),
            "--create-missing",
            *past_year,
            stdout=io.StringIO(),
        )


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
