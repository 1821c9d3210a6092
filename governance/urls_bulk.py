"""Acting on several tasks of the inbox at once, included at the site root by config/urls.py."""

from django.urls import path

from governance import views_bulk

urlpatterns = [
    path("schemes/start-delivery/", views_bulk.bulk_start, name="bulk_start"),
]
