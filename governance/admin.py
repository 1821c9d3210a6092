import json
from decimal import Decimal

from axes.models import AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import Truncator
from django_fsm_log.models import StateLog

from governance import roles
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


def _label(form, name: str) -> str:
    """The field's name as the model has it ("requirement", "active")."""
    try:
        return str(form._meta.model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return str(form.fields[name].label or name)


def _shown(field: forms.Field, value) -> str:
    """A value of the form's field as one short line: a year's label rather than its id,
    "yes" rather than True, a long text cut."""
    if value is None or value == "":
        return "empty"
    if isinstance(field, forms.ModelMultipleChoiceField):
        text = ", ".join(str(item) for item in value) or "none"
    elif isinstance(field, forms.ModelChoiceField):
        if not isinstance(value, models.Model):  # the initial value is the row's id
            key = field.to_field_name or "pk"
            value = field.queryset.model._base_manager.filter(**{key: value}).first() or value
        text = str(value)
    elif isinstance(field, forms.BooleanField):
        text = "yes" if value else "no"
    elif isinstance(field, forms.ChoiceField):
        text = str(dict(field.choices).get(value, value))
    elif isinstance(value, Decimal) and isinstance(field, forms.DecimalField):
        text = f"{value:.{field.decimal_places or 0}f}"
    else:
        text = str(value)
    return Truncator(" ".join(text.split())).chars(80)


class RecordsValuesAdmin(admin.ModelAdmin):
    """Admin history that says what each edit changed, from what to what: "Changed
    requirement from 19647000.00 to 19647500.00." rather than "Changed Requirement.". The
    History page shows the words as they are stored."""

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        if add or not form.changed_data:
            return message
        lines = []
        for name in form.changed_data:
            if name not in form.fields or "password" in name:
                # a password form: that it changed, never the password or its hash
                lines.append(f"Changed {name}.")
                continue
            field = form.fields[name]
            old = _shown(field, form.initial.get(name))
            new = _shown(field, form.cleaned_data.get(name))
            lines.append(f"Changed {_label(form, name)} from {old} to {new}.")
        # after the main form's own entry, the inlines' rows, as Django words them
        if message[1:]:
            lines.append(LogEntry(change_message=json.dumps(message[1:])).get_change_message())
        return "\n".join(lines)


def in_use(obj: models.Model) -> bool:
    """Whether any row points at `obj`: a scheme, target or opportunity at its year, say."""
    return any(
        relation.related_model._base_manager.filter(**{relation.field.name: obj}).exists()
        for relation in obj._meta.related_objects
    )


class ReferenceAdmin(RecordsValuesAdmin):
    """Reference data that schemes, targets and opportunities point at (PROTECT): a row in
    use cannot be deleted, so the admin offers no delete page for it."""

    def has_delete_permission(self, request, obj=None):
        if obj is not None and in_use(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        # Deleting several at once from the list: when rows in use stop it, say which rows
        # (the "protected" list) rather than that the account may not delete schemes.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            perms_needed = set()  # nothing is deleted while anything is protected
        return deleted, counts, perms_needed, protected


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["organisation"]


@admin.register(User)
class UserAdmin(RecordsValuesAdmin, BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "email", "profession", "is_active"]
    list_filter = ["is_active", "is_staff", "groups", "profession", "organisations"]
    fieldsets = BaseUserAdmin.fieldsets + (("Profession", {"fields": ("profession", "job_title")}),)

    def has_delete_permission(self, request, obj=None):
        # deactivate instead (untick Active): the history keeps naming who did what, and
        # deactivating ends the user's sessions at once
        return False


@admin.register(System)
class SystemAdmin(RecordsValuesAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Organisation)
class OrganisationAdmin(RecordsValuesAdmin):
    list_display = ["code", "name", "system"]
    list_filter = ["system"]
    search_fields = ["code", "name"]


@admin.register(FinancialYear)
class FinancialYearAdmin(ReferenceAdmin):
    list_display = ["label", "start_year"]

    # Changing the start of a year in use would move its schemes, targets and opportunities
    # (and with the schemes their returns) to another year, with nothing in their history.
    def get_readonly_fields(self, request, obj=None):
        fixed = ["start_year"] if obj is not None and in_use(obj) else []
        return [*super().get_readonly_fields(request, obj), *fixed]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and in_use(obj):
            kwargs["help_texts"] = {
                "start_year": "Fixed: this year has schemes, QIPP targets or opportunities, "
                "and changing it would move them all to another year. Add the other year "
                "instead."
            }
        return super().get_form(request, obj, change, **kwargs)


@admin.register(ProgrammeArea)
class ProgrammeAreaAdmin(ReferenceAdmin):
    search_fields = ["name"]


@admin.register(AreaOfSpend)
class AreaOfSpendAdmin(ReferenceAdmin):
    search_fields = ["name"]


@admin.register(QippTarget)
class QippTargetAdmin(RecordsValuesAdmin):
    list_display = ["organisation", "financial_year", "requirement", "allocation"]
    list_filter = ["financial_year", "organisation"]


@admin.register(StageWeight)
class StageWeightAdmin(RecordsValuesAdmin):
    """Each system's weight for each stage of the pipeline, as the requirement table's
    risk-weighted rows use it; a stage without one here takes the default weight."""

    list_display = ["system", "stage", "weight_percent", "default_weight"]
    list_editable = ["weight_percent"]
    list_filter = ["system", "stage"]
    ordering = ["system__name", "stage"]

    @admin.display(description="default (%)")
    def default_weight(self, obj):
        return DEFAULT_WEIGHTS[obj.stage]


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(RecordsValuesAdmin, BaseGroupAdmin):
    """Groups as Django keeps them, but the product's roles (governance.roles) are groups by
    name: renaming or deleting one would take that role from everyone who holds it."""

    fields = ["name", "permissions"]  # the name first, read-only or not

    def get_readonly_fields(self, request, obj=None):
        fixed = ["name"] if obj is not None and obj.name in roles.ALL else []
        return [*super().get_readonly_fields(request, obj), *fixed]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and obj.name in roles.ALL:
            kwargs["help_texts"] = {
                "name": "One of the product's roles: the pages give each person what this "
                "role may do. Its name cannot change and it cannot be deleted; add people to "
                "it or take them off it on their user page."
            }
        return super().get_form(request, obj, change, **kwargs)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in roles.ALL:
            return False
        return super().has_delete_permission(request, obj)


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


@admin.register(LogEntry)
class AdminActionAdmin(HistoryAdmin):
    """Every addition, change and deletion made in the admin, with what changed (each page's
    History shows one row's), so staff can review them all together."""

    list_display = [
        "action_time",
        "user",
        "content_type",
        "object_repr",
        "action_flag",
        "changes",
    ]
    list_filter = [
        "action_flag",
        ("content_type", admin.RelatedOnlyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["object_repr", "change_message", "user__username"]
    date_hierarchy = "action_time"
    list_select_related = ["user", "content_type"]
    # the change message in words, as on each History page, not as stored
    fields = [
        "action_time",
        "user",
        "content_type",
        "object_id",
        "object_repr",
        "action_flag",
        "changes",
    ]
    readonly_fields = fields

    @admin.display(description="change message")
    def changes(self, entry):
        return entry.get_change_message()


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
