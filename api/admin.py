"""Tokens and calls in the admin: staff make service tokens (the key shown once, on the page
that answers the save), and revoke any token; the call log is read-only."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from api import tokens
from api.models import ApiCall, ApiToken
from governance.admin import HistoryAdmin


class ServiceTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name", "owner", "service", "organisations"]

    def clean(self):
        cleaned = super().clean()
        owner, organisations = cleaned.get("owner"), cleaned.get("organisations")
        if owner is not None and organisations is not None:
            outside = tokens.outside_owner(owner, organisations)
            if outside:
                raise forms.ValidationError(
                    f"{owner} is not a member of {', '.join(outside)}: a token sees only "
                    "organisations of its owner."
                )
            if not owner.is_active:
                raise forms.ValidationError(f"{owner} is not active: choose an active owner.")
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "owner",
        "service",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["service", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "owner__username"]
    actions = ["revoke"]
    form = ServiceTokenForm
    filter_horizontal = ["organisations"]

    def get_changeform_initial_data(self, request):
        # made in the admin: a report server's token, owned by the person answerable for it
        return {"service": True}

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["created_at"]
        # a token is never edited: revoke it and make another
        return [
            "name",
            "owner",
            "service",
            "organisations",
            "prefix",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
            "revoked_by",
        ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "owner", "service", "organisations"]
        return self.get_readonly_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # its calls stay on record: revoke it instead

    def save_model(self, request, obj, form, change):
        if not change:
            key = tokens.new_key()
            tokens.set_key(obj, key)
            obj.created_by = request.user
            request._new_api_key = key
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        """The key, shown once on this page; nothing keeps it to show later."""
        return TemplateResponse(
            request,
            "api/admin_token_key.html",
            {
                **self.admin_site.each_context(request),
                "token": obj,
                "key": request._new_api_key,
                "opts": self.model._meta,
                "title": "Copy the new key",
            },
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            tokens.token_revoke(token=token, by=request.user)
        messages.success(request, "Revoked: their keys no longer work.")


@admin.register(ApiCall)
class ApiCallAdmin(HistoryAdmin):
    """The call log: read, never changed."""

    list_display = ["at", "token", "method", "path", "query", "status"]
    list_filter = ["status", "method"]
    search_fields = ["path", "token__name", "token__owner__username"]
    date_hierarchy = "at"
