"""The demo's pipeline: open opportunities for next year, ideas not yet written up as a PID,
each added through the service its people use (so its history is real). seed_demo calls
add_opportunities once the schemes are built; one already there is left as it is."""

from dataclasses import dataclass
from decimal import Decimal

from demo.data import NEXT
from governance.models import Opportunity, User
from governance.services.opportunities import opportunity_create


@dataclass(frozen=True)
class Idea:
    org: str
    title: str
    programme_area: str
    area_of_spend: str | None  # None: not known yet, asked when it is written up
    estimate: str
    owner: str  # role slug of the organisation's person who takes it forward
    added_by: str  # role slug of who added it
    description: str


IDEAS = [
    # the project lead's own idea, ready to write up (its area of spend is asked then)
    Idea(
        "ELR",
        "Social prescribing for frequent attenders",
        "Primary Care",
        None,
        "83000",
        "project-lead",
        "project-lead",
        "Link workers in each primary care network see patients who visit their practice "
        "more than twelve times a year, connecting them to community support. Fewer GP "
        "appointments and A&E attendances.",
    ),
    # a GP's idea, logged by the PMO: a project lead is made its owner before its PID
    Idea(
        "ELR",
        "Biosimilar adalimumab switch",
        "Medicines Management",
        "Optimising the Use of Medicines",
        "120000",
        "clinical-reviewer",
        "pmo",
        "Patients on the originator adalimumab move to the biosimilar at their next review, "
        "with the rheumatology, gastroenterology and dermatology teams.",
    ),
    Idea(
        "WL",
        "Wheelchair service re-procurement",
        "Community",
        "Community Healthcare",
        "40000",
        "project-lead",
        "project-lead",
        "The wheelchair service contract ends next year: re-procure it with a recycling "
        "target and a single assessment for adults and children.",
    ),
]


def add_opportunities(ref: dict, users: dict[str, User]) -> int:
    """The demo's opportunities that are not there yet; how many were added."""
    added = 0
    for idea in IDEAS:
        organisation = ref["orgs"][idea.org]
        year = ref["years"][NEXT]
        if Opportunity.objects.filter(
            organisation=organisation, financial_year=year, title=idea.title
        ).exists():
            continue
        person = f"{idea.org.lower()}-"
        opportunity_create(
            by=users[person + idea.added_by],
            data={
                "title": idea.title,
                "description": idea.description,
                "organisation": organisation,
                "financial_year": year,
                "programme_area": ref["areas"][idea.programme_area],
                "area_of_spend": ref["spend"][idea.area_of_spend] if idea.area_of_spend else None,
                "estimated_saving": Decimal(idea.estimate),
                "owner": users[person + idea.owner],
            },
        )
        added += 1
    return added
