from django.contrib import admin
from django.db import transaction

from notifications.models import (
    Digest,
    DigestEntry,
    DigestSettings,
    Escalation,
    EscalationEvent,
    NoticePreference,
    Notification,
    OutboxEmail,
    QagListEntry,
    QagMeeting,
    QagPack,
)
from notifications.outbox import enqueue_delivery


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows only the product writes: staff look, never add or change."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyAdmin):
    """What was mailed to whom, and when: failed mails may be sent again, none deleted."""

    list_display = ["created_at", "recipient", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    search_fields = ["recipient", "subject", "dedupe_key"]
    actions = ["send_again"]

    @admin.action(description="Send the selected failed mails again", permissions=["resend"])
    def send_again(self, request, queryset):
        ids = list(queryset.filter(status="failed").values_list("pk", flat=True))
        OutboxEmail.objects.filter(pk__in=ids, status="failed").update(
            status="pending", next_attempt_at=None
        )
        transaction.on_commit(lambda: enqueue_delivery(ids))
        self.message_user(request, f"{len(ids)} mail(s) queued again.")

    def has_resend_permission(self, request):
        return request.user.has_perm("notifications.change_outboxemail")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """What each user was told: written by the product only."""

    list_display = ["created_at", "user", "subject", "read_at"]
    search_fields = ["subject", "user__username"]

    def has_delete_permission(self, request, obj=None):
        return False


class EscalationEventInline(admin.TabularInline):
    model = EscalationEvent
    extra = 0
    fields = ["at", "by", "what", "detail"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    """Escalations change through their pages only (SRO, PMO, QAG): read-only here."""

    list_display = ["scheme", "rule", "level", "status", "owner", "raised_at", "remedial_due"]
    list_filter = ["status", "level", "rule", "scheme__organisation"]
    search_fields = ["scheme__reference", "scheme__title"]
    inlines = [EscalationEventInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EscalationEvent)
class EscalationEventAdmin(ReadOnlyAdmin):
    """Escalation history: append-only (on PostgreSQL the database refuses changes too)."""

    list_display = ["at", "escalation", "what", "by"]
    search_fields = ["escalation__scheme__reference", "what"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QagListEntry)
class QagListEntryAdmin(admin.ModelAdmin):
    list_display = ["system", "user", "email", "name", "is_active"]
    list_filter = ["system", "is_active"]
    search_fields = ["email", "name", "user__username", "user__email"]
    autocomplete_fields = ["user"]


@admin.register(QagMeeting)
class QagMeetingAdmin(admin.ModelAdmin):
    list_display = ["date", "system", "note"]
    list_filter = ["system"]
    date_hierarchy = "date"


@admin.register(QagPack)
class QagPackAdmin(ReadOnlyAdmin):
    """The record that a meeting's pack went out: deleting it would let it go out again."""

    list_display = ["meeting_date", "system", "assembled_at", "recipients"]
    list_filter = ["system"]

    def has_delete_permission(self, request, obj=None):
        return False


# --- the daily digest ---


@admin.register(DigestSettings)
class DigestSettingsAdmin(admin.ModelAdmin):
    """The one row that says when the daily digest goes out."""

    list_display = ["__str__", "send_at"]

    def has_add_permission(self, request, obj=None):
        return not DigestSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NoticePreference)
class NoticePreferenceAdmin(ReadOnlyAdmin):
    """What each user chose, under Account: they change it there, not here."""

    list_display = ["user", "kind", "timing"]
    list_filter = ["kind", "timing"]
    search_fields = ["user__username"]


@admin.register(DigestEntry)
class DigestEntryAdmin(ReadOnlyAdmin):
    """Mail held for a digest, and the digest that listed it: written by the product only."""

    list_display = ["created_at", "user", "subject", "kind", "digest"]
    list_filter = ["kind"]
    search_fields = ["user__username", "subject"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    """The record that a user's digest of a day went out: deleting it would let it go again."""

    list_display = ["day", "user", "sent_at", "entries_count"]
    date_hierarchy = "day"
    search_fields = ["user__username"]

    def has_delete_permission(self, request, obj=None):
        return False
