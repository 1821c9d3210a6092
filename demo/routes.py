"""The demo's route rule: at LC, a scheme of £3.5m or more net in the year goes to QAG for
approval after the Chief Nurse and the Clinical Chair have signed it off (qia.routes). Set
before the schemes are built, as an administrator would have set it; one already there is left
as it is. LC's "Acute length of stay programme" is on that route, waiting for QAG."""

from decimal import Decimal

from qia.models import Route, RouteRule


def add_route_rules(ref: dict) -> bool:
    """LC's rule unless LC has one; whether it was added."""
    organisation = ref["orgs"]["LC"]
    if RouteRule.objects.filter(organisation=organisation).exists():
        return False
    RouteRule.objects.create(
        organisation=organisation,
        name="Large schemes go to QAG",
        order=1,
        at_least=Decimal("3500000"),
        route=Route.QAG_APPROVAL,
    )
    return True
