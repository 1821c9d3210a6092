from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "QIPP governance"

    def ready(self):
        from django.db.models.signals import post_migrate

        # The roles are created by migration 0002; a test database flushed between tests
        # (transactional tests) gets them back here.
        post_migrate.connect(ensure_roles, sender=self)
        # delivery tracking adds its policy rules, tasks, buttons and scheme-page block
        from governance import delivery  # noqa: F401


def ensure_roles(**kwargs):
    from django.contrib.auth.models import Group

    from governance import roles

    for name in roles.ALL:
        Group.objects.get_or_create(name=name)
