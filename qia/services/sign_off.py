"""Sign-off of a QIA by the Chief Nurse and the Clinical Chair (DESIGN.md "Sign-off")."""

from django.utils import timezone

from governance import deputies
from governance.forms import id_in_range
from governance.models import Scheme, SchemeState, User
from governance.services import ActionRefused, AlreadyDone
from notifications import emails
from notifications.outbox import notify
from qia import conditions as qia_conditions
from qia import policy as rules
from qia import routes
from qia.models import (
    Capacity,
    ConditionSource,
    FlagKind,
    QiaVersion,
    Route,
    SignOff,
    SignOffDecision,
    VersionStatus,
)
from qia.services import qag_approval, reassessment, steps


def _capacity_for(by: User, version: QiaVersion, capacity: str | None) -> str:
    acting = deputies.deputising(by)
    if acting is not None:
        # a deputy signs in the one capacity they cover
        covered = next(c for c, role in rules.CAPACITY_ROLES.items() if role == acting.role)
        if capacity and capacity != covered:
            raise ActionRefused(
                f"You act for {acting.principal} as {acting.role} only: you cannot sign as "
                f"{Capacity(capacity).label}."
            )
        return covered
    if capacity:
        if capacity not in Capacity.values:
            raise ActionRefused("Unknown sign-off capacity.")
        return capacity
    open_ones = rules.open_capacities(by, version)
    if len(open_ones) > 1:
        raise ActionRefused("Say in which capacity you sign off.")
    return open_ones[0] if open_ones else (rules.capacities_held(by) or [Capacity.CHIEF_NURSE])[0]


def own_sign_off(
    *, scheme_id: int, version_id: int | None, by: User, capacity: str | None = None
) -> SignOff | None:
    """`by`'s own decision on that version of the scheme's QIA (in `capacity`, if given)."""
    if id_in_range(scheme_id) is None or id_in_range(version_id) is None:
        # no version (or a made-up number too large to be an id, which would fail the query
        # rather than find nothing): no decision of anyone's is on it
        return None
    mine = SignOff.objects.filter(
        version_id=version_id, version__qia__scheme_id=scheme_id, by=by
    ).select_related("version__qia__scheme")
    return mine.filter(capacity=capacity).first() if capacity else mine.first()


def yours_signed(sign_off: SignOff) -> str:
    return (
        f"Your decision as {sign_off.get_capacity_display()} on QIA version "
        f"{sign_off.version.number} is already recorded: {sign_off.get_decision_display().lower()}."
    )


def _sent_again(version_id: int, by: User, capacity: str | None) -> SignOff | None:
    """`by`'s own decision on the version already: the same form sent twice (a double click).
    Asked with the scheme and version locked, so that it waits for a first submit still being
    recorded, and before the state, which that first submit may have moved on."""
    found = []

    def work(scheme: Scheme, version: QiaVersion):
        # in the capacity this decision would be in: one signature in another capacity (as a
        # deputy for the other signatory, say) is no double click, and stays refused
        chosen = _capacity_for(by, version, capacity)
        found.append(
            own_sign_off(scheme_id=scheme.pk, version_id=version.pk, by=by, capacity=chosen)
        )

    steps.locked(version_id, by=by, action="sign_off", work=work)
    return found[0]


def sign_off_record(
    *,
    version_id: int,
    by: User,
    decision: str,
    comment: str,
    capacity: str | None = None,
    justification: str = "",
    decline_outcome: str = "revise",
    expected_revision: int | None = None,
    conditions: list[dict] | None = None,
) -> QiaVersion:
    """The Chief Nurse and Quality Officer or the Clinical Chair approves or declines.

    Both approvals sign the version off (a first assessment approves its scheme). A decline
    returns it for revision (a first assessment takes its scheme back to draft) or rejects it.

    The two signatures are independent, in either order: the other signatory's decision
    recorded since the page was drawn is no conflict, so `expected_revision` is not compared
    here. What would make this decision stale is checked on the locked version instead: it
    must still await sign-off (a decline or a return moves it on), and this capacity must
    still be open (each is signed once). The signatory's own decision already recorded (the
    same form sent twice) is AlreadyDone, not a refusal.
    """
    if decision not in SignOffDecision.values:
        raise ActionRefused("Choose to approve or to decline.")
    if decline_outcome not in ("revise", "reject"):
        raise ActionRefused("Choose whether a declined QIA is revised or rejected.")
    comment, justification = comment.strip(), justification.strip()
    if not comment:
        raise ActionRefused("Write a comment with your decision.")
    mine = _sent_again(version_id, by, capacity)
    if mine is not None:
        raise AlreadyDone(yours_signed(mine))
    later = steps.Later()
    result = {"later": later}

    def work(scheme: Scheme, version: QiaVersion):
        chosen = _capacity_for(by, version, capacity)
        steps.check_allowed("sign_off", by, scheme, version=version, capacity=chosen)
        label = Capacity(chosen).label
        if decision == SignOffDecision.APPROVED:
            _approve(scheme, version, chosen, label, comment, justification, by, result)
            if conditions:
                # approved on conditions: each with its owner and due date (qia.conditions)
                qia_conditions.add_conditions(
                    scheme=scheme, by=by, source=ConditionSource.SIGN_OFF, rows=conditions
                )
        else:
            _decline(scheme, version, chosen, label, comment, by, decline_outcome, result)

    if QiaVersion.objects.filter(pk=version_id, drives_scheme=True).exists():
        action = "sign_off" if decision == SignOffDecision.APPROVED else "decline_sign_off"

        def both(scheme, version):
            work(scheme, version)
            getattr(scheme, action)(
                result["scheme_outcome"], by=by, description=result["description"]
            )
            later.run()

        return steps.moving_scheme(version_id, by=by, action=action, work=both)[1]
    return steps.locked(version_id, by=by, action="sign_off", work=later.after(work))


def _approve(scheme, version, capacity, label, comment, justification, by, result) -> None:
    if version.needs_eqia and not version.has_eqia:
        raise ActionRefused(
            f"The equality screening answer is '{version.get_equality_impact_display()}': "
            "the full equality impact assessment must be attached or linked before sign-off."
        )
    if version.is_extreme and not justification:
        raise ActionRefused(
            f"The agreed risk is extreme ({version.highest_agreed_score}): write your "
            "justification for accepting it."
        )
    # the signatures the scheme's route asks for (qia.routes): both, or the Chief Nurse's alone
    required = routes.required_capacities(version)
    approvals = version.sign_offs.filter(decision=SignOffDecision.APPROVED).count() + 1
    both_signed = approvals == len(required)
    outcome = VersionStatus.SIGNED_OFF if both_signed else VersionStatus.AWAITING_SIGN_OFF
    description = f"QIA v{version.number} signed off by the {label}: {comment}"
    # the transition's permission asks who has signed: record this signature after it
    steps.transition(version, "sign_off", outcome, by=by, description=description)
    SignOff.objects.create(
        version=version,
        capacity=capacity,
        by=by,
        on_behalf_of=deputies.on_behalf_of(by),
        decision=SignOffDecision.APPROVED,
        comment=comment,
        justification=justification,
    )
    if both_signed:
        today = timezone.localdate()
        version.signed_off_at = timezone.now()
        version.review_date = reassessment.add_months(today, reassessment.review_months(version))
        version.plan_at_sign_off = scheme.annual_plan
    steps.touch(version)
    if not both_signed:
        result["scheme_outcome"] = SchemeState.AWAITING_SIGN_OFF
    elif routes.needs_qag(version):
        result["scheme_outcome"] = SchemeState.AWAITING_QAG
    else:
        result["scheme_outcome"] = SchemeState.APPROVED
    result["description"] = description
    later = result["later"]
    if not both_signed:
        waiting = [c for c in required if c != capacity]
        later.append(lambda: steps.tell_signatories(scheme, version, waiting, signed_as=label))
        return
    if version.is_extreme:
        said = "\n".join(
            f"{s.get_capacity_display()} ({s.by}): {s.justification}"
            for s in version.sign_offs.select_related("by")
        )
        steps.raise_flag(version, scheme, FlagKind.EXTREME, said)
        later.append(
            lambda: emails.extreme_risk_signed_off(
                scheme=scheme,
                score=version.highest_agreed_score,
                url=version.get_absolute_url(),
                justification=said,
                dedupe=f"qia-extreme:{version.pk}",
            )
        )
    review = f"Review by {version.review_date:%-d %B %Y}."
    signed_by = (
        "Both signatories signed off the QIA."
        if len(required) > 1
        else "The Chief Nurse and Quality Officer signed off the QIA: its route asks no more."
    )
    if routes.needs_qag(version):
        later.append(lambda: qag_approval.tell_qag(scheme, version))
    elif version.drives_scheme:
        if version.qia.route == Route.CHIEF_NURSE_ONLY:
            later.append(lambda: qag_approval.tell_qag_approved(scheme, version))
        later.append(lambda: emails.scheme_approved(scheme=scheme, message=f"{signed_by} {review}"))
    else:
        later.append(
            lambda: notify(
                users=emails.lead_and_sro(scheme),
                scheme=scheme,
                kind="qia",
                subject=f"QIA re-assessment signed off: {scheme.reference} {scheme.title}",
                message=f"QIA version {version.number} is signed off. {review}",
                url=version.get_absolute_url(),
            )
        )


def _decline(scheme, version, capacity, label, comment, by, outcome, result) -> None:
    revise = outcome == "revise"
    what = "declined and returned for revision" if revise else "declined"
    description = f"QIA v{version.number} {what} by the {label}: {comment}"
    version.closed_reason = comment
    outcome_status = VersionStatus.RETURNED if revise else VersionStatus.DECLINED
    steps.transition(version, "decline", outcome_status, by=by, description=description)
    SignOff.objects.create(
        version=version,
        capacity=capacity,
        by=by,
        on_behalf_of=deputies.on_behalf_of(by),
        decision=SignOffDecision.DECLINED,
        comment=comment,
    )
    steps.touch(version)
    result["scheme_outcome"] = SchemeState.DRAFT if revise else SchemeState.REJECTED
    result["description"] = description
    later = result["later"]
    if revise:
        steps.open_version(
            version,
            by=by,
            drives_scheme=version.drives_scheme,
            reason=f"Declined at sign-off by the {label}: {comment}",
            from_agreed=False,
        )
        later.append(lambda: steps.tell_returned(scheme, version, by, description))
    elif version.drives_scheme:
        later.append(lambda: emails.scheme_rejected(scheme=scheme, by=by, reason=description))
    else:
        steps.raise_flag(version, scheme, FlagKind.DECLINED, description)
        later.append(
            lambda: notify(
                users=[*emails.lead_and_sro(scheme), *steps.qag_users(scheme)],
                scheme=scheme,
                kind="qia",
                subject=f"QIA re-assessment declined: {scheme.reference} {scheme.title}",
                message=f"{description} It is flagged to QAG.",
            )
        )
