"""What the escalations and the QAG pack (notifications.rules, notifications.qag) read from the
QIA app, and the shapes of what they read.

- `review_due(scheme_ids, today)`: {scheme id: reason} for schemes whose signed-off QIA is past
  its review date and not being re-assessed.
- `flagged_to_qag(system_id, since)`: every QIA matter of a system flagged to QAG since `since`
  (None: ever), for the QAG pack.
- `step_done(scheme_ids)`: for schemes at the QIA panel or awaiting sign-off, who has no part
  left in the step, so is not reminded of it.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from governance import roles
from governance.models import Scheme
from qia import policy as rules
from qia.models import (
    IN_PROGRESS,
    PanelScore,
    QagFlag,
    QiaVersion,
    SignOff,
    VersionStatus,
)


@dataclass
class QiaFlag:
    """A QIA matter flagged to QAG: an extreme risk signed off, a re-assessment dismissed or
    declined."""

    scheme: Scheme
    what: str
    score: int | None
    raised_at: datetime
    url: str
    detail: str = ""


@dataclass
class StepDone:
    """Who has no part left in a QIA step, as the QIA app says: they are not reminded of it."""

    roles: set[str] = field(default_factory=set)  # roles whose part is done (capacity signed)
    users: dict[str, set[int]] = field(default_factory=dict)  # per role: done, or barred


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


def flagged_to_qag(system_id: int, since: datetime | None) -> list[QiaFlag]:
    flags = QagFlag.objects.filter(scheme__organisation__system_id=system_id).select_related(
        "scheme__organisation", "version__qia"
    )
    if since is not None:
        flags = flags.filter(raised_at__gt=since)
    return [
        QiaFlag(
            scheme=flag.scheme,
            what=flag.get_kind_display(),
            score=flag.score,
            raised_at=flag.raised_at,
            url=flag.version.get_absolute_url(),
            detail=flag.detail,
        )
        for flag in flags.order_by("raised_at", "pk")
    ]


def step_done(scheme_ids) -> dict[int, StepDone]:
    """On each scheme's newest version (the one at panel or awaiting sign-off): panel members
    who have scored it are done scoring; a signed capacity's role is done; and nobody who
    signed it or sat on its panel may sign it (ACCESS.md), so they are not asked. Three
    queries."""
    newest: dict[int, tuple[int, int | None]] = {}
    rows = (
        QiaVersion.objects.filter(qia__scheme_id__in=list(scheme_ids))
        .order_by("qia_id", "-number")
        .values_list("qia__scheme_id", "pk", "agreed_by_id")
    )
    for scheme_id, version_id, agreed_by in rows:
        newest.setdefault(scheme_id, (version_id, agreed_by))
    scheme_of = {version_id: scheme_id for scheme_id, (version_id, _a) in newest.items()}
    scored: dict[int, set[int]] = defaultdict(set)
    for version_id, member_id in PanelScore.objects.filter(version_id__in=scheme_of).values_list(
        "version_id", "member_id"
    ):
        scored[scheme_of[version_id]].add(member_id)
    signed: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for version_id, capacity, by in SignOff.objects.filter(version_id__in=scheme_of).values_list(
        "version_id", "capacity", "by_id"
    ):
        signed[scheme_of[version_id]].append((capacity, by))
    found = {}
    for scheme_id, (_version_id, agreed_by) in newest.items():
        panel = scored[scheme_id] | ({agreed_by} if agreed_by else set())
        barred = panel | {by for _capacity, by in signed[scheme_id]}
        found[scheme_id] = StepDone(
            roles={rules.CAPACITY_ROLES[capacity] for capacity, _by in signed[scheme_id]},
            users={
                roles.PANEL_MEMBER: scored[scheme_id],
                **{role: barred for role in rules.CAPACITY_ROLES.values()},
            },
        )
    return found
