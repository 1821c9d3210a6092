"""The project's URLs plus the reports, until config/urls.py includes them itself."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("reports/", include("governance.urls_reports")), *project_urlpatterns]
