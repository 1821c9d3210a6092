from django.urls import path

from governance import views_audit

urlpatterns = [
    path("", views_audit.audit_export, name="audit_export"),
]
