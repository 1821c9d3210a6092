"""What the pipeline's pages read: the opportunities a user sees, and the events of the
opportunity a scheme was written up from, which start that scheme's history."""

from django.db.models import QuerySet

from governance.models import Opportunity, OpportunityEvent, Scheme
from governance.selectors import Event

# An opportunity's text that may run to 10,000 characters: the list does not show it.
LONG_TEXTS = ("description", "closed_reason")


def visible_opportunities(user) -> QuerySet[Opportunity]:
    """The opportunities a user sees: the same rule as policy.can_view_opportunity, as one
    query (those of the organisations of the user's systems)."""
    if not user.is_authenticated or not user.is_active:
        return Opportunity.objects.none()
    return Opportunity.objects.filter(organisation__system_id__in=user.system_ids)


def _sentence(what: str) -> str:
    return what[:1].lower() + what[1:]


def scheme_events(scheme: Scheme) -> list[Event]:
    """A history source (governance.selectors.HISTORY_SOURCES): the events of the opportunity
    the scheme was written up from, "Opportunity OPP-ELR-2728-001 created, estimated saving
    (£83,000)", up to "... written up as PID ELR-2728-006"; none for most schemes."""
    events = OpportunityEvent.objects.filter(opportunity__scheme=scheme).select_related(
        "by", "opportunity"
    )
    return [
        Event(
            at=event.at,
            who=event.by,
            what=f"Opportunity {event.opportunity.reference} {_sentence(event.what)}",
            detail=event.detail,
            kind="opportunity",
        )
        for event in events
    ]
