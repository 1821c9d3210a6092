"""QAG's approval of a scheme whose route asks for it after the two sign-offs (qia.routes),
and the notices of the routes that involve QAG."""

from django.urls import reverse

from governance import services as governance
from governance.models import Scheme, SchemeState, User
from governance.services import ActionRefused
from notifications import emails
from notifications.outbox import notify
from qia import conditions as qia_conditions
from qia.models import ConditionSource, QiaVersion
from qia.services import steps

APPROVE = "approve"
REJECT = "reject"


def qag_approval_record(
    *,
    scheme_id: int,
    by: User,
    decision: str,
    comment: str,
    expected_version: int | None = None,
    conditions: list[dict] | None = None,
) -> Scheme:
    """A QAG member records QAG's decision on a signed-off scheme: proceed (approved, with
    conditions when given) or do not proceed (rejected). Checked, logged and told like every
    other step (governance.services.run_transition)."""
    if decision not in (APPROVE, REJECT):
        raise ActionRefused("Choose to approve, or not to proceed.")
    comment = comment.strip()
    if not comment:
        raise ActionRefused("Record the reasons for QAG's decision.")

    def work(scheme: Scheme):
        if decision == APPROVE:
            with_conditions = " with conditions" if conditions else ""
            description = f"QAG approved{with_conditions}: {comment}"
            scheme.qag_approve(SchemeState.APPROVED, by=by, description=description)
            if conditions:
                qia_conditions.add_conditions(
                    scheme=scheme, by=by, source=ConditionSource.QAG_APPROVAL, rows=conditions
                )
            emails.scheme_approved(scheme=scheme, message=description)
        else:
            description = f"QAG decided not to proceed: {comment}"
            scheme.qag_approve(SchemeState.REJECTED, by=by, description=description)
            emails.scheme_rejected(scheme=scheme, by=by, reason=description)

    return governance.run_transition(
        scheme_id=scheme_id,
        by=by,
        action="qag_approve",
        expected_version=expected_version,
        work=work,
    )


def tell_qag(scheme: Scheme, version: QiaVersion) -> None:
    """Both signed, on the route that asks QAG next: its members have a decision to take."""
    emails.task_assigned(
        users=[who for who in steps.qag_users(scheme) if who.pk not in scheme.team_ids],
        scheme=scheme,
        task="Record QAG's approval",
        url=reverse("qia_qag_approval", args=[scheme.pk]),
        message=(
            f"Both signatories signed off QIA version {version.number} of {scheme.reference}. "
            f"Its route asks QAG to approve it next: {version.qia.route_reason}"
        ),
    )


def tell_qag_approved(scheme: Scheme, version: QiaVersion) -> None:
    """Approved on the Chief Nurse's signature alone: QAG is told (the route's notice)."""
    notify(
        users=steps.qag_users(scheme),
        scheme=scheme,
        kind="qia",
        subject=f"For QAG's information: {scheme.reference} approved on one sign-off",
        message=(
            f"The Chief Nurse and Quality Officer signed off QIA version {version.number} of "
            f"{scheme.reference} {scheme.title}, and its route needs no other sign-off: "
            f"{version.qia.route_reason}"
        ),
        url=scheme.get_absolute_url(),
    )
