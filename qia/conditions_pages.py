"""What conditions of approval add to the pages (QiaConfig.ready() lists them): the owner's
tasks in their inbox, the conditions block on the scheme page, and the scheme's history."""

from django.utils import timezone

from governance import selectors
from governance.models import Scheme
from qia.conditions import conditions_of, meet_refusal, meet_url, open_conditions, short


def condition_tasks(user, limit: int) -> selectors.Tasks:
    """The user's conditions still to meet, soonest due first; each waits since it was set."""
    owed = open_conditions(user)
    found = list(owed[:limit])
    total = len(found) if len(found) < limit else owed.count()
    return selectors.Tasks(
        [
            selectors.Task(
                condition.scheme,
                f"Meet the condition: {short(condition.text, 60).rstrip('.')}, due "
                f"{condition.due_on:%-d %b %Y}",
                meet_url(condition),
                condition.set_at,
            )
            for condition in found
        ],
        total,
    )


def conditions_section(user, scheme: Scheme, as_at_month: int) -> selectors.Section | None:
    """The scheme's conditions, open and met, for whoever sees the scheme; a "Mark met"
    button on each open one for those who may mark it met."""
    conditions = conditions_of(scheme)
    if not conditions:
        return None
    today = timezone.localdate()
    for condition in conditions:
        condition.scheme = scheme  # the page's own, for the rule below
        condition.overdue = not condition.is_met and condition.due_on < today
        condition.may_meet = not condition.is_met and meet_refusal(user, condition) is None
    still_open = sum(not condition.is_met for condition in conditions)
    return selectors.Section(
        "qia/_conditions_section.html",
        {"scheme": scheme, "conditions": conditions, "open": still_open},
    )


def condition_events(scheme: Scheme) -> list[selectors.Event]:
    """Each condition set, and each met with its evidence, in the scheme's history."""
    events = []
    for condition in conditions_of(scheme):
        events.append(
            selectors.Event(
                at=condition.set_at,
                who=condition.set_by,
                what=(
                    f"Condition set at the {condition.get_source_display()}, owned by "
                    f"{condition.owner}, due {condition.due_on:%-d %B %Y}"
                ),
                detail=condition.text,
                kind="qia",
            )
        )
        if condition.is_met:
            link = f"\n{condition.evidence_link}" if condition.evidence_link else ""
            events.append(
                selectors.Event(
                    at=condition.met_at,
                    who=condition.met_by,
                    what=f"Condition met: {short(condition.text, 60)}",
                    detail=f"{condition.evidence}{link}",
                    kind="qia",
                )
            )
    return events
