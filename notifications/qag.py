"""The QIPP Assurance Group: its meeting dates and the pack it reads before each meeting.

The pack (open escalations with their remedial actions and ages, off-track schemes with how far
they are behind plan, the QIA matters flagged to QAG since the last pack, decisions due) is
assembled from live data: the page shows it as it is now, and the mail goes out a set number of
working days before each meeting.
"""

import calendar
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.delivery import rating, schedule
from governance.models import Scheme, SchemeState, System
from notifications import conf, emails
from notifications.models import ACTIVE, Escalation, QagMeeting, QagPack, Rule
from qia import escalation_feed
from qia.escalation_feed import QiaFlag

logger = logging.getLogger("qipp.notifications")


# --- meeting dates ---


def default_meetings(year: int, month: int) -> list[date]:
    """The default dates in a month: the n-th weekdays of QIPP_QAG_MEETINGS."""
    days = []
    weeks = calendar.Calendar().monthdatescalendar(year, month)
    for nth, weekday in conf.get("QIPP_QAG_MEETINGS"):
        matching = [
            d for week in weeks for d in week if d.month == month and d.weekday() == weekday
        ]
        if 1 <= nth <= len(matching):
            days.append(matching[nth - 1])
    return sorted(days)


def meetings(system: System, start: date, months: int = 2) -> list[date]:
    """The meeting dates from `start` on, over the next `months` calendar months: the
    admin's dates where a month has any, else the default ones."""
    found = []
    year, month = start.year, start.month
    admin = {}
    for day in QagMeeting.objects.filter(system=system, date__gte=start.replace(day=1)).values_list(
        "date", flat=True
    ):
        admin.setdefault((day.year, day.month), []).append(day)
    for _ in range(months):
        found += sorted(admin.get((year, month)) or default_meetings(year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [day for day in found if day >= start]


def last_meeting(system: System, today: date) -> date | None:
    """The latest meeting date on or before `today`, looking back to the previous month."""
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    held = [day for day in meetings(system, start, months=2) if day <= today]
    return held[-1] if held else None


def next_meeting(system: System, today: date) -> date | None:
    upcoming = meetings(system, today)
    return upcoming[0] if upcoming else None


def working_days_before(day: date, n: int) -> date:
    """`n` working days (Monday to Friday) before `day`. Bank holidays are not known."""
    while n > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def pack_due(meeting: date) -> date:
    return working_days_before(meeting, conf.get("QIPP_QAG_PACK_WORKING_DAYS_BEFORE"))


# --- the pack ---


@dataclass
class OffTrack:
    scheme: Scheme
    rag: object  # governance.delivery.rating.Rag, as at the pack's month

    @property
    def ytd_variance(self):
        """Actual minus plan to date in the committee papers' sign: positive is behind plan."""
        return self.rag.ytd_shortfall


@dataclass
class Pack:
    system: System
    meeting_date: date | None
    today: date
    since: datetime | None  # the previous pack, if any
    as_at: date  # the first day of the one month every figure of the pack is as at
    escalations: list[Escalation] = field(default_factory=list)
    off_track: list[OffTrack] = field(default_factory=list)
    qia_flags: list[QiaFlag] = field(default_factory=list)
    decisions: list[Escalation] = field(default_factory=list)  # since the last pack

    @property
    def as_at_label(self) -> str:
        return f"{self.as_at:%B %Y}"

    @property
    def decisions_due(self) -> list[Escalation]:
        return [e for e in self.escalations if e.decision_due_on(self.today)]

    @property
    def summary(self) -> str:
        return (
            f"{len(self.escalations)} open escalation{'s' if len(self.escalations) != 1 else ''}, "
            f"{len(self.decisions_due)} decision{'s' if len(self.decisions_due) != 1 else ''} "
            f"due, {len(self.off_track)} off-track scheme{'s' if len(self.off_track) != 1 else ''}"
            f", {len(self.qia_flags)} QIA flag{'s' if len(self.qia_flags) != 1 else ''} to QAG "
            "since the last pack."
        )


def _decisions(system: System, since: datetime | None, as_at: date) -> list[Escalation]:
    """The decisions QAG recorded since the last pack (all, before the first pack), the
    escalations they closed included: the standing decision of each, newest first; on the
    schemes of years not closed as at `as_at`, as the rest of the pack."""
    found = Escalation.objects.filter(
        scheme__organisation__system=system,
        scheme__financial_year__start_year__gte=schedule.first_open_year(as_at),
        decided_at__isnull=False,
    ).select_related("scheme__organisation", "decided_by", "decided_for")
    if since is not None:
        found = found.filter(decided_at__gte=since)
    return list(found.order_by("-decided_at", "-pk"))


def _ratings(system: System, as_at: date) -> list[tuple[Scheme, object]]:
    """Every scheme in delivery of the system, of a year not closed as at the calendar month
    `as_at`, with its RAG as at that month: month_at(its year, as_at), as the dashboard and the
    scheme page rate it. A query for the schemes and one for the returns of each financial
    year among them."""
    schemes = list(
        Scheme.objects.filter(
            state=SchemeState.IN_DELIVERY,
            organisation__system=system,
            financial_year__start_year__gte=schedule.first_open_year(as_at),
        ).select_related("organisation", "financial_year", "sro")
    )
    by_year: dict[int, list[Scheme]] = {}
    for scheme in schemes:
        by_year.setdefault(scheme.financial_year_id, []).append(scheme)
    rated = {}
    for group in by_year.values():
        month = schedule.month_at(group[0].financial_year, as_at)
        rated.update(rating.rag_for(group, month))
    return [(scheme, rated[scheme.pk]) for scheme in schemes]


def _off_track(ratings: list[tuple[Scheme, object]]) -> list[OffTrack]:
    """The schemes rated red, most behind first."""
    found = [
        OffTrack(scheme, rag)
        for scheme, rag in ratings
        if rag is not None and rag.status == rating.RED
    ]
    return sorted(found, key=lambda row: -row.ytd_variance)


def assemble(
    system: System,
    *,
    meeting_date: date | None = None,
    today: date | None = None,
    as_at: date | None = None,
):
    """The pack, its figures as at the calendar month `as_at` (default: the latest month whose
    returns are due). A live off-track escalation quotes its scheme's RAG as at that month
    (escalation.live_rag), so the pack says one month throughout."""
    today = today or timezone.localdate()
    as_at = as_at or schedule.latest_month_due(today)
    if meeting_date is None:
        meeting_date = next_meeting(system, today)
    previous = (
        QagPack.objects.filter(system=system, meeting_date__lt=meeting_date or today)
        .order_by("-meeting_date")
        .first()
    )
    pack = Pack(system, meeting_date, today, previous.assembled_at if previous else None, as_at)
    # a closed year's scheme is not QAG's business any more (schedule.closes_on); the sweep
    # resolves what is still live on it
    pack.escalations = list(
        Escalation.objects.filter(
            status__in=ACTIVE,
            scheme__organisation__system=system,
            scheme__financial_year__start_year__gte=schedule.first_open_year(as_at),
        )
        .select_related("scheme__organisation", "owner", "remedial_by")
        .order_by("-level", "raised_at")
    )
    ratings = _ratings(system, as_at)
    rag_of = {scheme.pk: rag for scheme, rag in ratings}
    for escalation in pack.escalations:
        escalation.age_days = (today - timezone.localdate(escalation.raised_at)).days
        escalation.live_rag = (
            rag_of.get(escalation.scheme_id) if escalation.rule == Rule.OFF_TRACK else None
        )
    pack.off_track = _off_track(ratings)
    pack.decisions = _decisions(system, pack.since, as_at)
    pack.qia_flags = list(escalation_feed.flagged_to_qag(system.pk, pack.since))
    return pack


def send_due_packs(today: date | None = None) -> list[QagPack]:
    """Mail each system's pack when its next meeting is close enough; once per meeting."""
    today = today or timezone.localdate()
    sent = []
    for system in System.objects.all():
        meeting = next_meeting(system, today)
        if meeting is None or pack_due(meeting) > today:
            continue
        try:
            with transaction.atomic():
                # the row is the claim: a second beat run (or worker) stops here
                record = QagPack.objects.create(
                    system=system, meeting_date=meeting, assembled_at=timezone.now()
                )
                pack = assemble(system, meeting_date=meeting, today=today)
                to = emails.qag_recipients(system.pk)
                emails.qag_pack(pack=pack, to=to, dedupe=f"qag-pack:{system.pk}:{meeting}")
                record.recipients = len(to)
                record.save(update_fields=["recipients"])
        except IntegrityError:
            continue  # already sent for this meeting
        logger.info("QAG pack for %s, meeting %s: %s", system.code, meeting, pack.summary)
        sent.append(record)
    return sent
