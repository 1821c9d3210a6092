"""The delivery transitions of an approved scheme: start delivery, complete, stop."""

from governance import roles, services
from governance.delivery.schedule import setting
from governance.models import Scheme, User
from governance.services import ActionRefused, run_transition
from notifications.outbox import notify

# --- the delivery transitions ---


def scheme_start_delivery(
    *, scheme_id: int, by: User, expected_version: int | None, comment: str = ""
) -> Scheme:
    """The PMO starts delivery of an approved scheme: returns are due from now on."""

    def work(scheme: Scheme):
        scheme.start_delivery(by=by, description=comment.strip() or "Delivery started")
        notify(
            users=services.team_of(scheme),
            scheme=scheme,
            kind="delivery",
            subject=f"Delivery started: {scheme.reference} {scheme.title}",
            message=(
                f"{by} started delivery of {scheme.reference}. Monthly returns are due by day "
                f"{int(setting('QIPP_RETURN_DEADLINE_DAY', 10))} of the following month."
            ),
        )

    return run_transition(
        scheme_id=scheme_id,
        by=by,
        action="start_delivery",
        expected_version=expected_version,
        work=work,
    )


def scheme_complete(
    *, scheme_id: int, by: User, expected_version: int | None, delivered: str, lessons: str
) -> Scheme:
    """The PMO or the SRO closes a scheme in delivery, with a short closure report."""
    delivered, lessons = delivered.strip(), lessons.strip()
    if not delivered or not lessons:
        raise ActionRefused("Write what was delivered and the lessons learned before closing.")

    def work(scheme: Scheme):
        scheme.closure_delivered = delivered
        scheme.closure_lessons = lessons
        scheme.complete(by=by, description=f"Closed. Delivered: {delivered}\nLessons: {lessons}")
        notify(
            users=services.team_of(scheme) + services.users_with_role(scheme, roles.PMO),
            scheme=scheme,
            kind="delivery",
            subject=f"Closed: {scheme.reference} {scheme.title}",
            message=f"{by} closed {scheme.reference}. Delivered: {delivered}",
        )

    return run_transition(
        scheme_id=scheme_id, by=by, action="complete", expected_version=expected_version, work=work
    )


def scheme_stop(*, scheme_id: int, by: User, expected_version: int | None, decision: str) -> Scheme:
    """A QAG member records QAG's decision to stop a scheme in delivery."""
    decision = decision.strip()
    if not decision:
        raise ActionRefused("Record QAG's decision: why the scheme is being stopped.")

    def work(scheme: Scheme):
        scheme.stop_decision = decision
        scheme.stop(by=by, description=f"Stopped by QAG decision: {decision}")
        notify(
            users=services.team_of(scheme) + services.users_with_role(scheme, roles.PMO),
            scheme=scheme,
            kind="delivery",
            subject=f"Stopped by QAG: {scheme.reference} {scheme.title}",
            message=f"QAG decided to stop {scheme.reference}: {decision}",
        )

    return run_transition(
        scheme_id=scheme_id, by=by, action="stop", expected_version=expected_version, work=work
    )
