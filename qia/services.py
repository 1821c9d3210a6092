"""Every write to a QIA goes through one of these functions.

Each locks the scheme row and then the version row (always in that order), checks the actor
against the policy (qia.policy), does the work, logs the version's transition (and the
scheme's, through governance.services.run_transition, when a first assessment moves it), and
queues notifications that go once the transaction commits. A refusal raises ActionRefused
with a message for the user and is recorded as an AccessRefusal.
"""

import calendar
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from governance import policy, roles
from governance import services as governance
from governance.delivery import schedule
from governance.models import PLAN_FIELDS, Profession, Scheme, SchemeChange, SchemeState, User
from governance.money import pounds
from governance.services import ActionRefused, Conflict, record_refusal, run_transition
from notifications import emails
from notifications.outbox import notify
from qia import policy as rules
from qia.models import (
    HEADINGS,
    SCORES,
    Assessment,
    AssessmentKind,
    Band,
    Capacity,
    FlagKind,
    Heading,
    Impact,
    Mitigation,
    MitigationStatus,
    PanelScore,
    QagFlag,
    Qia,
    QiaVersion,
    Screening,
    SignOff,
    SignOffDecision,
    VersionStatus,
    band_of,
)

CONFLICT_MESSAGE = (
    "Someone else changed this QIA while you were looking at it, so nothing was saved. "
    "The page now shows it as it is: check it and try again if still needed."
)

governance.ACTION_VERBS.update(
    {
        "panel_agree": "record the panel's agreement on",
        "panel_return": "return",
        "panel_dismiss": "dismiss",
        "sign_off": "approve",
        "decline_sign_off": "decline",
    }
)


def setting(name: str, default: int) -> int:
    # read on every call, so a test's override (or a changed setting) takes effect at once
    return int(getattr(settings, name, default))


# --- reading what a version holds ---


def assessments(version: QiaVersion, kind: str) -> dict[str, Assessment]:
    return {a.heading: a for a in version.assessments.all() if a.kind == kind}


def mitigated_headings(mitigations: Iterable[dict]) -> set[str]:
    """The headings with at least one mitigating action that has an owner and a due date."""
    return {
        row["heading"]
        for row in mitigations
        if (row.get("owner") or "").strip() and row.get("due_date")
    }


def unmitigated(negative: Iterable[str], mitigations: Iterable[dict]) -> list[str]:
    """The negative headings, in sheet order, that no complete mitigating action covers."""
    left = set(negative) - mitigated_headings(mitigations)
    return [heading for heading in HEADINGS if heading in left]


def unmitigated_message(headings: list[str]) -> str:
    """Why the panel cannot agree yet: a negative heading left without a mitigating action."""
    labels = [Heading(heading).label for heading in headings]
    if len(labels) == 1:
        return (
            f"{labels[0]} is agreed as a negative impact: record at least one mitigating "
            "action for it, with an owner and a due date."
        )
    named = ", ".join(labels[:-1]) + f" and {labels[-1]}"
    return (
        f"{named} are agreed as negative impacts: record at least one mitigating action for "
        "each, with an owner and a due date."
    )


def self_assessment_problems(version: QiaVersion) -> list[str]:
    """What is missing before the self-assessment counts as complete."""
    rows = assessments(version, AssessmentKind.SELF)
    covered = mitigated_headings(version.mitigations.values("heading", "owner", "due_date"))
    problems = []
    for heading in HEADINGS:
        row = rows.get(heading) or Assessment(heading=heading)
        problems += row.problems
        # DESIGN.md: a negative impact comes with mitigating actions (owner, due date)
        if row.impact == Impact.NEGATIVE and heading not in covered:
            problems.append(
                f"{Heading(heading).label}: add a mitigating action for the negative impact, "
                "with an owner and a due date."
            )
    if not version.equality_impact:
        problems.append(
            "Equality screening: say whether the scheme affects a group with a protected "
            "characteristic or widens health inequalities."
        )
    elif not version.equality_rationale.strip():
        problems.append("Equality screening: give the rationale for your answer.")
    return problems


def submit_check(scheme: Scheme) -> str | None:
    """governance.services.SUBMIT_CHECKS: no submission without a complete self-assessment."""
    version = rules.newest_version(scheme)
    if version is None:
        return (
            "Complete the QIA self-assessment before submitting: it goes to the panel with the PID."
        )
    problems = self_assessment_problems(version)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return "Complete the QIA self-assessment first. " + " ".join(problems[:3]) + more
    return None


def highest(rows) -> Assessment | None:
    """The highest-scoring negative heading; a tie goes to the graver consequence."""
    scored = [row for row in rows if row.score]
    if not scored:
        return None
    return max(scored, key=lambda row: (row.score, row.consequence, -HEADINGS.index(row.heading)))


def default_overall(headings: dict[str, dict]) -> int | None:
    """The agreed overall score unless the panel justifies another: the highest heading's."""
    top = highest([Assessment(heading=h, **values) for h, values in headings.items()])
    return top.score if top else None


def composition_problem(version: QiaVersion, chair: User) -> str | None:
    """Why the panel cannot agree yet: the quality lead plus enough members and professions."""
    members = dict(
        version.panel_scores.values_list("member_id", "profession").distinct().order_by()
    )
    if chair.pk not in members:
        return "Record your own scores first: the quality lead scores as a member of the panel."
    others = {pk: profession for pk, profession in members.items() if pk != chair.pk}
    professions = {profession for profession in others.values() if profession}
    need_members = setting("QIA_PANEL_MIN_OTHER_MEMBERS", 2)
    need_professions = setting("QIA_PANEL_MIN_PROFESSIONS", 2)
    if len(others) >= need_members and len(professions) >= need_professions:
        return None
    labels = ", ".join(sorted(Profession(p).label.lower() for p in professions)) or "none recorded"
    return (
        f"The panel needs the quality lead plus at least {need_members} other members of at "
        f"least {need_professions} different professions before it can agree. So far "
        f"{len(others)} other member{'s' if len(others) != 1 else ''} "
        f"(professions: {labels})."
    )


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_months(version: QiaVersion) -> int:
    if band_of(version.highest_agreed_score) in (Band.HIGH, Band.EXTREME):
        return setting("QIA_REVIEW_MONTHS_HIGH", 3)
    return setting("QIA_REVIEW_MONTHS", 6)


def plan_change_percent(version: QiaVersion, scheme: Scheme) -> Decimal | None:
    if not version.plan_at_sign_off:
        return None
    change = abs(scheme.annual_plan - version.plan_at_sign_off) / version.plan_at_sign_off * 100
    return change.quantize(Decimal("0.1"))


def material_change_percent(version: QiaVersion, scheme: Scheme) -> Decimal | None:
    """The change of the annual plan since sign-off when it is material (None: it is not)."""
    change = plan_change_percent(version, scheme)
    if change is not None and change > setting("QIA_MATERIAL_CHANGE_PERCENT", 20):
        return change
    return None


def due_reasons(version: QiaVersion, scheme: Scheme, today: date) -> list[str]:
    """Why a signed-off version is due for re-assessment (none: it is not)."""
    if version.status != VersionStatus.SIGNED_OFF:
        return []
    reasons = []
    if version.review_date and version.review_date <= today:
        reasons.append(f"its review date, {version.review_date:%-d %B %Y}, has come")
    change = material_change_percent(version, scheme)
    if change is not None:
        reasons.append(
            f"the annual plan has changed by {change:.0f}% since sign-off "
            f"(from {pounds(version.plan_at_sign_off)} to {pounds(scheme.annual_plan)})"
        )
    return reasons


# The history names a changed monthly plan figure by its field's label, e.g. "Apr (month 1)".
PLAN_LABELS = [str(Scheme._meta.get_field(name).verbose_name) for name in PLAN_FIELDS]


def plan_changed_at(scheme: Scheme, *, after: datetime | None = None) -> datetime | None:
    """When the scheme's monthly plan last changed (after `after`), as its history records."""
    changes = SchemeChange.objects.filter(scheme=scheme, field__in=PLAN_LABELS)
    if after is not None:
        changes = changes.filter(changed_at__gte=after)
    return changes.aggregate(at=Max("changed_at"))["at"]


def due_since(
    version: QiaVersion,
    scheme: Scheme,
    now: datetime | None = None,
    *,
    plan_changed: datetime | None = None,
    looked_up: bool = False,
) -> datetime:
    """Since when a signed-off version has been due for re-assessment, for "waiting since".

    The review date once it has come; for a material change of the plan, when the plan last
    changed after sign-off (now, if the history does not record it). Never later than now: a
    review date still to come is no part of it. A caller that has `looked_up` when the plan
    last changed (plan_changed_at, for many schemes at once) gives it as `plan_changed`.
    """
    now = now or timezone.now()
    moments = [now]
    if version.review_date and version.review_date <= timezone.localdate(now):
        moments.append(schedule.start_of_day(version.review_date))
    if material_change_percent(version, scheme) is not None:
        if not looked_up:
            plan_changed = plan_changed_at(scheme)
        since_sign_off = plan_changed is not None and (
            version.signed_off_at is None or plan_changed >= version.signed_off_at
        )
        moments.append(plan_changed if since_sign_off else now)
    return min(moments)


def reassessment_due(scheme: Scheme, today: date | None = None) -> tuple[QiaVersion | None, list]:
    """The signed-off version due for re-assessment and why; (None, []) when none is.

    Nothing is due while a re-assessment is under way or once the scheme has closed.
    """
    if scheme.state not in rules.REASSESSABLE:
        return None, []
    versions = list(QiaVersion.objects.filter(qia__scheme=scheme).order_by("-number"))
    if not versions or versions[0].status in (
        VersionStatus.SELF_ASSESSMENT,
        VersionStatus.PANEL,
        VersionStatus.AWAITING_SIGN_OFF,
    ):
        return None, []
    signed = next((v for v in versions if v.status == VersionStatus.SIGNED_OFF), None)
    if signed is None:
        return None, []
    reasons = due_reasons(signed, scheme, today or timezone.localdate())
    return (signed, reasons) if reasons else (None, [])


# --- checking what users send ---


def clean_heading(heading: str, data: dict, *, strict: bool) -> dict:
    """A heading's impact and scores as stored: scores kept only for a negative impact.

    Strict (panel and agreed scores) needs every heading answered, and a negative impact
    scored and reasoned; a self-assessment may be saved part-done and is checked on submit.
    """
    label = Heading(heading).label
    impact = data.get("impact") or ""
    if impact not in ("", *Impact.values):
        raise ActionRefused(f"{label}: choose positive, none or negative.")
    consequence = data.get("consequence") or None
    likelihood = data.get("likelihood") or None
    for name, value in (("consequence", consequence), ("likelihood", likelihood)):
        if value is not None and value not in range(1, 6):
            raise ActionRefused(f"{label}: the {name} is scored 1 to 5.")
    if impact != Impact.NEGATIVE:
        consequence = likelihood = None
    cleaned = {
        "impact": impact,
        "consequence": consequence,
        "likelihood": likelihood,
        "rationale": (data.get("rationale") or "").strip(),
    }
    if strict:
        problems = Assessment(heading=heading, **cleaned).problems
        if problems:
            raise ActionRefused(problems[0])
    return cleaned


def _clean_headings(headings: dict, *, strict: bool) -> dict[str, dict]:
    unknown = set(headings) - set(HEADINGS)
    if unknown:
        raise ActionRefused("Unknown QIA heading.")
    return {h: clean_heading(h, headings.get(h) or {}, strict=strict) for h in HEADINGS}


def _clean_mitigations(mitigations, *, strict: bool = False) -> list[dict]:
    """The mitigating actions as stored. Strict (the panel's agreed ones) needs each dated; a
    self-assessment may be saved part-done and is checked on submit (self_assessment_problems).
    """
    cleaned = []
    for row in mitigations or []:
        if row.get("heading") not in HEADINGS:
            raise ActionRefused("Each mitigating action belongs to one of the six headings.")
        if not (row.get("description") or "").strip() or not (row.get("owner") or "").strip():
            raise ActionRefused("Each mitigating action needs a description and an owner.")
        if strict and not row.get("due_date"):
            raise ActionRefused("Each mitigating action needs a due date.")
        status = row.get("status") or MitigationStatus.PLANNED
        if status not in MitigationStatus.values:
            raise ActionRefused("Unknown status of a mitigating action.")
        cleaned.append(
            {
                "heading": row["heading"],
                "description": row["description"].strip(),
                "owner": row["owner"].strip(),
                "due_date": row.get("due_date"),
                "status": status,
            }
        )
    return cleaned


# --- locking and the refusal log ---


def _refuse_logged(by: User, action: str, target: str, attempt: Callable):
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


def _lock_scheme(scheme_id: int) -> Scheme:
    try:
        return (
            Scheme.objects.select_for_update(of=("self",))
            .select_related("organisation", "financial_year")
            .get(pk=scheme_id)
        )
    except Scheme.DoesNotExist:
        raise ActionRefused("That scheme does not exist.") from None


def _lock_version(version_id: int) -> QiaVersion:
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


def _check(action: str, by: User, scheme: Scheme, **context) -> None:
    reason = policy.refusal(action, by, scheme, **context)
    if reason:
        raise ActionRefused(reason)


def _expect(version: QiaVersion, expected_revision: int | None) -> None:
    if expected_revision is not None and version.revision != expected_revision:
        raise Conflict(CONFLICT_MESSAGE)


def _touch(version: QiaVersion) -> None:
    version.revision += 1
    try:
        version.save()
    except ConcurrentTransition:
        # another process moved the version between our read and our write
        raise Conflict(CONFLICT_MESSAGE) from None


def _transition(version: QiaVersion, name: str, *args, by: User, description: str) -> None:
    """Run the version's transition `name`, checked as django-fsm does not: state and permission."""
    method = getattr(version, name)
    if not can_proceed(method):
        raise ActionRefused(
            f"This QIA version is {version.get_status_display().lower()}: that cannot happen now."
        )
    if not has_transition_perm(method, by):
        raise ActionRefused("You may not do that to this QIA.")
    method(*args, by=by, description=description)


def _locked(version_id: int, *, by: User, action: str, work: Callable) -> QiaVersion:
    """For a step that leaves the scheme's state alone: lock scheme then version, run work."""
    scheme_id = _scheme_id_of(version_id)

    def attempt():
        with transaction.atomic():
            scheme = _lock_scheme(scheme_id)
            version = _lock_version(version_id)
            work(scheme, version)
            return version

    return _refuse_logged(by, action, f"QIA version {version_id}", attempt)


class _Later(list):
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


def _moving_scheme(
    version_id: int, *, by: User, action: str, work: Callable
) -> tuple[Scheme, QiaVersion]:
    """For a step of a first assessment: the scheme's transition `action` with the version's."""
    scheme_id = _scheme_id_of(version_id)
    found = {}

    def scheme_work(scheme: Scheme):
        version = _lock_version(version_id)
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


def _write_assessments(version: QiaVersion, kind: str, headings: dict[str, dict]) -> None:
    version.assessments.filter(kind=kind).delete()
    Assessment.objects.bulk_create(
        Assessment(version=version, kind=kind, heading=heading, **headings[heading])
        for heading in HEADINGS
    )


def _write_mitigations(version: QiaVersion, mitigations: list[dict]) -> None:
    version.mitigations.all().delete()
    Mitigation.objects.bulk_create(Mitigation(version=version, **row) for row in mitigations)


def _open_version(
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


def _holders(scheme: Scheme, *role_names: str) -> list[User]:
    """Active users of the scheme's organisation with any of the roles, minus lead and SRO."""
    return list(
        User.objects.filter(
            is_active=True, groups__name__in=role_names, organisations=scheme.organisation_id
        )
        .exclude(pk__in=[scheme.project_lead_id, scheme.sro_id])
        .distinct()
    )


def _lead_and_sro(scheme: Scheme) -> list[User]:
    return list(User.objects.filter(pk__in=[scheme.project_lead_id, scheme.sro_id], is_active=True))


def _qag_users(scheme: Scheme) -> list[User]:
    return [
        who
        for who in emails.qag_recipients(scheme.organisation.system_id)
        if not isinstance(who, str)
    ]


def _tell_panel(scheme: Scheme, version: QiaVersion) -> None:
    emails.task_assigned(
        users=_holders(scheme, roles.PANEL_MEMBER, roles.QUALITY_LEAD),
        scheme=scheme,
        task="Score the QIA",
        url=reverse("qia_score", args=[scheme.pk]),
        message=f"QIA version {version.number} of {scheme.reference} awaits the panel's scores.",
    )


def _tell_signatories(scheme: Scheme, version: QiaVersion, capacities) -> None:
    wanted = [rules.CAPACITY_ROLES[c] for c in capacities]
    members = rules.panel_member_ids(version)
    users = [u for u in _holders(scheme, *wanted) if u.pk not in members]
    emails.task_assigned(
        users=users,
        scheme=scheme,
        task="Sign off the QIA",
        url=reverse("qia_sign_off", args=[scheme.pk]),
        message=(
            f"The panel agreed QIA version {version.number} of {scheme.reference}: "
            f"overall risk {version.overall_score or 'none'}."
        ),
    )


def _tell_returned(scheme: Scheme, version: QiaVersion, by: User, description: str) -> None:
    if version.drives_scheme:  # the scheme itself went back to draft
        emails.scheme_returned(scheme=scheme, by=by, reason=description)
        return
    notify(
        users=_lead_and_sro(scheme),
        scheme=scheme,
        kind="qia",
        subject=f"QIA re-assessment returned for revision: {scheme.reference} {scheme.title}",
        message=f"{description} The scheme stays {scheme.state_words}: revise "
        "the re-assessment and send it to the panel again.",
        url=reverse("qia_self_assessment", args=[scheme.pk]),
    )


def _raise_flag(version: QiaVersion, scheme: Scheme, kind: str, detail: str) -> QagFlag:
    flag, _ = QagFlag.objects.get_or_create(
        version=version,
        kind=kind,
        defaults={"scheme": scheme, "score": version.highest_agreed_score, "detail": detail},
    )
    return flag


# --- the self-assessment ---


def self_assessment_save(
    *,
    scheme_id: int,
    by: User,
    headings: dict[str, dict],
    equality_impact: str = "",
    equality_rationale: str = "",
    eqia_link: str = "",
    eqia_upload=None,
    eqia_content_type: str = "",
    mitigations: list[dict] | None = None,
    expected_revision: int | None = None,
) -> QiaVersion:
    """The project lead saves the self-assessment (complete or not) of the current version.

    The first save of a draft scheme opens version 1.
    """
    cleaned = _clean_headings(headings, strict=False)
    if equality_impact not in ("", *Screening.values):
        raise ActionRefused("Equality screening: answer yes, no or not known.")
    mitigation_rows = _clean_mitigations(mitigations)

    def attempt():
        with transaction.atomic():
            scheme = _lock_scheme(scheme_id)
            current = rules.newest_version(scheme)
            _check("qia_edit", by, scheme, version=current)
            if current is None:
                qia, _ = Qia.objects.get_or_create(scheme=scheme)
                version = QiaVersion.objects.create(
                    qia=qia,
                    number=1,
                    drives_scheme=True,
                    created_by=by,
                    opened_reason="First assessment, with the PID.",
                )
            else:
                version = _lock_version(current.pk)
                _expect(version, expected_revision)
            _write_assessments(version, AssessmentKind.SELF, cleaned)
            _write_mitigations(version, mitigation_rows)
            version.equality_impact = equality_impact
            version.equality_rationale = equality_rationale.strip()
            version.eqia_link = eqia_link.strip()
            if eqia_upload is not None:
                version.eqia_document = eqia_upload
                version.eqia_document_name = eqia_upload.name[:255]
                version.eqia_content_type = eqia_content_type
            _touch(version)
            return version

    return _refuse_logged(by, "qia_edit", f"scheme {scheme_id}", attempt)


def eqia_attach(
    *, version_id: int, by: User, upload=None, content_type: str = "", link: str = ""
) -> QiaVersion:
    """The project lead attaches or links the full equality impact assessment (until signed)."""
    if upload is None and not link.strip():
        raise ActionRefused("Attach the equality impact assessment or give its link.")

    def work(scheme: Scheme, version: QiaVersion):
        _check("qia_attach_eqia", by, scheme, version=version)
        if upload is not None:
            version.eqia_document = upload
            version.eqia_document_name = upload.name[:255]
            version.eqia_content_type = content_type
        if link.strip():
            version.eqia_link = link.strip()
        _touch(version)

    return _locked(version_id, by=by, action="qia_attach_eqia", work=work)


def reassessment_send_to_panel(
    *, version_id: int, by: User, expected_revision: int | None = None
) -> QiaVersion:
    """The project lead sends a completed re-assessment to the panel."""

    def work(scheme: Scheme, version: QiaVersion):
        _check("qia_send_to_panel", by, scheme, version=version)
        _expect(version, expected_revision)
        problems = self_assessment_problems(version)
        if problems:
            raise ActionRefused("Complete the self-assessment first. " + " ".join(problems[:3]))
        sent = "Re-assessment sent to the QIA panel."
        _transition(version, "send_to_panel", by=by, description=sent)
        _touch(version)
        _tell_panel(scheme, version)

    return _locked(version_id, by=by, action="qia_send_to_panel", work=work)


# --- the panel ---


def panel_score_record(*, version_id: int, by: User, headings: dict[str, dict]) -> QiaVersion:
    """A panel member (or the quality lead) records their own scores: every heading, once."""
    cleaned = _clean_headings(headings, strict=True)

    def work(scheme: Scheme, version: QiaVersion):
        _check("qia_score", by, scheme, version=version)
        PanelScore.objects.bulk_create(
            PanelScore(
                version=version,
                member=by,
                profession=by.profession,
                heading=heading,
                **cleaned[heading],
            )
            for heading in HEADINGS
        )
        _touch(version)

    return _locked(version_id, by=by, action="qia_score", work=work)


def _agreed_outcome(
    headings: dict[str, dict], overall_score, justification: str
) -> tuple[Assessment | None, int | None, str]:
    """The top heading, the overall score and its justification: the default overall score is
    the highest agreed heading score; another figure needs a written justification."""
    top = highest([Assessment(heading=h, **headings[h]) for h in HEADINGS])
    default = top.score if top else None
    justification = justification.strip()
    if overall_score in (None, "", default):
        return top, default, justification
    if overall_score not in SCORES:
        raise ActionRefused("The overall score is one the 5 x 5 matrix can give (1 to 25).")
    if not justification:
        raise ActionRefused(
            f"The overall score differs from the highest agreed heading score "
            f"({default or 'none'}): write a justification for it."
        )
    return top, overall_score, justification


def panel_agree(
    *,
    version_id: int,
    by: User,
    headings: dict[str, dict],
    mitigations: list[dict] | None = None,
    overall_score: int | None = None,
    justification: str = "",
    expected_revision: int | None = None,
) -> QiaVersion:
    """The quality lead records the agreed score per heading, the mitigations and the overall
    risk (default: the highest agreed heading score). The panel must be complete, and each
    negative heading needs a mitigating action with an owner and a due date."""
    cleaned = _clean_headings(headings, strict=True)
    mitigation_rows = _clean_mitigations(mitigations, strict=True)
    negative = [h for h in HEADINGS if cleaned[h]["impact"] == Impact.NEGATIVE]

    def work(scheme: Scheme, version: QiaVersion):
        _check("panel_decide", by, scheme, version=version)
        if not rules.at_panel(version, scheme):
            raise ActionRefused("This QIA is not at the panel now.")
        _expect(version, expected_revision)
        problem = composition_problem(version, by)
        if problem:
            raise ActionRefused(problem)
        missing = unmitigated(negative, mitigation_rows)
        if missing:
            raise ActionRefused(unmitigated_message(missing))
        top, overall, why = _agreed_outcome(cleaned, overall_score, justification)
        _write_assessments(version, AssessmentKind.AGREED, cleaned)
        _write_mitigations(version, mitigation_rows)
        version.overall_score = overall
        version.overall_justification = why
        version.top_heading = top.heading if top else ""
        version.top_consequence = top.consequence if top else None
        version.top_likelihood = top.likelihood if top else None
        version.top_score = top.score if top else None
        version.agreed_by = by
        version.agreed_at = timezone.now()
        band = band_of(overall)
        summary = (
            f"Panel agreed QIA v{version.number}: overall risk {overall} ({band.label.lower()})."
            if band
            else f"Panel agreed QIA v{version.number}: no negative impact."
        )
        _transition(version, "agree", by=by, description=summary)
        _touch(version)
        later.append(lambda: _tell_signatories(scheme, version, list(Capacity)))
        return summary

    later = _Later()
    if QiaVersion.objects.filter(pk=version_id, drives_scheme=True).exists():

        def both(scheme, version):
            summary = work(scheme, version)
            scheme.panel_agree(by=by, description=summary)
            later.run()

        return _moving_scheme(version_id, by=by, action="panel_agree", work=both)[1]
    return _locked(version_id, by=by, action="panel_decide", work=later.after(work))


def panel_close(*, version_id: int, by: User, decision: str, reason: str) -> QiaVersion:
    """The quality lead returns the QIA for more detail or dismisses it on quality grounds.

    A first assessment takes its scheme back to draft, with a new version for the project
    lead to revise, or rejects it. A re-assessment leaves the scheme as it is: returned, it
    opens a new version; dismissed, it is flagged to QAG.
    """
    if decision not in ("return", "dismiss"):
        raise ActionRefused("Choose to return the QIA or to dismiss it.")
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Say why: the project lead and the record need the reason.")
    what = "returned for more detail" if decision == "return" else "dismissed on quality grounds"

    def work(scheme: Scheme, version: QiaVersion):
        _check("panel_decide", by, scheme, version=version)
        if not rules.at_panel(version, scheme):
            raise ActionRefused("This QIA is not at the panel now.")
        description = f"QIA v{version.number} {what} by the panel: {reason}"
        version.closed_reason = reason
        if decision == "return":
            _transition(version, "panel_return", by=by, description=description)
            _touch(version)
            _open_version(
                version,
                by=by,
                drives_scheme=version.drives_scheme,
                reason=f"Returned by the panel: {reason}",
                from_agreed=False,
            )
            _tell_returned(scheme, version, by, description)
        else:
            _transition(version, "dismiss", by=by, description=description)
            _touch(version)
            if version.drives_scheme:
                emails.scheme_rejected(scheme=scheme, by=by, reason=description)
            else:
                _raise_flag(version, scheme, FlagKind.DISMISSED, description)
                notify(
                    users=[*_lead_and_sro(scheme), *_qag_users(scheme)],
                    scheme=scheme,
                    kind="qia",
                    subject=f"QIA re-assessment dismissed: {scheme.reference} {scheme.title}",
                    message=f"{description} It is flagged to QAG.",
                )
        return description

    if QiaVersion.objects.filter(pk=version_id, drives_scheme=True).exists():
        action = "panel_return" if decision == "return" else "panel_dismiss"

        def both(scheme, version):
            description = work(scheme, version)
            getattr(scheme, action)(by=by, description=description)

        return _moving_scheme(version_id, by=by, action=action, work=both)[1]
    return _locked(version_id, by=by, action="panel_decide", work=work)


# --- sign-off ---


def _capacity_for(by: User, version: QiaVersion, capacity: str | None) -> str:
    if capacity:
        if capacity not in Capacity.values:
            raise ActionRefused("Unknown sign-off capacity.")
        return capacity
    open_ones = rules.open_capacities(by, version)
    if len(open_ones) > 1:
        raise ActionRefused("Say in which capacity you sign off.")
    return open_ones[0] if open_ones else (rules.capacities_held(by) or [Capacity.CHIEF_NURSE])[0]


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
) -> QiaVersion:
    """The Chief Nurse and Quality Officer or the Clinical Chair approves or declines.

    Both approvals sign the version off (a first assessment approves its scheme). A decline
    returns it for revision (a first assessment takes its scheme back to draft) or rejects it.

    The two signatures are independent, in either order: the other signatory's decision
    recorded since the page was drawn is no conflict, so `expected_revision` is not compared
    here. What would make this decision stale is checked on the locked version instead: it
    must still await sign-off (a decline or a return moves it on), and this capacity must
    still be open (each is signed once).
    """
    if decision not in SignOffDecision.values:
        raise ActionRefused("Choose to approve or to decline.")
    if decline_outcome not in ("revise", "reject"):
        raise ActionRefused("Choose whether a declined QIA is revised or rejected.")
    comment, justification = comment.strip(), justification.strip()
    if not comment:
        raise ActionRefused("Write a comment with your decision.")
    later = _Later()
    result = {"later": later}

    def work(scheme: Scheme, version: QiaVersion):
        chosen = _capacity_for(by, version, capacity)
        _check("sign_off", by, scheme, version=version, capacity=chosen)
        label = Capacity(chosen).label
        if decision == SignOffDecision.APPROVED:
            _approve(scheme, version, chosen, label, comment, justification, by, result)
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

        return _moving_scheme(version_id, by=by, action=action, work=both)[1]
    return _locked(version_id, by=by, action="sign_off", work=later.after(work))


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
    approvals = version.sign_offs.filter(decision=SignOffDecision.APPROVED).count() + 1
    both_signed = approvals == len(Capacity)
    outcome = VersionStatus.SIGNED_OFF if both_signed else VersionStatus.AWAITING_SIGN_OFF
    description = f"QIA v{version.number} signed off by the {label}: {comment}"
    # the transition's permission asks who has signed: record this signature after it
    _transition(version, "sign_off", outcome, by=by, description=description)
    SignOff.objects.create(
        version=version,
        capacity=capacity,
        by=by,
        decision=SignOffDecision.APPROVED,
        comment=comment,
        justification=justification,
    )
    if both_signed:
        today = timezone.localdate()
        version.signed_off_at = timezone.now()
        version.review_date = add_months(today, review_months(version))
        version.plan_at_sign_off = scheme.annual_plan
    _touch(version)
    result["scheme_outcome"] = (
        SchemeState.APPROVED if both_signed else SchemeState.AWAITING_SIGN_OFF
    )
    result["description"] = description
    later = result["later"]
    if not both_signed:
        waiting = [c for c in Capacity if c != capacity]
        later.append(lambda: _tell_signatories(scheme, version, waiting))
        return
    if version.is_extreme:
        said = "\n".join(
            f"{s.get_capacity_display()} ({s.by}): {s.justification}"
            for s in version.sign_offs.select_related("by")
        )
        _raise_flag(version, scheme, FlagKind.EXTREME, said)
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
    if version.drives_scheme:
        later.append(
            lambda: emails.scheme_approved(
                scheme=scheme, message=f"Both signatories signed off the QIA. {review}"
            )
        )
    else:
        later.append(
            lambda: notify(
                users=_lead_and_sro(scheme),
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
    _transition(version, "decline", outcome_status, by=by, description=description)
    SignOff.objects.create(
        version=version,
        capacity=capacity,
        by=by,
        decision=SignOffDecision.DECLINED,
        comment=comment,
    )
    _touch(version)
    result["scheme_outcome"] = SchemeState.DRAFT if revise else SchemeState.REJECTED
    result["description"] = description
    later = result["later"]
    if revise:
        _open_version(
            version,
            by=by,
            drives_scheme=version.drives_scheme,
            reason=f"Declined at sign-off by the {label}: {comment}",
            from_agreed=False,
        )
        later.append(lambda: _tell_returned(scheme, version, by, description))
    elif version.drives_scheme:
        later.append(lambda: emails.scheme_rejected(scheme=scheme, by=by, reason=description))
    else:
        _raise_flag(version, scheme, FlagKind.DECLINED, description)
        later.append(
            lambda: notify(
                users=[*_lead_and_sro(scheme), *_qag_users(scheme)],
                scheme=scheme,
                kind="qia",
                subject=f"QIA re-assessment declined: {scheme.reference} {scheme.title}",
                message=f"{description} It is flagged to QAG.",
            )
        )


# --- re-assessment ---


def reassessment_open(*, scheme_id: int, by: User, reason: str = "") -> QiaVersion:
    """Open a new version, pre-filled from the last signed-off one, while the scheme stays in
    delivery. When the QIA is not due, say what changed (e.g. the scope)."""
    reason = reason.strip()

    def attempt():
        with transaction.atomic():
            scheme = _lock_scheme(scheme_id)
            current = rules.newest_version(scheme)
            _check("qia_reassess", by, scheme, version=current)
            signed, due = reassessment_due(scheme)
            if not reason and not due:
                raise ActionRefused(
                    "The QIA is not due for re-assessment yet: say what has changed "
                    "(for example its scope) to re-assess it now."
                )
            source = (
                signed
                or current.qia.versions.filter(status=VersionStatus.SIGNED_OFF)
                .order_by("-number")
                .first()
            )
            _lock_version(current.pk)
            why = "; ".join(filter(None, [reason, *(f"Due: {d}" for d in due)]))
            version = _open_version(
                source, by=by, drives_scheme=False, reason=why, from_agreed=True
            )
            emails.task_assigned(
                users=[u for u in _lead_and_sro(scheme) if u.pk == scheme.project_lead_id],
                scheme=scheme,
                task="Complete the QIA re-assessment",
                url=reverse("qia_self_assessment", args=[scheme.pk]),
                message=f"QIA version {version.number} is open for re-assessment: {why}",
            )
            return version

    return _refuse_logged(by, "qia_reassess", f"scheme {scheme_id}", attempt)
