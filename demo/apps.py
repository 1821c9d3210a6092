from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data (`manage.py seed_demo`): it drives the other apps' services, so it sits
    above them all and nothing imports it."""

    name = "demo"
    verbose_name = "Demo data"
