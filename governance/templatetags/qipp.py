from django import template

from governance import money

register = template.Library()

STATE_STYLES = {
    "draft": "secondary",
    "confirm_and_challenge": "info",
    "qia_panel": "info",
    "awaiting_sign_off": "warning",
    "approved": "primary",
    "in_delivery": "primary",
    "completed": "success",
    "stopped": "dark",
    "rejected": "danger",
    "withdrawn": "light",
}


register.filter("pounds", money.pounds)
# savings and variances in the committee papers' sign (money.SIGN_CONVENTION)
register.filter("saving", money.saving)
register.filter("signed", money.signed)


@register.simple_tag
def sign_convention() -> str:
    """The sentence stating the sign convention, once on each page that shows money."""
    return money.SIGN_CONVENTION


@register.filter
def state_style(state: str) -> str:
    return STATE_STYLES.get(state, "secondary")


@register.inclusion_tag("governance/_state_badge.html")
def state_badge(scheme):
    """The scheme's state as a coloured badge."""
    return {"state": scheme.state, "label": scheme.get_state_display()}
