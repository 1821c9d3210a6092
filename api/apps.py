"""The read-only API for Power BI and other tools (Django REST framework)."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Read-only API"

    def ready(self):
        from api import schema  # noqa: F401  (registers the Bearer scheme with the schema)
