"""{% schemes_to_start user as waiting %}: how many approved schemes wait for this PMO user to
start their delivery, for the link to starting several at once on My tasks."""

from django import template

from governance.delivery import starting

register = template.Library()


@register.simple_tag
def schemes_to_start(user) -> int:
    """One count, and no query at all for a user who is not PMO."""
    return starting.waiting_to_start(user).count()
