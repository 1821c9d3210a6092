"""The QIA in the admin: for looking things up. Changes go through the pages and services,
which check who may make them and keep the log, so the admin shows QIAs read-only. The one
thing set here is configuration: each organisation's sign-off route rules."""

from django.contrib import admin
from django.db import models

from qia.models import (
    Assessment,
    Condition,
    Mitigation,
    PanelScore,
    QagFlag,
    Qia,
    QiaVersion,
    RouteRule,
    SignOff,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AssessmentInline(ReadOnlyInline):
    model = Assessment
    fields = ["kind", "heading", "impact", "consequence", "likelihood", "rationale"]


class PanelScoreInline(ReadOnlyInline):
    model = PanelScore
    fields = ["member", "profession", "heading", "impact", "consequence", "likelihood"]


class MitigationInline(ReadOnlyInline):
    model = Mitigation
    fields = ["heading", "description", "owner", "due_date", "status"]


class SignOffInline(ReadOnlyInline):
    model = SignOff
    fields = ["capacity", "by", "on_behalf_of", "at", "decision", "comment", "justification"]
    readonly_fields = ["at"]  # set when signed: a form field for it fails the whole page


class ReadOnlyAdmin(admin.ModelAdmin):
    # links are shown, not edited: read them as https when they were typed without a scheme
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QiaVersion)
class QiaVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "drives_scheme", "overall_score", "review_date"]
    list_filter = ["status", "drives_scheme", "qia__scheme__organisation"]
    search_fields = ["qia__scheme__reference", "qia__scheme__title"]
    inlines = [AssessmentInline, PanelScoreInline, MitigationInline, SignOffInline]


@admin.register(Qia)
class QiaAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "created_at", "route"]
    list_filter = ["route"]
    search_fields = ["scheme__reference", "scheme__title"]


@admin.register(QagFlag)
class QagFlagAdmin(ReadOnlyAdmin):
    list_display = ["version", "kind", "score", "raised_at"]
    list_filter = ["kind"]


@admin.register(RouteRule)
class RouteRuleAdmin(admin.ModelAdmin):
    """An organisation's rules for the sign-off route of a first QIA (qia.routes): tried in
    order at submission, the first that holds chooses; none holding, two sign-offs. A rule
    changed here applies from each scheme's next submission or panel agreement."""

    list_display = ["name", "organisation", "order", "below", "at_least", "worst_risk", "route"]
    list_display_links = ["name"]
    list_editable = ["order"]
    list_filter = ["organisation", "route", "active"]
    fields = ["organisation", "name", "order", "below", "at_least", "worst_risk", "route", "active"]


@admin.register(Condition)
class ConditionAdmin(ReadOnlyAdmin):
    list_display = ["scheme", "text", "owner", "due_on", "met_at"]
    list_filter = ["source", "scheme__organisation"]
    search_fields = ["scheme__reference", "text"]
