from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django_fsm_log.models import StateLog

from governance.models import (
    DEFAULT_WEIGHTS,
    AccessRefusal,
    AreaOfSpend,
    AuditExport,
    Delegation,
    DelegationEvent,
    FinancialYear,
    Membership,
    Opportunity,
    OpportunityEvent,
    Organisation,
    ProgrammeArea,
    QippTarget,
    Review,
    Scheme,
    SchemeChange,
    SchemeDocument,
    StageWeight,
    System,
    User,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["organisation"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "email", "profession", "is_active"]
    list_filter = ["is_active", "is_staff", "groups", "profession", "organisations"]
    fieldsets = BaseUserAdmin.fieldsets + (("Profession", {"fields": ("profession", "job_title")}),)

    def has_delete_permission(self, request, obj=None):
        # deactivate instead (untick Active): the history keeps naming who did what, and
        # deactivating ends the user's sessions at once
        return False


@admin.register(System)
class SystemAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "system"]
    list_filter = ["system"]
    search_fields = ["code", "name"]


@admin.register(FinancialYear)
class FinancialYearAdmin(admin.ModelAdmin):
    list_display = ["label", "start_year"]


@admin.register(ProgrammeArea)
class ProgrammeAreaAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(AreaOfSpend)
class AreaOfSpendAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(QippTarget)
class QippTargetAdmin(admin.ModelAdmin):
    list_display = ["organisation", "financial_year", "requirement", "allocation"]
    list_filter = ["financial_year", "organisation"]


@admin.register(StageWeight)
class StageWeightAdmin(admin.ModelAdmin):
    """Each system's weight for each stage of the pipeline, as the requirement table's
    risk-weighted rows use it; a stage without one here takes the default weight."""

    list_display = ["system", "stage", "weight_percent", "default_weight"]
    list_editable = ["weight_percent"]
    list_filter = ["system", "stage"]
    ordering = ["system__name", "stage"]

    @admin.display(description="default (%)")
    def default_weight(self, obj):
        return DEFAULT_WEIGHTS[obj.stage]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReviewInline(ReadOnlyInline):
    model = Review


class SchemeChangeInline(ReadOnlyInline):
    model = SchemeChange


@admin.register(Scheme)
class SchemeAdmin(admin.ModelAdmin):
    """Read-only here: schemes change only through the workflow, which keeps the history."""

    list_display = ["reference", "title", "organisation", "financial_year", "state"]
    list_filter = ["state", "organisation", "financial_year", "programme_area"]
    search_fields = ["reference", "title"]
    inlines = [ReviewInline, SchemeChangeInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OpportunityEventInline(ReadOnlyInline):
    model = OpportunityEvent


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Read-only here, like the schemes: an opportunity changes on its own pages, which keep its
    history and refuse a stale edit."""

    list_display = [
        "reference",
        "title",
        "organisation",
        "financial_year",
        "estimated_saving",
        "status",
        "scheme",
        "owner",
    ]
    list_filter = ["status", "financial_year", "organisation__system", "organisation"]
    search_fields = ["reference", "title", "scheme__reference"]
    list_select_related = ["organisation", "financial_year", "scheme", "owner"]
    inlines = [OpportunityEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SchemeDocument)
class SchemeDocumentAdmin(admin.ModelAdmin):
    """Documents come and go on the scheme page (the project lead, while a draft), each on
    the scheme's history: the admin only lists them."""

    list_display = ["original_name", "scheme", "kind", "uploaded_by", "uploaded_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HistoryAdmin(admin.ModelAdmin):
    """A history table: append-only (on PostgreSQL the database refuses changes too), so
    staff look, never add, change or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DelegationEventInline(admin.TabularInline):
    model = DelegationEvent
    extra = 0
    can_delete = False
    fields = ["at", "by", "what"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delegation)
class DelegationAdmin(HistoryAdmin):
    """Delegations are named, re-dated and ended on the Deputies page (an administrator may
    name one for anyone there), so that each change is checked and in its history: here
    they are read."""

    list_display = [
        "deputy",
        "principal",
        "role",
        "organisation",
        "starts_on",
        "ends_on",
        "ended_at",
    ]
    list_filter = ["role", "organisation"]
    search_fields = ["deputy__username", "principal__username", "deputy__last_name"]
    inlines = [DelegationEventInline]


@admin.register(AccessRefusal)
class AccessRefusalAdmin(HistoryAdmin):
    list_display = ["at", "user", "action", "target", "reason"]
    list_filter = ["action"]


@admin.register(AuditExport)
class AuditExportAdmin(HistoryAdmin):
    """Each audit export taken: who, when, of what (governance.audit)."""

    list_display = ["at", "by", "format", "date_from", "date_to", "rows"]
    list_filter = ["format"]
    search_fields = ["by__username", "by__last_name"]


@admin.register(SchemeChange)
class SchemeChangeAdmin(HistoryAdmin):
    list_display = ["changed_at", "scheme", "field", "changed_by"]
    search_fields = ["scheme__reference", "field"]


# ours replaces any the transition-log app registers itself: read-only, like the other history
if admin.site.is_registered(StateLog):
    admin.site.unregister(StateLog)


@admin.register(StateLog)
class StateLogAdmin(HistoryAdmin):
    """The transition log of schemes and QIA versions."""

    list_display = ["timestamp", "content_type", "object_id", "transition", "state", "by"]
    list_filter = ["content_type", "transition"]


# Sign-in records are evidence (docs/security.md): the admin lists them and deletes none.
# Access attempts stay deletable: deleting a username's attempts is how staff unlock it.
def _undeletable(admin_class):
    class Undeletable(admin_class):
        def has_delete_permission(self, request, obj=None):
            return False

    Undeletable.__name__ = admin_class.__name__
    return Undeletable


for _model in (AccessLog, AccessFailureLog):
    if admin.site.is_registered(_model):
        _registered = type(admin.site.get_model_admin(_model))
        admin.site.unregister(_model)
        admin.site.register(_model, _undeletable(_registered))
