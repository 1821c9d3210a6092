from django.contrib import admin, messages

from governance.admin import HistoryAdmin
from identity import accounts
from identity.models import GroupRole, IdentityEvent, IdentityLink


@admin.register(GroupRole)
class GroupRoleAdmin(admin.ModelAdmin):
    """Which provider group gives which role in which organisation. With any row here, roles
    follow the groups at every sign-in (docs/sign-in.md)."""

    list_display = ["group_name", "group_id", "role", "organisation"]
    list_filter = ["role", "organisation"]
    search_fields = ["group_name", "group_id"]


@admin.register(IdentityLink)
class IdentityLinkAdmin(admin.ModelAdmin):
    """People who have signed in through the provider. A first sign-in with no mapped group
    waits here for approval."""

    list_display = ["user", "email", "linked_at", "awaiting_approval", "active"]
    list_filter = ["awaiting_approval", "user__is_active"]
    search_fields = ["email", "user__username", "user__last_name"]
    readonly_fields = [
        "user",
        "issuer",
        "subject",
        "email",
        "linked_at",
        "created_by_sign_in",
        "awaiting_approval",
        "roles_from_groups",
        "organisations_from_groups",
    ]
    actions = ["approve"]

    @admin.display(boolean=True)
    def active(self, link):
        return link.user.is_active

    @admin.action(description="Approve the selected people (make their accounts active)")
    def approve(self, request, queryset):
        waiting = queryset.filter(awaiting_approval=True).select_related("user")
        for link in waiting:
            accounts.approve(link, by=request.user)
        messages.success(
            request,
            f"{len(waiting)} approved. Give each their roles and organisations on their user "
            "page, unless their groups do.",
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdentityEvent)
class IdentityEventAdmin(HistoryAdmin):
    list_display = ["at", "user", "kind", "detail"]
    list_filter = ["kind"]
    search_fields = ["user__username", "detail"]
