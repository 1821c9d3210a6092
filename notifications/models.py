"""In-app notifications, the e-mail outbox, escalations and the QIPP Assurance Group (QAG).

Every mail is first a row written in the same transaction as the change that causes it; a
Celery task delivers it afterwards (see notifications.tasks).
"""

from datetime import date, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Notification(models.Model):
    """What the bell in the top bar shows: one row per recipient."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    scheme = models.ForeignKey(
        "governance.Scheme", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=30)
    subject = models.CharField(max_length=255)
    message = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    # Set when the same event must never notify twice (an escalation raised, a reminder).
    dedupe_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # What it is about, e.g. "escalation:42": whom to tell when that escalation resolves.
    topic = models.CharField(max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.subject


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxEmail(models.Model):
    recipient = models.EmailField()
    subject = models.CharField(max_length=255)
    text_body = models.TextField()
    html_body = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=255, unique=True)
    topic = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a worker claimed it (status "sending"): a claim far older than any send means
    # the worker died mid-send, and the sweeper puts the row back in the queue.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # After a temporary failure: when the retry is due. The sweeper leaves the row to the
    # task's own retry until a while after this.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        verbose_name = "outbox e-mail"

    def __str__(self):
        return f"{self.recipient}: {self.subject} ({self.status})"


# --- escalations ---


class Rule(models.TextChoices):
    OFF_TRACK = "off_track", "Off-track delivery (RAG red)"
    MISSING_RETURN = "missing_return", "Monthly return missing"
    STEP_OVERDUE = "step_overdue", "Workflow step past its service level"
    QIA_REVIEW_DUE = "qia_review_due", "QIA past its review date"
    CONDITION_OVERDUE = "condition_overdue", "Condition past its due date"


RULE_PHRASES = {
    Rule.OFF_TRACK: "off-track delivery (RAG red)",
    Rule.MISSING_RETURN: "monthly return missing",
    Rule.STEP_OVERDUE: "workflow step past its service level",
    Rule.QIA_REVIEW_DUE: "QIA past its review date",
    Rule.CONDITION_OVERDUE: "condition past its due date",
}


class Level(models.TextChoices):
    PMO = "pmo", "PMO"
    QAG = "qag", "QAG"


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Open"
    REMEDIAL_AGREED = "remedial_agreed", "Remedial action agreed"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# An escalation in one of these states is "live": the rule that raised it is still watched.
ACTIVE = [EscalationStatus.OPEN, EscalationStatus.REMEDIAL_AGREED]


class Decision(models.TextChoices):
    CONTINUE = "continue", "Continue with the remedial plan"
    STOP = "stop", "Stop the scheme"
    REPLACE = "replace", "Replace with a recovery scheme"


class Escalation(models.Model):
    """A scheme that a rule found wanting, and what the SRO, PMO and QAG did about it."""

    scheme = models.ForeignKey(
        "governance.Scheme", on_delete=models.CASCADE, related_name="escalations"
    )
    rule = models.CharField(max_length=20, choices=Rule.choices)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.PMO)
    status = models.CharField(
        max_length=20, choices=EscalationStatus.choices, default=EscalationStatus.OPEN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_escalations",
        help_text="The scheme's SRO when it was raised.",
    )
    reason = models.TextField(help_text="What the rule found, as of its last run.")
    raised_at = models.DateTimeField()
    last_fired_at = models.DateTimeField()
    remedial_action = models.TextField(max_length=10000, blank=True)
    remedial_due = models.DateField(null=True, blank=True)
    remedial_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    remedial_at = models.DateTimeField(null=True, blank=True)
    raised_to_qag_at = models.DateTimeField(null=True, blank=True)
    raised_to_qag_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the sweep raised it (remedial action overdue).",
    )
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decision_note = models.TextField(max_length=10000, blank=True)
    # The QAG meeting that took the decision standing now: a decision stands until QAG
    # decides again at a later meeting (the earlier ones stay in the escalation's events).
    decision_meeting = models.DateField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Set when a QAG member's deputy recorded the decision for them (governance.deputies)
    decided_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every action someone records (remedial action, raise, decision): a form
    # carries the version it was drawn from, so two decisions taken on the same page are
    # never both recorded. The daily sweep's bookkeeping does not bump it.
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            # One live escalation per scheme and rule: the database refuses a duplicate even
            # when two sweeps race.
            models.UniqueConstraint(
                fields=["scheme", "rule"],
                condition=Q(status__in=["open", "remedial_agreed"]),
                name="one_active_escalation_per_scheme_rule",
            )
        ]
        indexes = [models.Index(fields=["status", "level"])]

    def __str__(self):
        return f"{self.scheme.reference}: {self.get_rule_display()} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("escalation_detail", args=[self.pk])

    @property
    def rule_phrase(self) -> str:
        """The rule in the middle of a sentence: "off-track delivery (RAG red)"."""
        return RULE_PHRASES[self.rule]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def remedial_overdue(self) -> bool:
        """Live, and the remedial action's due date has passed."""
        return (
            self.is_active
            and self.remedial_due is not None
            and self.remedial_due < timezone.localdate()
        )

    def qag_due_date_passed(self, today: date) -> bool:
        """QAG let it continue, and the due date that stood after that decision (a new one QAG
        set, or the SRO's later revision) has passed. A date already past when QAG decided
        does not count: QAG knew it and chose to keep it."""
        return (
            self.decided_at is not None
            and self.remedial_due is not None
            and timezone.localdate(self.decided_at) <= self.remedial_due < today
        )

    def decision_due_on(self, today: date) -> bool:
        """At QAG, and either not decided since it got there, or decided to continue and
        left off track past the due date that decision stood on."""
        return (
            self.is_active
            and self.level == Level.QAG
            and (
                self.decided_at is None
                or self.decided_at < self.raised_to_qag_at
                or self.qag_due_date_passed(today)
            )
        )

    @property
    def decision_due(self) -> bool:
        return self.decision_due_on(timezone.localdate())


class EscalationEvent(models.Model):
    """One step in an escalation's life; shown in the scheme's history."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    what = models.CharField(max_length=200)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return self.what


class EscalationLock(models.Model):
    """One row. Every write to escalations updates it first, so those writes happen one at a
    time: two sweeps, or a sweep and a QAG decision, never interleave."""

    last_taken_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return "escalation lock"


# --- QIPP Assurance Group ---


class QagListEntry(models.Model):
    """One extra address on a system's QAG distribution list. Users holding the QAG member
    role in the system's organisations are on the list without an entry."""

    system = models.ForeignKey(
        "governance.System", on_delete=models.CASCADE, related_name="qag_list"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="A user of the product (their e-mail address is used).",
    )
    email = models.EmailField(blank=True, help_text="Or an address outside the product.")
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["system", "email"]
        verbose_name = "QAG distribution list entry"
        verbose_name_plural = "QAG distribution list"

    def __str__(self):
        return str(self.user or self.name or self.email)

    def clean(self):
        if not self.user_id and not self.email:
            raise ValidationError("Choose a user or enter an e-mail address.")


class QagMeeting(models.Model):
    """A QAG meeting date. When a month has none, the default dates (a setting) apply."""

    system = models.ForeignKey(
        "governance.System", on_delete=models.CASCADE, related_name="qag_meetings"
    )
    date = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "QAG meeting"
        constraints = [
            models.UniqueConstraint(fields=["system", "date"], name="one_qag_meeting_per_day")
        ]

    def __str__(self):
        return f"QAG {self.system.code} {self.date:%d %b %Y}"


class QagPack(models.Model):
    """A pack mailed for one meeting. The row is the claim: a second beat run finds it and
    does not mail again; its time also marks "since the last pack"."""

    system = models.ForeignKey("governance.System", on_delete=models.CASCADE, related_name="+")
    meeting_date = models.DateField()
    assembled_at = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-meeting_date"]
        verbose_name = "QAG pack sent"
        verbose_name_plural = "QAG packs sent"
        constraints = [
            models.UniqueConstraint(
                fields=["system", "meeting_date"], name="one_qag_pack_per_meeting"
            )
        ]

    def __str__(self):
        return f"QAG pack {self.system.code} for {self.meeting_date:%d %b %Y}"


class RulesDue(models.Model):
    """A scheme whose returns changed and whose escalation rules have not run since: written
    in the same transaction as the change, like a mail in the outbox, and removed by the task
    that runs the rules. Beat runs the rules of any left behind (the broker was down when the
    change committed: notifications.tasks.run_rules_due), and the daily sweep clears them."""

    scheme = models.OneToOneField(
        "governance.Scheme", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    queued_at = models.DateTimeField()

    class Meta:
        verbose_name = "scheme waiting for its rules"
        verbose_name_plural = "schemes waiting for their rules"

    def __str__(self):
        return f"rules due for scheme {self.scheme_id} since {self.queued_at:%Y-%m-%d %H:%M}"


# --- the daily digest ---


class NoticeKind(models.TextChoices):
    """The kinds of notice a user chooses to hear of at once or in the daily digest."""

    TASKS = "tasks", "Tasks waiting for you"
    DECISIONS = "decisions", "Decisions on your schemes"
    QIA = "qia", "Quality impact assessments"
    ESCALATIONS = "escalations", "Escalations"
    REMINDERS = "reminders", "Reminders"


class Timing(models.TextChoices):
    AT_ONCE = "at_once", "At once"
    DAILY = "daily", "In a daily digest"


# The kind of each mail (Mail.kind, the `kind` passed to notify) that a user may put in their
# digest, and the kind of notice it counts as. A kind not here always goes at once: the QAG
# pack (a summary already, timed for its meeting), an extreme QIA risk flagged to QAG, and any
# kind added later until someone decides where it belongs.
NOTICE_KINDS = {
    "task": NoticeKind.TASKS,
    "returned": NoticeKind.DECISIONS,
    "rejected": NoticeKind.DECISIONS,
    "approved": NoticeKind.DECISIONS,
    "withdrawn": NoticeKind.DECISIONS,
    "delivery": NoticeKind.DECISIONS,
    "qia": NoticeKind.QIA,
    "escalation": NoticeKind.ESCALATIONS,
    "reminder": NoticeKind.REMINDERS,
}


class NoticePreference(models.Model):
    """How a user hears of one kind of notice by mail. No row means at once, so nothing
    changes for someone who never chooses; the bell shows every notice at once either way."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preferences"
    )
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    timing = models.CharField(max_length=10, choices=Timing.choices, default=Timing.AT_ONCE)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_notice_preference_per_kind")
        ]

    def __str__(self):
        return f"{self.user}: {self.get_kind_display()} {self.get_timing_display().lower()}"


class DigestSettings(models.Model):
    """One row: when the daily digest goes out."""

    send_at = models.TimeField(
        "send the digest at",
        default=time(7, 30),
        help_text="The time of day, in the site's time zone (Europe/London: GMT in winter, "
        "BST in summer), from which each day's digest goes out. Beat looks every 10 minutes, "
        "so a digest leaves within 10 minutes of it. Mail held after a day's digest waits "
        "for the next day's.",
    )

    class Meta:
        verbose_name = "daily digest settings"
        verbose_name_plural = "daily digest settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="one_digest_settings_row")]

    def __str__(self):
        return f"Daily digest at {self.send_at:%H:%M}"

    def save(self, *args, **kwargs):
        # always the one row, whatever the table's id sequence has reached (PostgreSQL's moves
        # on even when the transaction that took a number is rolled back)
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "DigestSettings":
        """The row, or its defaults while the admin has saved none."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class Digest(models.Model):
    """One user's digest of one day. The row is the claim: the database refuses a second row
    for the same user and day, so two beat runs or a retried task never send two."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(help_text="When it was written to the outbox.")
    entries_count = models.PositiveIntegerField("notices listed", default=0)

    class Meta:
        ordering = ["-day", "user"]
        verbose_name = "daily digest sent"
        verbose_name_plural = "daily digests sent"
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="one_digest_per_user_and_day")
        ]

    def __str__(self):
        return f"digest of {self.day:%d %b %Y} for {self.user}"


class DigestEntry(models.Model):
    """A mail held for its recipient's daily digest instead of going at once; `digest` is set
    when a digest lists it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_entries"
    )
    kind = models.CharField(max_length=30)
    subject = models.CharField(max_length=255)
    link = models.CharField(max_length=500)
    # the key the mail would have had in the outbox: the same event is never held twice
    dedupe_key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    digest = models.ForeignKey(
        Digest, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "mail held for a digest"
        verbose_name_plural = "mail held for digests"
        indexes = [models.Index(fields=["digest", "created_at"])]

    def __str__(self):
        return f"{self.user}: {self.subject}"
