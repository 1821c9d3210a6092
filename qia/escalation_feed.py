"""What the escalations read from the QIA app (see notifications.qia_link, which wires these in).

- `review_due(scheme_ids, today)`: {scheme id: reason} for schemes whose signed-off QIA is past
  its review date and not being re-assessed.
- `extreme_signed_off(system_id, since)`: the QIAs of a system signed off with an extreme
  agreed score since `since` (None: ever), for the QAG pack.
"""

from datetime import date, datetime

from notifications.qag import ExtremeQia
from qia import policy as rules
from qia.models import IN_PROGRESS, FlagKind, QagFlag, QiaVersion, VersionStatus


def review_due(scheme_ids, today: date) -> dict[int, str]:
    signed = (
        QiaVersion.objects.filter(
            qia__scheme_id__in=list(scheme_ids),
            qia__scheme__state__in=rules.REASSESSABLE,
            status=VersionStatus.SIGNED_OFF,
        )
        .order_by("qia_id", "-number")
        .values_list("qia__scheme_id", "qia_id", "number", "review_date")
    )
    latest = {}
    for scheme_id, qia_id, number, review_date in signed:
        latest.setdefault(qia_id, (scheme_id, number, review_date))
    # a re-assessment under way answers the review date: the escalation can rest
    under_way = set(
        QiaVersion.objects.filter(qia_id__in=latest, status__in=IN_PROGRESS).values_list(
            "qia_id", flat=True
        )
    )
    return {
        scheme_id: f"QIA v{number} was due for review on {review_date:%-d %B %Y}."
        for qia_id, (scheme_id, number, review_date) in latest.items()
        if review_date and review_date <= today and qia_id not in under_way
    }


def extreme_signed_off(system_id: int, since: datetime | None) -> list[ExtremeQia]:
    flags = QagFlag.objects.filter(
        kind=FlagKind.EXTREME, scheme__organisation__system_id=system_id
    ).select_related("scheme__organisation", "version")
    if since is not None:
        flags = flags.filter(raised_at__gt=since)
    return [
        ExtremeQia(
            scheme=flag.scheme,
            score=flag.score,
            signed_off_at=flag.version.signed_off_at or flag.raised_at,
            url=flag.version.get_absolute_url(),
            justification=flag.detail,
        )
        for flag in flags.order_by("raised_at")
    ]
