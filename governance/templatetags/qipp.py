from django import template

from governance import money, policy, selectors, services

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


@register.inclusion_tag("governance/_plan_warnings.html")
def plan_warnings(scheme):
    """What looks wrong in the scheme's savings plan (selectors.plan_warnings), as a warning
    box: on the scheme page, the submit page and the case beside every decision."""
    return {"warnings": selectors.plan_warnings(scheme)}


@register.inclusion_tag("governance/_returned.html")
def returned_note(scheme):
    """Who returned the draft from the QIA panel or sign-off, and why (selectors.returned)."""
    return {"returned": selectors.returned(scheme)}


@register.filter
def may_name_deputy(user) -> bool:
    """Whether the user holds a role a deputy can cover (governance.deputies: the reviewers,
    quality lead, signatories, PMO, QAG), or names deputies for others as an administrator."""
    return user.is_staff or bool(user.role_names & policy.DELEGABLE_ACTIONS.keys())


@register.simple_tag
def submit_problems(scheme) -> list[str]:
    """What stops the scheme being submitted now, as the submit step will say it
    (services.SUBMIT_CHECKS: a QIA self-assessment missing or incomplete): said on the submit
    page before the button is pressed."""
    return [problem for check in services.SUBMIT_CHECKS if (problem := check(scheme))]


@register.inclusion_tag("governance/_team_warnings.html")
def team_warnings(scheme):
    """A draft whose team leaves no reviewer able to review it (selectors.team_warnings)."""
    if scheme.state != "draft":
        return {"warnings": []}
    return {"warnings": selectors.team_warnings(scheme)}
