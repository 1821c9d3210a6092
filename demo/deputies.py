"""The demo's deputy: ELR's Clinical Chair is on leave for a fortnight from the day seed_demo
first runs, and the administrator has named ELR's clinical reviewer, a clinician who does not
hold the role, to sign QIAs off for them meanwhile. Their My tasks shows the Clinical Chair's
sign-offs, marked "for" them. One already named is left as it is."""

from datetime import timedelta

from django.utils import timezone

from governance import deputies, roles
from governance.models import Delegation, User

LEAVE = timedelta(days=13)


def add_deputy(ref: dict, users: dict[str, User]) -> bool:
    """Name the demo's deputy unless the Clinical Chair has had one; whether it was named."""
    chair = users["elr-clinical-chair"]
    if Delegation.objects.filter(principal=chair).exists():
        return False
    today = timezone.localdate()
    deputies.name_deputy(
        by=users["admin"],
        principal=chair,
        deputy=users["elr-clinical-reviewer"],
        role=roles.CLINICAL_CHAIR,
        organisation=ref["orgs"]["ELR"],
        starts_on=today,
        ends_on=today + LEAVE,
        admin=True,
    )
    return True
