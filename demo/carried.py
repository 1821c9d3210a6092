"""The demo's multi-year plan: last year's running cost reduction of ELR, a recurrent saving
completed last year, carried into this year by ELR's PMO through the service the PMO uses. Its
plan waits for its project lead to confirm it (a task in their inbox), and its delivery for
the PMO to start it. seed_demo calls add_carried once the schemes are built; a scheme carried
already is left as it is."""

from demo.data import LAST
from governance.delivery.carry import carried_into, carry_forward
from governance.models import Scheme, User

TITLE = "Running cost reduction"


def add_carried(ref: dict, users: dict[str, User]) -> int:
    """Carry the demo's scheme into this year unless it is carried already; how many were."""
    original = Scheme.objects.filter(
        organisation=ref["orgs"]["ELR"], financial_year=ref["years"][LAST], title=TITLE
    ).first()
    if original is None or carried_into(original) is not None:
        return 0
    carried = carry_forward(
        organisation=original.organisation,
        financial_year=original.financial_year,
        scheme_ids=[original.pk],
        by=users["elr-pmo"],
    )
    return len(carried)
