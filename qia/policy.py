"""Who may do what with a QIA (ACCESS.md), added to governance.policy's rules.

Each rule answers with the reason for refusal in words a user understands, or None. The
version-level rules take the version as `version=`; without it they look at the scheme's
current one. Imported once, by QiaConfig.ready().
"""

from governance import policy, roles
from governance.models import Scheme, SchemeState
from qia import routes
from qia.models import Capacity, QiaVersion, Route, VersionStatus

# A re-assessment is for a scheme that has been approved and is not closed.
REASSESSABLE = [SchemeState.APPROVED, SchemeState.IN_DELIVERY]

CAPACITY_ROLES = {
    Capacity.CHIEF_NURSE: roles.CHIEF_NURSE,
    Capacity.CLINICAL_CHAIR: roles.CLINICAL_CHAIR,
}


def newest_version(scheme: Scheme) -> QiaVersion | None:
    return (
        QiaVersion.objects.filter(qia__scheme=scheme)
        .select_related("qia")
        .order_by("-number")
        .first()
    )


def is_newest(version: QiaVersion) -> bool:
    return not QiaVersion.objects.filter(qia_id=version.qia_id, number__gt=version.number).exists()


def at_panel(version: QiaVersion, scheme: Scheme) -> bool:
    """A re-assessment is at panel once sent (until its scheme closes); a first assessment
    while its scheme is."""
    if version.status == VersionStatus.PANEL:
        return scheme.state in REASSESSABLE
    return (
        version.drives_scheme
        and version.status == VersionStatus.SELF_ASSESSMENT
        and scheme.state == SchemeState.QIA_PANEL
    )


def panel_member_ids(version: QiaVersion) -> set[int]:
    """Who scored this version, and the quality lead who recorded its agreement."""
    ids = set(version.panel_scores.values_list("member_id", flat=True))
    if version.agreed_by_id:
        ids.add(version.agreed_by_id)
    return ids


def has_scored(user, version: QiaVersion) -> bool:
    """Whether this user has recorded their own scores for this version."""
    return version.panel_scores.filter(member_id=user.pk).exists()


def is_scorer(user, scheme: Scheme) -> bool:
    """Holds a role that scores the scheme's QIAs: a panel member or the quality lead (who
    scores as a member of the panel) of the scheme's organisation."""
    return policy.in_organisation(user, scheme) and (
        user.has_role(roles.PANEL_MEMBER) or user.has_role(roles.QUALITY_LEAD)
    )


def is_signatory(user, scheme: Scheme) -> bool:
    """Signs the scheme's QIAs off (and does not score them): its organisation's chief nurse
    or clinical chair."""
    return policy.in_organisation(user, scheme) and (
        user.has_role(roles.CHIEF_NURSE) or user.has_role(roles.CLINICAL_CHAIR)
    )


def can_see_panel_scores(user, version: QiaVersion, scheme: Scheme) -> bool:
    """Blind scoring, for every scorer, the quality lead included: the members' scores of a
    version only once you have recorded your own for it. The signatories, who do not score,
    see them all, unless they also hold a scoring role while the version is still at the
    panel: nobody who may still score anchors on the others' opinion."""
    if not policy.can_view_scheme(user, scheme):
        return False
    if has_scored(user, version):
        return True
    if is_scorer(user, scheme) and at_panel(version, scheme):
        return False
    return is_signatory(user, scheme)


def panel_scores_refusal(user, version: QiaVersion, scheme: Scheme) -> str | None:
    """Why this user may not see the members' own scores of the version
    (can_see_panel_scores), in the words that apply to them; None when they may."""
    if can_see_panel_scores(user, version, scheme):
        return None
    if is_scorer(user, scheme) and at_panel(version, scheme):
        return (
            "Panel scores stay hidden until you have recorded your own for this version "
            "(blind scoring): nobody anchors on the first opinion."
        )
    if is_scorer(user, scheme):
        return (
            f"You did not score version {version.number}: its members' own scores are shown "
            "to those who scored it and to the Chief Nurse and Clinical Chair."
        )
    return (
        "The panel members' own scores are shown only to the members who scored this version "
        "and to the Chief Nurse and Clinical Chair. The scores the panel agreed are on the QIA "
        "page."
    )


def _on_own_team(user, scheme: Scheme) -> bool:
    return user.pk in (scheme.project_lead_id, scheme.sro_id)


# --- the rules ---


def _edit(user, scheme: Scheme, version: QiaVersion | None = None) -> str | None:
    if user.pk != scheme.project_lead_id:
        return "Only the scheme's project lead can complete its QIA self-assessment."
    version = version or newest_version(scheme)
    if version is not None and not is_newest(version):
        return f"Version {version.number} is kept as it was: only the newest version changes."
    if version is None or version.drives_scheme:
        if scheme.state != SchemeState.DRAFT:
            state = scheme.state_words
            return (
                f"The self-assessment can only be changed while the scheme is a draft; "
                f"it is now {state}."
            )
    if version is None:
        return None
    if version.status != VersionStatus.SELF_ASSESSMENT:
        return f"This QIA version is {version.get_status_display().lower()}: it cannot change now."
    if not version.drives_scheme and scheme.state not in REASSESSABLE:
        return "The scheme is closed: its QIA is no longer re-assessed."
    return None


def _send_to_panel(user, scheme: Scheme, version: QiaVersion | None = None) -> str | None:
    if user.pk != scheme.project_lead_id:
        return "Only the scheme's project lead sends its QIA re-assessment to the panel."
    version = version or newest_version(scheme)
    if version is None or version.drives_scheme:
        return "A first QIA goes to the panel with the PID: submit the scheme."
    return _edit(user, scheme, version)


def _score(user, scheme: Scheme, version: QiaVersion | None = None) -> str | None:
    if not (user.has_role(roles.PANEL_MEMBER) or user.has_role(roles.QUALITY_LEAD)):
        return "Only QIA panel members and the quality lead score a QIA."
    if not policy.in_organisation(user, scheme):
        return f"You score QIAs of your own organisation only, not {scheme.organisation.code}."
    if reason := policy.judging_own_scheme(user, scheme):
        return reason
    version = version or newest_version(scheme)
    if version is None or not at_panel(version, scheme) or not is_newest(version):
        return "This QIA is not at the panel now."
    if has_scored(user, version):
        return (
            "You have already recorded your scores for this QIA version: each member scores once."
        )
    return None


# The base rules (role, organisation, scheme team); these add the version-level checks.
_base_panel_decide = policy.scheme_panel_rule
_base_sign_off = policy.scheme_sign_off_rule


def _panel_decide(user, scheme: Scheme, version: QiaVersion | None = None) -> str | None:
    return _base_panel_decide(user, scheme)


def awaiting_version(scheme: Scheme) -> QiaVersion | None:
    return (
        QiaVersion.objects.filter(qia__scheme=scheme, status=VersionStatus.AWAITING_SIGN_OFF)
        .select_related("qia")
        .order_by("-number")
        .first()
    )


def capacities_held(user) -> list[str]:
    return [capacity for capacity, role in CAPACITY_ROLES.items() if user.has_role(role)]


def open_capacities(user, version: QiaVersion) -> list[str]:
    """The capacities this user could sign this version in now (those its route asks for)."""
    signed = set(version.sign_offs.values_list("capacity", flat=True))
    required = routes.required_capacities(version)
    return [c for c in capacities_held(user) if c not in signed and c in required]


def _sign_off(
    user, scheme: Scheme, version: QiaVersion | None = None, capacity: str | None = None
) -> str | None:
    reason = _base_sign_off(user, scheme)
    if reason:
        return reason
    version = version or awaiting_version(scheme)
    if version is None or version.status != VersionStatus.AWAITING_SIGN_OFF:
        return "This QIA is not awaiting sign-off."
    if not version.drives_scheme and scheme.state not in REASSESSABLE:
        return "The scheme is closed: its QIA is no longer re-assessed."
    if user.pk in panel_member_ids(version):
        return (
            "You were on the panel for this QIA version, so you cannot also sign it off "
            "(segregation of duties)."
        )
    signed = {s.capacity: s for s in version.sign_offs.select_related("by")}
    # a signature given by a deputy counts as the principal's too
    mine = [s for s in signed.values() if user.pk in (s.by_id, s.on_behalf_of_id)]
    if mine:
        return (
            f"You have already signed this QIA version as {mine[0].get_capacity_display()}: "
            "the other signature must be by someone else."
        )
    held = capacities_held(user)
    wanted = [capacity] if capacity else held
    for name in wanted:
        if name not in held:
            return f"Only the {Capacity(name).label} can sign off in that capacity."
    required = routes.required_capacities(version)
    if not any(name in required for name in wanted):
        return (
            f"This scheme's sign-off route: {Route(version.qia.route).label}. "
            f"{version.qia.route_reason} The {Capacity(wanted[0]).label} does not sign it."
        )
    wanted = [name for name in wanted if name in required]
    free = [name for name in wanted if name not in signed]
    if not free:
        done = signed[wanted[0]]
        return f"The {done.get_capacity_display()} has already signed this version ({done.by})."
    return None


def _reassess(user, scheme: Scheme, version: QiaVersion | None = None) -> str | None:
    may = _on_own_team(user, scheme) or (
        policy.in_organisation(user, scheme)
        and (user.has_role(roles.QUALITY_LEAD) or user.has_role(roles.PMO))
    )
    if not may:
        return (
            "Only the scheme's project lead or SRO, its organisation's quality lead or the PMO "
            "can open a QIA re-assessment."
        )
    if scheme.state not in REASSESSABLE:
        return "A QIA is re-assessed once the scheme is approved, until it closes."
    version = version or newest_version(scheme)
    if version is None or not version.qia.versions.filter(status=VersionStatus.SIGNED_OFF).exists():
        return "There is no signed-off QIA to re-assess."
    if version.status in (VersionStatus.SELF_ASSESSMENT, VersionStatus.PANEL):
        return f"A re-assessment is already under way (version {version.number})."
    if version.status == VersionStatus.AWAITING_SIGN_OFF:
        return f"Version {version.number} is awaiting sign-off: finish that first."
    return None


def _attach_eqia(user, scheme: Scheme, version: QiaVersion | None = None) -> str | None:
    if user.pk != scheme.project_lead_id:
        return "Only the scheme's project lead can attach the equality impact assessment."
    version = version or newest_version(scheme)
    if version is None or not is_newest(version):
        return "Attach the equality impact assessment to the current QIA version."
    if version.status not in (
        VersionStatus.SELF_ASSESSMENT,
        VersionStatus.PANEL,
        VersionStatus.AWAITING_SIGN_OFF,
    ):
        return f"This QIA version is {version.get_status_display().lower()}: it cannot change now."
    if scheme.state in (SchemeState.REJECTED, SchemeState.WITHDRAWN):
        return "The scheme is closed."
    return None


def _deputy_sign_off(
    user, scheme: Scheme, version: QiaVersion | None = None, capacity: str | None = None
) -> str | None:
    """A deputy signing for someone away is checked as a person too: not on the version's
    panel, and no signature of theirs (given themselves or for another) on it already."""
    version = version or awaiting_version(scheme)
    if version is None:
        return None
    if user.pk in panel_member_ids(version):
        return (
            "You were on the panel for this QIA version, so you cannot also sign it off, not "
            "even as a deputy (segregation of duties)."
        )
    for signature in version.sign_offs.select_related("by", "on_behalf_of"):
        if user.pk in (signature.by_id, signature.on_behalf_of_id):
            return (
                f"You signed this QIA version already ({signature.get_capacity_display()}): "
                "the other signature must be by someone else, deputy or not."
            )
    return None


# Checks on a deputy as a person, which QiaConfig.ready() gives governance.policy.
DEPUTY_CHECKS = {"sign_off": _deputy_sign_off, "decline_sign_off": _deputy_sign_off}


# The QIA's access rules, which QiaConfig.ready() gives governance.policy. run_transition
# explains a refused scheme transition by the rule of the same name: hence the panel's three.
POLICY_RULES = {
    "qia_edit": _edit,
    "qia_send_to_panel": _send_to_panel,
    "qia_score": _score,
    "qia_reassess": _reassess,
    "qia_attach_eqia": _attach_eqia,
    "panel_decide": _panel_decide,
    "panel_agree": _panel_decide,
    "panel_return": _panel_decide,
    "panel_dismiss": _panel_decide,
    "sign_off": _sign_off,
    "decline_sign_off": _sign_off,
    # QAG's approval, on the route that asks for it: a decision of QAG like any other
    "qag_approve": policy.qag_decision_rule,
}
