"""Re-assessment of a signed-off QIA: when it is due (review date, a changed plan) and
opening the next version while the scheme stays in delivery."""

import calendar
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from governance.delivery import schedule
from governance.models import PLAN_FIELDS, Scheme, SchemeChange, User
from governance.money import pounds
from governance.services import ActionRefused
from notifications import emails
from qia import policy as rules
from qia.models import Band, QiaVersion, VersionStatus, band_of
from qia.services import steps


def add_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months, on the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_months(version: QiaVersion) -> int:
    """How long until the next review: sooner for a high or extreme agreed risk."""
    if band_of(version.highest_agreed_score) in (Band.HIGH, Band.EXTREME):
        return steps.setting("QIA_REVIEW_MONTHS_HIGH", 3)
    return steps.setting("QIA_REVIEW_MONTHS", 6)


def plan_change_percent(version: QiaVersion, scheme: Scheme) -> Decimal | None:
    """How far the annual plan has moved since sign-off, in percent (None before sign-off)."""
    if not version.plan_at_sign_off:
        return None
    change = abs(scheme.annual_plan - version.plan_at_sign_off) / version.plan_at_sign_off * 100
    return change.quantize(Decimal("0.1"))


def material_change_percent(version: QiaVersion, scheme: Scheme) -> Decimal | None:
    """The change of the annual plan since sign-off when it is material (None: it is not)."""
    change = plan_change_percent(version, scheme)
    if change is not None and change > steps.setting("QIA_MATERIAL_CHANGE_PERCENT", 20):
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


# --- re-assessment ---


def reassessment_open(*, scheme_id: int, by: User, reason: str = "") -> QiaVersion:
    """Open a new version, pre-filled from the last signed-off one, while the scheme stays in
    delivery. When the QIA is not due, say what changed (e.g. the scope)."""
    reason = reason.strip()

    def attempt():
        with transaction.atomic():
            scheme = steps.lock_scheme(scheme_id)
            current = rules.newest_version(scheme)
            steps.check_allowed("qia_reassess", by, scheme, version=current)
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
            steps.lock_version(current.pk)
            why = "; ".join(filter(None, [reason, *(f"Due: {d}" for d in due)]))
            version = steps.open_version(
                source, by=by, drives_scheme=False, reason=why, from_agreed=True
            )
            emails.task_assigned(
                users=[u for u in emails.lead_and_sro(scheme) if u.pk == scheme.project_lead_id],
                scheme=scheme,
                task="Complete the QIA re-assessment",
                url=reverse("qia_self_assessment", args=[scheme.pk]),
                message=f"QIA version {version.number} is open for re-assessment: {why}",
            )
            return version

    return steps.refuse_logged(by, "qia_reassess", f"scheme {scheme_id}", attempt)
