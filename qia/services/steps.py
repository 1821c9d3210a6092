"""What every QIA step shares: locking the scheme then the version (always in that order),
the refusal log, checking the actor and the revision, running a version's transition, writing
its parts, and who hears about it."""

from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from governance import policy, roles
from governance.models import Scheme, User
from governance.services import (
    ActionRefused,
    Conflict,
    record_refusal,
    run_transition,
    users_with_role,
)
from notifications import emails
from notifications.outbox import notify
from qia import policy as rules
from qia.models import HEADINGS, Assessment, AssessmentKind, Mitigation, QagFlag, QiaVersion

CONFLICT_MESSAGE = (
    "Someone else changed this QIA while you were looking at it, so nothing was saved. "
    "The page now shows it as it is: check it and try again if still needed."
)


def setting(name: str, default: int) -> int:
    """The whole-number setting `name`, read on every call so a changed setting (or a test's
    override) takes effect at once."""
    return int(getattr(settings, name, default))


# --- locking and the refusal log ---


def refuse_logged(by: User, action: str, target: str, attempt: Callable):
    """Run `attempt`; a refusal it raises is recorded in the refusal log, and a row another
    request inserted first (SQLite has no row locks) becomes a Conflict."""
    try:
        return attempt()
    except IntegrityError:
        # a database without row locks (SQLite) let another request in first: it won
        raise Conflict(CONFLICT_MESSAGE) from None
    except Conflict:
        raise
    except ActionRefused as exc:
        record_refusal(user=by, action=action, target=target, reason=exc.message)
        raise


def lock_scheme(scheme_id: int) -> Scheme:
    """The scheme's row, locked until the transaction ends (always before the version's)."""
    try:
        return (
            Scheme.objects.select_for_update(of=("self",))
            .select_related("organisation", "financial_year")
            .get(pk=scheme_id)
        )
    except Scheme.DoesNotExist:
        raise ActionRefused("That scheme does not exist.") from None


def lock_version(version_id: int) -> QiaVersion:
    """The version's row, locked until the transaction ends (after the scheme's)."""
    try:
        return (
            QiaVersion.objects.select_for_update(of=("self",))
            .select_related("qia")
            .get(pk=version_id)
        )
    except QiaVersion.DoesNotExist:
        raise ActionRefused("That QIA version does not exist.") from None


def _scheme_id_of(version_id: int) -> int:
    scheme_id = (
        QiaVersion.objects.filter(pk=version_id).values_list("qia__scheme_id", flat=True).first()
    )
    if scheme_id is None:
        raise ActionRefused("That QIA version does not exist.")
    return scheme_id


def check_allowed(action: str, by: User, scheme: Scheme, **context) -> None:
    """Raise ActionRefused with the policy's reason when `by` may not do `action`."""
    reason = policy.refusal(action, by, scheme, **context)
    if reason:
        raise ActionRefused(reason)


def expect_revision(version: QiaVersion, expected_revision: int | None) -> None:
    """Raise Conflict when the version changed since the page showing it was drawn."""
    if expected_revision is not None and version.revision != expected_revision:
        raise Conflict(CONFLICT_MESSAGE)


def touch(version: QiaVersion) -> None:
    """Save the version with its revision one higher, so an older page's write is refused."""
    version.revision += 1
    try:
        version.save()
    except ConcurrentTransition:
        # another process moved the version between our read and our write
        raise Conflict(CONFLICT_MESSAGE) from None


def transition(version: QiaVersion, name: str, *args, by: User, description: str) -> None:
    """Run the version's transition `name`, checked as django-fsm does not: state and permission."""
    method = getattr(version, name)
    if not can_proceed(method):
        raise ActionRefused(
            f"This QIA version is {version.get_status_display().lower()}: that cannot happen now."
        )
    if not has_transition_perm(method, by):
        raise ActionRefused("You may not do that to this QIA.")
    method(*args, by=by, description=description)


def locked(version_id: int, *, by: User, action: str, work: Callable) -> QiaVersion:
    """For a step that leaves the scheme's state alone: lock scheme then version, run work."""
    scheme_id = _scheme_id_of(version_id)

    def attempt():
        with transaction.atomic():
            scheme = lock_scheme(scheme_id)
            version = lock_version(version_id)
            work(scheme, version)
            return version

    return refuse_logged(by, action, f"QIA version {version_id}", attempt)


class Later(list):
    """Mails a step sends, kept until its scheme has moved on in the same transaction: drawn
    before, they would name the state the scheme is leaving ("QIA panel" in the mail asking
    for sign-off)."""

    def run(self) -> None:
        while self:
            self.pop(0)()

    def after(self, work: Callable) -> Callable:
        """`work`, then the mails it kept: for a step that moves no scheme (a re-assessment)."""

        def both(*args):
            done = work(*args)
            self.run()
            return done

        return both


def moving_scheme(
    version_id: int, *, by: User, action: str, work: Callable
) -> tuple[Scheme, QiaVersion]:
    """For a step of a first assessment: the scheme's transition `action` with the version's."""
    scheme_id = _scheme_id_of(version_id)
    found = {}

    def scheme_work(scheme: Scheme):
        version = lock_version(version_id)
        work(scheme, version)
        found["version"] = version

    try:
        scheme = run_transition(
            scheme_id=scheme_id, by=by, action=action, expected_version=None, work=scheme_work
        )
    except IntegrityError:
        # a database without row locks (SQLite) let another request in first: it won
        raise Conflict(CONFLICT_MESSAGE) from None
    return scheme, found["version"]


# --- writing the parts of a version ---


def write_assessments(version: QiaVersion, kind: str, headings: dict[str, dict]) -> None:
    """Replace the version's assessments of `kind` with `headings`, one row per heading."""
    version.assessments.filter(kind=kind).delete()
    Assessment.objects.bulk_create(
        Assessment(version=version, kind=kind, heading=heading, **headings[heading])
        for heading in HEADINGS
    )


def write_mitigations(version: QiaVersion, mitigations: list[dict]) -> None:
    """Replace the version's mitigating actions with `mitigations`."""
    version.mitigations.all().delete()
    Mitigation.objects.bulk_create(Mitigation(version=version, **row) for row in mitigations)


def open_version(
    source: QiaVersion, *, by: User | None, drives_scheme: bool, reason: str, from_agreed: bool
) -> QiaVersion:
    """The next version, pre-filled from `source`: its self-assessment (or agreed scores),
    mitigations and equality screening. The project lead revises it from there."""
    number = source.qia.versions.order_by("-number").values_list("number", flat=True).first()
    version = QiaVersion.objects.create(
        qia=source.qia,
        number=number + 1,
        drives_scheme=drives_scheme,
        opened_reason=reason[:500],
        created_by=by,
        equality_impact=source.equality_impact,
        equality_rationale=source.equality_rationale,
        eqia_document=source.eqia_document.name if source.eqia_document else "",
        eqia_document_name=source.eqia_document_name,
        eqia_content_type=source.eqia_content_type,
        eqia_link=source.eqia_link,
    )
    rows = source.assessments.filter(kind=AssessmentKind.AGREED) if from_agreed else None
    if not rows:
        rows = source.assessments.filter(kind=AssessmentKind.SELF)
    Assessment.objects.bulk_create(
        Assessment(
            version=version,
            kind=AssessmentKind.SELF,
            heading=row.heading,
            impact=row.impact,
            consequence=row.consequence,
            likelihood=row.likelihood,
            rationale=row.rationale,
        )
        for row in rows
    )
    Mitigation.objects.bulk_create(
        Mitigation(
            version=version,
            heading=m.heading,
            description=m.description,
            owner=m.owner,
            due_date=m.due_date,
            status=m.status,
        )
        for m in source.mitigations.all()
    )
    return version


# --- who hears about it ---


def qag_users(scheme: Scheme) -> list[User]:
    """The QAG members of the scheme's system who have an account (not a shared mailbox)."""
    return [
        who
        for who in emails.qag_recipients(scheme.organisation.system_id)
        if not isinstance(who, str)
    ]


def tell_panel(scheme: Scheme, version: QiaVersion) -> None:
    """Mail the panel (and the quality lead) that a version awaits their scores."""
    emails.task_assigned(
        users=users_with_role(scheme, roles.PANEL_MEMBER, roles.QUALITY_LEAD),
        scheme=scheme,
        task="Score the QIA",
        url=reverse("qia_score", args=[scheme.pk]),
        message=f"QIA version {version.number} of {scheme.reference} awaits the panel's scores.",
    )


def tell_signatories(
    scheme: Scheme, version: QiaVersion, capacities, *, signed_as: str = ""
) -> None:
    """Mail whoever holds the sign-off `capacities` and may still sign the version: never a
    panel member of it, nor anyone whose signature (their own, or given for them by a
    deputy) is on it already. `signed_as`, after the first of two signatures: the capacity
    it was given in, so the mail says whose signature is still awaited rather than repeat
    the panel's."""
    wanted = [rules.CAPACITY_ROLES[c] for c in capacities]
    signed = version.sign_offs.values_list("by_id", "on_behalf_of_id")
    left_out = rules.panel_member_ids(version) | {pk for pair in signed for pk in pair if pk}
    users = [u for u in users_with_role(scheme, *wanted) if u.pk not in left_out]
    if signed_as:
        message = (
            f"The {signed_as} signed off QIA version {version.number} of {scheme.reference}: "
            "your signature is awaited."
        )
    else:
        message = (
            f"The panel agreed QIA version {version.number} of {scheme.reference}: "
            f"overall risk {version.overall_score or 'none'}."
        )
    emails.task_assigned(
        users=users,
        scheme=scheme,
        task="Sign off the QIA",
        url=reverse("qia_sign_off", args=[scheme.pk]),
        message=message,
    )


def tell_returned(scheme: Scheme, version: QiaVersion, by: User, description: str) -> None:
    """Tell the project lead and SRO that the QIA came back for revision."""
    if version.drives_scheme:  # the scheme itself went back to draft
        emails.scheme_returned(scheme=scheme, by=by, reason=description)
        return
    notify(
        users=emails.lead_and_sro(scheme),
        scheme=scheme,
        kind="qia",
        subject=f"QIA re-assessment returned for revision: {scheme.reference} {scheme.title}",
        message=f"{description} The scheme stays {scheme.state_words}: revise "
        "the re-assessment and send it to the panel again.",
        url=reverse("qia_self_assessment", args=[scheme.pk]),
    )


def raise_flag(version: QiaVersion, scheme: Scheme, kind: str, detail: str) -> QagFlag:
    """Flag the version to the QAG for `kind` (once per kind)."""
    flag, _ = QagFlag.objects.get_or_create(
        version=version,
        kind=kind,
        defaults={"scheme": scheme, "score": version.highest_agreed_score, "detail": detail},
    )
    return flag
