"""The Pipeline's pages: opportunities before their PID, under /pipeline/ (config/urls.py)."""

from django.urls import path

from governance import views_pipeline as views

urlpatterns = [
    path("", views.pipeline, name="pipeline"),
    path("new/", views.opportunity_create, name="opportunity_create"),
    path("<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("<int:pk>/close/", views.opportunity_close, name="opportunity_close"),
    path("<int:pk>/write-up/", views.opportunity_write_up, name="opportunity_write_up"),
]
