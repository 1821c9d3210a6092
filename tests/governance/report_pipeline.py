"""What the report tests add to the world for the pipeline: opportunities written straight in
their status (their own pages and services are tested on their own) and a system's weights.

`add_opportunity(world, org, saving, status="open", scheme=None)`;
`set_weight(world, system, stage, percent)`.
"""

from decimal import Decimal

from governance.models import Opportunity, Scheme, StageWeight
from tests.world import World

__all__ = ["add_opportunity", "set_weight"]


def add_opportunity(
    world: World,
    org: str,
    saving,
    *,
    status: str = "open",
    scheme: Scheme | None = None,
    year=None,
) -> Opportunity:
    organisation = world.org(org)
    year = year or world.year
    sequence = Opportunity.objects.filter(organisation=organisation, financial_year=year).count()
    sequence += 1
    owner = world.user(org, "project-lead")
    return Opportunity.objects.create(
        reference=f"OPP-{organisation.code}-{year.code}-{sequence:03d}",
        sequence=sequence,
        title=f"Opportunity {sequence}",
        organisation=organisation,
        financial_year=year,
        programme_area=world.programme_area,
        area_of_spend=world.area_of_spend,
        estimated_saving=Decimal(str(saving)),
        owner=owner,
        status=status,
        scheme=scheme,
        created_by=owner,
    )


def set_weight(world: World, system: str, stage: str, percent) -> StageWeight:
    return StageWeight.objects.create(
        system=world.systems[system], stage=stage, weight_percent=Decimal(str(percent))
    )
