"""Who may see and do what: ACCESS.md, checked on the server for the object in hand.

Each rule answers with the reason for refusal in words a user understands, or None when the
user may go ahead. The fsm transitions' `permission=` callables and the views both ask here.
"""

import copy
from collections.abc import Callable

from django.db.models import Q

from governance import roles
from governance.states import SchemeState

# The scheme team (ACCESS.md): each place on it, as the scheme's field and in words.
TEAM_PLACES = (
    ("project_lead", "project lead"),
    ("sro", "SRO"),
    ("clinical_lead", "clinical lead"),
    ("finance_lead", "finance lead"),
)


def is_team(user, scheme) -> bool:
    return user.pk in scheme.team_ids


def team_place(user, scheme) -> str | None:
    """The user's place on the scheme's team in words ("finance lead"), or None."""
    for field, words in TEAM_PLACES:
        if getattr(scheme, f"{field}_id") == user.pk:
            return words
    return None


def judging_own_scheme(user, scheme) -> str | None:
    """Nobody judges their own scheme: the refusal for a member of its team, naming their
    place on it; None for anyone else."""
    place = team_place(user, scheme)
    if place is None:
        return None
    return (
        f"You are this scheme's {place}: nobody reviews, scores, signs off, assures or "
        "decides on their own scheme (segregation of duties)."
    )


def on_team_of(user, prefix: str = "") -> Q:
    """A filter for the schemes on whose team `user` is (`prefix` reaches the scheme from
    another model, e.g. "scheme__"): task lists exclude them."""
    found = Q()
    for field, _words in TEAM_PLACES:
        found |= Q(**{f"{prefix}{field}": user})
    return found


def in_organisation(user, scheme) -> bool:
    return scheme.organisation_id in user.organisation_ids


def in_system(user, scheme) -> bool:
    return scheme.organisation.system_id in user.system_ids


def can_view_scheme(user, scheme) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if scheme.state == SchemeState.DRAFT:
        return is_team(user, scheme) or (user.has_role(roles.PMO) and in_organisation(user, scheme))
    return is_team(user, scheme) or in_system(user, scheme)


def _not_signed_in(user) -> str | None:
    if not user.is_authenticated or not user.is_active:
        return "Please sign in."
    return None


def _reviewer(role: str, label: str, review: str) -> Callable:
    def rule(user, scheme) -> str | None:
        if not user.has_role(role):
            return f"Only a {label} can record the {review}."
        if not in_organisation(user, scheme):
            return (
                f"You review schemes of your own organisation only, not {scheme.organisation.code}."
            )
        return judging_own_scheme(user, scheme)

    return rule


def _create(user, organisation=None) -> str | None:
    if not user.has_role(roles.PROJECT_LEAD):
        return "Only a project lead can write a new PID."
    if organisation is not None and organisation.pk not in user.organisation_ids:
        return f"You can write PIDs for your own organisation only, not {organisation.code}."
    if not user.organisation_ids:
        return "You are not a member of any organisation yet: ask an administrator."
    return None


def _edit(user, scheme) -> str | None:
    if user.pk != scheme.project_lead_id:
        return "Only the scheme's project lead can change the PID."
    if scheme.state != SchemeState.DRAFT:
        state = scheme.state_words
        return f"The PID can only be changed while it is a draft; it is now {state}."
    return None


def _submit(user, scheme) -> str | None:
    if user.pk != scheme.project_lead_id:
        return "Only the scheme's project lead can submit it."
    return None


def _withdraw(user, scheme) -> str | None:
    if user.pk not in (scheme.project_lead_id, scheme.sro_id):
        return "Only the scheme's project lead or SRO can withdraw it."
    return None


def scheme_panel_rule(user, scheme) -> str | None:
    if not user.has_role(roles.QUALITY_LEAD):
        return "Only the quality lead can agree, return or dismiss at the QIA panel."
    if not in_organisation(user, scheme):
        return f"You chair panels of your own organisation only, not {scheme.organisation.code}."
    return judging_own_scheme(user, scheme)


def scheme_sign_off_rule(user, scheme) -> str | None:
    """The base rule; the qia app adds the version-level checks (panel member, same person)."""
    if not (user.has_role(roles.CHIEF_NURSE) or user.has_role(roles.CLINICAL_CHAIR)):
        return "Only the Chief Nurse and Quality Officer or the Clinical Chair can sign off a QIA."
    if not in_organisation(user, scheme):
        return (
            f"You sign off schemes of your own organisation only, not {scheme.organisation.code}."
        )
    return judging_own_scheme(user, scheme)


def qag_decision_rule(user, scheme) -> str | None:
    """A decision of QAG, on an escalation or on a scheme's approval: a QAG member of the
    scheme's system, not on its team."""
    if not user.has_role(roles.QAG_MEMBER):
        return "Only a member of the QIPP Assurance Group can record QAG's decision."
    if not in_system(user, scheme):
        return "You decide on schemes of your own system only."
    return judging_own_scheme(user, scheme)


def _start_delivery(user, scheme) -> str | None:
    if not (user.has_role(roles.PMO) and in_organisation(user, scheme)):
        return "Only the PMO of the scheme's organisation can start delivery."
    return None


def _complete(user, scheme) -> str | None:
    if user.pk == scheme.sro_id:
        return None
    if not (user.has_role(roles.PMO) and in_organisation(user, scheme)):
        return "Only the PMO of the scheme's organisation or its SRO can close the scheme."
    return None


# A carried plan is confirmed while the scheme is still to deliver it.
CONFIRMABLE_STATES = (SchemeState.APPROVED, SchemeState.IN_DELIVERY)


def _carry(user, scheme=None, organisation=None) -> str | None:
    """Carrying recurrent savings into next year: the PMO of the organisation, given the
    organisation (the carry page) or the scheme. The scheme team is not excluded: carrying is
    bookkeeping, not a judgement. The figure carried is the approved scheme's full-year effect,
    worked out rather than chosen, and its project lead then confirms or edits it."""
    if not user.has_role(roles.PMO):
        return "Only the PMO carries recurrent savings into next year."
    organisation = organisation or (scheme.organisation if scheme is not None else None)
    if organisation is None:
        return "You are not a member of any organisation yet: ask an administrator."
    if organisation.pk not in user.organisation_ids:
        return f"You carry the schemes of your own organisation only, not {organisation.code}."
    return None


def _confirm_carry(user, scheme) -> str | None:
    """The plan a scheme carried on from last year: its project lead confirms or edits it,
    once, while the scheme is still to deliver it."""
    if scheme.carried_from_id is None:
        return f"{scheme.reference} was not carried on from last year: it has no carried plan."
    if user.pk != scheme.project_lead_id:
        return "Only the scheme's project lead confirms the plan carried into its year."
    if scheme.carry_confirmed_at is not None:
        return "The carried plan is confirmed already: it is the scheme's plan now."
    if scheme.state not in CONFIRMABLE_STATES:
        return (
            "A carried plan is confirmed while the scheme is approved or in delivery; it is now "
            f"{scheme.state_words}."
        )
    return None


RULES: dict[str, Callable] = {
    "edit": _edit,
    "submit": _submit,
    # the review as My tasks and the scheme page name it (ReviewKind): "the financial review"
    "finance_review": _reviewer(roles.FINANCE_REVIEWER, "finance reviewer", "financial review"),
    "clinical_review": _reviewer(roles.CLINICAL_REVIEWER, "clinical reviewer", "clinical review"),
    "withdraw": _withdraw,
    "panel_decide": scheme_panel_rule,
    "sign_off": scheme_sign_off_rule,
    "start_delivery": _start_delivery,
    "complete": _complete,
    "carry": _carry,
    "confirm_carry": _confirm_carry,
    # "stop" is a QAG decision on an escalation: notifications.escalations gives its rule.
}


# --- deputies (ACCESS.md "Deputies"): a user acting for someone away carries `deputising`
# (governance.deputies) for that request. The action is checked against the principal's role,
# organisation and duties, and against the deputy's own: segregation of duties binds both.

# The roles whose decisions a deputy may take for someone away, and the actions each covers.
# Scoring at a QIA panel is a person's own opinion and the team's work is the team's: neither
# is delegated.
DELEGABLE_ACTIONS = {
    roles.FINANCE_REVIEWER: ("finance_review",),
    roles.CLINICAL_REVIEWER: ("clinical_review",),
    roles.QUALITY_LEAD: ("panel_decide", "panel_agree", "panel_return", "panel_dismiss"),
    roles.CHIEF_NURSE: ("sign_off", "decline_sign_off"),
    roles.CLINICAL_CHAIR: ("sign_off", "decline_sign_off"),
    roles.PMO: ("start_delivery",),
    roles.QAG_MEMBER: ("escalation_decide", "stop", "qag_approve"),
}
DELEGATED = {action for actions in DELEGABLE_ACTIONS.values() for action in actions}

# Checks on the deputy as a person for an action, beyond being off the scheme's team; later
# apps add theirs (the QIA's: not on the panel, not the other signatory).
DEPUTY_CHECKS: dict[str, Callable] = {}


def _deputy_refusal(action: str, user, delegation, scheme=None, **context) -> str | None:
    """Why the deputy, acting under `delegation`, may not do this for its principal."""
    principal = delegation.principal
    if action not in delegation.actions:
        if action in DELEGATED:
            return (
                f"You act for {principal} as {delegation.role} only, and this is not a "
                "decision of that role."
            )
        # reading a page, say: the deputy's own right
        return refusal(action, in_own_right(user), scheme, **context)
    if scheme is not None:
        if not can_view_scheme(user, scheme):
            return "You do not have access to this scheme."
        if not delegation.covers(scheme):
            return (
                f"You act for {principal} on schemes of {delegation.where} only, not "
                f"{scheme.organisation.code}."
            )
        if reason := judging_own_scheme(user, scheme):
            return reason
    reason = refusal(action, principal, scheme, **context)
    if reason:
        return f"You act for {principal}, who may not do this: {reason}"
    check = DEPUTY_CHECKS.get(action)
    return check(user, scheme, **context) if check else None


def in_own_right(user):
    """The user as themselves, not deputising for anyone."""
    own = copy.copy(user)
    own.__dict__.pop("deputising", None)
    return own


def register_deputy_check(action: str, check: Callable) -> None:
    """Later apps (QIA) add their checks on a deputy as a person here."""
    DEPUTY_CHECKS[action] = check


def register(action: str, rule: Callable) -> None:
    """Later apps (QIA, delivery) add their actions' rules here."""
    RULES[action] = rule


def refusal(action: str, user, scheme=None, **context) -> str | None:
    """Why `user` may not do `action` on `scheme`, or None if they may."""
    reason = _not_signed_in(user)
    if reason:
        return reason
    delegation = getattr(user, "deputising", None)
    if delegation is not None:
        return _deputy_refusal(action, user, delegation, scheme, **context)
    if action == "create":
        return _create(user, **context)
    if scheme is not None and not can_view_scheme(user, scheme):
        return "You do not have access to this scheme."
    return RULES[action](user, scheme, **context)


# --- the pipeline: opportunities (ACCESS.md). An opportunity is no scheme, so its rules are
# asked through opportunity_refusal, with the opportunity (or, to add one, the organisation).


def can_view_opportunity(user, opportunity) -> bool:
    """Every signed-in user of its system sees an opportunity, whatever its status."""
    if not user.is_authenticated or not user.is_active:
        return False
    return opportunity.organisation.system_id in user.system_ids


def _keeps_a_pipeline(user) -> bool:
    """A project lead or the PMO: who adds an organisation's ideas and looks after them."""
    return user.has_role(roles.PROJECT_LEAD) or user.has_role(roles.PMO)


def _opportunity_closed(opportunity) -> str | None:
    """Written up or closed, an opportunity is kept as it was: read-only. (Its status values
    are OpportunityStatus's, spelt out: the models import this module.)"""
    if opportunity.status == "converted":
        return (
            f"{opportunity.reference} has been written up as a PID, {opportunity.scheme.reference}:"
            " it can no longer be changed."
        )
    if opportunity.status == "closed":
        return f"{opportunity.reference} is closed: it can no longer be changed."
    return None


def _opportunity_create(user, organisation=None) -> str | None:
    if not _keeps_a_pipeline(user):
        return "Only a project lead or the PMO can add an opportunity."
    if not user.organisation_ids:
        return "You are not a member of any organisation yet: ask an administrator."
    if organisation is not None and organisation.pk not in user.organisation_ids:
        return f"You can add opportunities for your own organisation only, not {organisation.code}."
    return None


def _opportunity_change(user, opportunity) -> str | None:
    """Edit or close: its owner (while still of its organisation), a project lead or the PMO
    of its organisation."""
    ours = opportunity.organisation_id in user.organisation_ids
    if not (ours and (user.pk == opportunity.owner_id or _keeps_a_pipeline(user))):
        return (
            "Only the opportunity's owner, or a project lead or the PMO of "
            f"{opportunity.organisation.code}, can change it."
        )
    return None


def _opportunity_write_up(user, opportunity) -> str | None:
    """The PID is written by the person the pipeline names: its owner, who becomes the PID's
    project lead, and writing a PID is a project lead's (ACCESS.md "create a PID")."""
    if user.pk != opportunity.owner_id:
        return (
            f"Only the opportunity's owner, {opportunity.owner}, writes it up as a PID, and "
            "becomes its project lead: a project lead who is to write it is made its owner first."
        )
    if not (
        user.has_role(roles.PROJECT_LEAD) and opportunity.organisation_id in user.organisation_ids
    ):
        return (
            "Only a project lead can write a PID: a project lead of "
            f"{opportunity.organisation.code} must be made the opportunity's owner first."
        )
    return None


OPPORTUNITY_RULES: dict[str, Callable] = {
    "opportunity_edit": _opportunity_change,
    "opportunity_close": _opportunity_change,
    "opportunity_write_up": _opportunity_write_up,
}


def opportunity_refusal(action: str, user, opportunity=None, *, organisation=None) -> str | None:
    """Why `user` may not do `action` to `opportunity` (or, for "opportunity_create", add one
    to `organisation`), or None if they may."""
    reason = _not_signed_in(user)
    if reason:
        return reason
    if action == "opportunity_create":
        return _opportunity_create(user, organisation)
    if not can_view_opportunity(user, opportunity):
        return "You do not have access to this opportunity."
    # written up or closed, it is read-only for everyone: that is the reason to give first
    return _opportunity_closed(opportunity) or OPPORTUNITY_RULES[action](user, opportunity)
