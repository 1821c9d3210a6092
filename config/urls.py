from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from config.health import healthz
from governance.views_account import PasswordChange, SignIn, account
from identity.views import SignOut

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", SignIn.as_view(), name="login"),
    path("accounts/logout/", SignOut.as_view(), name="logout"),
    path("accounts/nhsmail/", include("identity.urls")),
    path("accounts/", account, name="account"),
    path("accounts/password/", PasswordChange.as_view(), name="password_change"),
    path("accounts/deputies/", include("governance.urls_deputies")),
    path("notifications/", include("notifications.urls")),
    path("reports/paper/", include("governance.urls_papers")),
    path("reports/", include("governance.urls_reports")),
    path("audit/", include("governance.urls_audit")),
    path("api/", include("api.urls")),
    path("", include("governance.urls_delivery")),
    path("", include("governance.urls_bulk")),
    path("pipeline/", include("governance.urls_pipeline")),
    path("qia/", include("qia.urls")),
    path("", include("governance.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler403 = "governance.middleware.permission_denied"
handler500 = "config.logs.server_error"
