from decimal import Decimal

from django import template

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


@register.filter
def pounds(value) -> str:
    """£12,345 for whole pounds, £12,345.67 otherwise; negatives as -£12,345."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{sign}£{text}"


@register.filter
def state_style(state: str) -> str:
    return STATE_STYLES.get(state, "secondary")


@register.inclusion_tag("governance/_state_badge.html")
def state_badge(scheme):
    """The scheme's state as a coloured badge."""
    return {"state": scheme.state, "label": scheme.get_state_display()}
