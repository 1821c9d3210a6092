"""The audit export (issue 21): the transition log, reviews, agreed QIA scores, sign-offs, QAG
decisions, assured values with their reasons and access refusals of chosen organisations over
chosen dates (and, for staff, the admin site's changes), as one CSV or one XLSX workbook, for
staff and the PMO; each export logged.

Every row reads the same: when, who, what, the scheme (if any), the organisation, the detail;
an assured return also its amounts, in the committee papers' sign as every download has them.

Blind scoring: a panel member's own scores are never exported. Pages show them only to the
panel members who have scored that version and to its signatories (qia.policy
.can_see_panel_scores), never to a PMO officer who neither scores nor signs. What every reader
of the scheme sees is the panel's agreed score per heading, once the quality lead has
recorded the agreement: that is what the "scores" kind holds.

A large range is read in chunks (iterator) and written as it is read; a choice holding more
than MAX_ROWS rows is refused with its count before anything is written, so no one waits for
a file too large to open.
"""

import csv
import heapq
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django_fsm_log.models import StateLog

from governance import roles
from governance.models import (
    MONTH_NAMES,
    AccessRefusal,
    AuditExport,
    Membership,
    MonthlyReturn,
    Organisation,
    Review,
    Scheme,
    SchemeState,
    User,
)
from governance.reports.lists import plain_pounds
from governance.reports.parts import XLSX_MONEY_FORMAT
from governance.services import ActionRefused
from governance.text import BYTE_ORDER_MARK, spreadsheet_text
from notifications.models import EscalationEvent
from qia.models import Assessment, AssessmentKind, QiaVersion, SignOff, VersionStatus

audit_log = logging.getLogger("qipp.audit")

# What the export may include, in the order of the file's sheets (and of the CSV's rows).
KINDS = {
    "transitions": "Transitions",
    "reviews": "Reviews",
    "scores": "Agreed QIA scores",
    "sign_offs": "Sign-offs",
    "qag": "QAG decisions",
    "assured": "Assured values",
    "refusals": "Access refusals",
    "admin": "Admin site changes",
}
# Kinds for staff only: the admin site's changes are to the whole system's reference data and
# people (years, areas, targets, users), not one organisation's, and only staff use the site.
STAFF_KINDS = {"admin"}
FORMATS = {"csv": "CSV (one table, a column says the kind)", "xlsx": "XLSX (one sheet per kind)"}
HEADINGS = ["When", "Who", "What", "Scheme", "Organisation", "Detail"]
# The amounts of an assured return, in pounds in the committee papers' sign as every download
# writes them (governance.reports.lists): a plain signed number in the CSV, a number in the
# XLSX shown in brackets when saved. The CSV, one table, has these columns for every kind.
MONEY_HEADINGS = ["PMO assured (£, a saving negative)", "Actual (£, a saving negative)"]
MONEY_KINDS = {"assured"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# One file holds at most this many rows: more would not open comfortably in a spreadsheet,
# and a narrower choice of organisations or dates gives the rest.
MAX_ROWS = 100_000
CHUNK = 2000  # rows read from the database at a time

REFUSED = "Only the PMO and staff can export the audit trail."


class TooLarge(Exception):
    def __init__(self, count: int):
        self.count = count
        self.message = (
            f"Your choice holds {count:,} rows, more than the {MAX_ROWS:,} one file can hold. "
            "Choose fewer organisations, a shorter range of dates or fewer kinds of record."
        )
        super().__init__(self.message)


@dataclass(frozen=True)
class Row:
    kind: str
    when: datetime
    who: str
    what: str
    scheme: str
    organisation: str
    detail: str
    # the amounts under MONEY_HEADINGS, in pounds as stored (a saving positive)
    amounts: tuple[Decimal | None, ...] = ()


def headings(kind: str) -> list[str]:
    """The headings of a kind's sheet in the XLSX."""
    return HEADINGS + MONEY_HEADINGS if kind in MONEY_KINDS else HEADINGS


def papers_sign(value: Decimal | None) -> Decimal | None:
    """A stored saving (positive) in the papers' sign, negative; 0 never -0."""
    return None if value is None else Decimal(0) - value


@dataclass(frozen=True)
class Choice:
    organisations: list[Organisation]
    date_from: date
    date_to: date
    kinds: list[str]
    format: str


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str
    rows: int


# --- who may export what ---


def refusal(user) -> str | None:
    """Why the user may not export at all, or None: staff and the PMO may."""
    if user.is_staff or user.has_role(roles.PMO):
        return None
    return REFUSED


def organisations_for(user) -> QuerySet:
    """The organisations the user may export: staff any, the PMO their own."""
    if user.is_staff:
        return Organisation.objects.all()
    return Organisation.objects.filter(pk__in=user.organisation_ids)


def outside(user, organisations: Iterable[Organisation]) -> list[Organisation]:
    """The chosen organisations the user may not export."""
    allowed = set(organisations_for(user).values_list("pk", flat=True))
    return [organisation for organisation in organisations if organisation.pk not in allowed]


# --- reading the rows ---


def _name(user: User | None, for_user: User | None = None) -> str:
    """A person as the history names them; a deputy "Kwame Mensah for Dr Jane Smith"."""
    if user is None:
        return ""
    # as the pages name people (User.__str__: the full name, else the username)
    return f"{user} for {for_user}" if for_user is not None else str(user)


def _label(choices, value) -> str:
    """A state's label, or the stored value itself when it is no longer one of the choices
    (the log keeps what was written then)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value or ""


def _words(transition: str) -> str:
    return transition.replace("_", " ")


class _Lookup:
    """The schemes and QIA versions of the chosen organisations, read once: each row of the
    transition log and the refusal log names its scheme by id or reference only, and a join
    per row would be a query per row."""

    def __init__(self, organisations: list[Organisation]):
        schemes = Scheme.objects.filter(organisation__in=organisations)
        self.scheme_ids = schemes.values("pk")
        self.schemes: dict[int, tuple[str, str]] = {
            pk: (reference, code)
            for pk, reference, code in schemes.values_list(
                "pk", "reference", "organisation__code"
            ).iterator(chunk_size=CHUNK)
        }
        self.by_reference = {reference: pk for pk, (reference, _code) in self.schemes.items()}
        self.versions: dict[int, tuple[int, int]] = {
            pk: (scheme_id, number)
            for pk, scheme_id, number in QiaVersion.objects.filter(
                qia__scheme__organisation__in=organisations
            )
            .values_list("pk", "qia__scheme_id", "number")
            .iterator(chunk_size=CHUNK)
        }
        self.version_ids = QiaVersion.objects.filter(
            qia__scheme__organisation__in=organisations
        ).values("pk")
        # whose refusals belong to the export: the chosen organisations' members
        self.codes_of_user: dict[int, list[str]] = {}
        for user_id, code in (
            Membership.objects.filter(organisation__in=organisations)
            .order_by("organisation__code")
            .values_list("user_id", "organisation__code")
        ):
            self.codes_of_user.setdefault(user_id, []).append(code)

    def scheme(self, scheme_id: int | None) -> tuple[str, str]:
        """(reference, organisation code) of a scheme, blank if it is not one of ours."""
        return self.schemes.get(scheme_id, ("", ""))

    def version(self, version_id: int) -> tuple[str, str, int]:
        scheme_id, number = self.versions.get(version_id, (None, 0))
        return (*self.scheme(scheme_id), number)

    def refusal_scheme(self, target: str) -> int | None:
        """The scheme a refusal's target names, "ELR/2019/001" or "scheme 12", if ours."""
        if target in self.by_reference:
            return self.by_reference[target]
        word, _space, number = target.partition(" ")
        if word == "scheme" and number.isdigit() and int(number) in self.schemes:
            return int(number)
        return None


@dataclass(frozen=True)
class _Source:
    """One query feeding a kind, and how each of its rows reads."""

    queryset: QuerySet
    row: Callable[[object], Row]


def _window(choice: Choice) -> tuple[datetime, datetime]:
    """From the start of the first day to the start of the day after the last, local time."""
    start = timezone.make_aware(datetime.combine(choice.date_from, time.min))
    end = timezone.make_aware(datetime.combine(choice.date_to + timedelta(days=1), time.min))
    return start, end


def _sources(kind: str, choice: Choice, lookup: _Lookup) -> list[_Source]:
    start, end = _window(choice)
    organisations = choice.organisations
    scheme_type = ContentType.objects.get_for_model(Scheme)
    version_type = ContentType.objects.get_for_model(QiaVersion)

    if kind == "transitions":

        def transition_row(log: StateLog) -> Row:
            if log.content_type_id == scheme_type.pk:
                reference, code = lookup.scheme(log.object_id)
                moved = (
                    f"{_label(SchemeState, log.source_state)} to {_label(SchemeState, log.state)}"
                )
                what = f"{_words(log.transition)}: {moved}"
            else:
                reference, code, number = lookup.version(log.object_id)
                moved = (
                    f"{_label(VersionStatus, log.source_state)} to "
                    f"{_label(VersionStatus, log.state)}"
                )
                what = f"QIA version {number} {_words(log.transition)}: {moved}"
            return Row(
                kind, log.timestamp, _name(log.by), what, reference, code, log.description or ""
            )

        logs = StateLog.objects.filter(
            Q(content_type=scheme_type, object_id__in=lookup.scheme_ids)
            | Q(content_type=version_type, object_id__in=lookup.version_ids),
            timestamp__gte=start,
            timestamp__lt=end,
        )
        return [_Source(logs.select_related("by").order_by("timestamp", "pk"), transition_row)]

    if kind == "reviews":

        def review_row(review: Review) -> Row:
            what = (
                f"{review.get_kind_display()} review, submission {review.round}: "
                f"{review.get_decision_display()}"
            )
            detail = review.comment
            if review.response:
                detail += f"\nProject lead's response: {review.response}"
            return Row(
                kind,
                review.created_at,
                _name(review.reviewer, review.on_behalf_of),
                what,
                *lookup.scheme(review.scheme_id),
                detail,
            )

        reviews = Review.objects.filter(
            scheme__organisation__in=organisations, created_at__gte=start, created_at__lt=end
        )
        return [
            _Source(
                reviews.select_related("reviewer", "on_behalf_of").order_by("created_at", "pk"),
                review_row,
            )
        ]

    if kind == "scores":

        def score_row(assessment: Assessment) -> Row:
            version = assessment.version
            reference, code, number = lookup.version(version.pk)
            detail = assessment.get_impact_display() or "No impact chosen"
            if assessment.score is not None:
                detail += (
                    f": consequence {assessment.consequence} x likelihood "
                    f"{assessment.likelihood} = {assessment.score} ({assessment.band})"
                )
            if assessment.rationale:
                detail += f". {assessment.rationale}"
            return Row(
                kind,
                version.agreed_at,
                _name(version.agreed_by, version.agreed_for),
                f"QIA version {number} agreed score: {assessment.get_heading_display()}",
                reference,
                code,
                detail,
            )

        # only what the panel agreed, once agreed: each member's own scores stay blind
        agreed = Assessment.objects.filter(
            kind=AssessmentKind.AGREED,
            version__in=lookup.version_ids,
            version__agreed_at__gte=start,
            version__agreed_at__lt=end,
        )
        return [
            _Source(
                agreed.select_related("version__agreed_by", "version__agreed_for").order_by(
                    "version__agreed_at", "version_id", "pk"
                ),
                score_row,
            )
        ]

    if kind == "sign_offs":

        def sign_off_row(sign_off: SignOff) -> Row:
            reference, code, number = lookup.version(sign_off.version_id)
            detail = sign_off.comment
            if sign_off.justification:
                detail += f"\nWhy the extreme risk is accepted: {sign_off.justification}"
            what = (
                f"{sign_off.get_capacity_display()}: {sign_off.get_decision_display().lower()}, "
                f"QIA version {number}"
            )
            return Row(
                kind,
                sign_off.at,
                _name(sign_off.by, sign_off.on_behalf_of),
                what,
                reference,
                code,
                detail,
            )

        sign_offs = SignOff.objects.filter(
            version__in=lookup.version_ids, at__gte=start, at__lt=end
        )
        return [
            _Source(
                sign_offs.select_related("by", "on_behalf_of").order_by("at", "pk"), sign_off_row
            )
        ]

    if kind == "qag":

        def approval_row(log: StateLog) -> Row:
            outcome = "approved" if log.state == SchemeState.APPROVED else "do not proceed"
            return Row(
                kind,
                log.timestamp,
                _name(log.by),
                f"QAG approval: {outcome}",
                *lookup.scheme(log.object_id),
                log.description or "",
            )

        def decision_row(event: EscalationEvent) -> Row:
            escalation = event.escalation
            return Row(
                kind,
                event.at,
                _name(event.by),
                event.what,
                *lookup.scheme(escalation.scheme_id),
                f"Escalated for {escalation.rule_phrase}. {event.detail}",
            )

        approvals = StateLog.objects.filter(
            content_type=scheme_type,
            object_id__in=lookup.scheme_ids,
            transition="qag_approve",
            timestamp__gte=start,
            timestamp__lt=end,
        )
        # each decision's own event: a later decision overwrites the escalation's fields
        decisions = EscalationEvent.objects.filter(
            what__startswith="QAG decision",
            escalation__scheme__organisation__in=organisations,
            at__gte=start,
            at__lt=end,
        )
        return [
            _Source(approvals.select_related("by").order_by("timestamp", "pk"), approval_row),
            _Source(
                decisions.select_related("by", "escalation").order_by("at", "pk"), decision_row
            ),
        ]

    if kind == "assured":

        def assured_row(entry: MonthlyReturn) -> Row:
            what = f"Month {entry.month} ({MONTH_NAMES[entry.month - 1]}) return assured"
            detail = entry.assured_reason or "No reason given (the assured value is the actual)."
            if entry.assured_link:
                detail += f"\nEvidence: {entry.assured_link}"
            return Row(
                kind,
                entry.assured_at,
                _name(entry.assured_by),
                what,
                *lookup.scheme(entry.scheme_id),
                detail,
                amounts=(entry.pmo_assured, entry.actual),
            )

        assured = MonthlyReturn.objects.filter(
            scheme__organisation__in=organisations,
            pmo_assured__isnull=False,
            assured_at__gte=start,
            assured_at__lt=end,
        )
        return [
            _Source(assured.select_related("assured_by").order_by("assured_at", "pk"), assured_row)
        ]

    if kind == "refusals":

        def refusal_row(refused: AccessRefusal) -> Row:
            scheme_id = lookup.refusal_scheme(refused.target)
            if scheme_id is not None:
                reference, code = lookup.scheme(scheme_id)
                detail = refused.reason
            else:
                reference = ""
                code = ", ".join(lookup.codes_of_user.get(refused.user_id, []))
                detail = (
                    f"{refused.reason} ({refused.target})" if refused.target else refused.reason
                )
            who = _name(refused.user) or "someone no longer known"
            return Row(kind, refused.at, who, _words(refused.action), reference, code, detail)

        # a refusal belongs to the chosen organisations when it was one of their members who
        # was refused, or when it was about one of their schemes
        members = Membership.objects.filter(user=OuterRef("user"), organisation__in=organisations)
        scheme_labels = (
            Scheme.objects.filter(organisation__in=organisations)
            .annotate(label=Concat(Value("scheme "), Cast("pk", CharField())))
            .values("label")
        )
        references = Scheme.objects.filter(organisation__in=organisations).values("reference")
        refusals = AccessRefusal.objects.filter(
            Exists(members) | Q(target__in=references) | Q(target__in=scheme_labels),
            at__gte=start,
            at__lt=end,
        )
        return [_Source(refusals.select_related("user").order_by("at", "pk"), refusal_row)]

    if kind == "admin":
        verbs = {ADDITION: "Added", CHANGE: "Changed", DELETION: "Deleted"}

        def admin_row(entry: LogEntry) -> Row:
            what = f"{verbs.get(entry.action_flag, 'Changed')} {entry.content_type.name}"
            # the change message as the admin's History page words it: old and new values
            detail = f"{entry.object_repr}: {entry.get_change_message()}".rstrip(": ")
            return Row(kind, entry.action_time, _name(entry.user), what, "", "", detail)

        # every organisation's, whichever are chosen: see STAFF_KINDS
        changes = LogEntry.objects.filter(action_time__gte=start, action_time__lt=end)
        return [
            _Source(
                changes.select_related("user", "content_type").order_by("action_time", "pk"),
                admin_row,
            )
        ]

    raise ValueError(f"no such kind: {kind}")


def count(choice: Choice, lookup: _Lookup | None = None) -> int:
    """How many rows the choice holds (a count per query: nothing read)."""
    lookup = lookup or _Lookup(choice.organisations)
    return sum(
        source.queryset.count()
        for kind in choice.kinds
        for source in _sources(kind, choice, lookup)
    )


def rows_of(kind: str, choice: Choice, lookup: _Lookup) -> Iterator[Row]:
    """One kind's rows in time order, read a chunk at a time."""
    streams = [
        map(source.row, source.queryset.iterator(chunk_size=CHUNK))
        for source in _sources(kind, choice, lookup)
    ]
    return heapq.merge(*streams, key=lambda row: row.when)


# --- writing the file ---


def _local(when: datetime) -> datetime:
    return timezone.localtime(when)


def to_csv(choice: Choice, lookup: _Lookup) -> tuple[bytes, int]:
    """One table: the kind, then the six columns; every text cell safe from formulas."""
    out = io.StringIO()
    out.write(BYTE_ORDER_MARK)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Kind", *HEADINGS, *MONEY_HEADINGS])
    blank = (None,) * len(MONEY_HEADINGS)
    written = 0
    for kind in choice.kinds:
        for row in rows_of(kind, choice, lookup):
            amounts = (papers_sign(value) for value in row.amounts or blank)
            writer.writerow(
                [
                    KINDS[kind],
                    f"{_local(row.when):%Y-%m-%d %H:%M:%S}",
                    *(
                        spreadsheet_text(text)
                        for text in (row.who, row.what, row.scheme, row.organisation, row.detail)
                    ),
                    *("" if value is None else plain_pounds(value) for value in amounts),
                ]
            )
            written += 1
    return out.getvalue().encode("utf-8"), written


def to_xlsx(choice: Choice, lookup: _Lookup) -> tuple[bytes, int]:
    """A sheet per kind, in a write-only workbook: rows go to disk as they are read, so a
    large export never holds every cell in memory."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    written = 0
    for kind in choice.kinds:
        sheet = workbook.create_sheet(KINDS[kind][:31])
        widths = (18, 28, 50, 16, 14, 80, 20, 20)
        for letter, width in zip("ABCDEFGH", widths[: len(headings(kind))], strict=False):
            sheet.column_dimensions[letter].width = width
        sheet.freeze_panes = "A2"
        heading = []
        for text in headings(kind):
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = Font(bold=True)
            heading.append(cell)
        sheet.append(heading)
        for row in rows_of(kind, choice, lookup):
            when = WriteOnlyCell(sheet, value=_local(row.when).replace(tzinfo=None))
            when.number_format = "yyyy-mm-dd hh:mm"
            texts = (row.who, row.what, row.scheme, row.organisation, row.detail)
            amounts = [_money(sheet, value) for value in row.amounts]
            sheet.append([when, *(_text(sheet, text) for text in texts), *amounts])
            written += 1
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), written


def _text(sheet, value: str):
    """A text cell stored as text: openpyxl would store "=..." as a formula, and a reason
    typed by a user must never run as one (governance.text.keep_as_text, for a write-only
    sheet, which cannot be walked afterwards)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _money(sheet, value: Decimal | None):
    """A saving as a number in the papers' sign, shown in brackets as the committee tables'."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=papers_sign(value))
    cell.number_format = XLSX_MONEY_FORMAT
    return cell


# --- the export ---


def audit_export(*, by: User, choice: Choice) -> ExportFile:
    """The file of the chosen rows, and the export on record (AuditExport and qipp.audit).
    Raises ActionRefused when `by` may not export these organisations, TooLarge (with the
    count) when the choice holds more than MAX_ROWS rows."""
    reason = refusal(by)
    if reason is None and outside(by, choice.organisations):
        reason = "You can export the audit trail of your own organisations only."
    if reason:
        raise ActionRefused(reason)
    lookup = _Lookup(choice.organisations)
    total = count(choice, lookup)
    if total > MAX_ROWS:
        raise TooLarge(total)
    if choice.format == "csv":
        content, written = to_csv(choice, lookup)
        content_type = "text/csv; charset=utf-8"
    else:
        content, written = to_xlsx(choice, lookup)
        content_type = XLSX_TYPE
    codes = sorted(organisation.code for organisation in choice.organisations)
    with transaction.atomic():
        AuditExport.objects.create(
            by=by,
            organisations=codes,
            date_from=choice.date_from,
            date_to=choice.date_to,
            kinds=list(choice.kinds),
            format=choice.format,
            rows=written,
        )
    audit_log.info(
        "audit exported: user=%s organisations=%s from=%s to=%s kinds=%s format=%s rows=%d",
        by.username,
        ",".join(codes),
        choice.date_from,
        choice.date_to,
        ",".join(choice.kinds),
        choice.format,
        written,
    )
    return ExportFile(
        content=content,
        content_type=content_type,
        filename=f"audit-{choice.date_from:%Y%m%d}-{choice.date_to:%Y%m%d}.{choice.format}",
        rows=written,
    )
